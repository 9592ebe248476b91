package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// kad-dht dials the bootstrap peers when it starts and then only at its
// low-peers check, every 2 minutes: a host whose bootstrap dials failed
// (the peer was down, the network not up yet) stayed alone that long. The
// host therefore dials them itself, with backoff, while its routing table
// is empty.
const (
	bootRetryMin    = time.Second
	bootRetryMax    = 30 * time.Second
	bootCheckEvery  = 10 * time.Second // while the routing table has peers
	bootDialTimeout = 10 * time.Second
)

// keepBootstrapped starts the goroutine that dials the bootstrap peers,
// with backoff from bootRetryMin to bootRetryMax, whenever the routing
// table is empty, until the host closes.
func (h *Host) keepBootstrapped() {
	if len(h.boot) == 0 {
		return
	}
	h.goTracked(func() {
		wait := bootRetryMin
		for {
			if h.dht.RoutingTable().Size() > 0 {
				wait = bootRetryMin
				if !sleepCtx(h.ctx, bootCheckEvery) {
					return
				}
				continue
			}
			if !sleepCtx(h.ctx, wait) {
				return
			}
			wait = min(2*wait, bootRetryMax)
			if h.dht.RoutingTable().Size() == 0 {
				h.dialBootstrap()
			}
		}
	})
}

// dhtProtocol is the protocol of SpacePanda's private DHT.
const dhtProtocol = protocol.ID(DHTProtocolPrefix + "/kad/1.0.0")

// dialBootstrap dials the bootstrap peers it is not connected to. Its
// backoff replaces the swarm's, which would refuse a peer that just failed.
func (h *Host) dialBootstrap() {
	h.bootAttempts.Add(1)
	net := h.h.Network()
	for _, ai := range h.boot {
		if net.Connectedness(ai.ID) == network.Connected {
			// Connected, and still not in the routing table: the DHT
			// did not take the peer when the connection came up (its
			// identify can answer before the peer, just starting, has
			// registered the DHT protocol, and the identify push that
			// follows is the DHT's only other chance). Hand it over
			// once the peer says it speaks the DHT.
			if ok, _ := h.h.Peerstore().SupportsProtocols(ai.ID, dhtProtocol); len(ok) > 0 {
				if _, err := h.dht.RoutingTable().TryAddPeer(ai.ID, true, false); err != nil {
					h.log.Debug("p2p: bootstrap peer not added to the routing table", "peer", ai.ID, "err", err)
				}
			}
			continue
		}
		if sw, ok := net.(*swarm.Swarm); ok {
			sw.Backoff().Clear(ai.ID)
		}
		ctx, cancel := context.WithTimeout(h.ctx, bootDialTimeout)
		err := h.h.Connect(ctx, ai)
		cancel()
		if err != nil {
			h.log.Debug("p2p: bootstrap peer unreachable", "peer", ai.ID, "err", err)
		}
	}
}
