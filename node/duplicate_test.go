package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
)

// TestResentEventNotifiedOnce: an event that arrives again in a new MLS
// message (an author's re-send after a branch switch or for a joiner)
// changes nothing, so followers and event subscribers are not told about
// it a second time: `messages --follow` would print the post twice.
func TestResentEventNotifiedOnce(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var followed, evented []string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = b.Follow(fctx, id, 0, func(m Message) error {
			mu.Lock()
			defer mu.Unlock()
			if m.Type == "post" {
				followed = append(followed, m.Text)
			}
			return nil
		})
	}()
	go func() {
		defer wg.Done()
		_ = b.Events(fctx, EventCursor{}, func(e Event) error {
			mu.Lock()
			defer mu.Unlock()
			if e.Type == EventMessage && e.Message != nil {
				evented = append(evented, e.Message.Text)
			}
			return nil
		})
	}()
	count := func(list *[]string, text string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, x := range *list {
			if x == text {
				n++
			}
		}
		return n
	}
	// Post until both subscriptions have started and seen one.
	var first, text string
	for i := 1; ; i++ {
		text = fmt.Sprintf("one-%d", i)
		m, err := a.Send(ctx, id, text)
		if err != nil {
			t.Fatal(err)
		}
		first = m.ID
		ok := false
		for end := time.Now().Add(2 * time.Second); !ok && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			ok = count(&followed, text) > 0 && count(&evented, text) > 0
		}
		if ok {
			break
		}
		if i == 30 {
			t.Fatal("the subscriptions saw none of 30 posts")
		}
	}

	// a sends its first post again, as a switch or a joiner's re-send does.
	c, err := a.resolve(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.do(ctx, func(s *chanState) error {
		fid, err := s.findMessage(first)
		if err != nil {
			return err
		}
		ev, ok := s.crdt.Event(fid)
		if !ok {
			t.Fatalf("a does not have its post %s", first)
		}
		return s.resend(ctx, []crdt.Event{ev})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, id, "two"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "both subscriptions see the post after the re-send", func() bool {
		return count(&followed, "two") > 0 && count(&evented, "two") > 0
	})
	cancel()
	wg.Wait()
	if n := count(&followed, text); n != 1 {
		t.Errorf("followers were told %d times about the post %q, want once", n, text)
	}
	if n := count(&evented, text); n != 1 {
		t.Errorf("event subscribers were told %d times about the post %q, want once", n, text)
	}
}
