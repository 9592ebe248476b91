package store

import (
	"errors"
	"testing"
)

func TestApplyNoWait(t *testing.T) {
	db, fs := newMemHome(t)
	var pending []*Pending
	for seq := uint64(1); seq <= 10; seq++ {
		b := &Batch{}
		if seq == 1 {
			b.PutChannel("c", nil)
		}
		b.Append("c", Entry{Seq: seq, Data: []byte{byte(seq)}})
		p, err := db.ApplyNoWait(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, p)
	}
	for _, p := range pending[:5] {
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// Close waits for the five nobody waited for, without deadlock.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pending[9].Wait(); err != nil {
		t.Errorf("Wait after Close: %v", err)
	}
	db, err := Open("/home", memOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if st, err := db.Channel(ctx, "c"); err != nil || st.LastSeq != 10 {
		t.Errorf("after reopen: LastSeq %d, %v; want 10", st.LastSeq, err)
	}
	if _, err := db.ApplyNoWait(ctx, &Batch{err: ErrInvalidBatch}); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("invalid batch: %v", err)
	}
}

func TestMemDBApplyNoWait(t *testing.T) {
	m := NewMemDB()
	b := &Batch{}
	b.PutPeer(Peer{ID: "p"})
	p, err := m.ApplyNoWait(ctx, b)
	if err != nil || p.Wait() != nil {
		t.Fatalf("ApplyNoWait: %v", err)
	}
	if peers, _ := m.Peers(ctx); len(peers) != 1 {
		t.Errorf("peers = %v", peers)
	}
}
