package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
)

// relayedPair starts a relay, a host b that reserves a slot there, and a
// host c connected to b only through the relay (on loopback nothing is
// public, so no hole punch upgrades the connection).
func relayedPair(t *testing.T) (relay, b, c *Host) {
	t.Helper()
	relay = newTestHost(t, func(c *Config) { c.RelayService = true })
	b, c = newTestHost(t, func(c *Config) { c.hideAddrs = true }), newTestHost(t)
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
// its stream on the connection it opened first) stops crossing the relay.
func TestDirectConnectionRetiresRelayed(t *testing.T) {
	_, b, c := relayedPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx, b.Info()); err != nil { // already connected (relayed): no dial
		t.Fatal(err)
	}
	// A direct dial, as a hole punch makes one.
	direct := network.WithForceDirectDial(ctx, "test")
	if err := c.h.Connect(direct, peer.AddrInfo{ID: b.h.ID(), Addrs: b.h.Network().ListenAddresses()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the relayed connection to close", func() bool {
		conns := c.Conns(b.ID())
		return len(conns) == 1 && !conns[0].Relayed
	})
}
