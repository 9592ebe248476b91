package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// deliveryOf returns the delivery state of message id in n's timeline.
func deliveryOf(t *testing.T, a API, channel, id string) string {
	t.Helper()
	ms, err := a.Messages(context.Background(), channel, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m.Delivery
		}
	}
	t.Fatalf("message %s not in the timeline", id)
	return ""
}

// TestDeliveryStateDurable: a post sent while no member is reachable is
// queued, in the node's messages, history and control API, and still after
// the node restarts; it turns sent when a member connects and takes it, and
// seen when the member reads it. A control-socket client that was
// disconnected meanwhile gets the delivery events when it reconnects.
func TestDeliveryStateDurable(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	if _, err := b.Send(ctx, id, "hi"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "hi")
	aHome, bHome := a.cfg.Home, b.cfg.Home
	b.Close()
	waitFor(t, 60*time.Second, "alice to see bob gone", func() bool { return !a.host.Connected(b.host.ID()) })
	res, err := a.Send(ctx, id, "while you were away")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Queued {
		t.Fatalf("send with no member reachable: %+v, want queued", res)
	}
	if got := deliveryOf(t, a, id, res.ID); got != DeliveryQueued {
		t.Errorf("delivery after a queued send = %q, want %q", got, DeliveryQueued)
	}
	ms, _ := a.Messages(ctx, id, 0)
	if ms[0].Author != b.PeerID() || ms[0].Delivery != "" {
		t.Errorf("bob's post at alice: %+v, want no delivery state", ms[0])
	}

	// A restart keeps it queued: the outbox says so, not the process.
	a.Close()
	a = open(t, aHome, true)
	if got := deliveryOf(t, a, id, res.ID); got != DeliveryQueued {
		t.Errorf("delivery after a restart = %q, want %q", got, DeliveryQueued)
	}
	page, err := a.History(ctx, id, "", 10)
	if err != nil || len(page.Messages) != 2 || page.Messages[1].Delivery != DeliveryQueued {
		t.Errorf("history after a restart: %+v, %v", page.Messages, err)
	}
	srv, err := Serve(a, aHome)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close() }()
	c, err := Dial(ctx, aHome)
	if err != nil {
		t.Fatal(err)
	}
	if got := deliveryOf(t, c, id, res.ID); got != DeliveryQueued {
		t.Errorf("delivery through the control socket = %q, want %q", got, DeliveryQueued)
	}
	l := follow(t, c, EventCursor{})
	waitEvent(t, l, "the stream's reset", func(e Event) bool { return e.Type == EventReset })

	// The client loses the socket while bob comes back and takes the post.
	srv.Close()
	b2, err := Open(ctx, Config{Home: bHome, Network: true, Logger: quiet, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS: true, Bootstrap: a.host.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	waitTexts(t, b2, id, "hi", "while you were away")
	waitFor(t, 60*time.Second, "the post to turn sent", func() bool { return deliveryOf(t, a, id, res.ID) == DeliverySent })
	if srv, err = Serve(a, aHome); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, l, "delivery sent after reconnecting", func(e Event) bool {
		return e.Type == EventDelivery && e.MessageID == res.ID && e.Delivery == DeliverySent
	})
	if err := b2.MarkRead(ctx, id, res.ID, true); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, l, "delivery seen", func(e Event) bool {
		return e.Type == EventDelivery && e.MessageID == res.ID && e.Delivery == DeliverySeen && e.By == b2.PeerID()
	})
	if got := deliveryOf(t, c, id, res.ID); got != DeliverySeen {
		t.Errorf("delivery after bob read it = %q, want %q", got, DeliverySeen)
	}
	for _, e := range l.all()[1:] {
		if e.Type == EventReset {
			t.Errorf("a reset after reconnecting to the same node: %+v", e)
		}
	}
	checkSeqs(t, l.all())

	// Seen survives a restart too (the read receipt is in the channel state).
	srv.Close()
	a.Close()
	a = open(t, aHome, true)
	if got := deliveryOf(t, a, id, res.ID); got != DeliverySeen {
		t.Errorf("delivery after bob read it and a restart = %q, want %q", got, DeliverySeen)
	}
}

// TestDeliverLongOutbox: 300 posts of 4 KiB queued while the only other
// member is away (about 1.6 MB of envelopes, base64 in the requests) all
// leave the outbox and reach it when it comes back. The requests are
// packed by size: a request of 256 queued posts used to exceed the
// handler's request limit and was refused, every time, so the outbox
// never drained.
func TestDeliverLongOutbox(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	bHome := b.cfg.Home
	b.Close()
	waitFor(t, 60*time.Second, "alice to see bob gone", func() bool { return !a.host.Connected(b.host.ID()) })
	const posts = 300
	pad := strings.Repeat("x", 4<<10)
	var want []string
	for i := range posts {
		text := fmt.Sprintf("%03d %s", i, pad)
		if _, err := a.Send(ctx, id, text); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	if n := outboxLen(a, id); n < posts {
		t.Fatalf("alice's outbox holds %d items, want at least %d queued", n, posts)
	}
	b2, err := Open(ctx, Config{Home: bHome, Network: true, Logger: quiet, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS: true, Bootstrap: a.host.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	waitFor(t, 120*time.Second, "alice's outbox to drain", func() bool { return outboxLen(a, id) == 0 })
	waitFor(t, 60*time.Second, "every post at bob", func() bool {
		ms, err := b2.Messages(ctx, id, 0)
		got := texts(ms)
		return err == nil && !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
	})
}
