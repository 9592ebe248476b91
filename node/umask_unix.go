//go:build unix

package node

import "syscall"

// umask sets the process umask and returns the previous one, so that the
// control socket is created owner-only with no window where it is not.
func umask(m int) int { return syscall.Umask(m) }
