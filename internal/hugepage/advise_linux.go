package hugepage

import "syscall"

// madvHugepage is MADV_HUGEPAGE, which package syscall does not name.
const madvHugepage = 14

// advise asks for huge pages over [addr, addr+n), both aligned to Size.
// An error (a kernel without transparent huge pages) leaves the memory
// as it was: nothing to report.
func advise(addr, n uintptr) {
	syscall.Syscall(syscall.SYS_MADVISE, addr, n, madvHugepage)
}
