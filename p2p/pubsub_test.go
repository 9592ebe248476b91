package p2p

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func acceptAll(context.Context, PeerID, []byte) Verdict { return Accept }

// collector reads a subscription in the background and records every
// message it delivers.
type collector struct {
	mu   sync.Mutex
	msgs map[string]Message // by Data
	done chan struct{}
}

func collect(t *testing.T, sub *Subscription) *collector {
	c := &collector{msgs: map[string]Message{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(c.done)
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs[string(m.Data)] = m
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *collector) has(data string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.msgs[data]
	return ok
}

func (c *collector) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for d := range c.msgs {
		if strings.HasPrefix(d, prefix) {
			n++
		}
	}
	return n
}

// gossipNet starts n hosts on a sparse graph (a ring plus chords, so that
// most messages must be relayed) and subscribes each to topic with v(i).
func gossipNet(t *testing.T, n int, topic string, v func(i int) Validator) ([]*Host, []*collector) {
	hosts := make([]*Host, n)
	for i := range hosts {
		hosts[i] = newTestHost(t)
	}
	for i := range hosts {
		connect(t, hosts[i], hosts[(i+1)%n])
		if n > 4 && i%3 == 0 {
			connect(t, hosts[i], hosts[(i+n/2)%n])
		}
	}
	cols := make([]*collector, n)
	for i, h := range hosts {
		sub, err := h.Subscribe(context.Background(), topic, v(i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Close() })
		cols[i] = collect(t, sub)
	}
	for i, h := range hosts {
		waitFor(t, 20*time.Second, fmt.Sprintf("host %d sees its neighbours on the topic", i), func() bool {
			return len(h.TopicPeers(topic)) >= 2
		})
	}
	waitGossipReady(t, hosts, topic, 30*time.Second, func(i int) bool {
		c := cols[i]
		for j := range hosts {
			if c.count(fmt.Sprintf("probe-%d-", j)) == 0 {
				return false
			}
		}
		return true
	})
	return hosts, cols
}

// waitGossipReady has every host publish probes until each host has
// received a probe from every host (received(i) reports that for host i).
// Gossipsub builds its mesh at heartbeats; a message published before that
// reaches only the publisher's direct neighbours, so tests that count
// deliveries start once the mesh carries messages end to end.
func waitGossipReady(t testing.TB, hosts []*Host, topic string, timeout time.Duration, received func(i int) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for round := 0; ; round++ {
		for i, h := range hosts {
			if err := h.Publish(context.Background(), topic, fmt.Appendf(nil, "probe-%d-%d", i, round)); err != nil {
				t.Fatal(err)
			}
		}
		ready := true
		for i := range hosts {
			ready = ready && received(i)
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gossip mesh not ready after %v", timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestGossipDeliversEveryMessage(t *testing.T) {
	const n, msgs, topic = 8, 100, "chan/all"
	hosts, cols := gossipNet(t, n, topic, func(int) Validator { return acceptAll })
	ctx := context.Background()
	for i := range msgs {
		pub := hosts[i%n]
		if err := pub.Publish(ctx, topic, fmt.Appendf(nil, "msg-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cols {
		deadline := time.Now().Add(60 * time.Second)
		for c.count("msg-") < msgs {
			if time.Now().After(deadline) {
				var missing []string
				for k := range msgs {
					if m := fmt.Sprintf("msg-%03d", k); !c.has(m) {
						missing = append(missing, fmt.Sprintf("%s (from host %d)", m, k%n))
					}
				}
				t.Fatalf("host %d received %d of %d messages in 60 s; missing %v", i, c.count("msg-"), msgs, missing)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The sender of a local message is the host itself; others see a peer.
	m := cols[0].msgs["msg-000"]
	if !m.Local || m.From != hosts[0].ID() {
		t.Errorf("own message: Local=%v From=%s", m.Local, m.From)
	}
	m = cols[1].msgs["msg-000"]
	if m.Local || m.From == hosts[1].ID() || m.From == "" {
		t.Errorf("remote message: Local=%v From=%s", m.Local, m.From)
	}
}

// TestRejectedMessageIsDroppedAndPenalised has a misbehaving host (its own
// validator accepts anything) publish messages the honest hosts' validator
// rejects: no honest subscriber receives them, and the honest hosts lower
// the sender's score.
func TestRejectedMessageIsDroppedAndPenalised(t *testing.T) {
	const topic = "chan/reject"
	var rejected sync.Map
	honest := func(_ context.Context, from PeerID, data []byte) Verdict {
		if strings.HasPrefix(string(data), "bad") {
			rejected.Store(from, true)
			return Reject
		}
		return Accept
	}
	const n = 4
	hosts, cols := gossipNet(t, n, topic, func(i int) Validator {
		if i == 0 {
			return acceptAll // the attacker
		}
		return honest
	})
	bad, ctx := hosts[0], context.Background()
	for i := range 3 {
		if err := bad.Publish(ctx, topic, fmt.Appendf(nil, "bad-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := bad.Publish(ctx, topic, []byte("good-after")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		waitFor(t, 30*time.Second, fmt.Sprintf("host %d receives the valid message", i), func() bool {
			return cols[i].has("good-after")
		})
	}
	// The attacker's neighbours (1 and n-1) saw the bad messages and score
	// it below zero, with the invalid deliveries counted on the topic.
	for _, i := range []int{1, n - 1} {
		h := hosts[i]
		waitFor(t, 30*time.Second, fmt.Sprintf("host %d penalises the attacker", i), func() bool {
			s, ok := h.PeerScores()[bad.ID()]
			return ok && s.Score < 0 && s.InvalidMessages[topic] >= 1
		})
	}
	for i := 1; i < n; i++ {
		if got := cols[i].count("bad"); got != 0 {
			t.Errorf("host %d received %d rejected messages", i, got)
		}
		// Honest hosts never forwarded a bad message: nobody blames them.
		for p, s := range hosts[i].PeerScores() {
			if p != bad.ID() && s.Score < 0 {
				t.Errorf("host %d scores honest peer %s at %v", i, p, s.Score)
			}
		}
	}
	if _, ok := rejected.Load(bad.ID()); !ok {
		t.Error("the validator never saw the attacker as the sender")
	}
	if got := cols[0].count("bad"); got != 3 {
		t.Errorf("attacker's own subscription got %d of its 3 messages", got)
	}
}

func TestIgnoreAndValidatorPanicDoNotPenalise(t *testing.T) {
	const topic = "chan/ignore"
	v := func(_ context.Context, _ PeerID, data []byte) Verdict {
		switch string(data) {
		case "stale":
			return Ignore
		case "boom":
			panic("validator bug")
		}
		return Accept
	}
	hosts, cols := gossipNet(t, 3, topic, func(i int) Validator {
		if i == 0 {
			return acceptAll
		}
		return v
	})
	ctx := context.Background()
	for _, d := range []string{"stale", "boom", "fine"} {
		if err := hosts[0].Publish(ctx, topic, []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < 3; i++ {
		waitFor(t, 30*time.Second, "valid message delivered", func() bool { return cols[i].has("fine") })
		if cols[i].has("stale") || cols[i].has("boom") {
			t.Errorf("host %d delivered an ignored message", i)
		}
		h := hosts[i]
		// Wait for a score sample taken after the deliveries.
		waitFor(t, 10*time.Second, "score sample", func() bool {
			_, ok := h.PeerScores()[hosts[0].ID()]
			return ok
		})
		if s := h.PeerScores()[hosts[0].ID()]; s.Score < 0 || s.InvalidMessages[topic] != 0 {
			t.Errorf("host %d penalised ignored messages: %+v", i, s)
		}
	}
}

func TestPublishLimitsAndSubscribeTwice(t *testing.T) {
	h := newTestHost(t, func(c *Config) { c.MaxMessageSize = 1024 })
	ctx := context.Background()
	if err := h.Publish(ctx, "t", make([]byte, 1025)); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("oversized publish: %v", err)
	}
	if err := h.Publish(ctx, "t", make([]byte, 1000)); err != nil {
		t.Errorf("publish within the limit: %v", err)
	}
	sub, err := h.Subscribe(ctx, "t", acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(ctx, "t", acceptAll); !errors.Is(err, ErrAlreadySubscribed) {
		t.Errorf("second Subscribe: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	sub2, err := h.Subscribe(ctx, "t", acceptAll)
	if err != nil {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	sub2.Close()
}

// TestOversizedGossipRefused checks that a peer with a larger limit cannot
// push a message past the receiver's MaxMessageSize.
func TestOversizedGossipRefused(t *testing.T) {
	const topic = "chan/size"
	big := newTestHost(t, func(c *Config) { c.MaxMessageSize = 1 << 20 })
	small := newTestHost(t, func(c *Config) { c.MaxMessageSize = 4 << 10 })
	connect(t, big, small)
	ctx := context.Background()
	var cols []*collector
	for _, h := range []*Host{big, small} {
		sub, err := h.Subscribe(ctx, topic, acceptAll)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Close() })
		cols = append(cols, collect(t, sub))
	}
	waitFor(t, 10*time.Second, "topic peers", func() bool { return len(big.TopicPeers(topic)) == 1 })
	huge := append([]byte("huge"), make([]byte, 64<<10)...)
	if err := big.Publish(ctx, topic, huge); err != nil {
		t.Fatal(err)
	}
	// The receiver refuses the oversized RPC by resetting the sender's
	// stream, which the sender sees as the receiver leaving the topic.
	waitFor(t, 30*time.Second, "receiver resets the oversized stream", func() bool {
		return len(big.TopicPeers(topic)) == 0
	})
	if cols[1].count("huge") != 0 {
		t.Error("receiver accepted a message above its MaxMessageSize")
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Accept: "accept", Reject: "reject", Ignore: "ignore", 7: "Verdict(7)"} {
		if v.String() != want {
			t.Errorf("%d: %q", int(v), v.String())
		}
	}
}

// TestNextKeepsItsWaitContext: Next keeps the context it waits with while
// the caller's stays the same, and makes a new one when it changes: a
// cancelled caller context ends that call only.
func TestNextKeepsItsWaitContext(t *testing.T) {
	h := newTestHost(t)
	sub, err := h.Subscribe(context.Background(), "t", acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v", err)
	}
	bg := context.Background()
	for i := range 3 {
		if err := h.Publish(bg, "t", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		m, err := sub.Next(bg)
		if err != nil || len(m.Data) != 1 || m.Data[0] != byte(i) || !m.Local || m.From != h.ID() {
			t.Fatalf("message %d: %+v, %v", i, m, err)
		}
	}
	if sub.wait.caller != bg {
		t.Error("the wait context is not kept for the reader's context")
	}
}

// TestIDCache: the cache gives a peer ID's text form, and starts afresh
// past its bound.
func TestIDCache(t *testing.T) {
	var c idCache
	h := newTestHost(t)
	p, err := peer.Decode(h.ID().String())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.of(p); got != h.ID() || c.of(p) != got {
		t.Fatalf("of(%s) = %s", h.ID(), got)
	}
	for i := range idCacheMax + 10 {
		c.of(peer.ID(fmt.Sprint(i)))
	}
	if len(c.m) > idCacheMax {
		t.Fatalf("%d entries, bound %d", len(c.m), idCacheMax)
	}
}
