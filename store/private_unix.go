//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// checkOwner refuses a home owned by another user: its owner could read
// or replace what we write (ssh refuses such a directory too).
func checkOwner(home string, info os.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("%w: %s is owned by uid %d, not by you (uid %d)", ErrHomePermissions, home, st.Uid, uid)
	}
	return nil
}
