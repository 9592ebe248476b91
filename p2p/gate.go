package p2p

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gate refuses connections to and from chosen peers: a network partition
// made on purpose, for testbeds (Config.Gate). Block refuses new
// connections, in both directions, and closes the open ones; Unblock heals.
// A Gate belongs to one Host. It is safe for concurrent use.
type Gate struct {
	mu struct {
		sync.Mutex
		blocked map[peer.ID]bool
		all     bool
		h       host.Host
	}
}

// NewGate returns a Gate that allows every peer.
func NewGate() *Gate {
	g := &Gate{}
	g.mu.blocked = map[peer.ID]bool{}
	return g
}

// Block refuses the peers from now on and closes the connections to them.
// Peer IDs that do not parse are skipped (a partition of known peers only).
func (g *Gate) Block(peers ...PeerID) {
	var ids []peer.ID
	for _, p := range peers {
		if id, err := peer.Decode(string(p)); err == nil {
			ids = append(ids, id)
		}
	}
	g.mu.Lock()
	for _, id := range ids {
		g.mu.blocked[id] = true
	}
	h := g.mu.h
	g.mu.Unlock()
	if h != nil {
		for _, id := range ids {
			_ = h.Network().ClosePeer(id) // an already closed connection is no error here
		}
	}
}

// BlockAll refuses every peer and closes every connection: the host is
// cut off, as when its machine loses power.
func (g *Gate) BlockAll() {
	g.mu.Lock()
	g.mu.all = true
	h := g.mu.h
	g.mu.Unlock()
	if h != nil {
		for _, id := range h.Network().Peers() {
			_ = h.Network().ClosePeer(id)
		}
	}
}

// Unblock allows every peer again; the node reconnects on its own.
func (g *Gate) Unblock() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.blocked = map[peer.ID]bool{}
	g.mu.all = false
}

// attach tells the Gate the host whose connections Block closes.
func (g *Gate) attach(h host.Host) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.h = h
}

func (g *Gate) allows(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.mu.all && !g.mu.blocked[p]
}

// InterceptPeerDial implements connmgr.ConnectionGater.
func (g *Gate) InterceptPeerDial(p peer.ID) bool { return g.allows(p) }

// InterceptAddrDial implements connmgr.ConnectionGater.
func (g *Gate) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.allows(p) }

// InterceptAccept implements connmgr.ConnectionGater: the peer is not known
// yet, so only a host cut off entirely refuses here.
func (g *Gate) InterceptAccept(network.ConnMultiaddrs) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.mu.all
}

// InterceptSecured implements connmgr.ConnectionGater.
func (g *Gate) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allows(p)
}

// InterceptUpgraded implements connmgr.ConnectionGater.
func (g *Gate) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.allows(c.RemotePeer()), 0
}
