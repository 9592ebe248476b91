package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestFaultBlockControl: a daemon with a fault gate cuts its connections to
// the peers fault.block names and lets them back after fault.unblock; one
// without answers ErrNoGate and changes nothing.
func TestFaultBlockControl(t *testing.T) {
	ctx := ctxT(t)
	homeA := newHome(t, "alice")
	a, err := Open(ctx, Config{Home: homeA, Network: true, Logger: quiet,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true, Gate: NewGate()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	homeB := newHome(t, "bob")
	b := open(t, homeB, true)
	id, _ := joinGeneral(t, a, b)
	srvA, err := Serve(a, homeA)
	if err != nil {
		t.Fatal(err)
	}
	defer srvA.Close()
	srvB, err := Serve(b, homeB)
	if err != nil {
		t.Fatal(err)
	}
	defer srvB.Close()
	ca, _ := Dial(ctx, homeA)
	cb, _ := Dial(ctx, homeB)
	connected := func(c *Client, peer string) bool {
		ps, err := c.Peers(ctx)
		return err == nil && slices.ContainsFunc(ps, func(p PeerInfo) bool { return p.ID == peer })
	}
	waitFor(t, 60*time.Second, "alice connected to bob", func() bool { return connected(ca, b.PeerID()) })
	if err := cb.FaultBlock(ctx, []string{a.PeerID()}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("fault.block without a gate: %v, want ErrInvalidInput", err)
	}
	if !connected(cb, a.PeerID()) {
		t.Fatal("a refused fault.block cut the connection")
	}
	if err := ca.FaultBlock(ctx, []string{b.PeerID()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the connection cut", func() bool { return !connected(ca, b.PeerID()) && !connected(cb, a.PeerID()) })
	if err := ca.FaultUnblock(ctx); err != nil {
		t.Fatal(err)
	}
	// Healed: the nodes find each other again on their own (the lonely
	// channel's discovery).
	waitFor(t, 60*time.Second, "reconnected after unblock", func() bool { return connected(ca, b.PeerID()) })
	if _, err := a.Send(context.Background(), id, "after the heal"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, b, id, "after the heal")
}
