package p2p

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Gossip signing policy: messages are not signed by libp2p and carry no
// author or sequence number (pubsub.StrictNoSign, WithNoAuthor). MLS signs
// and authenticates every message a channel carries, so a second signature
// would only cost CPU and bytes and reveal who sent what to every relay.
// Message IDs are the SHA-256 of the content, so duplicates are dropped by
// content. See docs/p2p.md ("Signing policy").

// Verdict is a validator's answer about a gossip message.
type Verdict int

const (
	// Accept delivers the message and forwards it.
	Accept Verdict = iota
	// Reject drops the message and penalises the peer that sent it: use it
	// for malformed or unauthenticated messages.
	Reject
	// Ignore drops the message without penalty: use it for stale or
	// duplicate messages an honest peer may forward.
	Ignore
)

// String returns "accept", "reject" or "ignore".
func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Validator judges a gossip message before it is delivered or forwarded.
// from is the peer that handed us the message (not necessarily its author:
// messages carry no author) and is the one a Reject penalises. It runs on
// libp2p's validation goroutines and may be called concurrently; it must
// be quick and must not retain data. For our own messages from is our ID.
type Validator func(ctx context.Context, from PeerID, data []byte) Verdict

// Message is a gossip message delivered to a Subscription.
type Message struct {
	ID    string // SHA-256 of Data: 32 raw bytes in a string
	From  PeerID // the peer that forwarded it to us; our own ID if Local
	Data  []byte
	Local bool // published by this host
}

type topicState struct {
	topic *pubsub.Topic
	sub   *Subscription
}

// validatorTimeout bounds one validator call; past it the message is ignored.
const validatorTimeout = 10 * time.Second

// validateQueueSize is how many received messages may wait for validation.
const validateQueueSize = 256

// outboundQueueSize is how many RPCs may wait to be written to one peer;
// beyond it gossipsub drops them. Its default (32) dropped messages of a
// burst for good when the writer waited for a core, where no gossip repairs
// the loss (every peer in the mesh; docs/p2p.md, "Gossipsub"). A queued RPC
// shares its message's bytes with the message cache.
const outboundQueueSize = 256

func (h *Host) newPubSub() (*pubsub.PubSub, error) {
	var opts []pubsub.Option
	if h.cfg.Metrics != nil {
		t, err := newGossipTracer(h.cfg.Metrics)
		if err != nil {
			return nil, fmt.Errorf("p2p: gossipsub metrics: %w", err)
		}
		opts = append(opts, pubsub.WithRawTracer(t))
	}
	ps, err := pubsub.NewGossipSub(h.ctx, limitedOK{h.h}, append(opts,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithMaxMessageSize(h.cfg.MaxMessageSize),
		// Our own messages go to every topic peer, not only the mesh: a
		// channel has few members, and a message published before the
		// first heartbeat has built the mesh would otherwise be lost.
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerExchange(true),
		// Messages waiting for validation; beyond it they are dropped. The
		// default (32) loses messages in bursts (a member catching up, a
		// busy channel) on a slow machine; 256 × MaxMessageSize bounds the
		// memory an attacker can pin this way.
		pubsub.WithValidateQueueSize(validateQueueSize),
		pubsub.WithPeerOutboundQueueSize(outboundQueueSize),
		pubsub.WithPeerScore(peerScoreParams(h.cfg.PublicAddrsOnly, h.abuse.score), peerScoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.ExtendedPeerScoreInspectFn(h.recordScores), h.cfg.scoreInspectInterval),
	)...)
	if err != nil {
		return nil, fmt.Errorf("p2p: gossipsub: %w", err)
	}
	return ps, nil
}

func messageID(m *pb.Message) string {
	sum := sha256.Sum256(m.GetData())
	return string(sum[:])
}

// Subscribe joins topic, registers v as its validator and returns the
// subscription that receives the messages v accepts. A topic has at most
// one subscription per host: a second one returns ErrAlreadySubscribed
// until the first is closed.
func (h *Host) Subscribe(ctx context.Context, topic string, v Validator) (*Subscription, error) {
	if v == nil {
		return nil, errors.New("p2p: Subscribe: nil validator")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.closed {
		return nil, ErrClosed
	}
	ts, err := h.joinLocked(topic)
	if err != nil {
		return nil, err
	}
	if ts.sub != nil {
		return nil, fmt.Errorf("%w: %s", ErrAlreadySubscribed, topic)
	}
	if err := h.ps.RegisterTopicValidator(topic, h.wrapValidator(v), pubsub.WithValidatorTimeout(validatorTimeout)); err != nil {
		return nil, fmt.Errorf("p2p: validator for %s: %w", topic, err)
	}
	ps, err := ts.topic.Subscribe(pubsub.WithBufferSize(256))
	if err != nil {
		_ = h.ps.UnregisterTopicValidator(topic)
		return nil, fmt.Errorf("p2p: subscribe %s: %w", topic, err)
	}
	ts.sub = &Subscription{h: h, topic: topic, sub: ps}
	return ts.sub, nil
}

// joinLocked returns the state of topic, joining it first if needed.
func (h *Host) joinLocked(topic string) (*topicState, error) {
	if ts, ok := h.mu.topics[topic]; ok {
		return ts, nil
	}
	t, err := h.ps.Join(topic)
	if err != nil {
		return nil, fmt.Errorf("p2p: join %s: %w", topic, err)
	}
	if err := t.SetScoreParams(topicScoreParams()); err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("p2p: score params for %s: %w", topic, err)
	}
	ts := &topicState{topic: t}
	h.mu.topics[topic] = ts
	return ts, nil
}

