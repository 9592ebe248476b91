package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
)

// unread returns n's unread count of channel.
func unread(t *testing.T, n *Node, channel string) int {
	t.Helper()
	cs, err := n.Channels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == channel {
			return c.Unread
		}
	}
	t.Fatalf("no channel %s", channel)
	return 0
}

// seenBy returns who a's node shows has read the post with text.
func seenBy(n *Node, channel, text string) []string {
	ms, _ := n.Messages(context.Background(), channel, 0)
	for _, m := range ms {
		if m.Text == text {
			return m.SeenBy
		}
	}
	return nil
}

// TestReadReceipts: a member marks posts read; its unread count follows
// and survives a restart; the author sees "seen by" on its posts, receipts
// sent close together are coalesced, an older position changes nothing,
// and a reader that opts out sends nothing.
func TestReadReceipts(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	for _, text := range []string{"one", "two"} {
		if _, err := a.Send(ctx, id, text); err != nil {
			t.Fatal(err)
		}
	}
	ms := waitTextsGet(t, b, id, "one", "two")
	if got := unread(t, b, id); got != 2 {
		t.Errorf("bob's unread before reading: %d, want 2", got)
	}
	if got := unread(t, a, id); got != 0 {
		t.Errorf("alice's unread (her own posts): %d, want 0", got)
	}
	if err := b.MarkRead(ctx, id, ms[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if got := unread(t, b, id); got != 1 {
		t.Errorf("bob's unread after reading one: %d, want 1", got)
	}
	// Within readEvery of the first: coalesced, sent on a later tick.
	if err := b.MarkRead(ctx, id, ms[1].ID, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "alice to see both read by bob", func() bool {
		return slices.Equal(seenBy(a, id, "one"), []string{b.PeerID()}) && slices.Equal(seenBy(a, id, "two"), []string{b.PeerID()})
	})
	if !sawEvent(a, func(e Event) bool {
		return e.Type == EventRead && e.Member == b.PeerID() && e.MessageID == ms[1].ID && e.MemberName == "bob"
	}) {
		t.Error("alice's event stream has no read event")
	}
	if !sawEvent(a, func(e Event) bool {
		return e.Type == EventDelivery && e.Delivery == DeliverySeen && e.MessageID == ms[0].ID && e.By == b.PeerID()
	}) {
		t.Error("alice's event stream has no delivery seen for her first post")
	}
	if err := b.MarkRead(ctx, id, ms[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if got := unread(t, b, id); got != 0 {
		t.Errorf("an older position moved bob's unread to %d", got)
	}

	// Opting out: the position is stored, no receipt goes out.
	if _, err := a.Send(ctx, id, "three"); err != nil {
		t.Fatal(err)
	}
	ms = waitTextsGet(t, b, id, "one", "two", "three")
	if err := b.MarkRead(ctx, id, ms[2].ID, false); err != nil {
		t.Fatal(err)
	}
	b.mustChannel(t, id, func(s *chanState) {
		if pos, _ := s.crdt.ReadPosition(b.PeerID()); pos != s.readPositionFor(t, ms[1].ID) || !s.readPending.IsZero() {
			t.Errorf("an opted-out read queued or sent a receipt: position %v, pending %v", pos, s.readPending)
		}
	})
	if got := unread(t, b, id); got != 0 {
		t.Errorf("bob's unread after an opted-out read: %d", got)
	}

	for _, bad := range []struct{ ch, msg string }{{id, "0123456789abcdef"}, {id, "zz"}, {"nope", ms[0].ID}} {
		if err := b.MarkRead(ctx, bad.ch, bad.msg, true); !errors.Is(err, ErrNoMessage) && !errors.Is(err, ErrNoChannel) {
			t.Errorf("MarkRead(%q, %q) = %v", bad.ch, bad.msg, err)
		}
	}

	// The stored position survives a restart.
	home := b.cfg.Home
	b.Close()
	b2 := open(t, home, false)
	if got := unread(t, b2, id); got != 0 {
		t.Errorf("bob's unread after a restart: %d, want 0", got)
	}
}

// waitTextsGet waits for the timeline and returns it.
func waitTextsGet(t *testing.T, n *Node, channel string, want ...string) []Message {
	t.Helper()
	waitTexts(t, n, channel, want...)
	ms, err := n.Messages(context.Background(), channel, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// mustChannel runs fn on the channel's loop.
func (n *Node) mustChannel(t *testing.T, id string, fn func(s *chanState)) {
	t.Helper()
	c, err := n.resolve(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.do(context.Background(), func(s *chanState) error { fn(s); return nil }); err != nil {
		t.Fatal(err)
	}
}

// readPositionFor returns the CRDT ID of the post with message ID mid.
func (s *chanState) readPositionFor(t *testing.T, mid string) crdt.ID {
	t.Helper()
	id, err := s.findRecent(mid)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
