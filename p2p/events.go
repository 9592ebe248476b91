package p2p

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
)

// PeerEvent says that the host gained or lost its last connection to a
// peer. The node uses it to start catching up with a peer that comes back.
type PeerEvent struct {
	Peer      PeerID
	Connected bool
}

// peerEventBuffer is the capacity of a PeerEvents channel.
const peerEventBuffer = 64

// PeerEvents returns a channel of connection changes, closed when ctx ends
// or the host closes. libp2p's event bus must never wait for a consumer, so
// events that find the channel full are dropped: treat them as hints and
// Peers as the truth.
func (h *Host) PeerEvents(ctx context.Context) (<-chan PeerEvent, error) {
	sub, err := h.h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged),
		eventbus.Name("spacepanda/p2p"), eventbus.BufSize(peerEventBuffer))
	if err != nil {
		return nil, fmt.Errorf("p2p: peer events: %w", err)
	}
	out := make(chan PeerEvent, peerEventBuffer)
	ok := h.goTracked(func() {
		defer close(out)
		defer sub.Close()
		h.forwardPeerEvents(ctx, sub.Out(), out)
	})
	if !ok {
		sub.Close()
		return nil, ErrClosed
	}
	return out, nil
}

func (h *Host) forwardPeerEvents(ctx context.Context, in <-chan any, out chan<- PeerEvent) {
	for {
		select {
		case e, ok := <-in:
			if !ok {
				return
			}
			ev := e.(event.EvtPeerConnectednessChanged)
			pe := PeerEvent{Peer: PeerID(ev.Peer.String()), Connected: ev.Connectedness == network.Connected}
			select {
			case out <- pe:
			default:
				h.log.Debug("p2p: peer event dropped: consumer too slow", "peer", pe.Peer)
			}
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		}
	}
}
