package p2p

import (
	"context"
	"testing"
	"time"
)

func TestPeerEvents(t *testing.T) {
	a := newTestHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := a.PeerEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	next := func(want bool) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case e := <-events:
				if e.Peer == b.ID() && e.Connected == want {
					return
				}
			case <-timeout:
				t.Fatalf("no event Connected=%v for %s", want, b.ID())
			}
		}
	}
	next(true)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	next(false)
	cancel()
	waitFor(t, 10*time.Second, "events channel closed after ctx ends", func() bool {
		select {
		case _, ok := <-events:
			return !ok
		default:
			return false
		}
	})
	a.Close()
	if _, err := a.PeerEvents(context.Background()); err == nil {
		t.Errorf("PeerEvents after Close: %v", err)
	}
}
