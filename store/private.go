package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// A home is private: the directory is 0700 and everything in it owner-only
// (directories 0700, files 0600). Create and Open enforce it on the
// operating system's filesystem, as ssh does for ~/.ssh, but instead of
// refusing a loose home they tighten it, and refuse (ErrHomePermissions)
// only when they cannot: a home owned by another user, or a chmod that
// fails. Files Pebble creates later are made 0600 as they are created
// (privateFS); the 0700 directory already keeps other users out in the
// moment between creation and chmod.

// ErrHomePermissions: the home is not private and cannot be made so.
var ErrHomePermissions = errors.New("store: home directory is not private")

// makePrivate tightens home and everything in it (symbolic links are left
// alone: chmod would follow them out of the home).
func makePrivate(home string) error {
	info, err := os.Stat(home)
	if err != nil {
		return fmt.Errorf("store: home: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrHomePermissions, home)
	}
	if err := checkOwner(home, info); err != nil {
		return err
	}
	return filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		// A file can vanish during the walk: the daemon holding the home
		// deletes obsolete database files while a command checks it.
		if p != home && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrHomePermissions, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrHomePermissions, err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&want); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s has mode %o and cannot be made owner-only (%v); run: chmod -R go-rwx %s",
					ErrHomePermissions, p, perm, err, home)
			}
		}
		return nil
	})
}

// makePrivate enforces the home's modes on the operating system.
func (h homeFS) makePrivate(home string) error {
	if !h.isOS {
		return nil
	}
	return makePrivate(home)
}

// privateFS creates files owner-only.
type privateFS struct{ vfs.FS }

func (p privateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.Create(name, c)
	return f, chmodNew(f, err, name, 0o600)
}

func (p privateFS) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.ReuseForWrite(old, name, c)
	return f, chmodNew(f, err, name, 0o600)
}

func (p privateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := p.FS.OpenReadWrite(name, c, opts...)
	return f, chmodNew(f, err, name, 0o600)
}

func (p privateFS) MkdirAll(dir string, perm os.FileMode) error {
	return p.FS.MkdirAll(dir, perm&0o700)
}

// chmodNew sets mode on a file just opened for writing; on failure the file
// is closed and the error returned.
func chmodNew(f vfs.File, err error, name string, mode os.FileMode) error {
	if err != nil {
		return err
	}
	if err := os.Chmod(name, mode); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: %v", ErrHomePermissions, name, err)
	}
	return nil
}

func (p privateFS) Lock(name string) (io.Closer, error) {
	c, err := p.FS.Lock(name)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(name, 0o600); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrHomePermissions, name, err)
	}
	return c, nil
}