func (h *Host) wrapValidator(v Validator) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, m *pubsub.Message) (res pubsub.ValidationResult) {
		defer func() {
			// A validator bug must not take the node down; it is our fault,
			// not the sender's, so the message is ignored, not rejected.
			if r := recover(); r != nil {
				h.log.Error("p2p: validator panicked", "topic", m.GetTopic(), "panic", r)
				res = pubsub.ValidationIgnore
			}
		}()
		switch v(ctx, h.ids.of(from), m.GetData()) {
		case Accept:
			return pubsub.ValidationAccept
		case Reject:
			return pubsub.ValidationReject
		default:
			return pubsub.ValidationIgnore
		}
	}
}

// Publish sends data on topic, joining the topic if this host has not. Our
// own validator, if subscribed, judges the message first. It returns
// ErrMessageTooLarge above Config.MaxMessageSize and ErrClosed after Close.
// A nil error does not mean any peer received the message: see TopicPeers.
// data is copied; the caller may reuse it.
func (h *Host) Publish(ctx context.Context, topic string, data []byte) error {
	if len(data) > h.cfg.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, len(data), h.cfg.MaxMessageSize)
	}
	h.mu.Lock()
	if h.mu.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	ts, err := h.joinLocked(topic)
	h.mu.Unlock()
	if err != nil {
		return err
	}
	// pubsub keeps the slice in its caches and queues: give it a copy so
	// that the caller may reuse data.
	if err := ts.topic.Publish(ctx, bytes.Clone(data)); err != nil {
		return fmt.Errorf("p2p: publish on %s: %w", topic, err)
	}
	return nil
}

// TopicPeers returns the connected peers known to be subscribed to topic.
func (h *Host) TopicPeers(topic string) []PeerID {
	var out []PeerID
	for _, p := range h.ps.ListPeers(topic) {
		out = append(out, h.ids.of(p))
	}
	return out
}

// Subscription receives the accepted messages of one topic. Next may be
// called from one goroutine at a time; Close from any.
type Subscription struct {
	h     *Host
	topic string
	sub   *pubsub.Subscription
	// wait is the context Next waits with: the caller's, also cancelled
	// when the host closes. It is kept while Next is called with the same
	// context (a reader loop's), instead of a new one and a callback on
	// the host's context per message (1–2 % of a busy node's CPU).
	wait struct {
		sync.Mutex
		caller context.Context
		ctx    context.Context
		stop   func()
	}
}

// waitCtx returns ctx merged with the host's end, made once per ctx.
func (s *Subscription) waitCtx(ctx context.Context) context.Context {
	s.wait.Lock()
	defer s.wait.Unlock()
	if s.wait.caller != ctx || s.wait.ctx == nil {
		if s.wait.stop != nil {
			s.wait.stop()
		}
		inner, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(s.h.ctx, cancel)
		s.wait.caller, s.wait.ctx = ctx, inner
		s.wait.stop = func() { stop(); cancel() }
	}
	return s.wait.ctx
}

// stopWait releases the kept context (Close).
func (s *Subscription) stopWait() {
	s.wait.Lock()
	defer s.wait.Unlock()
	if s.wait.stop != nil {
		s.wait.stop()
	}
	s.wait.caller, s.wait.ctx, s.wait.stop = nil, nil, nil
}

// Topic returns the subscribed topic.
func (s *Subscription) Topic() string { return s.topic }

// Next returns the next message. It returns ctx's error when ctx is done
// and ErrClosed once the subscription or the host is closed.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	// pubsub does not end subscriptions when it stops, so the host's own
	// end must interrupt the wait.
	m, err := s.sub.Next(s.waitCtx(ctx))
	switch {
	case err == nil:
		from := s.h.ids.of(m.ReceivedFrom)
		return Message{ID: m.ID, From: from, Data: m.GetData(), Local: m.ReceivedFrom == s.h.h.ID()}, nil
	case ctx.Err() != nil:
		return Message{}, ctx.Err()
	}
	return Message{}, fmt.Errorf("%w: subscription to %s: %v", ErrClosed, s.topic, err)
}

// Close cancels the subscription, removes the topic's validator and leaves
// the topic. It is idempotent.
func (s *Subscription) Close() error {
	defer s.stopWait()
	h := s.h
	h.mu.Lock()
	defer h.mu.Unlock()
	ts, ok := h.mu.topics[s.topic]
	if !ok || ts.sub != s {
		return nil
	}
	s.sub.Cancel()
	delete(h.mu.topics, s.topic)
	if h.mu.closed {
		return nil // pubsub is already stopping; it drops topics itself
	}
	_ = h.ps.UnregisterTopicValidator(s.topic)
	if err := ts.topic.Close(); err != nil {
		return fmt.Errorf("p2p: leave %s: %w", s.topic, err)
	}
	return nil
}
