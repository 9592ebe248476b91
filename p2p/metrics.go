package p2p

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus"
)

// gossipEvents are the label values of gossipsub's counter: what
// go-libp2p-pubsub reports to a RawTracer (docs/operations.md).
var gossipEvents = []string{"validate", "deliver", "reject", "duplicate", "throttle", "undeliverable",
	"graft", "prune", "join", "leave", "recv_rpc", "send_rpc", "drop_rpc", "stream_open", "stream_close"}

// gossipTracer counts gossipsub's own events (pubsub.RawTracer) into
// libp2p_pubsub_events_total{event}. It is safe for concurrent use.
type gossipTracer struct {
	c map[string]prometheus.Counter
}

// newGossipTracer registers the counter in reg, every label at 0.
func newGossipTracer(reg prometheus.Registerer) (*gossipTracer, error) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "libp2p_pubsub_events_total",
		Help: "gossipsub's own events, as go-libp2p-pubsub's RawTracer reports them"}, []string{"event"})
	if err := reg.Register(v); err != nil {
		return nil, err
	}
	t := &gossipTracer{c: map[string]prometheus.Counter{}}
	for _, e := range gossipEvents {
		t.c[e] = v.WithLabelValues(e)
	}
	return t, nil
}

var _ pubsub.RawTracer = (*gossipTracer)(nil)

func (t *gossipTracer) inc(e string) { t.c[e].Inc() }

func (t *gossipTracer) AddPeer(peer.ID, protocol.ID)                         {}
func (t *gossipTracer) RemovePeer(peer.ID)                                   {}
func (t *gossipTracer) OnNewOutboundStream(peer.ID, protocol.ID)             { t.inc("stream_open") }
func (t *gossipTracer) OnClosedOutboundStream(peer.ID)                       { t.inc("stream_close") }
func (t *gossipTracer) Join(string)                                          { t.inc("join") }
func (t *gossipTracer) Leave(string)                                         { t.inc("leave") }
func (t *gossipTracer) Graft(peer.ID, string)                                { t.inc("graft") }
func (t *gossipTracer) Prune(peer.ID, string)                                { t.inc("prune") }
func (t *gossipTracer) ValidateMessage(*pubsub.Message)                      { t.inc("validate") }
func (t *gossipTracer) DeliverMessage(*pubsub.Message)                       { t.inc("deliver") }
func (t *gossipTracer) RejectMessage(*pubsub.Message, string)                { t.inc("reject") }
func (t *gossipTracer) DuplicateMessage(*pubsub.Message)                     { t.inc("duplicate") }
func (t *gossipTracer) ThrottlePeer(peer.ID)                                 { t.inc("throttle") }
func (t *gossipTracer) RecvRPC(*pubsub.RPC)                                  { t.inc("recv_rpc") }
func (t *gossipTracer) SendRPC(*pubsub.RPC, peer.ID)                         { t.inc("send_rpc") }
func (t *gossipTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (t *gossipTracer) DropRPC(*pubsub.RPC, peer.ID)                         { t.inc("drop_rpc") }
func (t *gossipTracer) UndeliverableMessage(*pubsub.Message)                 { t.inc("undeliverable") }
