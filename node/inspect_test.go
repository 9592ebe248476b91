package node

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spacepanda/spacepanda/store"
)

// TestUpdateKeysDigest: an update commit moves both members to the next
// epoch and their digests become equal; before it arrives they differ.
func TestUpdateKeysDigest(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	if _, err := a.Send(ctx, id, "hello"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, b, id, "hello")
	before, err := a.Digest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	db, _ := b.Digest(ctx, id)
	if db.Epoch != before.Epoch+1 || db.Authenticator == before.Authenticator {
		t.Fatalf("after update: epoch %d auth %s, before: epoch %d", db.Epoch, db.Authenticator, before.Epoch)
	}
	waitFor(t, 20*time.Second, "a to apply the update", func() bool {
		da, _ := a.Digest(ctx, id)
		return da.Epoch == db.Epoch
	})
	da, _ := a.Digest(ctx, id)
	if diff := cmp.Diff(db, da); diff != "" {
		t.Fatalf("digests differ (-b +a):\n%s", diff)
	}
	if da.Messages != 1 || len(da.Members) != 2 || da.Removed {
		t.Fatalf("digest %+v", da)
	}
}

// TestCrashFS: a node on a crashable filesystem keeps, across a crash
// image taken while it runs (no Close), every message Send acknowledged.
func TestCrashFS(t *testing.T) {
	ctx := ctxT(t)
	fs := store.NewCrashFS()
	if _, err := InitFS(ctx, "/alice", "alice", []byte{}, fs); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, Config{Home: "/alice", CrashFS: fs, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ci, err := n.CreateChannel(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, ci.ID, "durable"); err != nil {
		t.Fatal(err)
	}
	crashed := fs.Crash()
	m, err := Open(context.Background(), Config{Home: "/alice", CrashFS: crashed, Logger: quiet})
	if err != nil {
		t.Fatalf("open after crash: %v", err)
	}
	defer m.Close()
	ms, err := m.Messages(ctx, ci.ID, 0)
	if err != nil || len(ms) != 1 || ms[0].Text != "durable" {
		t.Fatalf("after crash: %v, %v", texts(ms), err)
	}
}
