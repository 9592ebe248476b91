//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package store

import (
	"errors"
	"os"
)

// errLocked means another open file description holds the lock.
var errLocked = errors.New("store: locked")

// flock is not implemented on this platform: homes are not locked against a
// second process. (Not done: a LockFileEx version for Windows.)
func flock(*os.File) error { return nil }
