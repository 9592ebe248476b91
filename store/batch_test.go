package store

import (
	"errors"
	"strings"
	"testing"
)

func TestBatchMisuse(t *testing.T) {
	long := ChannelID(strings.Repeat("x", MaxChannelIDLen+1))
	for name, f := range map[string]func(b *Batch){
		"empty channel":     func(b *Batch) { b.PutChannel("", nil) },
		"long channel":      func(b *Batch) { b.SetGroup(long, 1, nil) },
		"seq 0":             func(b *Batch) { b.Append("c", Entry{Seq: 0}) },
		"seq backwards":     func(b *Batch) { b.Append("c", Entry{Seq: 5}); b.Append("c", Entry{Seq: 4}) },
		"seq gap":           func(b *Batch) { b.Append("c", Entry{Seq: 5}); b.Append("c", Entry{Seq: 7}) },
		"deleted, not 1":    func(b *Batch) { b.DeleteChannel("c"); b.Append("c", Entry{Seq: 2}) },
		"event 0":           func(b *Batch) { b.PutEvent("c", Event{}) },
		"empty key package": func(b *Batch) { b.PutKeyPackage(nil, []byte("x")) },
		"empty peer":        func(b *Batch) { b.PutPeer(Peer{}) },
		"long invite":       func(b *Batch) { b.PutInvite("c", Invite{ID: make([]byte, MaxRefLen+1)}) },
	} {
		b := &Batch{}
		f(b)
		if _, err := b.expand(DefaultRetention); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: %v, want ErrInvalidBatch", name, err)
		}
		if mem := NewMemDB(); !errors.Is(mem.Apply(ctx, b), ErrInvalidBatch) {
			t.Errorf("%s: MemDB accepted the batch", name)
		}
	}
}

// TestAppendAfterDeleteChannel: a deleted channel's log starts again at 1
// in the same batch.
func TestAppendAfterDeleteChannel(t *testing.T) {
	b := &Batch{}
	b.Append("c", Entry{Seq: 5})
	b.DeleteChannel("c")
	b.Append("c", Entry{Seq: 1})
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
}

func TestCutoff(t *testing.T) {
	for _, tc := range []struct {
		last, keep, below uint64
		ok                bool
	}{
		{10, 0, 11, true},
		{10, 3, 8, true},
		{3, 3, 0, false},
		{10, KeepAll, 0, false},
		{0, 0, 0, false},
	} {
		below, ok := cutoff(tc.last, tc.keep)
		if below != tc.below || ok != tc.ok {
			t.Errorf("cutoff(%d, %d) = %d, %v; want %d, %v", tc.last, tc.keep, below, ok, tc.below, tc.ok)
		}
	}
}

// TestBatchClone: writes added to a clone do not reach the original (which
// still applies alone), the clone's appends follow the original's, and its
// misuse checks carry on from them.
func TestBatchClone(t *testing.T) {
	orig := &Batch{}
	orig.Append("c", Entry{Seq: 1, Data: []byte("one")})
	clone := orig.Clone()
	clone.Append("c", Entry{Seq: 2, Data: []byte("two")})
	if orig.Len() != 1 || clone.Len() != 2 || clone.Err() != nil {
		t.Fatalf("lengths %d and %d (err %v), want 1 and 2", orig.Len(), clone.Len(), clone.Err())
	}
	bad := orig.Clone()
	bad.Append("c", Entry{Seq: 3}) // a gap after 1
	if !errors.Is(bad.Err(), ErrInvalidBatch) || orig.Err() != nil {
		t.Fatalf("gap in the clone: %v (original: %v), want ErrInvalidBatch in the clone only", bad.Err(), orig.Err())
	}
	for name, b := range map[string]*Batch{"original": orig, "clone": clone} {
		mem := NewMemDB()
		if err := mem.Apply(ctx, b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		es, err := mem.Log(ctx, "c", 1, 0)
		if err != nil || len(es) != b.Len() {
			t.Fatalf("%s: log %v (%v), want %d entries", name, es, err, b.Len())
		}
	}
}
