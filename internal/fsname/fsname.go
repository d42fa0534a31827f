// Package fsname shows file names in messages. A file name is whatever
// bytes the file system allows: a newline, an escape sequence or invalid
// UTF-8 in one would split gdask's one-line error messages or reach the
// terminal as a command. Every message that names a file, directory or
// path takes it through Quote.
package fsname

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"unicode/utf8"
)

// Quote returns path as a message shows it: unchanged when it prints as
// plain text on one line (data/trips.csv:12:3 stays as it is), otherwise
// in Go's double-quoted form with every byte that does not print escaped
// ("evil\nname\x1b]2J.csv"). Control characters, invalid UTF-8, Unicode
// spaces and format characters other than the ASCII space, and a space at
// either end, which no one could see, are what get a name quoted; so is
// the empty name.
func Quote(path string) string {
	if plain(path) {
		return path
	}
	return strconv.Quote(path)
}

func plain(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}

// Cause returns the reason of an operating system error without the path
// that *fs.PathError and *os.LinkError carry ("open data.csv: permission
// denied" becomes "permission denied"), for messages that name the file
// themselves, quoted. The result still matches errors.Is for the
// underlying error (fs.ErrNotExist, syscall.ENOSPC, ...). Other errors
// are returned as they are.
func Cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}
