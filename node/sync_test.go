package node

import (
	"context"
	"testing"

	"github.com/spacepanda/spacepanda/store"
)

// TestFirstSeqOfEpoch: the binary search lands syncSlack entries before the
// first entry of the epoch, and at 1 or past the end at the edges.
func TestFirstSeqOfEpoch(t *testing.T) {
	ctx := context.Background()
	db := store.NewMemDB()
	defer db.Close()
	b := &store.Batch{}
	for seq := uint64(1); seq <= 1000; seq++ {
		b.Append("c", store.Entry{Seq: seq, Epoch: (seq - 1) / 100, Data: []byte{1}})
	}
	if err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	n := &Node{db: db}
	for _, tt := range []struct{ epoch, want uint64 }{
		{0, 1}, {2, 1}, {5, 501 - syncSlack}, {9, 901 - syncSlack}, {10, 1001 - syncSlack},
	} {
		got, err := n.firstSeqOfEpoch(ctx, "c", tt.epoch, 1000)
		if err != nil || got != tt.want {
			t.Errorf("epoch %d: got %d, %v; want %d", tt.epoch, got, err, tt.want)
		}
	}
}
