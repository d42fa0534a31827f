//go:build !windows

package writers

func isPlatformClosedPipe(error) bool { return false }
