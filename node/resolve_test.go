package node

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestResolvePrefersChannelsOfMember: bob, removed from "general", creates
// another "general". The name now means the channel he is a member of (it
// was refused as ambiguous until he forgot the old one); the old one is
// still reached by its ID, by the name while it is the only match, and by
// `channel forget`, which can only drop a channel he is out of. Two
// channels he is a member of under one name stay ambiguous.
func TestResolvePrefersChannelsOfMember(t *testing.T) {
	ctx := ctxT(t)
	a, b, old := pair(t)
	if err := a.RemoveMember(ctx, old, b.PeerID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "bob to learn his removal", func() bool {
		cs, err := b.Channels(ctx)
		return err == nil && len(cs) == 1 && cs[0].State == StateRemoved
	})
	if _, err := b.Messages(ctx, "general", 0); err != nil {
		t.Fatalf("the removed channel, the only one named general: %v", err)
	}
	if _, err := b.Send(ctx, "general", "x"); !errors.Is(err, ErrRemoved) {
		t.Fatalf("send to the removed channel by name: %v, want ErrRemoved", err)
	}
	fresh, err := b.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "general", "in the new one"); err != nil {
		t.Fatalf("send by name with a removed channel of that name: %v", err)
	}
	if ms, err := b.Messages(ctx, fresh.ID, 0); err != nil || !slices.Equal(texts(ms), []string{"in the new one"}) {
		t.Fatalf("the new channel holds %q (%v)", texts(ms), err)
	}
	if _, err := b.Messages(ctx, old, 0); err != nil {
		t.Fatalf("the removed channel by ID: %v", err)
	}
	// Forget by name drops the channel he is out of, the only kind it can.
	if info, err := b.Forget(ctx, "general"); err != nil || info.ID != old {
		t.Fatalf("forget general: %s, %v; want the removed channel %s", info.ID, err, old)
	}
	if _, err := b.Messages(ctx, old, 0); !errors.Is(err, ErrNoChannel) {
		t.Fatalf("the forgotten channel: %v, want ErrNoChannel", err)
	}
	if _, err := b.CreateChannel(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "general", "x"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("two channels of bob's named general: %v, want ErrAmbiguous", err)
	}
}
