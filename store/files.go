package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// homeFS is the filesystem of a home: the operating system's or, in tests, a
// Pebble vfs.FS in memory. On the operating system, files that hold keys are
// created readable only by their owner.
type homeFS struct {
	fs   vfs.FS
	isOS bool
}

func newHomeFS(fs vfs.FS) homeFS {
	if fs == nil {
		return homeFS{fs: privateFS{vfs.Default}, isOS: true}
	}
	return homeFS{fs: fs}
}

// mkdirPrivate creates dir (mode 0700 on the OS) if it does not exist, and
// syncs its parent so that the new entry survives a crash.
func (h homeFS) mkdirPrivate(dir string) error {
	var err error
	if h.isOS {
		err = os.MkdirAll(dir, 0o700)
	} else {
		err = h.fs.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("store: create home: %w", err)
	}
	return h.syncDir(filepath.Dir(filepath.Clean(dir)))
}

// exists reports whether name exists.
func (h homeFS) exists(name string) (bool, error) {
	_, err := h.fs.Stat(name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("store: stat %s: %w", filepath.Base(name), err)
	}
}

// readFile returns the content of name; a missing file gives an error
// matching os.ErrNotExist.
func (h homeFS) readFile(name string) ([]byte, error) {
	f, err := h.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// writeFileAtomic replaces name with data durably: a temporary file is
// written and synced, renamed over name, and the directory synced, so that
// after a crash name holds either the old or the new content.
func (h homeFS) writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := h.writeSynced(tmp, data); err != nil {
		return fmt.Errorf("store: write %s: %w", filepath.Base(name), err)
	}
	if err := h.fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("store: rename %s: %w", filepath.Base(name), err)
	}
	return h.syncDir(filepath.Dir(name))
}

func (h homeFS) writeSynced(name string, data []byte) error {
	f, err := h.createPrivate(name)
	if err != nil {
		return err
	}
	// Pebble's in-memory files scribble over the buffer after a write in
	// invariants (race) builds: give them a copy, data may be a key in use.
	_, err = f.Write(bytes.Clone(data))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncWriter is what os.File and vfs.File share for writing files.
type syncWriter interface {
	io.WriteCloser
	Sync() error
}

// createPrivate creates or truncates name, mode 0600 on the OS.
func (h homeFS) createPrivate(name string) (syncWriter, error) {
	if h.isOS {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		// The mode of an existing file is not changed by OpenFile.
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	f, err := h.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (h homeFS) syncDir(dir string) error {
	d, err := h.fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("store: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync dir: %w", err)
	}
	return nil
}

func (h homeFS) remove(name string) error {
	err := h.fs.Remove(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: remove %s: %w", filepath.Base(name), err)
	}
	return nil
}
