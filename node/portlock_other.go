//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package node

import "os"

// tryLock: without flock the bind check (checkPorts) alone guards ports.
func tryLock(*os.File) (bool, error) { return true, nil }
