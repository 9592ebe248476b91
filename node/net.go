package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	pcfg := p2p.Config{PrivateKey: n.id.key, ListenAddrs: n.cfg.Listen, Bootstrap: n.cfg.Bootstrap,
		DisableMDNS: n.cfg.DisableMDNS, DisableNATPortMap: n.cfg.DisableMDNS, Logger: n.log, Gate: n.cfg.Gate,
		Metrics: n.metrics.reg}
	if n.cfg.Relay {
		pcfg.RelayService, pcfg.DHTMode = true, p2p.DHTServer
	}
	h, err := p2p.New(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	n.host = h
	n.watchPeers()
	// A join request is a key package and a code (a few KiB); its answer
	// carries the Welcome, the tree and the history.
	lim := p2p.Limits{MaxFrame: 8 << 20, MaxRequest: 64 << 10, Timeout: 30 * time.Second}
	if err := h.HandleRequest(JoinProtocol, lim, n.serveJoin); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	if err := h.HandleRequest(SyncProtocol, syncLimits, n.serveSync); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	if err := h.HandleRequest(DeliverProtocol, deliverLimits, n.serveDeliver); err != nil {
		return fmt.Errorf("node: network: %w", err)
	}
	if n.cfg.Daemon {
		n.rememberAddrs(ctx) // a command's own addresses are not the home's
	}
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
		n.syncUnsynced()
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
				s.flushRead(n.ctx)
				// Only members count: strangers on the topic must not
				// keep us from looking for the members we miss.
				if s.memberCount(peers) < len(s.group.Members())-1 && !s.meta.Removed {
					lonely = append(lonely, c.id)
				}
				if s.heldExpired() {
					s.releaseHeld(n.ctx)
				}
				s.maybeCatchUp()
				s.maybeAntiEntropy()
				s.maybeTopUp()
				return nil
			})
		}
		// Discovery dials (bounded: discoverEvery × 3 per round, a few
		// peers per channel) on its own goroutine, one round at a time,
		// so that a slow or hostile rendezvous never holds up the outbox
		// and catch-up of the other channels.
		if len(lonely) > 0 && time.Since(lastDiscover) >= discoverEvery && n.discovering.CompareAndSwap(false, true) {
			lastDiscover = time.Now()
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				defer n.discovering.Store(false)
				n.discover(lonely)
			}()
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

// ownAddrs returns the addresses to put in an invite: a daemon's live ones;
// else the ones last recorded by a daemon (a command's own are loopback
// and end with it); else, never having run a daemon, the live ones.
func (n *Node) ownAddrs(ctx context.Context) []string {
	if n.host != nil && n.cfg.Daemon {
		return n.host.Info().Addrs
	}
	peers, err := n.db.Peers(ctx)
	if err != nil {
		return n.liveAddrs()
	}
	for _, p := range peers {
		if p.ID == n.id.peerID {
			var addrs []string
			if json.Unmarshal(p.Data, &addrs) == nil {
				return addrs
			}
		}
	}
	return n.liveAddrs()
}

func (n *Node) liveAddrs() []string {
	if n.host == nil {
		return nil
	}
	return n.host.Info().Addrs
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
	c.watching = make(chan struct{})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(c.watching)
		defer sub.Close()
		n.readTopic(c, sub)
	}()
}

// readTopic drains the subscription until it or the node closes. Every
// message was processed by the validator (validate) before gossipsub
// delivered it; the subscription only keeps the topic joined.
func (n *Node) readTopic(c *channel, sub *p2p.Subscription) {
	ctx, cancel := context.WithCancel(n.ctx)
	defer cancel()
	go func() { // a channel dropped alone (Forget, rejoin) stops reading
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		if _, err := sub.Next(ctx); err != nil {
			return
		}
	}
}

// validator returns the channel topic's validator. Cheap checks come
// first, without touching the group: a message that does not decode or
// whose MLS header is not the channel's is rejected (the sender
// misbehaved); one of an epoch older than the window, or more than
// maxEpochsAhead ahead, is ignored (stale, or unverifiable: not buffered,
// not forwarded). What passes is processed by the channel's loop before
// gossipsub forwards it, and the verdict is MLS's: a message MLS rejects
// is rejected, which penalises the peer that handed it over. Because every
// honest member validates before forwarding, that peer is the first one
// that let it through: the author, or a peer that forwards junk.
func (n *Node) validator(c *channel) p2p.Validator {
	self := p2p.PeerID(n.id.peerID)
	return func(ctx context.Context, from p2p.PeerID, data []byte) p2p.Verdict {
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
		if from == self {
			return p2p.Accept // our own, already stored and applied
		}
		if drop := n.cfg.FaultDropLive; drop != nil && drop(c.id, data) {
			return p2p.Ignore
		}
		cur := c.epoch.Load()
		if env.epoch > cur+maxEpochsAhead || env.epoch+pastEpochWindow < cur && !oldCommit(env, cur) {
			return p2p.Ignore
		}
		return n.validate(ctx, c, from, env)
	}
}

// validate processes a gossip message on the channel's loop and returns
// MLS's verdict. A panic while processing (a bug reached by remote input)
// drops the message and rejects it.
func (n *Node) validate(ctx context.Context, c *channel, from p2p.PeerID, env envelope) p2p.Verdict {
	r := &recvReq{env: env, member: c.isMember(from.String()), from: from, done: make(chan struct{})}
	c.recvs.push(r)
	// The loop reads what is queued in one turn (receivelive.go): this
	// turn, or an earlier one that took r already.
	err := c.doLive(ctx, func(s *chanState) error {
		s.receiveQueued(n.ctx)
		return nil
	})
	if err == nil || !c.recvs.remove(r) {
		<-r.done // taken by a turn, which answers it
		err = r.err
	}
	member, future := r.member, r.future
	switch {
	case errors.Is(err, errHeld):
		return p2p.Ignore // read once the catch-up filled the gap before it; not forwarded yet
	case !member && (err != nil || future) && env.epoch != c.epoch.Load()+1 && !errors.Is(err, ErrClosed):
		// A non-member has no reason to hand us anything but a message
		// of the current epoch that MLS accepts (or one of the next
		// epoch: a member just added, whose Add we have not seen).
		return p2p.Reject
	case err == nil && future:
		return p2p.Ignore // buffered (from a member) or dropped: not verifiable yet, not forwarded
	case err == nil:
		return p2p.Accept
	case ctx.Err() != nil || n.ctx.Err() != nil || errors.Is(err, ErrClosed):
		return p2p.Ignore
	}
	n.onDropped(c.id, from, env, err)
	return verdictFor(err)
}

// verdictFor maps the loop's error on a member's gossip message to a
// verdict: Reject for what MLS refuses (a bad signature, a forged or
// malformed message) and for a panic; Ignore for our own failures (the
// store), for what an honest member may send in a race (a message of a
// branch we have not seen: ErrDecryption, ErrInvalidMembershipTag; a membership event whose commit
// we did not process: ErrProtocol), and for what is stale.
func verdictFor(err error) p2p.Verdict {
	switch {
	case errors.Is(err, errPanic):
		return p2p.Reject
	case otherBranch(err):
		return p2p.Ignore
	case errors.Is(err, errMLS):
		if verdictOf(err) == verdictReject {
			return p2p.Reject
		}
	}
	return p2p.Ignore
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
