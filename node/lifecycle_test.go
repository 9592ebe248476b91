package node

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/store"
)

// TestDamagedChannelDoesNotStopTheNode: a channel whose stored group state
// cannot be restored is reported damaged; the node starts, the other
// channels work, and `Forget` drops the damaged one.
func TestDamagedChannelDoesNotStopTheNode(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	bad, err := n.CreateChannel(ctx, "bad")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.CreateChannel(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	b := &store.Batch{}
	b.SetGroup(store.ChannelID(bad.ID), 0, []byte("not a group state"))
	if err := n.db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	n.Close()

	n = open(t, home, false)
	cs, err := n.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, c := range cs {
		states[c.ID] = c.State
		if c.ID == bad.ID && c.Reason == "" {
			t.Error("damaged channel without a reason")
		}
	}
	if states[bad.ID] != StateDamaged || len(cs) != 2 {
		t.Fatalf("channels after restart: %+v", cs)
	}
	if _, err := n.Send(ctx, "good", "still here"); err != nil {
		t.Fatalf("send to the good channel: %v", err)
	}
	if _, err := n.Send(ctx, bad.ID, "x"); !errors.Is(err, ErrDamaged) {
		t.Fatalf("send to the damaged channel: %v, want ErrDamaged", err)
	}
	if _, err := n.Forget(ctx, bad.ID); err != nil {
		t.Fatalf("forget: %v", err)
	}
	if _, err := n.Forget(ctx, "good"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("forget a channel we are in: %v, want ErrInvalidInput", err)
	}
	n.Close()
	n = open(t, home, false)
	if cs, _ := n.Channels(ctx); len(cs) != 1 || cs[0].Name != "good" || cs[0].State != StateMember {
		t.Fatalf("channels after forget and restart: %+v", cs)
	}
}
