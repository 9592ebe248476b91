package store

import (
	"context"
	"errors"
	"testing"
)

// TestCrashFSKeepsSynced: a batch applied with Apply survives a crash
// image taken while the DB is still open (no Close), and the home opens
// from it.
func TestCrashFSKeepsSynced(t *testing.T) {
	ctx := context.Background()
	c := NewCrashFS()
	db, err := Create("/home", nil, Options{FS: c.FS()})
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{}
	b.PutIdentity(Identity{PrivateKey: make([]byte, 64), Name: "before"})
	if err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	crashed := c.Crash() // the DB is still open: no Close, a real crash
	db2, err := Open("/home", Options{FS: crashed.FS()})
	if err != nil {
		t.Fatalf("open after crash: %v", err)
	}
	id, err := db2.Identity(ctx)
	if err != nil || id.Name != "before" {
		t.Fatalf("identity after crash = %+v, %v; want the synced one", id, err)
	}
	db2.Close()
	db.Close()
	if _, err := Open("/nothing", Options{FS: crashed.FS()}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("open of a missing home = %v, want ErrNotInitialized", err)
	}
}
