package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/store"
)

// TestConcurrentSends: posts sent concurrently to one channel (which share
// steps and fsyncs) each get their own ID, and every member shows each of
// them exactly once.
func TestConcurrentSends(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	const senders, each = 8, 25
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				res, err := a.Send(ctx, id, fmt.Sprintf("m %d %d", g, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ids[res.ID] {
					t.Errorf("ID %s given twice", res.ID)
				}
				ids[res.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, n := range []*Node{a, b} {
		waitFor(t, 30*time.Second, "every post at both members", func() bool {
			ms, _ := n.Messages(ctx, id, 0)
			return len(ms) >= senders*each
		})
		ms, _ := n.Messages(ctx, id, 0)
		seen := map[string]int{}
		for _, m := range ms {
			seen[m.Text]++
		}
		for g := range senders {
			for i := range each {
				if c := seen[fmt.Sprintf("m %d %d", g, i)]; c != 1 {
					t.Fatalf("m %d %d shown %d times", g, i, c)
				}
			}
		}
	}
}

// TestSendCancelledNotSent: a send whose context has ended before the loop
// takes it fails and is not sent.
func TestSendCancelledNotSent(t *testing.T) {
	ctx := ctxT(t)
	n := open(t, newHome(t, "alice"), false)
	ci, err := n.CreateChannel(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	c := n.channel(ci.ID)
	hold := make(chan struct{})
	go c.do(ctx, func(*chanState) error { <-hold; return nil }) //nolint:errcheck // a loop kept busy
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := n.Send(cctx, ci.ID, "never"); err == nil {
		t.Fatal("send with an ended context succeeded")
	}
	close(hold)
	if _, err := n.Send(ctx, ci.ID, "after"); err != nil {
		t.Fatal(err)
	}
	ms, _ := n.Messages(ctx, ci.ID, 0)
	if got := texts(ms); len(got) != 1 || got[0] != "after" {
		t.Fatalf("timeline %q, want only \"after\"", got)
	}
}

// TestAckedSendsDurable: sends from concurrent callers, stored as flights
// (without waiting for each fsync), are acknowledged only once durable: a
// crash image taken while sends are in flight holds every send that was
// acknowledged before it.
func TestAckedSendsDurable(t *testing.T) {
	ctx := ctxT(t)
	fs := store.NewCrashFS()
	if _, err := InitFS(ctx, "/alice", "alice", []byte{}, fs); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, Config{Home: "/alice", CrashFS: fs, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ci, err := n.CreateChannel(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("m %d %d", g, i)
				if _, err := n.Send(ctx, ci.ID, text); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, text)
				mu.Unlock()
			}
		}()
	}
	var images []*store.CrashFS
	var wants [][]string
	for len(images) < 5 {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k < 100*(len(images)+1) {
			time.Sleep(time.Millisecond)
			continue
		}
		// Every send acknowledged so far, then the image: what the image
		// must hold. Sends keep going while it is taken.
		mu.Lock()
		want := slices.Clone(acked)
		images = append(images, fs.Crash())
		mu.Unlock()
		wants = append(wants, want)
	}
	close(stop)
	wg.Wait()
	for i, img := range images {
		m, err := Open(context.Background(), Config{Home: "/alice", CrashFS: img, Logger: quiet})
		if err != nil {
			t.Fatalf("open image %d: %v", i, err)
		}
		ms, err := m.Messages(ctx, ci.ID, 0)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, x := range ms {
			have[x.Text] = true
		}
		for _, text := range wants[i] {
			if !have[text] {
				t.Fatalf("image %d: %q was acknowledged before the crash and is not there (%d of %d there)", i, text, len(ms), len(wants[i]))
			}
		}
	}
}
