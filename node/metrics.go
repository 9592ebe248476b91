package node

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// maxChannelLabels bounds the channels that get per-channel series (the
// first ones by ID), so that a node in many channels cannot blow up a
// Prometheus server's cardinality.
const maxChannelLabels = 64

// metrics are the node's Prometheus metrics, in a registry of its own
// (docs/operations.md lists every one). Safe for concurrent use.
type metrics struct {
	reg             *prometheus.Registry
	sent            prometheus.Counter
	received        *prometheus.CounterVec // kind
	rejected        *prometheus.CounterVec // reason
	deliveryLatency prometheus.Histogram
	syncServed      prometheus.Counter
	syncPages       prometheus.Counter
	syncEntries     prometheus.Counter
	joins           *prometheus.CounterVec // result
	joinsServed     *prometheus.CounterVec // result
	storeLatency    prometheus.Histogram
	storeOps        prometheus.Histogram
	gossip          *prometheus.CounterVec // verdict
	published       prometheus.Counter
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "spacepanda", Name: name, Help: help})
		f(c)
		return c
	}
	vec := func(name, help, label string, values ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "spacepanda", Name: name, Help: help}, []string{label})
		for _, v := range values { // every series exists from the start, at 0
			c.WithLabelValues(v)
		}
		f(c)
		return c
	}
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "spacepanda", Name: name, Help: help, Buckets: buckets})
		f(h)
		return h
	}
	m.sent = counter("messages_sent_total", "MLS messages of this node published from the outbox.")
	m.received = vec("messages_received_total", "MLS messages accepted, by kind.", "kind", "application", "commit", "proposal")
	m.rejected = vec("messages_rejected_total", "Messages refused, by reason.", "reason", rejectReasons...)
	m.deliveryLatency = hist("delivery_latency_seconds", "From queueing an own post to the first receipt observed (a member's reply or reaction).",
		prometheus.ExponentialBuckets(0.05, 2, 14))
	m.syncServed = counter("sync_requests_served_total", "Catch-up (sync) requests answered for members.")
	m.syncPages = counter("sync_pages_fetched_total", "Catch-up responses fetched from peers.")
	m.syncEntries = counter("sync_entries_fetched_total", "Log entries received in catch-up responses.")
	m.joins = vec("join_attempts_total", "Joins with an invite code by this node, by result.", "result", joinResults...)
	m.joinsServed = vec("joins_served_total", "Join requests answered for others, by result.", "result", joinResults...)
	m.storeLatency = hist("store_batch_seconds", "Time to apply one store batch (synced batches include the fsync).",
		prometheus.ExponentialBuckets(0.0001, 2, 16))
	m.storeOps = hist("store_batch_ops", "Operations in one store batch.", prometheus.ExponentialBuckets(1, 2, 12))
	m.gossip = vec("gossip_validated_total", "Gossipsub messages on channel topics, by validator verdict.", "verdict", "accept", "reject", "ignore")
	m.published = counter("gossip_published_total", "Gossipsub publishes on channel topics.")
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(nodeCollector{n})
	return m
}

// rejectReasons are the bounded label values of messages_rejected_total.
var rejectReasons = []string{"malformed", "protocol", "forbidden", "mls", "store", "other"}

// joinResults are the bounded label values of the join counters.
var joinResults = []string{"ok", "bad_invite", "expired", "revoked", "used_up", "unknown_invite", "already_member",
	"forbidden", "unreachable", "offline", "protocol", "other"}

// rejectReason classifies why a message was dropped.
func rejectReason(err error) string {
	switch {
	case errors.Is(err, ErrForbidden):
		return "forbidden"
	case errors.Is(err, ErrProtocol):
		return "protocol"
	case errors.As(err, new(*mls.ProcessError)), errors.Is(err, mls.ErrDecryption):
		return "mls"
	case errors.Is(err, store.ErrNotFound):
		return "store"
	}
	return "other"
}

// joinResult classifies the outcome of a join.
func joinResult(err error) string {
	for _, c := range []struct {
		err    error
		result string
	}{
		{nil, "ok"}, {ErrBadInvite, "bad_invite"}, {ErrInviteExpired, "expired"}, {ErrInviteRevoked, "revoked"},
		{ErrInviteUsedUp, "used_up"}, {ErrInviteUnknown, "unknown_invite"}, {ErrAlreadyMember, "already_member"},
		{ErrForbidden, "forbidden"}, {ErrUnreachable, "unreachable"}, {ErrOffline, "offline"}, {ErrProtocol, "protocol"},
	} {
		if err == c.err || c.err != nil && errors.Is(err, c.err) {
			return c.result
		}
	}
	return "other"
}

// MetricsHandler serves the node's metrics in the Prometheus text format,
// Go runtime and process metrics included.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{})
}

// nodeCollector reports state read at scrape time: peers, outbox depth, and
// each channel's epoch and member count.
type nodeCollector struct{ n *Node }

