package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// TestDaemonCatchUp is issue 11's five-daemon scenario: one daemon is
// stopped while the other four send messages, then restarted; it must end
// with every message, in the same order as the others (the timeline
// converges). 500 messages in make test; SPACEPANDA_LONG=1 sends the
// issue's 5,000. The time from the restart to the complete timeline is
// logged, not asserted (docs/benchmarks.md records it).
func TestDaemonCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five daemons")
	}
	count := 500
	if os.Getenv("SPACEPANDA_LONG") != "" {
		count = 5000
	}
	var ps []*proc
	for i := range 5 {
		p := newProc(t, fmt.Sprintf("n%d", i))
		p.start()
		ps = append(ps, p)
	}
	id := ps[0].must("channel", "create", "general")
	for _, p := range ps[1:] {
		p.must("join", ps[0].must("channel", "invite", "general"))
	}
	ps[0].must("send", "general", "hello")
	for _, p := range ps[1:] {
		p.waitTexts(id, "hello")
	}

	off, live := ps[4], ps[:4]
	off.stop(syscall.SIGTERM)
	sendAll(t, live, id, count)
	want := count + 1
	for _, p := range live {
		waitCount(t, p, id, want, 120*time.Second)
	}

	start := time.Now()
	off.start()
	answered := time.Since(start)
	waitCount(t, off, id, want, 180*time.Second)
	took := time.Since(start)
	t.Logf("%d messages missed: the restarted daemon answered after %v and held all of them %v after its start",
		count, answered.Round(time.Millisecond), took.Round(time.Millisecond))

	ref := live[0].texts(id)
	off.waitFor("the restarted timeline to equal the others'", func() bool {
		return slices.Equal(off.texts(id), ref)
	})
	for _, p := range live[1:] {
		if got := p.texts(id); !slices.Equal(got, ref) {
			t.Fatalf("%s's timeline differs from %s's (%d and %d messages)", p.home, live[0].home, len(got), len(ref))
		}
	}
}

// sendAll sends count messages through the control sockets of ps, two
// senders per daemon at a time.
func sendAll(t *testing.T, ps []*proc, channel string, count int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range count {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(ps))
	for _, p := range ps {
		c, err := node.Dial(ctx, p.home)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if _, err := c.Send(ctx, channel, fmt.Sprintf("m%05d", i)); err != nil {
						errs <- fmt.Errorf("send %d through %s: %w", i, p.home, err)
						cancel()
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitCount waits until p's timeline of channel holds want messages.
func waitCount(t *testing.T, p *proc, channel string, want int, timeout time.Duration) {
	t.Helper()
	c, err := node.Dial(context.Background(), p.home)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	var got int
	for {
		ms, err := c.Messages(context.Background(), channel, 0)
		if err == nil {
			if got = len(ms); got >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d of %d messages after %v\ndaemon output:\n%s", p.home, got, want, timeout, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
