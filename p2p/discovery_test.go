package p2p

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestRendezvousDiscovery starts 21 hosts that know only the bootstrap host,
// has them all advertise one rendezvous key, and checks that every host
// finds every other through the DHT and can then connect to it.
func TestRendezvousDiscovery(t *testing.T) {
	const n = 21
	boot := newTestHost(t)
	hosts := []*Host{boot}
	for range n - 1 {
		hosts = append(hosts, newTestHost(t, bootstrapTo(boot)))
	}
	// The DHT dials its bootstrap peer once at start; under load that
	// handshake can time out, leaving a host with an empty routing table
	// until the DHT's next low-peers check minutes later (seen once: "host
	// 14: found 0 of 20 peers"). Make sure each host reached it.
	for _, h := range hosts[1:] {
		connect(t, h, boot)
	}
	key := []byte("channel-rendezvous-key")
	for _, h := range hosts {
		if err := h.Advertise(context.Background(), key); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[PeerID]*Host{}
	for _, h := range hosts {
		ids[h.ID()] = h
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, h := range hosts {
		wg.Go(func() {
			if err := findAll(h, key, ids); err != nil {
				errs <- fmt.Errorf("host %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// findAll looks key up until h has found every other host in want, then
// connects to each with the addresses the DHT returned.
func findAll(h *Host, key []byte, want map[PeerID]*Host) error {
	found := map[PeerID]PeerInfo{}
	deadline := time.Now().Add(90 * time.Second)
	for len(found) < len(want)-1 {
		if time.Now().After(deadline) {
			return fmt.Errorf("found %d of %d peers", len(found), len(want)-1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		infos, err := h.FindPeers(ctx, key, 0)
		cancel()
		if err != nil && len(infos) == 0 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for _, pi := range infos {
			if pi.ID == h.ID() {
				return fmt.Errorf("FindPeers returned the host itself")
			}
			if _, ok := want[pi.ID]; !ok {
				return fmt.Errorf("FindPeers returned unknown peer %s", pi.ID)
			}
			if len(pi.Addrs) == 0 {
				return fmt.Errorf("FindPeers returned %s without addresses", pi.ID)
			}
			found[pi.ID] = pi
		}
		if len(found) < len(want)-1 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Under load a dial (the DHT's own, or one of these) can fail, and the
	// swarm then refuses new dials to that peer for a while ("dial
	// backoff"): retry, as a node's dial loop does.
	for _, pi := range found {
		for try := 0; ; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := h.Connect(ctx, pi)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("after %d tries: %w", try+1, err)
			}
			time.Sleep(time.Second)
		}
	}
	return nil
}

func TestAdvertiseWaitsForRoutingTableAndStops(t *testing.T) {
	lonely := newTestHost(t)
	key := []byte("k")
	if err := lonely.Advertise(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if err := lonely.Advertise(context.Background(), key); err != nil {
		t.Fatalf("second Advertise: %v", err)
	}
	// With an empty routing table nothing can be announced, and a look-up
	// finds nobody (least of all the host itself).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if got, _ := lonely.FindPeers(ctx, key, 0); len(got) != 0 {
		t.Fatalf("FindPeers on a lonely host = %v", got)
	}
	// Once a peer appears the pending announcement goes out.
	other := newTestHost(t, bootstrapTo(lonely))
	waitFor(t, 30*time.Second, "announcement reaches the new peer", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		got, _ := other.FindPeers(ctx, key, 1)
		return len(got) == 1 && got[0].ID == lonely.ID() && len(got[0].Addrs) > 0
	})
	lonely.StopAdvertising(key)
	lonely.mu.Lock()
	n := len(lonely.mu.adverts)
	lonely.mu.Unlock()
	if n != 0 {
		t.Errorf("%d advertisements left after StopAdvertising", n)
	}
	if err := lonely.Advertise(context.Background(), nil); err == nil {
		t.Error("Advertise accepted an empty key")
	}
}

// TestBootstrapLate: a host whose bootstrap peer is down when it starts
// keeps dialling it (with backoff) while its routing table is empty, so it
// joins the DHT soon after the bootstrap peer comes up, not at kad-dht's
// next low-peers check (2 minutes later).
func TestBootstrapLate(t *testing.T) {
	key := newKey(t)
	first := newTestHost(t, func(c *Config) { c.PrivateKey = key })
	addrs := first.Addrs()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	b := newTestHost(t, func(c *Config) { c.Bootstrap = addrs })
	// b's first bootstrap dial fails: the peer is down.
	waitFor(t, 30*time.Second, "b's first bootstrap attempt", func() bool { return b.bootAttempts.Load() > 0 })
	if n := b.dht.RoutingTable().Size(); n != 0 {
		t.Fatalf("routing table of %d peers with the bootstrap peer down", n)
	}
	// The bootstrap peer comes back on the same address and identity.
	listen := strings.TrimSuffix(addrs[0], "/p2p/"+string(first.ID()))
	var late *Host
	waitFor(t, 30*time.Second, "the bootstrap peer to listen again", func() bool {
		cfg := testConfig(t)
		cfg.PrivateKey, cfg.ListenAddrs = key, []string{listen}
		h, err := New(context.Background(), cfg)
		if err != nil {
			return false // the port is not free yet
		}
		late = h
		return true
	})
	t.Cleanup(func() { late.Close() })
	waitFor(t, 60*time.Second, "b's routing table to hold the late bootstrap peer", func() bool {
		return b.dht.RoutingTable().Find(mustDecode(t, late.ID())) != ""
	})
}

func mustDecode(t *testing.T, p PeerID) peer.ID {
	id, err := p.decode()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