var (
	descPeers   = prometheus.NewDesc("spacepanda_peers_connected", "Peers with an open connection.", nil, nil)
	descOutbox  = prometheus.NewDesc("spacepanda_outbox_depth", "Messages stored and waiting to be published, all channels.", nil, nil)
	descChans   = prometheus.NewDesc("spacepanda_channels", "Channels this node is in.", nil, nil)
	descEpoch   = prometheus.NewDesc("spacepanda_channel_epoch", "MLS epoch of a channel (first 64 channels by ID).", []string{"channel"}, nil)
	descMembers = prometheus.NewDesc("spacepanda_channel_members", "Members of a channel (first 64 channels by ID).", []string{"channel"}, nil)
)

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeers, descOutbox, descChans, descEpoch, descMembers} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	peers := 0
	if n.host != nil {
		peers = len(n.host.Peers())
	}
	ch <- prometheus.MustNewConstMetric(descPeers, prometheus.GaugeValue, float64(peers))
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	chans := n.channelList()
	ch <- prometheus.MustNewConstMetric(descChans, prometheus.GaugeValue, float64(len(chans)))
	depth := 0
	for i, cl := range chans {
		var epoch uint64
		var members, out int
		err := cl.do(ctx, func(s *chanState) error {
			epoch, members, out = s.group.Epoch(), len(s.group.Members()), len(s.outbox)
			return nil
		})
		if err != nil {
			continue
		}
		depth += out
		if i < maxChannelLabels {
			ch <- prometheus.MustNewConstMetric(descEpoch, prometheus.GaugeValue, float64(epoch), cl.id)
			ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(members), cl.id)
		}
	}
	ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(depth))
}

// meteredStore times every batch the node applies.
type meteredStore struct {
	Store
	m *metrics
}

func (s meteredStore) Apply(ctx context.Context, b *store.Batch) error {
	start := time.Now()
	err := s.Store.Apply(ctx, b)
	s.m.storeLatency.Observe(time.Since(start).Seconds())
	s.m.storeOps.Observe(float64(b.Len()))
	return err
}

func (s meteredStore) ApplyNoWait(ctx context.Context, b *store.Batch) (*store.Pending, error) {
	start := time.Now()
	p, err := s.Store.ApplyNoWait(ctx, b)
	s.m.storeLatency.Observe(time.Since(start).Seconds())
	s.m.storeOps.Observe(float64(b.Len()))
	return p, err
}

func (s meteredStore) ApplyNoSync(ctx context.Context, b *store.Batch) error {
	start := time.Now()
	err := s.Store.ApplyNoSync(ctx, b)
	s.m.storeLatency.Observe(time.Since(start).Seconds())
	s.m.storeOps.Observe(float64(b.Len()))
	return err
}

// metered wraps a topic validator to count its verdicts.
func (m *metrics) metered(v p2p.Validator) p2p.Validator {
	return func(ctx context.Context, from p2p.PeerID, data []byte) p2p.Verdict {
		r := v(ctx, from, data)
		m.gossip.WithLabelValues(r.String()).Inc()
		if r == p2p.Reject {
			m.rejected.WithLabelValues("malformed").Inc()
		}
		return r
	}
}

// onAccepted counts and logs a message the channel accepted.
func (s *chanState) onAccepted(res processed, prevEpoch uint64) {
	switch {
	case res.Application != nil:
		s.n.metrics.received.WithLabelValues("application").Inc()
	case res.Commit:
		s.n.metrics.received.WithLabelValues("commit").Inc()
		s.n.log.Debug("commit applied", "channel", s.id, "epoch", prevEpoch+1, "committer", res.Sender,
			"added", len(res.Added), "removed", len(res.Removed))
		if res.SelfRemoved {
			s.n.onChannel(s.id, "gone", "")
		}
	case res.Proposal:
		s.n.metrics.received.WithLabelValues("proposal").Inc()
	}
}

// onDropped counts and logs a message from the topic that the channel
// refused (a commit or an application message).
func (n *Node) onDropped(channel string, from p2p.PeerID, env envelope, err error) {
	reason := rejectReason(err)
	n.metrics.rejected.WithLabelValues(reason).Inc()
	if h, perr := mls.PeekMessage(env.msg); perr == nil && h.ContentType == contentCommit {
		n.log.Info("commit rejected", "channel", channel, "from", from, "epoch", env.epoch, "reason", reason, "err", err)
		return
	}
	n.log.Info("message dropped", "channel", channel, "from", from, "reason", reason, "err", err)
}

// onJoin counts and logs a join attempt of this node.
func (n *Node) onJoin(start time.Time, ci ChannelInfo, err error) {
	r := joinResult(err)
	n.metrics.joins.WithLabelValues(r).Inc()
	n.log.Debug("join", "result", r, "channel", ci.ID, "took", time.Since(start), "err", err)
}

// onJoinServed counts and logs a join request answered for a peer; again:
// a member's, answered with its kept response (a retry after a lost
// response, or a joiner's ask for a re-admission or a top-up).
func (n *Node) onJoinServed(from p2p.PeerID, err error, again bool) {
	r := joinResult(err)
	if again && err == nil {
		r = "again"
	}
	n.metrics.joinsServed.WithLabelValues(r).Inc()
	n.log.Debug("join served", "peer", from, "result", r)
}

// onSyncServed counts and logs a catch-up request answered.
func (n *Node) onSyncServed(channel string, from p2p.PeerID, entries int) {
	n.metrics.syncServed.Inc()
	n.log.Debug("sync served", "channel", channel, "peer", from, "entries", entries)
}

// onSyncFetched counts and logs a catch-up response received.
func (n *Node) onSyncFetched(from p2p.PeerID, req syncRequest, entries int) {
	n.metrics.syncPages.Inc()
	n.metrics.syncEntries.Add(float64(entries))
	n.log.Debug("sync fetched", "peer", from, "epoch", req.Epoch, "cursor", req.Cursor, "entries", entries)
}
