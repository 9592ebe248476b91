package p2p

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// Relay service limits of a server node (Config.RelayService). libp2p's
// defaults (2 minutes and 128 KiB per relayed connection) are sized for
// "hole punch, then go direct" and cut a chat connection that cannot go
// direct (a symmetric NAT) every two minutes, and a join response or a sync
// of a few hundred messages outright. A SpacePanda relay serves the members
// of a few channels, so a relayed connection may carry RelayLimitData in
// each direction for up to RelayLimitDuration; the node dials the peer
// again (through the relay) when the relay cuts it, and its sync stream
// fills what gossip lost meanwhile (docs/nat.md).
const (
	RelayLimitDuration = 30 * time.Minute
	RelayLimitData     = 32 << 20
	// RelayMaxReservations bounds the peers a relay keeps a slot for.
	RelayMaxReservations = 256
	// RelayMaxCircuits bounds the relayed connections per peer.
	RelayMaxCircuits = 32
)

func relayResources() relay.Resources {
	r := relay.DefaultResources()
	r.Limit = &relay.RelayLimit{Duration: RelayLimitDuration, Data: RelayLimitData}
	r.MaxReservations = RelayMaxReservations
	r.MaxCircuits = RelayMaxCircuits
	// A home router puts every desktop of a family behind one address.
	r.MaxReservationsPerIP = 16
	return r
}

// AutoRelay tuning. libp2p's defaults wait 3 minutes for 4 candidates
// before reserving and back off a relay for an hour after one failure: a
// SpacePanda network often has a single server node, and a desktop must be
// reachable through it seconds after it starts, and again seconds after
// that relay restarts.
const (
	relayBackoff     = 10 * time.Second
	relayMinInterval = 5 * time.Second
)

func autoRelayOptions(relays autorelay.PeerSource) libp2p.Option {
	return libp2p.EnableAutoRelayWithPeerSource(relays,
		autorelay.WithMinCandidates(1),
		autorelay.WithNumRelays(2),
		autorelay.WithBootDelay(0),
		autorelay.WithBackoff(relayBackoff),
		autorelay.WithMinInterval(relayMinInterval),
	)
}

// relayHop is the circuit relay v2 protocol a relay serves.
const relayHop = protocol.ID("/libp2p/circuit/relay/0.2.0/hop")

// relayPeerSource offers AutoRelay its candidates: the bootstrap peers
// (server nodes, which usually run the relay service), then connected or
// known peers that announced the relay service (e.g. a member of a channel
// that runs one). AutoRelay dials them and keeps those that accept a
// reservation. It is only asked once AutoNAT finds the host unreachable.
func (h *Host) relayPeerSource(ctx context.Context, num int) <-chan peer.AddrInfo {
	out := make(chan peer.AddrInfo, num)
	defer close(out)
	lh := h.libp2p()
	if lh == nil {
		return out
	}
	seen := map[peer.ID]bool{lh.ID(): true}
	offer := func(ai peer.AddrInfo) {
		if len(out) < num && !seen[ai.ID] && len(ai.Addrs) > 0 {
			seen[ai.ID] = true
			out <- ai
		}
	}
	for _, ai := range h.boot {
		offer(ai)
	}
	known := lh.Network().Peers()
	for _, p := range lh.Peerstore().Peers() {
		if !slices.Contains(known, p) {
			known = append(known, p)
		}
	}
	for _, p := range known {
		if ok, _ := lh.Peerstore().SupportsProtocols(p, relayHop); len(ok) > 0 {
			offer(lh.Peerstore().PeerInfo(p))
		}
	}
	return out
}

// isRelayed reports whether c runs through a circuit relay.
func isRelayed(c network.Conn) bool {
	_, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// limitedOK is the host gossipsub sees: its streams may use a relayed
// connection with limits (gossipsub otherwise ignores a peer reachable only
// through a relay, which is every peer behind a symmetric NAT).
type limitedOK struct {
	host.Host
}

func (l limitedOK) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	return l.Host.NewStream(network.WithAllowLimitedConn(ctx, "spacepanda"), p, pids...)
}

func (l limitedOK) Network() network.Network { return limitedNet{l.Host.Network()} }

type limitedNet struct {
	network.Network
}

// Connectedness reports a peer reachable through a relay as connected.
func (n limitedNet) Connectedness(p peer.ID) network.Connectedness {
	c := n.Network.Connectedness(p)
	if c == network.Limited {
		return network.Connected
	}
	return c
}

