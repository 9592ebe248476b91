package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// eventLog collects a stream's events for a test.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
	return nil
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

// follow subscribes to a's events from the cursor until the test ends.
func follow(t *testing.T, a API, from EventCursor) *eventLog {
	t.Helper()
	l := &eventLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Events(ctx, from, l.add) //nolint:errcheck // ends with the test
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// waitEvent waits for an event that matches pred and returns it.
func waitEvent(t *testing.T, l *eventLog, what string, pred func(Event) bool) Event {
	t.Helper()
	var found Event
	waitFor(t, 30*time.Second, what, func() bool {
		for _, e := range l.all() {
			if pred(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func msgEvent(typ, text string) func(Event) bool {
	return func(e Event) bool { return e.Type == typ && e.Message != nil && e.Message.Text == text }
}

// TestEventsEachType: every kind of change reaches the stream of the node
// where it happens and of the member who receives it.
func TestEventsEachType(t *testing.T) {
	ctx := ctxT(t)
	a := open(t, newHome(t, "alice"), true)
	ea := follow(t, a, ReplayKept) // from the node's first event: no race with the subscription
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ea, "channel added", func(e Event) bool {
		return e.Type == EventChannel && e.Change == "added" && e.Channel == ci.ID && e.Name == "general"
	})
	b := open(t, newHome(t, "bob"), true)
	eb := follow(t, b, ReplayKept)
	code, _ := a.Invite(ctx, ci.ID, InviteOptions{})
	if _, err := b.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ea, "peer online", func(e Event) bool { return e.Type == EventPeer && e.Peer == b.PeerID() && e.Online })
	waitEvent(t, ea, "bob joined", func(e Event) bool {
		return e.Type == EventMember && e.Change == "joined" && e.Member == b.PeerID() && e.By == a.PeerID()
	})
	waitEvent(t, eb, "channel added at bob", func(e Event) bool { return e.Type == EventChannel && e.Change == "added" })
	waitFor(t, 30*time.Second, "bob on the topic", func() bool { return len(a.host.TopicPeers(topicOf(ci.ID))) > 0 })

	res, err := a.Send(ctx, ci.ID, "hello")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, eb, "message at bob", msgEvent(EventMessage, "hello"))
	waitEvent(t, ea, "message at alice", msgEvent(EventMessage, "hello"))
	waitEvent(t, ea, "delivery queued", func(e Event) bool {
		return e.Type == EventDelivery && e.MessageID == res.ID && e.Delivery == DeliveryQueued
	})
	waitEvent(t, ea, "delivery sent", func(e Event) bool {
		return e.Type == EventDelivery && e.MessageID == res.ID && e.Delivery == DeliverySent
	})
	if _, err := a.Edit(ctx, ci.ID, res.ID, "hello again"); err != nil {
		t.Fatal(err)
	}
	ed := waitEvent(t, eb, "edit at bob", msgEvent(EventEdit, "hello again"))
	if !ed.Message.Edited || ed.Message.ID != res.ID {
		t.Errorf("edit event %+v", ed.Message)
	}
	waitEvent(t, eb, "bob has the edit", func(e Event) bool { return e.Type == EventEdit }) // b's state has it
	if _, err := b.React(ctx, ci.ID, res.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ea, "reaction at alice", func(e Event) bool {
		return e.Type == EventReaction && e.Message != nil && len(e.Message.Reactions) == 1 && e.Message.Reactions[0].Emoji == "👍"
	})
	waitEvent(t, ea, "delivery seen", func(e Event) bool {
		return e.Type == EventDelivery && e.MessageID == res.ID && e.Delivery == DeliverySeen && e.By == b.PeerID()
	})
	if _, err := b.Reply(ctx, ci.ID, res.ID, "a reply"); err != nil {
		t.Fatal(err)
	}
	rep := waitEvent(t, ea, "reply at alice", msgEvent(EventMessage, "a reply"))
	if rep.Message.ReplyTo != res.ID {
		t.Errorf("reply_to = %q, want %q", rep.Message.ReplyTo, res.ID)
	}
	if _, err := a.Delete(ctx, ci.ID, res.ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, eb, "delete at bob", func(e Event) bool { return e.Type == EventDelete && e.Message != nil && e.Message.Deleted })
	if _, err := a.Rename(ctx, ci.ID, "lobby"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, eb, "rename at bob", func(e Event) bool { return e.Type == EventChannel && e.Change == "renamed" && e.Name == "lobby" })
	// Leaving: "gone" at the leaver, "left" at the member who commits it
	// (a removal is the same event with Change "removed").
	if err := b.Leave(ctx, ci.ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, eb, "channel gone at bob", func(e Event) bool { return e.Type == EventChannel && e.Change == "gone" })
	waitEvent(t, ea, "bob left", func(e Event) bool {
		return e.Type == EventMember && e.Change == "left" && e.Member == b.PeerID()
	})
	b.Close()
	waitEvent(t, ea, "peer offline", func(e Event) bool { return e.Type == EventPeer && e.Peer == b.PeerID() && !e.Online })
	checkSeqs(t, ea.all())
}

// checkSeqs asserts one stream, numbered without gaps or repeats.
func checkSeqs(t *testing.T, evs []Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Stream != evs[0].Stream || evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("event %d: %s/%d after %s/%d", i, evs[i].Stream, evs[i].Seq, evs[i-1].Stream, evs[i-1].Seq)
		}
	}
}

// TestEventsReconnect: a client of the control socket that loses the
// daemon resumes where it stopped, missing nothing and repeating nothing;
// after the daemon restarts it is told to reset.
func TestEventsReconnect(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	srv, err := Serve(n, home)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	l := follow(t, c, ReplayKept)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	n.Send(ctx, ci.ID, "one") //nolint:errcheck
	waitEvent(t, l, "one", msgEvent(EventMessage, "one"))
	srv.Close() // the daemon's socket goes away; the node does not
	for _, s := range []string{"two", "three"} {
		if _, err := n.Send(ctx, ci.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	srv, err = Serve(n, home)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, l, "three after reconnecting", msgEvent(EventMessage, "three"))
	waitEvent(t, l, "two after reconnecting", msgEvent(EventMessage, "two"))
	checkSeqs(t, l.all())

	// A restarted node is a new stream: the client is told to reset.
	srv.Close()
	n.Close()
	n = open(t, home, false)
	srv, err = Serve(n, home)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	reset := waitEvent(t, l, "reset", func(e Event) bool { return e.Type == EventReset })
	if _, err := n.Send(ctx, ci.ID, "four"); err != nil {
		t.Fatal(err)
	}
	four := waitEvent(t, l, "four on the new stream", msgEvent(EventMessage, "four"))
	if four.Stream != reset.Stream || four.Stream == l.all()[0].Stream {
		t.Errorf("stream: reset %s, four %s, first %s", reset.Stream, four.Stream, l.all()[0].Stream)
	}
}

// TestEventsSlowSubscriber: a subscriber that does not read for a while is
// resumed from the ring without a gap; one that misses more than the ring
// keeps gets a reset, and the node never waits for it.
func TestEventsSlowSubscriber(t *testing.T) {
	n := &Node{quit: make(chan struct{}), events: newEventHub(time.Now)}
	ctx := ctxT(t)
	errStop := errors.New("stop")
	var got []Event
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- n.Events(ctx, EventCursor{}, func(e Event) error {
			if len(got) == 0 {
				close(started)
				<-release // stall while the node publishes
			}
			got = append(got, e)
			if len(got) == 3000 {
				return errStop
			}
			return nil
		})
	}()
	for {
		n.events.mu.Lock()
		k := len(n.events.mu.subs)
		n.events.mu.Unlock()
		if k > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	n.events.publish(Event{Type: EventPeer, Peer: "p0"})
	<-started
	for i := 1; i < 3000; i++ { // well past the subscriber's queue
		n.events.publish(Event{Type: EventPeer, Peer: fmt.Sprint("p", i)})
	}
	close(release)
	if err := <-done; !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	checkSeqs(t, got)
	if got[0].Type != EventReset || got[0].Seq != 0 || got[1].Peer != "p0" {
		t.Errorf("a live subscription starts %+v, %+v; want a reset at seq 0, then p0", got[0], got[1])
	}

	// Behind by more than the ring: a reset, then live events.
	h := n.events
	from := got[len(got)-1].Cursor()
	for i := 0; i < eventRing+10; i++ {
		h.publish(Event{Type: EventPeer})
	}
	_, backlog := h.subscribe(from)
	if len(backlog) != 1 || backlog[0].Type != EventReset {
		t.Fatalf("backlog after overrun: %d events, first %+v", len(backlog), backlog[0])
	}
	_, backlog = h.subscribe(EventCursor{Stream: h.stream, Seq: h.mu.seq - 5})
	if len(backlog) != 5 || backlog[0].Seq != h.mu.seq-4 {
		t.Fatalf("backlog of 5: %d events", len(backlog))
	}
	// The ring went round: what it keeps is still the latest eventRing
	// events, oldest first, without a gap.
	_, kept := h.subscribe(ReplayKept)
	if len(kept) != eventRing || kept[len(kept)-1].Seq != h.mu.seq {
		t.Fatalf("kept %d events, the last of seq %d; want %d up to %d", len(kept), kept[len(kept)-1].Seq, eventRing, h.mu.seq)
	}
	checkSeqs(t, kept)
}
