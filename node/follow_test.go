package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestSlowFollowerMissesNothing: a follower that takes no message while
// 600 are posted (a catch-up brings more at once) gets every one of them
// afterwards, in order. Before, the stream's buffer held 256 and the rest
// were dropped with a log line.
func TestSlowFollowerMissesNothing(t *testing.T) {
	ctx := ctxT(t)
	n := open(t, newHome(t, "alice"), false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- n.Follow(fctx, ci.ID, 0, func(m Message) error {
			if m.Type != "post" && m.Type != "" { // "" for the timeline read first
				return nil
			}
			mu.Lock()
			first := len(got) == 0
			got = append(got, m.Text)
			mu.Unlock()
			if first {
				close(started)
				<-release // the follower is stuck until everything is posted
			}
			return nil
		})
	}()
	if _, err := n.Send(ctx, ci.ID, "first"); err != nil {
		t.Fatal(err)
	}
	<-started
	for i := range 600 {
		if _, err := n.Send(ctx, ci.ID, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	waitFor(t, 60*time.Second, "all 601 posts on the stream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 601
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow ended with %v", err)
	}
	for i, text := range got[1:] {
		if text != fmt.Sprint(i) {
			t.Fatalf("post %d of the stream is %q, want %q", i+1, text, fmt.Sprint(i))
		}
	}
}

// TestFollowerTooFarBehind: a follower that falls followMax messages
// behind is told (ErrFollowBehind) instead of shown a timeline with holes.
func TestFollowerTooFarBehind(t *testing.T) {
	f := newFollower()
	for i := range followMax {
		if !f.push(Message{Text: fmt.Sprint(i)}) {
			t.Fatalf("push %d refused", i)
		}
	}
	if f.push(Message{Text: "one too many"}) {
		t.Fatal("push beyond followMax accepted")
	}
	ms, over, done := f.take()
	if len(ms) != followMax || !over || done {
		t.Fatalf("take: %d messages, over %v, done %v", len(ms), over, done)
	}
	if f.push(Message{}) {
		t.Fatal("push accepted after the follower fell behind")
	}
}
