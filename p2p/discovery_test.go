package p2p

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
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
	for _, pi := range found {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := h.Connect(ctx, pi)
		cancel()
		if err != nil {
			return err
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
