package p2p

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
)

// relayedPair starts a relay, a host b that reserves a slot there, and a
// host c connected to b only through the relay (on loopback nothing is
// public, so no hole punch upgrades the connection).
func relayedPair(t *testing.T) (relay, b, c *Host) {
	t.Helper()
	relay = newTestHost(t, func(c *Config) { c.RelayService = true })
	hide := func(c *Config) { c.hideAddrs = true }
	b, c = newTestHost(t, hide), newTestHost(t, hide)
	connect(t, b, relay)
	connect(t, c, relay)
	ri := peer.AddrInfo{ID: relay.h.ID(), Addrs: relay.h.Addrs()}
	waitFor(t, 20*time.Second, "a reservation at the relay", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := client.Reserve(ctx, b.h, ri)
		return err == nil
	})
	circuit := relay.Addrs()[0] + "/p2p-circuit"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx, PeerInfo{ID: b.ID(), Addrs: []string{circuit}}); err != nil {
		t.Fatalf("connect through the relay: %v", err)
	}
	for _, h := range []*Host{b, c} {
		other := b.ID()
		if h == b {
			other = c.ID()
		}
		conns := h.Conns(other)
		if len(conns) == 0 {
			t.Fatalf("no connection between b and c")
		}
		for _, cn := range conns {
			if !cn.Relayed {
				t.Fatalf("direct connection %s: the test needs a relayed one", cn.Addr)
			}
		}
		if !h.Connected(other) {
			t.Errorf("Connected is false over a relayed connection")
		}
	}
	return relay, b, c
}

// TestGossipAndRequestOverRelay checks that a relayed connection, which
// libp2p marks "limited" because the relay cuts it after RelayLimitData or
// RelayLimitDuration, carries gossip and our request streams: without
// that, two desktops behind symmetric NATs could never chat.
func TestGossipAndRequestOverRelay(t *testing.T) {
	_, b, c := relayedPair(t)
	const topic = "relayed"
	ctx := context.Background()
	subB, err := b.Subscribe(ctx, topic, acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, topic, acceptAll); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "c to see b on the topic over the relayed connection", func() bool {
		return len(c.TopicPeers(topic)) == 1
	})
	if err := c.Publish(ctx, topic, []byte("through the relay")); err != nil {
		t.Fatal(err)
	}
	nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := subB.Next(nctx)
	if err != nil || string(m.Data) != "through the relay" || m.From != c.ID() {
		t.Fatalf("b received %q from %s, err %v", m.Data, m.From, err)
	}

	if err := b.HandleRequest("/test/echo/1", Limits{}, func(_ context.Context, _ PeerID, req []byte) ([]byte, error) {
		return append([]byte("echo "), req...), nil
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Request(ctx, b.ID(), "/test/echo/1", []byte("hi"), Limits{})
	if err != nil || string(resp) != "echo hi" {
		t.Fatalf("request over the relay: %q, %v", resp, err)
	}
}

// TestDirectConnectionRetiresRelayed checks that once a direct connection
// to a peer exists, the relayed one is closed, so that gossip (which keeps
// its stream on the connection it opened first) stops crossing the relay;
// and that a request in flight on the relayed connection (a join that
// races the hole punch) completes first.
func TestDirectConnectionRetiresRelayed(t *testing.T) {
	_, b, c := relayedPair(t)
	const topic = "switch"
	subs := map[*Host]*Subscription{}
	for _, h := range []*Host{b, c} {
		sub, err := h.Subscribe(context.Background(), topic, acceptAll)
		if err != nil {
			t.Fatal(err)
		}
		subs[h] = sub
	}
	waitFor(t, 30*time.Second, "b and c on the topic over the relayed connection", func() bool {
		return len(b.TopicPeers(topic)) == 1 && len(c.TopicPeers(topic)) == 1
	})
	release := make(chan struct{})
	if err := b.HandleRequest("/test/slow/1", Limits{}, func(ctx context.Context, _ PeerID, req []byte) ([]byte, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return req, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		resp, err := c.Request(ctx, b.ID(), "/test/slow/1", []byte("slow"), Limits{})
		if err == nil && string(resp) != "slow" {
			err = fmt.Errorf("response %q", resp)
		}
		done <- err
	}()
	// The request's own stream: the relayed connection carries gossip's
	// streams from the start, so any stream would not do (under load the
	// request could then open its stream on the direct connection only).
	waitFor(t, 30*time.Second, "the request stream on the relayed connection", func() bool {
		for _, cn := range c.h.Network().ConnsToPeer(b.h.ID()) {
			for _, st := range cn.GetStreams() {
				if st.Protocol() == "/test/slow/1" {
					return true
				}
			}
		}
		return false
	})
	// A direct dial, as a hole punch makes one.
	// b announces no address (identify would remove a temporary one
	// from c's peerstore), so c is given b's permanently.
	direct := network.WithForceDirectDial(ctx, "test")
	c.h.Peerstore().AddAddrs(b.h.ID(), b.h.Network().ListenAddresses(), peerstore.PermanentAddrTTL)
	if err := c.h.Connect(direct, peer.AddrInfo{ID: b.h.ID()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(directGrace + time.Second) // past the grace: only the request keeps the relayed connection
	if conns := c.Conns(b.ID()); !slices.ContainsFunc(conns, func(cn Conn) bool { return cn.Relayed }) {
		t.Fatalf("connections while the request runs: %+v, want the relayed one still open", conns)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("request in flight during the switch: %v", err)
	}
	waitFor(t, 20*time.Second, "the relayed connection to close", func() bool {
		conns := c.Conns(b.ID())
		return len(conns) > 0 && !slices.ContainsFunc(conns, func(cn Conn) bool { return cn.Relayed })
	})
	// Gossip carries on, both ways, over the direct connection. Gossip is
	// best effort and the switch restarts its streams, so a message
	// published meanwhile may be lost (the node's sync recovers it): publish
	// until one arrives.
	for _, pair := range [][2]*Host{{b, c}, {c, b}} {
		from, to := pair[0], pair[1]
		got := make(chan string, 64)
		nctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		go func() {
			for {
				m, err := subs[to].Next(nctx)
				if err != nil {
					return
				}
				got <- string(m.Data)
			}
		}()
		delivered := false
		for i := 0; !delivered && nctx.Err() == nil; i++ {
			msg := fmt.Sprintf("direct %d from %s", i, from.ID())
			if err := from.Publish(nctx, topic, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-got:
				delivered = true
			case <-time.After(2 * time.Second):
			case <-nctx.Done():
			}
		}
		cancel()
		if !delivered {
			t.Fatalf("no gossip from %s to %s over the direct connection", from.ID(), to.ID())
		}
	}
}
