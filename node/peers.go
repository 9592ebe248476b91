package node

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// maxRendezvousDials bounds the peers found under a channel's rendezvous
// key that one discovery round dials; maxKnownDials, the remembered peers.
const (
	// maxPeerAddrs bounds the addresses remembered per peer.
	maxPeerAddrs       = 16
	maxRendezvousDials = 8
	maxKnownDials      = 64
)

// discoverEvery is how often a channel that misses members on its topic looks for
// them: known addresses of peers first, then the channel's DHT rendezvous.
const discoverEvery = 3 * time.Second

// rememberPeer records where a peer was reached, so that the node can dial
// it again after a restart (DESIGN: "catch up missed log entries from peers").
func (n *Node) rememberPeer(ctx context.Context, id string, addrs []string) {
	if id == n.id.peerID || len(addrs) == 0 {
		return
	}
	// Keep the addresses known before, after the new ones: a peer seen
	// through a short-lived command (loopback, a free port) must not make
	// us forget where its daemon listens.
	addrs = append([]string(nil), addrs...)
	for _, p := range n.knownPeers(ctx) {
		if p.ID.String() != id {
			continue
		}
		for _, a := range p.Addrs {
			if !slices.Contains(addrs, a) && len(addrs) < maxPeerAddrs {
				addrs = append(addrs, a)
			}
		}
	}
	data, _ := json.Marshal(addrs)
	b := &store.Batch{}
	b.PutPeer(store.Peer{ID: id, Data: data})
	if err := n.db.Apply(ctx, b); err != nil {
		n.log.Warn("remember peer", "err", err)
	}
}

// knownPeers returns the stored peers other than us.
func (n *Node) knownPeers(ctx context.Context) []p2p.PeerInfo {
	ps, err := n.db.Peers(ctx)
	if err != nil {
		return nil
	}
	var out []p2p.PeerInfo
	for _, p := range ps {
		var addrs []string
		if p.ID == n.id.peerID || json.Unmarshal(p.Data, &addrs) != nil {
			continue
		}
		out = append(out, p2p.PeerInfo{ID: p2p.PeerID(p.ID), Addrs: addrs})
	}
	return out
}

// discover dials the known peers and the channels' rendezvous peers, for
// channels that miss members on their topic. It runs on its own goroutine.
func (n *Node) discover(channelIDs []string) {
	ctx, cancel := context.WithTimeout(n.ctx, discoverEvery*3)
	defer cancel()
	for i, p := range n.knownPeers(ctx) {
		if i >= maxKnownDials {
			break
		}
		if !n.host.Connected(p.ID) {
			_ = n.host.Connect(ctx, p) // unreachable peers are tried again later
		}
	}
	// Rendezvous results are dialled, never remembered: anyone who knows a
	// channel ID can advertise under its key. A peer is remembered once it
	// proves to be a member (notePeers), so Sybil advertisers cannot grow
	// the peer table.
	for _, id := range channelIDs {
		found, _ := n.host.FindPeers(ctx, rendezvousOf(id), maxRendezvousDials)
		for _, p := range found {
			if !n.host.Connected(p.ID) {
				_ = n.host.Connect(ctx, p)
			}
		}
	}
}
