package store

import (
	"errors"
	"testing"
)

func TestMemDBDeleteRange(t *testing.T) {
	m := NewMemDBWithRetention(Retention{Log: KeepAll, Events: KeepAll})
	b := &Batch{}
	b.PutChannel("c", nil)
	for i := uint64(1); i <= 5; i++ {
		b.Append("c", Entry{Seq: i})
	}
	b.PutChannel("cc", nil)
	b.Append("cc", Entry{Seq: 1})
	b.TruncateLog("c", 4)
	mustApply(t, m, b)
	log, _ := m.Log(ctx, "c", 0, 0)
	if len(log) != 2 || log[0].Seq != 4 {
		t.Errorf("log after truncation below 4: %+v", log)
	}
	b = &Batch{}
	b.DeleteChannel("c")
	mustApply(t, m, b)
	if _, err := m.Channel(ctx, "c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted channel: %v", err)
	}
	if log, _ := m.Log(ctx, "cc", 0, 0); len(log) != 1 {
		t.Errorf("deleting c touched cc: %+v", log)
	}
}

func TestMemDBCopies(t *testing.T) {
	m := NewMemDB()
	v := []byte("value")
	b := &Batch{}
	b.PutPeer(Peer{ID: "p", Data: v})
	mustApply(t, m, b)
	v[0] = 'X'
	p, _ := m.Peers(ctx)
	p[0].Data[1] = 'Y'
	p, _ = m.Peers(ctx)
	if string(p[0].Data) != "value" {
		t.Errorf("stored value aliased the caller's slice: %q", p[0].Data)
	}
	m.Close()
	if _, err := m.Peers(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
