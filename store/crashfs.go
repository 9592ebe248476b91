package store

import "github.com/cockroachdb/pebble/v2/vfs"

// CrashFS is an in-memory filesystem that can simulate a crash: Pebble's
// crashable MemFS. It lets a process hold several homes and crash one of
// them for real — what survives is exactly what was fsynced — without
// other packages importing Pebble (the testbed's in-process kill uses it).
// It is safe for concurrent use.
type CrashFS struct{ fs *vfs.MemFS }

// NewCrashFS returns an empty crashable filesystem.
func NewCrashFS() *CrashFS { return &CrashFS{fs: vfs.NewCrashableMem()} }

// FS returns the filesystem, for Options.FS.
func (c *CrashFS) FS() vfs.FS { return c.fs }

// Crash returns the filesystem as a power cut at this instant leaves it:
// synced data only, every unsynced write dropped. The receiver keeps
// working (a DB still open on it writes into the void); open the home again
// on the returned filesystem.
func (c *CrashFS) Crash() *CrashFS {
	return &CrashFS{fs: c.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})}
}
