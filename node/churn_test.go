package node

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestChurnConverges is the testbed's churn at node level, on libp2p over
// loopback: in one epoch, dave leaves, alice (the owner) removes erin, and
// bob and carol update their keys, all at once, so that several commits
// compete for the epoch (and for the next ones, as losers propose again).
// The three who stay must end on the same epoch and tree, without dave
// and erin, and keep talking.
func TestChurnConverges(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := trio(t, "hello")
	var all []*Node
	all = append(all, a, b, c)
	for _, name := range []string{"dave", "erin"} {
		n := open(t, newHome(t, name), true)
		code, err := a.Invite(ctx, id, InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Join(ctx, code); err != nil {
			t.Fatal(err)
		}
		all = append(all, n)
	}
	d, e := all[3], all[4]
	waitFor(t, 60*time.Second, "every member to see five members", func() bool {
		for _, n := range all {
			if len(mlsMembers(t, n, id)) != 5 {
				return false
			}
		}
		_, auth := groupState(t, a, id)
		for _, n := range all[1:] {
			if _, o := groupState(t, n, id); !bytes.Equal(o, auth) {
				return false
			}
		}
		return true
	})
	for round := range 2 {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		start := make(chan struct{})
		op := func(f func() error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- f()
			}()
		}
		if round == 0 {
			op(func() error { return d.Leave(ctx, id) })
			op(func() error { return a.RemoveMember(ctx, id, e.PeerID()) })
		} else {
			op(func() error { return a.UpdateKeys(ctx, id) })
		}
		op(func() error { return b.UpdateKeys(ctx, id) })
		op(func() error { return c.UpdateKeys(ctx, id) })
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		stay := []*Node{a, b, c}
		converged := func() bool {
			_, auth := groupState(t, a, id)
			for _, n := range stay {
				ms := mlsMembers(t, n, id)
				if _, o := groupState(t, n, id); !bytes.Equal(o, auth) || len(ms) != 3 ||
					slices.Contains(ms, d.PeerID()) || slices.Contains(ms, e.PeerID()) {
					return false
				}
			}
			return true
		}
		deadline := time.Now().Add(90 * time.Second)
		for !converged() {
			if time.Now().After(deadline) {
				for _, n := range stay {
					ep, auth := groupState(t, n, id)
					t.Logf("%s: epoch %d, authenticator %x, members %d", n.id.name, ep, auth[:4], len(mlsMembers(t, n, id)))
				}
				t.Fatalf("round %d: the members did not converge", round)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var want []string
		for _, n := range stay {
			text := fmt.Sprintf("round %d by %s", round, n.id.name)
			want = append(want, text)
			if _, err := n.Send(ctx, id, text); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range stay {
			waitFor(t, 60*time.Second, n.id.name+" to read the round's posts", func() bool {
				ms, err := n.Messages(context.Background(), id, 0)
				got := texts(ms)
				return err == nil && !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
			})
		}
	}
}
