package nattest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// benchEnv switches the NAT measurements on: they take about ten minutes
// (hole punching through symmetric NATs fails, and each failed attempt
// waits for DCUtR to give up), so neither make test nor make bench runs
// them unasked.
const benchEnv = "SPACEPANDA_NAT_BENCH"

// BenchmarkNAT measures, on one topology with three pairs of desktops
// (endpoint-independent on both sides, endpoint-independent and symmetric,
// symmetric on both sides), the figures docs/benchmarks.md records:
//
//   - s-to-first-msg: from starting two desktops (the relay already runs)
//     to the first message one receives from the other, invite and join
//     included;
//   - s-to-direct: from the same start to a direct connection between the
//     two endpoint-independent desktops;
//   - ms-relayed and ms-direct: median delivery latency of 20 messages, one
//     at a time, from Send on one daemon to Follow on the other;
//   - punch-<pairing>: hole punches that gave a direct connection out of
//     SPACEPANDA_NAT_ATTEMPTS (default 20), each after restarting one
//     desktop on a fresh port, so that no NAT mapping survives from the
//     attempt before.
//
// It runs its body once whatever b.N is: run it with -benchtime 1x.
func BenchmarkNAT(b *testing.B) {
	if os.Getenv(benchEnv) == "" {
		b.Skipf("nattest: set %s=1 to run the NAT measurements (about ten minutes)", benchEnv)
	}
	attempts := 20
	if v, err := strconv.Atoi(os.Getenv("SPACEPANDA_NAT_ATTEMPTS")); err == nil && v > 0 {
		attempts = v
	}
	kinds := []natKind{eim, eim, eim, symmetric, symmetric, symmetric}
	tp := newTopo(b, kinds...)
	tp.startRelay()

	start := time.Now()
	a0 := tp.startDesktop(0, "a0")
	b1 := tp.startDesktop(1, "b1")
	waitReserved(a0)
	ab := joinVia(a0, b1, "ab")
	if _, err := a0.client().Send(bg(), ab, "first"); err != nil {
		b.Fatal(err)
	}
	b1.waitTexts(deliverTimeout, ab, "first")
	firstMsg := time.Since(start)
	a0.waitFor(directTimeout, "a direct connection", func() bool { return a0.conn(b1.id) == "direct" })
	toDirect := time.Since(start)
	b.ReportMetric(firstMsg.Seconds(), "s-to-first-msg")
	b.ReportMetric(toDirect.Seconds(), "s-to-direct")

	a2 := tp.startDesktop(2, "a2")
	c3 := tp.startDesktop(3, "c3")
	c4 := tp.startDesktop(4, "c4")
	d5 := tp.startDesktop(5, "d5")
	for _, d := range []*daemon{a2, c4} {
		waitReserved(d)
	}
	ac := joinVia(a2, c3, "ac")
	joinVia(c4, d5, "cd") // so that d5 dials c4 after each restart
	a0.waitFor(directTimeout, "the relayed connection to close", func() bool {
		return !slices.ContainsFunc(a0.via(b1.id), func(a string) bool { return isCircuit(a) })
	})
	b.ReportMetric(medianMs(latencies(b, a0, b1, ab, 20)), "ms-direct")
	b.ReportMetric(medianMs(latencies(b, a2, c3, ac, 20)), "ms-relayed")

	pairs := []struct {
		name   string
		stay   *daemon
		moving *daemon
	}{{"eim-eim", a0, b1}, {"eim-sym", a2, c3}, {"sym-sym", c4, d5}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	var errs []error
	for _, p := range pairs {
		wg.Go(func() {
			ok, err := punchAttempts(p.stay, p.moving, attempts)
			mu.Lock()
			defer mu.Unlock()
			results[p.name] = ok
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		b.Error(err)
	}
	for _, p := range pairs {
		b.ReportMetric(float64(results[p.name]), "punch-"+p.name)
		b.Logf("%s: %d of %d hole punches gave a direct connection", p.name, results[p.name], attempts)
	}
	b.Logf("start to first message %.1fs, to direct %.1fs", firstMsg.Seconds(), toDirect.Seconds())
}

func isCircuit(a string) bool { return strings.Contains(a, "/p2p-circuit") }

// punchAttempts restarts moving on a fresh port n times; each time it dials
// stay through the relay (its stored addresses), and DCUtR tries a hole
// punch. It counts the attempts that end with a direct connection within
// punchWait, seen from the restarted side (the other side may still hold a
// dead connection to the previous process).
func punchAttempts(stay, moving *daemon, n int) (int, error) {
	const punchWait = 25 * time.Second
	ok := 0
	for i := range n {
		// A clean stop, so that stay drops its connection at once: with a
		// connection to the old process still open, stay would see no
		// reason to hole punch.
		moving.stop()
		if poll(30*time.Second, func() bool { return stay.conn(moving.id) == "" }) != nil {
			return ok, fmt.Errorf("%s still connected to the stopped %s", stay.name, moving.name)
		}
		moving.port = spPort + 100 + i
		if err := moving.startErr(); err != nil {
			return ok, err
		}
		if poll(punchWait, func() bool { return moving.conn(stay.id) == "direct" }) == nil {
			ok++
		}
	}
	return ok, nil
}

// latencies sends n messages from -> to one at a time and returns how long
// each took from Send to the receiver's Follow callback.
func latencies(b *testing.B, from, to *daemon, channel string, n int) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithCancel(bg())
	defer cancel()
	arrived := make(chan string, n+1)
	followErr := make(chan error, 1)
	go func() {
		followErr <- to.client().Follow(ctx, channel, 1, func(m node.Message) error {
			select {
			case arrived <- m.Text:
			default:
			}
			return nil
		})
	}()
	time.Sleep(500 * time.Millisecond) // the latest message comes first
	for len(arrived) > 0 {
		<-arrived
	}
	c := from.client()
	var out []time.Duration
	for i := range n {
		text := fmt.Sprintf("latency %s %d", from.name, i)
		t0 := time.Now()
		if _, err := c.Send(ctx, channel, text); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(deliverTimeout)
	wait:
		for {
			select {
			case got := <-arrived:
				if got == text {
					out = append(out, time.Since(t0))
					break wait
				}
			case err := <-followErr:
				b.Fatalf("%s: follow ended: %v", to.name, err)
			case <-timeout:
				b.Fatalf("%s: %q not delivered; timeline has %d texts\n%s", to.name, text, len(to.texts(channel)), to.tp.tails())
			}
		}
	}
	return out
}

func medianMs(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}
