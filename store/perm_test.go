//go:build unix

package store

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// checkPrivate fails unless home is 0700 and everything in it is owner-only
// (directories 0700, files 0600 or stricter).
func checkPrivate(t *testing.T, home string) {
	t.Helper()
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %o readable by others", p, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHomeIsPrivate is issue 11, item 4: init into an existing 0755 home
// tightens it and every file in it, and so does every open, including of
// files Pebble creates later.
func TestHomeIsPrivate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "notes"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, home)
	// New files after start: write and flush so that Pebble makes tables.
	b := &Batch{}
	b.PutPeer(Peer{ID: "p", Data: make([]byte, 4096)})
	if err := db.Apply(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, home)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Someone loosens the home: the next open tightens it again.
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir(filepath.Join(home, dbDirName), func(p string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			_ = os.Chmod(p, 0o644)
		}
		return nil
	})
	db, err = Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkPrivate(t, home)
}

// TestMakePrivateWhileFilesChange: a command checks the home's modes while
// the daemon that holds it creates and deletes database files (a daemon
// starting, a compaction); a file that vanishes during the walk is not an
// error (it was "home directory is not private: lstat ...: no such file").
func TestMakePrivateWhileFilesChange(t *testing.T) {
	home := t.TempDir()
	db := filepath.Join(home, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := filepath.Join(db, fmt.Sprintf("MANIFEST-%06d", (i/2)%64))
			if i%2 == 0 {
				os.WriteFile(name, nil, 0o600) //nolint:errcheck
			} else {
				os.Remove(name)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for range 2000 {
		if err := makePrivate(home); err != nil {
			t.Fatalf("makePrivate: %v", err)
		}
	}
}
