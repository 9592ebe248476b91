package p2p

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Stream abuse. Gossipsub scores what peers publish; a peer that abuses our
// request streams instead (announces a frame beyond the protocol's limit,
// or opens a stream and never finishes its request, holding one of the
// protocol's few stream slots until RequestTimeout) is counted here. The
// count decays (half-life abuseHalfLife) and feeds gossipsub's
// application-specific score (P5), so such a peer also loses our gossip
// (docs/p2p.md, "Peer scoring"); from abuseRefuse on, its streams are reset
// unread. An honest peer does neither: its requests fit the limits, and
// one slow request now and then costs little and is forgotten.
const (
	// abuseWeight is the score one abuse costs: the same as one invalid
	// message (invalidMessageWeight), so five put the peer below
	// GossipThreshold.
	abuseWeight = 100
	// abuseRefuse is the count from which the peer's streams are refused.
	abuseRefuse = 5
	// abuseHalfLife is the time in which a count halves.
	abuseHalfLife = 10 * time.Minute
	// maxAbusers bounds the table; past it the weakest entry is dropped.
	maxAbusers = 4096
)

type abuseEntry struct {
	count float64
	at    time.Time
}

// abuseTable counts stream abuse per peer.
type abuseTable struct {
	mu sync.Mutex
	m  map[peer.ID]abuseEntry
}

func decayed(e abuseEntry, now time.Time) float64 {
	return e.count * math.Exp2(-now.Sub(e.at).Seconds()/abuseHalfLife.Seconds())
}

// add counts one abuse by p.
func (t *abuseTable) add(p peer.ID, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[peer.ID]abuseEntry{}
	}
	e, ok := t.m[p]
	if !ok && len(t.m) >= maxAbusers {
		var weakest peer.ID
		low := math.Inf(1)
		for q, o := range t.m {
			if c := decayed(o, now); c < low {
				weakest, low = q, c
			}
		}
		delete(t.m, weakest)
	}
	t.m[p] = abuseEntry{count: decayed(e, now) + 1, at: now}
}

// count returns p's decayed abuse count.
func (t *abuseTable) count(p peer.ID, now time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[p]
	if !ok {
		return 0
	}
	return decayed(e, now)
}

// score is gossipsub's application-specific score of p.
func (t *abuseTable) score(p peer.ID) float64 {
	return -abuseWeight * t.count(p, time.Now())
}

// refused reports whether p's streams are reset unread.
func (t *abuseTable) refused(p peer.ID) bool {
	return t.count(p, time.Now()) >= abuseRefuse
}

// requestAbuse reports whether err, from reading a request frame within
// rctx, is the peer's abuse: a frame announced beyond the limit, or a
// request not sent in time while the host was not closing.
func requestAbuse(hostCtx, rctx context.Context, err error) bool {
	if errors.Is(err, ErrFrameTooLarge) {
		return true
	}
	if hostCtx.Err() != nil {
		return false
	}
	// The stream's read deadline is set to rctx's and may fire before
	// rctx's own timer does: go by the clock too.
	d, ok := rctx.Deadline()
	return errors.Is(rctx.Err(), context.DeadlineExceeded) || ok && !time.Now().Before(d)
}

// StreamAbuse returns p's decayed count of abused request streams (for
// diagnostics and tests).
func (h *Host) StreamAbuse(p PeerID) float64 {
	id, err := p.decode()
	if err != nil {
		return 0
	}
	return h.abuse.count(id, time.Now())
}
