package testbed

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// textPrefix starts every workload message; the rest of the text is its
// unique ID: "tb/<slot>.<generation>/<sequence>".
const textPrefix = "tb/"

// sent is one message of the workload.
type sent struct {
	key    string
	sender string // peer ID
	slot   int
	at     time.Time // just before Send was called
	acked  bool      // Send returned nil, and the node had not crashed since
	ackAt  time.Time // when Send returned, if acked
}

// recorder keeps the send and first-appearance time of every message. It is
// safe for concurrent use.
type recorder struct {
	mu struct {
		sync.Mutex
		msgs   map[string]*sent
		order  []*sent
		seen   map[string]map[string]time.Time // key -> peer ID -> first appearance
		joined map[string]time.Time            // peer ID -> when it joined (history before is not latency)
		slot   map[string]int                  // peer ID -> its slot
		acked  int
		deliv  int
	}
}

func newRecorder() *recorder {
	r := &recorder{}
	r.mu.msgs = map[string]*sent{}
	r.mu.seen = map[string]map[string]time.Time{}
	r.mu.joined = map[string]time.Time{}
	r.mu.slot = map[string]int{}
	return r
}

// joined records when a member joined, in which slot.
func (r *recorder) joined(peer string, slot int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.joined[peer] = at
	r.mu.slot[peer] = slot
}

// send registers a message about to be sent.
func (r *recorder) send(key, sender string, slot int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := &sent{key: key, sender: sender, slot: slot, at: time.Now()}
	r.mu.msgs[key] = m
	r.mu.order = append(r.mu.order, m)
}

// ack records that Send of key returned nil to a live node.
func (r *recorder) ack(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.mu.msgs[key]; m != nil && !m.acked {
		m.acked, m.ackAt = true, time.Now()
		r.mu.acked++
	}
}

// see records that text appeared in peer's timeline, if it is the first time.
func (r *recorder) see(peer, text string, at time.Time) {
	if !strings.HasPrefix(text, textPrefix) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.mu.seen[text]
	if s == nil {
		s = map[string]time.Time{}
		r.mu.seen[text] = s
	}
	if _, ok := s[peer]; ok {
		return
	}
	s[peer] = at
	if m := r.mu.msgs[text]; m != nil && m.sender != peer {
		r.mu.deliv++
	}
}

// counts returns the acknowledged sends and the deliveries so far.
func (r *recorder) counts() (acked, deliveries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.acked, r.mu.deliv
}

// ackedBefore returns the keys of the messages acknowledged and sent before t.
func (r *recorder) ackedBefore(t time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.mu.order {
		if m.acked && m.at.Before(t) {
			out = append(out, m.key)
		}
	}
	return out
}

// missing returns how many of keys peer has not seen, and the first one.
func (r *recorder) missing(peer string, keys []string) (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, first := 0, ""
	for _, k := range keys {
		if _, ok := r.mu.seen[k][peer]; !ok {
			if n == 0 {
				first = k
			}
			n++
		}
	}
	return n, first
}

// latencies returns the send-to-first-appearance times of every delivery
// to a member that was in the channel when the message was sent, and the
// number of such deliveries.
func (r *recorder) latencies(since time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, m := range r.mu.order {
		if !m.acked || m.at.Before(since) {
			continue
		}
		for peer, at := range r.mu.seen[m.key] {
			if peer == m.sender || r.mu.joined[peer].After(m.at) {
				continue
			}
			out = append(out, at.Sub(m.at))
		}
	}
	return out
}

// writeCSV writes every delivery latencies counts, one line each: the
// message, its sender (nodeK), when it was sent (seconds since t0), how
// long Send took to return (ms), the receiver (nodeK) and the latency (ms).
// By send time, then receiver.
func (r *recorder) writeCSV(w io.Writer, t0 time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cw := csv.NewWriter(w)
	cw.Write([]string{"message", "sender", "sent_s", "ack_ms", "receiver", "latency_ms"}) //nolint:errcheck // cw.Error below
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) }
	for _, m := range r.mu.order {
		if !m.acked || m.at.Before(t0) {
			continue
		}
		sentS := strconv.FormatFloat(m.at.Sub(t0).Seconds(), 'f', 4, 64)
		seen := r.mu.seen[m.key]
		for _, peer := range slices.Sorted(maps.Keys(seen)) {
			if peer == m.sender || r.mu.joined[peer].After(m.at) {
				continue
			}
			cw.Write([]string{m.key, slotName(m.slot), sentS, ms(m.ackAt.Sub(m.at)), //nolint:errcheck // cw.Error below
				slotName(r.mu.slot[peer]), ms(seen[peer].Sub(m.at))})
		}
	}
	cw.Flush()
	return cw.Error()
}

// sentText reports whether the testbed sent text (acknowledged or not).
func (r *recorder) sentText(text string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.msgs[text] != nil
}

// ackedMsgs returns the acknowledged messages in send order.
func (r *recorder) ackedMsgs() []*sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*sent
	for _, m := range r.mu.order {
		if m.acked {
			out = append(out, m)
		}
	}
	return out
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return Latency{P50: ms(at(0.50)), P99: ms(at(0.99)), Max: ms(ds[len(ds)-1])}
}

func (l Latency) String() string {
	return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms", l.P50, l.P99, l.Max)
}
