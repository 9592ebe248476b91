package testbed

import (
	"encoding/csv"
	"fmt"
	"io"
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
	// seen is when each peer (by recorder index) first showed it, in
	// Unix nanoseconds, 0 for not yet. Without pointers: in one process
	// the testbed's 100,000 sightings share the nodes' heap, and the
	// garbage collector skips them (a map per message, with a pointer per
	// entry, was 6 % of the live heap it scanned at every cycle).
	seen []int64
}

// seenAt returns when peer index i first showed m, 0 for not yet.
func (m *sent) seenAt(i int) int64 {
	if i < 0 || i >= len(m.seen) {
		return 0
	}
	return m.seen[i]
}

// recorder keeps the send and first-appearance time of every message. It is
// safe for concurrent use.
type recorder struct {
	mu struct {
		sync.Mutex
		msgs   map[string]*sent
		order  []*sent
		index  map[string]int       // peer ID -> its index in sent.seen
		peers  []string             // index -> peer ID
		joined map[string]time.Time // peer ID -> when it joined (history before is not latency)
		slot   map[string]int       // peer ID -> its slot
		acked  int
		deliv  int
	}
}

func newRecorder() *recorder {
	r := &recorder{}
	r.mu.msgs = map[string]*sent{}
	r.mu.index = map[string]int{}
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

// hasPeer reports whether peer joined as a slot's node.
func (r *recorder) hasPeer(peer string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.mu.slot[peer]
	return ok
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
	m := r.mu.msgs[text]
	if m == nil {
		return // not sent by this run
	}
	i, ok := r.mu.index[peer]
	if !ok {
		i = len(r.mu.peers)
		r.mu.index[peer] = i
		r.mu.peers = append(r.mu.peers, peer)
	}
	if m.seenAt(i) != 0 {
		return
	}
	if i >= len(m.seen) {
		m.seen = append(m.seen, make([]int64, i+1-len(m.seen))...)
	}
	m.seen[i] = at.UnixNano()
	if m.sender != peer {
		r.mu.deliv++
	}
}

// seenAt returns when peer first showed key, 0 for not yet.
func (r *recorder) seenAt(key, peer string) int64 {
	i, ok := r.mu.index[peer]
	if m := r.mu.msgs[key]; ok && m != nil {
		return m.seenAt(i)
	}
	return 0
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
		if r.seenAt(k, peer) == 0 {
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
	r.eachDelivery(since, func(_ *sent, _ string, d time.Duration) { out = append(out, d) })
	return out
}

// eachDelivery calls fn for every delivery of a message acknowledged and
// sent from since to a member that was in the channel when it was sent, in
// send order, with the receiver and the latency. r.mu is held.
func (r *recorder) eachDelivery(since time.Time, fn func(m *sent, peer string, latency time.Duration)) {
	for _, m := range r.mu.order {
		if !m.acked || m.at.Before(since) {
			continue
		}
		for i, at := range m.seen {
			peer := r.mu.peers[i]
			if at == 0 || peer == m.sender || r.mu.joined[peer].After(m.at) {
				continue
			}
			fn(m, peer, time.Duration(at-m.at.UnixNano()))
		}
	}
}

// writeCSV writes every delivery latencies counts, one line each: the
// message, its sender (nodeK), when it was sent (seconds since t0), how
// long Send took to return (ms), the receiver (nodeK) and the latency (ms).
// By send time.
func (r *recorder) writeCSV(w io.Writer, t0 time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cw := csv.NewWriter(w)
	cw.Write([]string{"message", "sender", "sent_s", "ack_ms", "receiver", "latency_ms"}) //nolint:errcheck // cw.Error below
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) }
	r.eachDelivery(t0, func(m *sent, peer string, d time.Duration) {
		cw.Write([]string{m.key, slotName(m.slot), strconv.FormatFloat(m.at.Sub(t0).Seconds(), 'f', 4, 64), //nolint:errcheck // cw.Error below
			ms(m.ackAt.Sub(m.at)), slotName(r.mu.slot[peer]), ms(d)})
	})
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
