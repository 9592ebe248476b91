package p2p

import (
	"context"
	"testing"
	"time"
)

// TestGatePartition: a blocked peer is disconnected and cannot reconnect in
// either direction; after Unblock it can.
func TestGatePartition(t *testing.T) {
	g := NewGate()
	a := newTestHost(t, func(c *Config) { c.Gate = g })
	b := newTestHost(t)
	connect(t, a, b)
	g.Block(b.ID())
	waitFor(t, 10*time.Second, "blocked peer disconnected", func() bool { return !a.Connected(b.ID()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Connect(ctx, b.Info()); err == nil {
		t.Fatal("dial to a blocked peer succeeded")
	}
	if err := b.Connect(ctx, a.Info()); err == nil && a.Connected(b.ID()) {
		t.Fatal("dial from a blocked peer succeeded")
	}
	g.Unblock()
	// b may still hold the half-open connection a refused; redial until a
	// sees it.
	waitFor(t, 20*time.Second, "reconnected after Unblock", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = a.Connect(ctx, b.Info())
		return a.Connected(b.ID())
	})
}

// TestGateBlockAll cuts a host off from everyone.
func TestGateBlockAll(t *testing.T) {
	g := NewGate()
	a := newTestHost(t, func(c *Config) { c.Gate = g })
	b := newTestHost(t)
	connect(t, a, b)
	g.BlockAll()
	waitFor(t, 10*time.Second, "cut off", func() bool { return len(a.Peers()) == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Connect(ctx, a.Info()); err == nil && a.Connected(b.ID()) {
		t.Fatal("a host cut off accepted a connection")
	}
}
