package testbed

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
)

const baselineTopic = "/spacepanda-testbed/baseline"

// runBaseline sends the same workload — the same number of hosts, rate,
// duration and texts — over raw gossipsub: no MLS, no CRDT, no store.
func runBaseline(ctx context.Context, cfg Config) (*Baseline, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hosts := make([]*p2p.Host, cfg.Nodes)
	defer func() {
		for _, h := range hosts {
			if h != nil {
				h.Close()
			}
		}
	}()
	var boot []string
	for i := range hosts {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		h, err := p2p.New(ctx, p2p.Config{PrivateKey: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
			Bootstrap: boot, DisableMDNS: true, DisableNATPortMap: true, Logger: quiet})
		if err != nil {
			return nil, fmt.Errorf("testbed: baseline host: %w", err)
		}
		hosts[i] = h
		if i == 0 {
			boot = h.Addrs()
		} else if err := h.Connect(ctx, hosts[0].Info()); err != nil {
			return nil, fmt.Errorf("testbed: baseline connect: %w", err)
		}
	}
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	var lat []time.Duration
	deliveries := 0
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	for _, h := range hosts {
		sub, err := h.Subscribe(ctx, baselineTopic, func(context.Context, p2p.PeerID, []byte) p2p.Verdict { return p2p.Accept })
		if err != nil {
			return nil, fmt.Errorf("testbed: baseline subscribe: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sub.Close()
			for {
				m, err := sub.Next(rctx)
				if err != nil {
					return
				}
				if m.Local {
					continue
				}
				now := time.Now()
				mu.Lock()
				if at, ok := sentAt[string(m.Data)]; ok {
					lat = append(lat, now.Sub(at))
					deliveries++
				}
				mu.Unlock()
			}
		}()
	}
	// Wait for every host to see a topic peer, then one heartbeat.
	deadline := time.Now().Add(30 * time.Second)
	for _, h := range hosts {
		for len(h.TopicPeers(baselineTopic)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	cpu0 := processCPU()
	t0 := time.Now()
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	sent := 0
	for k := 0; ; k++ {
		at := t0.Add(time.Duration(k) * interval)
		if !at.Before(t0.Add(cfg.Duration)) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(at))
		text := fmt.Sprintf("%s%07d/n%d", textPrefix, k, k%len(hosts))
		mu.Lock()
		sentAt[text] = time.Now()
		mu.Unlock()
		if err := hosts[k%len(hosts)].Publish(ctx, baselineTopic, []byte(text)); err == nil {
			sent++
		}
	}
	want := sent * (len(hosts) - 1)
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		mu.Lock()
		d := deliveries
		mu.Unlock()
		if d >= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cpu := processCPU() - cpu0
	mu.Lock()
	defer mu.Unlock()
	l := latencyOf(lat)
	b := &Baseline{P50: l.P50, P99: l.P99, Sent: sent}
	if deliveries > 0 {
		b.CPUPerDeliveryUS = float64(cpu.Microseconds()) / float64(deliveries)
	}
	if want > 0 {
		b.DeliveredPct = 100 * float64(deliveries) / float64(want)
	}
	return b, nil
}
