package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// Protocol identifiers (docs/protocol.md).
const (
	JoinProtocol = "/spacepanda/join/1.0.0"
	SyncProtocol = "/spacepanda/sync/1.0.0"
	topicPrefix  = "/spacepanda/channel/1/"
	// envelopeVersion is the first byte of every gossip message.
	envelopeVersion = 1
	// maxEnvelope bounds a gossip message.
	maxEnvelope = 256 << 10
)

// topicOf derives a channel's gossip topic from its ID by hashing, so that
// the topic does not reveal the ID.
func topicOf(channelID string) string {
	h := sha256.Sum256([]byte("spacepanda topic v1\x00" + channelID))
	return topicPrefix + hex.EncodeToString(h[:16])
}

// rendezvousOf derives the channel's DHT rendezvous key.
func rendezvousOf(channelID string) []byte {
	h := sha256.Sum256([]byte("spacepanda rendezvous v1\x00" + channelID))
	return h[:]
}

// startNetwork starts the libp2p host, the stream handlers, and the topic of
// every channel that has an MLS group.
func (n *Node) startNetwork(ctx context.Context) error {
	h, err := p2p.New(ctx, p2p.Config{PrivateKey: n.id.key, ListenAddrs: n.cfg.Listen, Bootstrap: n.cfg.Bootstrap,
		DisableMDNS: n.cfg.DisableMDNS, DisableNATPortMap: n.cfg.DisableMDNS, Logger: n.log})
	if err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	n.host = h
	lim := p2p.Limits{MaxFrame: 4 << 20, Timeout: 30 * time.Second}
	if err := h.HandleRequest(JoinProtocol, lim, n.serveJoin); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	if err := h.HandleRequest(SyncProtocol, lim, n.serveSync); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	n.rememberAddrs(ctx)
	for _, c := range n.channelList() {
		var enc bool
		if err := c.do(ctx, func(s *chanState) error { enc = s.group != nil; return nil }); err != nil {
			return err
		}
		if enc {
			n.subscribe(ctx, c)
		}
	}
	return nil
}

// rememberAddrs records our own addresses in the store, so that an invite
// made without the daemon still carries where the daemon listens.
func (n *Node) rememberAddrs(ctx context.Context) {
	data, _ := json.Marshal(n.host.Info().Addrs)
	b := &store.Batch{}
	b.PutPeer(store.Peer{ID: n.id.peerID, Data: data})
	if err := n.db.Apply(ctx, b); err != nil {
		n.log.Warn("remember own addresses", "err", err)
	}
}

// ownAddrs returns the addresses to put in an invite: live ones when online,
// else the ones last recorded by a daemon.
func (n *Node) ownAddrs(ctx context.Context) []string {
	if n.host != nil {
		return n.host.Info().Addrs
	}
	peers, err := n.db.Peers(ctx)
	if err != nil {
		return nil
	}
	for _, p := range peers {
		if p.ID == n.id.peerID {
			var addrs []string
			if json.Unmarshal(p.Data, &addrs) == nil {
				return addrs
			}
		}
	}
	return nil
}

// watch subscribes a new channel's topic when the node is online and the
// channel has a group.
func (n *Node) watch(ctx context.Context, s *chanState) {
	if n.host == nil || s.group == nil {
		return
	}
	if c := n.channel(s.id); c != nil {
		n.subscribe(ctx, c)
	}
}

// subscribe joins the channel's topic, advertises its rendezvous key and
// starts the goroutine that hands accepted messages to the channel's loop.
func (n *Node) subscribe(ctx context.Context, c *channel) {
	sub, err := n.host.Subscribe(ctx, topicOf(c.id), n.validate)
	if err != nil {
		n.log.Warn("subscribe", "channel", c.id, "err", err)
		return
	}
	if err := n.host.Advertise(ctx, rendezvousOf(c.id)); err != nil {
		n.log.Warn("advertise", "channel", c.id, "err", err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.readTopic(c, sub)
	}()
}

// readTopic hands every accepted message to the channel's loop until the
// subscription or the node closes.
func (n *Node) readTopic(c *channel, sub *p2p.Subscription) {
	ctx := n.ctx
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if m.Local {
			continue
		}
		if err := c.do(ctx, func(s *chanState) error { return s.receive(ctx, m.Data[1:]) }); err != nil && ctx.Err() == nil {
			n.log.Info("message dropped", "channel", c.id, "from", m.From, "err", err)
		}
	}
}

// validate is the topic validator: cheap checks only (size, envelope
// version). Cryptographic authentication happens in the channel's loop, which
// drops what MLS refuses without changing state.
func (n *Node) validate(_ context.Context, _ p2p.PeerID, data []byte) p2p.Verdict {
	switch {
	case len(data) < 2 || len(data) > maxEnvelope:
		return p2p.Reject
	case data[0] != envelopeVersion:
		return p2p.Ignore // a newer peer: not misbehaviour
	}
	return p2p.Accept
}

// publish sends an MLS message on the channel's topic. It fails with
// ErrOffline without a network and ErrUnreachable when no member listens.
func (n *Node) publish(ctx context.Context, channelID string, msg []byte) error {
	if n.host == nil {
		return ErrOffline
	}
	topic := topicOf(channelID)
	if len(n.host.TopicPeers(topic)) == 0 {
		return ErrUnreachable
	}
	if err := n.host.Publish(ctx, topic, append([]byte{envelopeVersion}, msg...)); err != nil {
		return fmt.Errorf("node: publish: %w", err)
	}
	return nil
}

// receive processes an MLS message from the topic: decrypt and verify,
// apply the CRDT event it carries, and store both in one synced batch.
func (s *chanState) receive(ctx context.Context, msg []byte) error {
	if s.group == nil {
		return ErrMLSUnavailable
	}
	res, err := s.group.Process(msg)
	if err != nil {
		return fmt.Errorf("node: mls: %w", err)
	}
	b := &store.Batch{}
	if err := s.putGroup(b); err != nil {
		return err
	}
	b.Append(store.ChannelID(s.id), store.Entry{Seq: s.lastSeq + 1, Epoch: s.group.Epoch(), Data: msg})
	if res.Application == nil {
		if err := s.n.db.Apply(ctx, b); err != nil {
			return fmt.Errorf("node: store: %w", err)
		}
		s.lastSeq++
		return nil
	}
	return s.receiveEvent(ctx, b, res)
}
