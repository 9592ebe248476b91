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
	// pastEpochWindow is how many epochs back a message may be and still
	// be worth processing (mls keeps 3 past epochs' secrets by default).
	pastEpochWindow = 3
	// retryEvery is how often queued messages are tried again.
	retryEvery = 500 * time.Millisecond
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

// startNetwork starts the libp2p host, the stream handlers, the topic of
// every channel, and the goroutine that retries the outbox and catches up.
func (n *Node) startNetwork(ctx context.Context) error {
	h, err := p2p.New(ctx, p2p.Config{PrivateKey: n.id.key, ListenAddrs: n.cfg.Listen, Bootstrap: n.cfg.Bootstrap,
		DisableMDNS: n.cfg.DisableMDNS, DisableNATPortMap: n.cfg.DisableMDNS, Logger: n.log, Gate: n.cfg.Gate})
	if err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	n.host = h
	n.watchPeers()
	lim := p2p.Limits{MaxFrame: 8 << 20, Timeout: 30 * time.Second}
	if err := h.HandleRequest(JoinProtocol, lim, n.serveJoin); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	if err := h.HandleRequest(SyncProtocol, lim, n.serveSync); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	n.rememberAddrs(ctx)
	for _, c := range n.channelList() {
		n.watch(ctx, c)
	}
	n.wg.Add(1)
	go n.retryLoop()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.discover(nil)
	}()
	return nil
}

// retryLoop delivers queued messages and catches up with peers, for every
// channel, until the node closes.
func (n *Node) retryLoop() {
	defer n.wg.Done()
	t := time.NewTicker(retryEvery)
	defer t.Stop()
	var lastDiscover time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		// lonely are the channels that miss members on their topic: none
		// at all, or some that may be on the other side of a healed
		// partition (nothing else makes the two sides dial each other).
		var lonely []string
		for _, c := range n.channelList() {
			peers := n.host.TopicPeers(topicOf(c.id))
			c.do(n.ctx, func(s *chanState) error { //nolint:errcheck // best effort; retried next tick
				if len(s.outbox) > 0 {
					s.flushErr = s.flushOutbox(n.ctx)
				}
				s.notePeers(peers)
				if len(peers) < len(s.group.Members())-1 && !s.meta.Removed {
					lonely = append(lonely, c.id)
				}
				s.maybeCatchUp()
				return nil
			})
		}
		if len(lonely) > 0 && time.Since(lastDiscover) >= discoverEvery {
			lastDiscover = time.Now()
			n.discover(lonely)
		}
	}
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

// watch joins the channel's topic when the node is online, advertises its
// rendezvous key and starts the goroutine that hands accepted messages to
// the channel's loop.
func (n *Node) watch(ctx context.Context, c *channel) {
	if n.host == nil {
		return
	}
	sub, err := n.host.Subscribe(ctx, topicOf(c.id), n.metrics.metered(n.validator(c)))
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
		defer sub.Close()
		n.readTopic(c, sub)
	}()
}

// readTopic hands every accepted message to the channel's loop until the
// subscription or the node closes.
func (n *Node) readTopic(c *channel, sub *p2p.Subscription) {
	for {
		m, err := sub.Next(n.ctx)
		if err != nil {
			return
		}
		if m.Local {
			continue
		}
		env, err := decodeEnvelope(m.Data)
		if err != nil {
			continue // the validator let it through only if it decodes
		}
		err = c.do(n.ctx, func(s *chanState) error { return s.receive(n.ctx, env) })
		if err != nil && n.ctx.Err() == nil {
			n.onDropped(c.id, m.From, env, err)
		}
	}
}

// validator returns the channel topic's validator: cheap checks only. A
// message that does not decode is rejected (the sender misbehaved); one for
// an epoch older than the window is ignored (stale, an honest peer may
// forward it). MLS authenticates the rest in the channel's loop.
func (n *Node) validator(c *channel) p2p.Validator {
	return func(_ context.Context, _ p2p.PeerID, data []byte) p2p.Verdict {
		env, err := decodeEnvelope(data)
		if err != nil {
			if len(data) > 0 && data[0] != envelopeVersion {
				return p2p.Ignore // a newer version: not misbehaviour
			}
			return p2p.Reject
		}
		if checkHeader(env.msg, c.groupID, env.epoch) != nil {
			return p2p.Reject
		}
		if env.epoch+pastEpochWindow < c.epoch.Load() {
			return p2p.Ignore
		}
		return p2p.Accept
	}
}

// publish sends an envelope on the channel's topic. It fails with
// ErrOffline without a network and ErrUnreachable when no member listens.
func (n *Node) publish(ctx context.Context, channelID string, env []byte) error {
	if n.host == nil {
		return ErrOffline
	}
	topic := topicOf(channelID)
	if len(n.host.TopicPeers(topic)) == 0 {
		return ErrUnreachable
	}
	if err := n.host.Publish(ctx, topic, env); err != nil {
		return fmt.Errorf("node: publish: %w", err)
	}
	n.metrics.published.Inc()
	return nil
}
