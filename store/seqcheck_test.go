package store

import (
	"context"
	"errors"
	"testing"
)

// TestAppendFollowsLog: a batch whose first entry does not follow the log on
// disk (a gap, or an overwrite of an existing entry) fails with
// ErrInvalidBatch and writes nothing, on both implementations and through
// ApplyNoWait.
func TestAppendFollowsLog(t *testing.T) {
	db, _ := newMemHome(t)
	for name, s := range map[string]interface {
		Apply(context.Context, *Batch) error
		ApplyNoWait(context.Context, *Batch) (*Pending, error)
		Channel(context.Context, ChannelID) (ChannelState, error)
	}{"DB": db, "MemDB": NewMemDBWithRetention(testRetention)} {
		b := &Batch{}
		b.PutChannel("c", nil)
		for i := uint64(1); i <= 3; i++ {
			b.Append("c", Entry{Seq: i})
		}
		mustApply(t, s, b)
		for _, seq := range []uint64{2, 3, 5} {
			b := &Batch{}
			b.PutPeer(Peer{ID: "must not be written"})
			b.Append("c", Entry{Seq: seq})
			if err := s.Apply(ctx, b); !errors.Is(err, ErrInvalidBatch) {
				t.Errorf("%s: Append %d after 3: %v, want ErrInvalidBatch", name, seq, err)
			}
			if _, err := s.ApplyNoWait(ctx, b); !errors.Is(err, ErrInvalidBatch) {
				t.Errorf("%s: ApplyNoWait of %d after 3: %v, want ErrInvalidBatch", name, seq, err)
			}
		}
		// A snapshot past the log (retention emptied it) moves the start.
		b = &Batch{}
		b.PutSnapshot("c", Snapshot{LogSeq: 10})
		mustApply(t, s, b)
		b = &Batch{}
		b.Append("c", Entry{Seq: 11})
		b.Append("c", Entry{Seq: 12})
		mustApply(t, s, b)
		// Deleting the channel in the same batch starts a new log at 1.
		b = &Batch{}
		b.DeleteChannel("c")
		b.PutChannel("c", nil)
		b.Append("c", Entry{Seq: 1})
		mustApply(t, s, b)
		if st, err := s.Channel(ctx, "c"); err != nil || st.LastSeq != 1 {
			t.Errorf("%s: after re-creation LastSeq %d, %v; want 1", name, st.LastSeq, err)
		}
		// Truncating the whole log (no snapshot now) takes LastSeq to 0: the
		// DB must not go on from a cached 1.
		b = &Batch{}
		b.TruncateLog("c", 100)
		mustApply(t, s, b)
		b = &Batch{}
		b.Append("c", Entry{Seq: 2})
		if err := s.Apply(ctx, b); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: Append 2 after truncating everything: %v, want ErrInvalidBatch", name, err)
		}
	}
	if p, _ := db.Peers(ctx); len(p) != 0 {
		t.Errorf("a rejected batch wrote %v", p)
	}
}
