package p2p

import (
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestScoreArithmetic pins down the consequences docs/p2p.md promises: one
// rejected message costs 100, three fall below the gossip threshold, five
// below the graylist, and positive topic score cannot outweigh one.
func TestScoreArithmetic(t *testing.T) {
	p4 := func(n float64) float64 { return invalidMessageWeight * n * n * topicScoreParams().TopicWeight }
	if p4(1) != -100 {
		t.Errorf("one invalid message: %v", p4(1))
	}
	if p4(2) <= GossipThreshold || p4(3) > GossipThreshold {
		t.Errorf("gossip threshold crossed at the wrong count: %v %v", p4(2), p4(3))
	}
	if p4(4) <= GraylistThreshold || p4(5) > GraylistThreshold {
		t.Errorf("graylist crossed at the wrong count: %v %v", p4(4), p4(5))
	}
	if cap := peerScoreParams(false, nil).TopicScoreCap; cap+p4(1) >= 0 {
		t.Errorf("topic score cap %v outweighs one invalid message", cap)
	}
}

func TestPeerScoresSnapshot(t *testing.T) {
	h := &Host{}
	id, err := peer.Decode("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")
	if err != nil {
		t.Fatal(err)
	}
	h.recordScores(map[peer.ID]*pubsub.PeerScoreSnapshot{id: {
		Score: -100, IPColocationFactor: 0, BehaviourPenalty: 1,
		Topics: map[string]*pubsub.TopicScoreSnapshot{"t": {InvalidMessageDeliveries: 1}},
	}})
	got := h.PeerScores()[PeerID(id.String())]
	if got.Score != -100 || got.BehaviourPenalty != 1 || got.InvalidMessages["t"] != 1 {
		t.Errorf("PeerScores = %+v", got)
	}
}
