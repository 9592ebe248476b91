package p2p

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGossip is the raw-gossipsub baseline: N hosts in one process on
// loopback, all subscribed to one topic, publishing round-robin at a fixed
// rate. Each iteration publishes one message; the metrics are
//
//	delivered-%       deliveries / (messages × (N-1))
//	p50-ms, p99-ms    publish-to-delivery latency over all deliveries
//	cpu-µs/delivery   process CPU time (user+sys, every host) per delivery
//	msgs/s            publish rate achieved (below the target when the
//	                  machine cannot keep up)
//
// The full node pipeline (MLS + CRDT + store) is measured against it later.
// Run: go test -run '^$' -bench Gossip -benchtime 200x ./p2p/
func BenchmarkGossip(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("hosts=%d/rate=50/size=1024", n), func(b *testing.B) {
			benchGossip(b, n, 50, 1024)
		})
	}
}

const benchTopic = "bench"

// gossipHarness records what every host receives.
type gossipHarness struct {
	hosts []*Host
	mu    sync.Mutex
	probe []map[int]bool // per host: hosts whose probe arrived
	lat   []time.Duration
	wg    sync.WaitGroup
}

func benchGossip(b *testing.B, n, rate, size int) {
	g := newGossipHarness(b, n)
	interval := time.Second / time.Duration(rate)
	payload := make([]byte, size)
	payload[0] = 'M'
	ctx := context.Background()
	cpu0 := cpuTime()
	start := time.Now()
	sent := 0
	for b.Loop() {
		if d := time.Until(start.Add(time.Duration(sent) * interval)); d > 0 {
			time.Sleep(d) // pacing to the target rate, not synchronisation
		}
		binary.BigEndian.PutUint64(payload[1:], uint64(sent))
		binary.BigEndian.PutUint64(payload[9:], uint64(time.Now().UnixNano()))
		if err := g.hosts[sent%n].Publish(ctx, benchTopic, payload); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msgs/s")
	want := sent * (n - 1)
	// Wait for stragglers; what has not arrived after 30 s counts as lost.
	deadline := time.Now().Add(30 * time.Second)
	for g.delivered() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cpu := cpuTime() - cpu0
	g.report(b, want, cpu)
}

func newGossipHarness(b *testing.B, n int) *gossipHarness {
	g := &gossipHarness{probe: make([]map[int]bool, n)}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		// Production score sampling (1 s), not the tests' 100 ms.
		g.hosts = append(g.hosts, newTestHost(b, func(c *Config) { c.scoreInspectInterval = 0 }))
		g.probe[i] = map[int]bool{}
		// A sparse random graph: each host dials up to 3 earlier ones.
		for range min(i, 3) {
			connect(b, g.hosts[i], g.hosts[rng.IntN(i)])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); g.wg.Wait() })
	for i, h := range g.hosts {
		sub, err := h.Subscribe(ctx, benchTopic, acceptAll)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sub.Close() })
		g.wg.Go(func() { g.receive(ctx, i, sub) })
	}
	// 50 hosts on a loaded machine take a while to build their meshes.
	waitGossipReady(b, g.hosts, benchTopic, 2*time.Minute, func(i int) bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.probe[i]) == n
	})
	return g
}

func (g *gossipHarness) receive(ctx context.Context, i int, sub *Subscription) {
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		g.mu.Lock()
		switch {
		case len(m.Data) >= 17 && m.Data[0] == 'M' && !m.Local:
			sentAt := int64(binary.BigEndian.Uint64(m.Data[9:]))
			g.lat = append(g.lat, now.Sub(time.Unix(0, sentAt)))
		case len(m.Data) > 6 && string(m.Data[:6]) == "probe-":
			var from, round int
			if _, err := fmt.Sscanf(string(m.Data), "probe-%d-%d", &from, &round); err == nil {
				g.probe[i][from] = true
			}
		}
		g.mu.Unlock()
	}
}

func (g *gossipHarness) delivered() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.lat)
}

func (g *gossipHarness) report(b *testing.B, want int, cpu time.Duration) {
	g.mu.Lock()
	lat := slices.Clone(g.lat)
	g.mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no message delivered")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(100*float64(len(lat))/float64(want), "delivered-%")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(len(lat)), "cpu-µs/delivery")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
