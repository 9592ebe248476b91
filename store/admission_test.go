package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestAdmissionKept: a kept join response survives a reopen, is replaced
// by ID, deleted by DeleteAdmission, and goes with its channel.
func TestAdmissionKept(t *testing.T) {
	ctx := context.Background()
	db, fs := newMemHome(t)
	b := &Batch{}
	b.PutChannel("c", []byte("meta"))
	b.PutAdmission("c", Admission{ID: []byte("bob"), Data: []byte("welcome 1")})
	b.PutAdmission("c", Admission{ID: []byte("carol"), Data: []byte("welcome 2")})
	mustApply(t, db, b)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open("/home", memOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Admission(ctx, "c", []byte("bob")); err != nil || !bytes.Equal(got, []byte("welcome 1")) {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
	if _, err := db.Admission(ctx, "d", []byte("bob")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another channel's admission: %v, want ErrNotFound", err)
	}
	b = &Batch{}
	b.DeleteAdmission("c", []byte("bob"))
	mustApply(t, db, b)
	if _, err := db.Admission(ctx, "c", []byte("bob")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v, want ErrNotFound", err)
	}
	b = &Batch{}
	b.DeleteChannel("c")
	mustApply(t, db, b)
	if _, err := db.Admission(ctx, "c", []byte("carol")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after DeleteChannel: %v, want ErrNotFound", err)
	}
	b = &Batch{}
	b.PutAdmission("c", Admission{ID: make([]byte, MaxRefLen+1)})
	if err := db.Apply(ctx, b); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("oversized admission ID: %v, want ErrInvalidBatch", err)
	}
}
