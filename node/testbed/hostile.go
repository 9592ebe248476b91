package testbed

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacepanda/spacepanda/node"
	"github.com/spacepanda/spacepanda/p2p"
)

// Wire constants of the gossip envelope (docs/protocol.md): a version
// byte, the epoch as 8 bytes big-endian, then the MLS message. The hostile
// peers forge them as any stranger could.
const (
	envelopeVersion = 1
	envelopeHeader  = 9
)

// hostile is K strangers on the channel's topic: libp2p hosts that are not
// members. Each publishes, for the length of the workload, a mix of junk,
// replays of genuine messages it overheard, genuine messages with a flipped
// ciphertext byte, and genuine messages relabelled with a far-future
// epoch; and opens streams on the members' request protocols that announce
// an oversized frame or send half a frame and stall. None of it may show
// up in a member's timeline (unauthorized applied), and the honest
// messages must still all arrive.
type hostile struct {
	hosts     []*p2p.Host
	subs      []*p2p.Subscription
	mu        sync.Mutex
	overheard [][]byte
	published atomic.Int64
	streams   atomic.Int64 // lying streams opened (a refused open is not counted)
	wg        sync.WaitGroup
}

func startHostile(ctx context.Context, k int, boot []string, topic string) (*hostile, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &hostile{}
	for range k {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		host, err := p2p.New(ctx, p2p.Config{PrivateKey: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: boot, DisableMDNS: true, DisableNATPortMap: true, Logger: quiet})
		if err != nil {
			h.close()
			return nil, fmt.Errorf("testbed: hostile host: %w", err)
		}
		h.hosts = append(h.hosts, host)
		sub, err := host.Subscribe(ctx, topic, func(context.Context, p2p.PeerID, []byte) p2p.Verdict { return p2p.Accept })
		if err != nil {
			h.close()
			return nil, fmt.Errorf("testbed: hostile subscribe: %w", err)
		}
		h.subs = append(h.subs, sub)
	}
	return h, nil
}

// run listens and attacks until ctx ends.
func (h *hostile) run(ctx context.Context, topic string, rate float64) {
	for i, host := range h.hosts {
		h.wg.Add(3)
		go func() {
			defer h.wg.Done()
			h.lie(ctx, host, topic, i)
		}()
		go func() {
			defer h.wg.Done()
			h.listen(ctx, h.subs[i])
		}()
		go func() {
			defer h.wg.Done()
			h.attack(ctx, host, topic, rate, i)
		}()
	}
}

func (h *hostile) listen(ctx context.Context, sub *p2p.Subscription) {
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if m.Local || len(m.Data) <= envelopeHeader {
			continue
		}
		h.mu.Lock()
		if len(h.overheard) < 4096 {
			h.overheard = append(h.overheard, m.Data)
		}
		h.mu.Unlock()
	}
}

// forge returns the k-th hostile message.
func (h *hostile) forge(k int) []byte {
	h.mu.Lock()
	var genuine []byte
	if n := len(h.overheard); n > 0 {
		genuine = h.overheard[k%n]
	}
	h.mu.Unlock()
	switch {
	case genuine == nil || k%4 == 0: // junk, some of it with a valid version byte
		b := make([]byte, 64+k%512)
		rand.Read(b) //nolint:errcheck // crypto/rand does not fail
		if k%8 == 0 {
			b[0] = envelopeVersion
		}
		return b
	case k%4 == 1: // replay
		return genuine
	case k%4 == 2: // tampered ciphertext
		b := append([]byte(nil), genuine...)
		b[len(b)-1-k%16] ^= 0x5a
		return b
	default: // far-future epoch
		b := append([]byte(nil), genuine...)
		binary.BigEndian.PutUint64(b[1:envelopeHeader], binary.BigEndian.Uint64(b[1:envelopeHeader])+1000+uint64(k))
		return b
	}
}

func (h *hostile) attack(ctx context.Context, host *p2p.Host, topic string, rate float64, seed int) {
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for k := seed; ; k += len(h.hosts) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if host.Publish(ctx, topic, h.forge(k)) == nil {
			h.published.Add(1)
		}
	}
}

// Request protocols of a member a stranger can open streams on, with the
// largest request each reads.
var lyingProtocols = []struct {
	name string
	max  uint32
}{{node.JoinProtocol, 64 << 10}, {node.SyncProtocol, 64 << 10}, {node.DeliverProtocol, 64 << 10}}

// lie opens, four times a second, a stream to a member it meets on the
// topic, on one of the request protocols in turn, and announces a frame it
// never completes: every other stream an oversized one (8 MiB, which the
// member must refuse before reading it), the others one the protocol
// accepts, of which it sends 7 bytes and stalls until the member gives up
// (a half-sent frame holds a stream slot until the request timeout). A
// stranger keeps its last 8 streams open (unless the member reset them)
// and resets older ones.
func (h *hostile) lie(ctx context.Context, host *p2p.Host, topic string, seed int) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var open []*p2p.Stream
	defer func() {
		for _, s := range open {
			s.Reset() //nolint:errcheck // best effort at the end
		}
	}()
	for k := seed; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		peers := host.TopicPeers(topic)
		if len(peers) == 0 {
			continue
		}
		pr := lyingProtocols[k%len(lyingProtocols)]
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := host.OpenStream(octx, peers[k%len(peers)], pr.name, p2p.Limits{Timeout: 5 * time.Second})
		cancel()
		if err != nil {
			continue // refused, or too many: also a bound
		}
		announce := uint32(8 << 20)
		if k%2 == 1 {
			announce = pr.max
		}
		hdr := binary.BigEndian.AppendUint32(nil, announce)
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = s.WriteRaw(wctx, append(hdr, "partial"...))
		cancel()
		if err != nil {
			s.Reset() //nolint:errcheck // already broken
			continue
		}
		h.streams.Add(1)
		open = append(open, s)
		if len(open) > 8 {
			open[0].Reset() //nolint:errcheck // the member may have reset it first
			open = open[1:]
		}
	}
}

func (h *hostile) close() {
	h.wg.Wait()
	for _, s := range h.subs {
		s.Close()
	}
	for _, host := range h.hosts {
		host.Close()
	}
}

// topicOf is the channel's gossip topic.
func topicOf(channel string) string { return node.TopicOf(channel) }
