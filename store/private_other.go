//go:build !unix

package store

import "os"

// checkOwner: file ownership is not checked on this platform.
func checkOwner(string, os.FileInfo) error { return nil }
