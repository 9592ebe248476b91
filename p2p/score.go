package p2p

import (
	"maps"
	"net"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Gossipsub peer scoring. The reasoning behind each number is in
// docs/p2p.md ("Peer scoring"); in short: invalid messages (validator
// verdict Reject) are the dominant penalty, mesh-delivery deficits are not
// scored at all because chat traffic is sparse, and peers that share an IP
// are penalised only on public addresses, never on loopback or (unless
// Config.PublicAddrsOnly) on private networks.

// Score thresholds. A peer below GossipThreshold gets no gossip from us,
// below PublishThreshold none of our own messages, below GraylistThreshold
// we ignore everything it sends.
const (
	GossipThreshold   = -500
	PublishThreshold  = -1000
	GraylistThreshold = -2500
)

// invalidMessageWeight is the P4 weight: the penalty is weight × count², so
// one rejected message costs 100, three drop the peer below
// GossipThreshold and five below GraylistThreshold. The count halves in
// about 10 minutes (decays to 1% in an hour).
const invalidMessageWeight = -100

// peerScoreParams are the scoring parameters; app is the
// application-specific score (P5: stream abuse, abuse.go), nil for none.
func peerScoreParams(publicOnly bool, app func(peer.ID) float64) *pubsub.PeerScoreParams {
	if app == nil {
		app = func(peer.ID) float64 { return 0 }
	}
	return &pubsub.PeerScoreParams{
		Topics:                      map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:               50,
		AppSpecificScore:            app,
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -20,
		IPColocationFactorThreshold: 4,
		IPColocationFactorWhitelist: colocationWhitelist(publicOnly),
		BehaviourPenaltyWeight:      -10,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 time.Hour,
	}
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             GossipThreshold,
		PublishThreshold:            PublishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           20,
		OpportunisticGraftThreshold: 2,
	}
}

// topicScoreParams are the same for every channel topic.
func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  3600,
		FirstMessageDeliveriesWeight:   1,
		FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(time.Hour),
		FirstMessageDeliveriesCap:      20,
		InvalidMessageDeliveriesWeight: invalidMessageWeight,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
	}
}

// colocationWhitelist lists the networks whose peers are not penalised for
// sharing an IP: loopback always, private and link-local ranges unless the
// host is configured for the public internet only.
func colocationWhitelist(publicOnly bool) []*net.IPNet {
	cidrs := []string{"127.0.0.0/8", "::1/128"}
	if !publicOnly {
		cidrs = append(cidrs, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
			"100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10")
	}
	out := make([]*net.IPNet, 0, len(cidrs))
	for _, c := range cidrs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			panic("p2p: bad built-in CIDR " + c) // constant input: cannot happen
		}
		out = append(out, n)
	}
	return out
}

// PeerScore is a gossipsub score of a peer, as last sampled.
type PeerScore struct {
	// Score is the total; negative means the peer misbehaved.
	Score float64
	// IPColocation is the IP-colocation factor (P6) before weighting.
	IPColocation float64
	// BehaviourPenalty is the behaviour penalty (P7) before weighting.
	BehaviourPenalty float64
	// InvalidMessages counts, per topic, the messages our validator
	// rejected (P4 counter, decaying).
	InvalidMessages map[string]float64
}

// recordScores is the gossipsub score inspector: it keeps the last sample.
func (h *Host) recordScores(s map[peer.ID]*pubsub.PeerScoreSnapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.scores = maps.Clone(s)
}

// PeerScores returns the gossipsub scores of connected peers as last sampled
// (about once a second). It is meant for diagnostics and tests.
func (h *Host) PeerScores() map[PeerID]PeerScore {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[PeerID]PeerScore, len(h.mu.scores))
	for p, s := range h.mu.scores {
		ps := PeerScore{Score: s.Score, IPColocation: s.IPColocationFactor,
			BehaviourPenalty: s.BehaviourPenalty, InvalidMessages: map[string]float64{}}
		for t, ts := range s.Topics {
			ps.InvalidMessages[t] = ts.InvalidMessageDeliveries
		}
		out[PeerID(p.String())] = ps
	}
	return out
}