// directGrace is how long a relayed connection outlives a direct one to the
// same peer: long enough for the hole punch protocol to finish on it.
// directDrain bounds how long it may then stay open for streams other than
// gossip's to finish (a join or sync request, at most 30 s each).
const (
	directGrace = 2 * time.Second
	directDrain = 45 * time.Second
)

// watchDirect closes the relayed connections to a peer once a direct one
// exists (after a hole punch, or a direct dial), so that gossip, which
// keeps its stream on the connection it opened first, moves off the relay:
// the relay carries only what cannot go direct. The side that dialled the
// relayed connection closes it, and not while a request runs on it.
func (h *Host) watchDirect() {
	h.h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(nw network.Network, c network.Conn) {
			if isRelayed(c) {
				return
			}
			p := c.RemotePeer()
			h.goTracked(func() { h.retireRelayed(nw, p) })
		},
	})
}

func (h *Host) retireRelayed(nw network.Network, p peer.ID) {
	if !sleepCtx(h.ctx, directGrace) {
		return
	}
	deadline := time.Now().Add(directDrain)
	idle := 0 // consecutive checks that found no stream but gossip's
	for {
		direct, busy := false, false
		var relayed []network.Conn
		for _, pc := range nw.ConnsToPeer(p) {
			if !isRelayed(pc) {
				direct = true
				continue
			}
			// The side that dialled through the relay closes: it sees
			// its own requests until it has read the responses.
			if pc.Stat().Direction != network.DirOutbound {
				continue
			}
			relayed = append(relayed, pc)
			for _, s := range pc.GetStreams() {
				if !strings.HasPrefix(string(s.Protocol()), "/meshsub/") {
					busy = true
				}
			}
		}
		if !direct || len(relayed) == 0 {
			return
		}
		if busy {
			idle = 0
		} else {
			idle++
		}
		// Idle twice in a row, so that a response we have just written
		// to the peer's request has left (a half-second apart).
		if idle >= 2 || time.Now().After(deadline) {
			for _, rc := range relayed {
				h.log.Debug("p2p: direct connection, closing the relayed one", "peer", p)
				_ = rc.Close()
			}
			h.restartGossip(nw, p)
			return
		}
		if !sleepCtx(h.ctx, 500*time.Millisecond) {
			return
		}
	}
}

// restartGossip resets gossip's streams to p once the relayed connection
// is gone. Gossipsub forgets a peer's subscriptions when its own stream to
// the peer dies, and learns them again only from the peer's next new
// stream: as the relayed connection dies, the two sides' streams die in an
// order nobody controls, and a side may forget the other's subscriptions
// after it has heard them again, then never send to it. Resetting every
// gossip stream once things have settled makes both sides open new ones,
// each after its own forgetting, and tell each other their subscriptions.
func (h *Host) restartGossip(nw network.Network, p peer.ID) {
	if !sleepCtx(h.ctx, time.Second) {
		return
	}
	for _, c := range nw.ConnsToPeer(p) {
		for _, s := range c.GetStreams() {
			if strings.HasPrefix(string(s.Protocol()), "/meshsub/") {
				_ = s.Reset()
			}
		}
	}
}

// Conn describes a live connection to a peer.
type Conn struct {
	// Addr is the peer's multiaddr on this connection; it contains
	// /p2p-circuit when the connection runs through a relay.
	Addr string `json:"addr"`
	// Relayed is true for a connection through a circuit relay.
	Relayed bool `json:"relayed"`
	// Outbound is true when this host dialled.
	Outbound bool `json:"outbound"`
}

// Conns returns the live connections to p.
func (h *Host) Conns(p PeerID) []Conn {
	id, err := p.decode()
	if err != nil {
		return nil
	}
	var out []Conn
	for _, c := range h.h.Network().ConnsToPeer(id) {
		out = append(out, Conn{Addr: c.RemoteMultiaddr().String(), Relayed: isRelayed(c),
			Outbound: c.Stat().Direction == network.DirOutbound})
	}
	return out
}

// Relayed reports whether the host announces relayed (/p2p-circuit)
// addresses, i.e. it holds a reservation at a relay because AutoNAT found
// it unreachable.
func (h *Host) Relayed() bool {
	for _, a := range h.h.Addrs() {
		if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
			return true
		}
	}
	return false
}
