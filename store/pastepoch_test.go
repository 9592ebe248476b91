package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPastEpochs: several past-epoch states are retained; Channel loads
// only the latest, PastEpoch reads any, and the two deletions drop the
// states below an epoch (forward secrecy) and from an epoch on (a branch
// the node left).
func TestPastEpochs(t *testing.T) {
	ctx := context.Background()
	db, _ := newMemHome(t)
	ch := ChannelID("general")
	b := &Batch{}
	b.PutChannel(ch, []byte("meta"))
	b.SetGroup(ch, 9, []byte("group-9"))
	for e := uint64(3); e < 9; e++ {
		b.PutPastEpoch(ch, EpochState{Epoch: e, Data: []byte{byte(e)}})
	}
	mustApply(t, db, b)
	st, err := db.Channel(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]EpochState{{8, []byte{8}}}, st.PastEpochs); diff != "" {
		t.Errorf("Channel's past epochs (-want +got):\n%s", diff)
	}
	if got, err := db.PastEpoch(ctx, ch, 5); err != nil || !cmp.Equal(got, []byte{5}) {
		t.Errorf("PastEpoch(5) = %v, %v; want [5]", got, err)
	}
	b = &Batch{}
	b.DeletePastEpochsBelow(ch, 4)
	b.DeletePastEpochsFrom(ch, 7)
	mustApply(t, db, b)
	for e := uint64(2); e < 10; e++ {
		_, err := db.PastEpoch(ctx, ch, e)
		if kept := e >= 4 && e < 7; kept != (err == nil) || !kept && !errors.Is(err, ErrNotFound) {
			t.Errorf("PastEpoch(%d) after the deletions: %v", e, err)
		}
	}
}
