package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
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

// dialBootstrap dials the bootstrap peers it is not connected to. Its
// backoff replaces the swarm's, which would refuse a peer that just failed.
func (h *Host) dialBootstrap() {
	h.bootAttempts.Add(1)
	net := h.h.Network()
	for _, ai := range h.boot {
		if net.Connectedness(ai.ID) == network.Connected {
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
