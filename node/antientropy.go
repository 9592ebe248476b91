package node

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
)

// Anti-entropy (docs/protocol.md, "Anti-entropy"). Gossipsub drops
// messages when its queues overflow, and a member that misses one in an
// epoch does not notice: the sender's next message decrypts without it
// (MLS keeps the skipped keys). Catch-up (sync.go) runs after a start, a
// join, a new peer or a message that does not decrypt, not for that. So
// each channel watches the counters of the events it applies: every
// author's events are numbered 1, 2, 3… (crdt.ID.Seq), and a counter
// skipped for longer than aeGrace (gossip may reorder) is a gap. A gap
// makes the channel ask one member for the log entries that member stored
// since shortly before the gap (a sync request with a cursor into that
// member's log, remembered from the previous run with it), and the missing
// message arrives as if by gossip, in its epoch, without a new one. A
// message lost at the end of a burst leaves no gap; for those, a channel
// that stored anything since its last run asks again every aeEvery: first
// for the member's largest event counter per author (its heads), and only
// if it holds an event we lack, for the entries it stored since then (from
// the cursor, not a re-download of the epoch). An event the heads name
// that we lack may be on its way by gossip: the run looks again for up to
// aeHeadsGrace before it fetches (stillBehind). Before the heads, every
// periodic run fetched everything stored since the last one: at 200
// messages a second, a second copy of the channel's traffic, each entry
// decrypted far enough to be recognised as a duplicate.
//
// A gap's runs ask different members in turn: the first one asked may have
// lost the same message (gossipsub drops at the sender's queues, so
// several members often miss the same one). Heads also carry each author's
// prefix (the counter up to which every event of theirs is held): a member
// whose prefix passes a counter of ours that we lack, below our largest
// one, reveals a hole no gap tracks — one whose gap was forgotten, or left
// before our first event of the author this run (a restart) — and the
// hole becomes a gap asked of that member, from the start of the epochs
// we can still read. A forgotten gap makes the next periodic run happen
// even if nothing was stored since, asking the missing event's author if
// it is reachable. Before, a gap was asked of the same member three times
// within two seconds and then forgotten for good, and heads compared only
// the largest counters: a 5-node testbed run once ended with node 0
// missing two posts every other member held.
//
// It is bounded: one run per channel at a time (and never during a
// catch-up), at least aeMinGap apart, at most aeMaxPages pages each; at
// most aeMaxMissing gaps are tracked, and a gap that aeTries runs did not
// fill (nobody has the message: its author was cut off, or the event was
// refused) is forgotten; a forgotten hole that heads revealed is not
// revealed again (at most aeMaxMissing are remembered), and an answer's
// holes are looked for in at most aeMaxMissing counters. What a run brings
// that we have is recognised as a duplicate by MLS before any signature
// check.
const (
	aeGrace      = 300 * time.Millisecond
	aeMinGap     = 500 * time.Millisecond
	aeMargin     = 2 * time.Second
	aeMaxPages   = 64
	aeMaxMissing = 4096
	aeTries      = 3
	aeCursors    = 4
)

// aeEvery is the period of the run that finds losses no gap reveals (a
// variable for tests).
var aeEvery = 10 * time.Second

// antiEntropy is a channel's anti-entropy state. Only the loop touches it.
type antiEntropy struct {
	hi      map[string]uint64 // author -> highest counter applied in this run
	missing map[crdt.ID]*aeGap
	// given holds the holes heads revealed that aeTries runs did not fill.
	given map[crdt.ID]struct{}
	// recheck: a gap was forgotten unfilled since the last periodic run,
	// of recheckAuthor's (the last one).
	recheck       bool
	recheckAuthor string
	// cursors are positions in members' logs, oldest first.
	cursors map[p2p.PeerID][]aeCursor
	running bool
	last    time.Time // when the last run started
	lastSeq uint64    // chanState.lastSeq then
	runs    int       // runs started (tests, metrics)
}

type aeGap struct {
	seen  time.Time
	epoch uint64 // the group's epoch when the gap was seen
	tries int
	asked []p2p.PeerID // the members runs asked while it was open
	// holder is, for a hole heads revealed, the member whose heads did;
	// such a gap is looked for from the start of the epoch window.
	holder p2p.PeerID
}

// aeCursor: every entry the member logs after at has a sequence number of
// at least next (its log's next number when it answered at at). partial
// marks where a run that hit aeMaxPages stopped: the next run resumes
// there.
type aeCursor struct {
	at      time.Time
	next    uint64
	partial bool
}

// noteApplied records the counter of an applied event; an author's counter
// that jumps leaves gaps, a late one fills its gap.
func (s *chanState) noteApplied(e crdt.Event) {
	a := &s.ae
	author := e.ID.Author
	if author == s.n.id.peerID || author == "" {
		return
	}
	if a.missing != nil {
		delete(a.missing, e.ID)
	}
	if a.given != nil {
		delete(a.given, e.ID)
	}
	if a.hi == nil {
		a.hi = map[string]uint64{}
	}
	hi, ok := a.hi[author]
	if e.ID.Seq <= hi {
		return
	}
	a.hi[author] = e.ID.Seq
	if !ok {
		// The first event of the author this run: what came before is
		// the catch-up's (start, join), not a gap we saw.
		return
	}
	now := time.Now()
	var epoch uint64
	if s.group != nil {
		epoch = s.group.Epoch()
	}
	for q := hi + 1; q < e.ID.Seq; q++ {
		id := crdt.ID{Author: author, Seq: q}
		if len(a.missing) >= aeMaxMissing {
			break
		}
		if s.crdt.Has(id) {
			continue
		}
		if a.missing == nil {
			a.missing = map[crdt.ID]*aeGap{}
		}
		a.missing[id] = &aeGap{seen: now, epoch: epoch}
	}
}

// noteHoles records as gaps the holes heads (holder's answer, with
// prefixes) reveal: counters of an author that holder holds every event up
// to, below our largest one of the author, that we lack, track no gap for
// and have not given up on. It returns how many.
func (s *chanState) noteHoles(heads map[string]syncHead, holder p2p.PeerID) int {
	a := &s.ae
	now := time.Now()
	var epoch uint64
	if s.group != nil {
		epoch = s.group.Epoch()
	}
	budget, found := aeMaxMissing, 0
	for author, h := range heads {
		if author == s.n.id.peerID {
			continue
		}
		prefix, max := s.crdt.Counters(author)
		for q := prefix + 1; q <= min(h.Prefix, max) && budget > 0 && len(a.missing) < aeMaxMissing; q++ {
			budget--
			id := crdt.ID{Author: author, Seq: q}
			if _, given := a.given[id]; given || a.missing[id] != nil || s.crdt.Has(id) {
				continue
			}
			if a.missing == nil {
				a.missing = map[crdt.ID]*aeGap{}
			}
			a.missing[id] = &aeGap{seen: now, epoch: epoch, holder: holder}
			found++
		}
	}
	return found
}

// takeHeads hands p's answer with heads to the channel's loop: the holes
// its prefixes reveal become gaps (noteHoles; none without prefixes). It
// returns our epoch; the error is the channel's (closing).
func (n *Node) takeHeads(c *channel, p p2p.PeerID, page syncPage) (uint64, error) {
	var epoch uint64
	err := c.doLive(n.ctx, func(s *chanState) error {
		if page.Prefixes {
			if k := s.noteHoles(page.Heads, p); k > 0 {
				n.log.Debug("anti-entropy: heads reveal holes", "channel", c.id, "peer", p, "holes", k)
			}
		}
		epoch = s.group.Epoch()
		return nil
	})
	return epoch, err
}

// oldestGap returns the oldest gap older than aeGrace (nil if none), when
// to look from for the gaps older than aeGrace (the oldest one's time less
// aeMargin; the zero time, the start of the epoch window, if one is a hole
// heads revealed), and the lowest epoch among them.
func (a *antiEntropy) oldestGap(now time.Time) (*aeGap, time.Time, uint64) {
	var oldest *aeGap
	var epoch uint64
	hole := false
	for _, g := range a.missing {
		if now.Sub(g.seen) < aeGrace {
			continue
		}
		if oldest == nil || g.epoch < epoch {
			epoch = g.epoch
		}
		if oldest == nil || g.seen.Before(oldest.seen) {
			oldest = g
		}
		hole = hole || g.holder != ""
	}
	if oldest == nil {
		return nil, time.Time{}, 0
	}
	if hole {
		return oldest, time.Time{}, epoch
	}
	return oldest, oldest.seen.Add(-aeMargin), epoch
}

// Gaps reports how many gaps the channel tracks (tests).
func (a *antiEntropy) gaps() int { return len(a.missing) }

// maybeAntiEntropy starts a run when a gap is older than aeGrace, or when
// the channel stored something since the last run aeEvery ago. It runs on
// the loop (each retry tick); the pages are fetched in a goroutine and
// handed to the loop like a catch-up's.
func (s *chanState) maybeAntiEntropy() {
	a := &s.ae
	if a.running || s.syncing || s.n.host == nil || s.meta.Removed || !s.group.Active() {
		return
	}
	now := time.Now()
	if a.last.IsZero() {
		a.last, a.lastSeq = now, s.lastSeq // the start's catch-up covers what came before
		return
	}
	if now.Sub(a.last) < aeMinGap {
		return
	}
	heads := false
	from := s.group.Epoch()
	if from > 0 {
		from-- // a late message of the epoch before (as catch-up does)
	}
	gap, since, gapEpoch := a.oldestGap(now)
	switch {
	case gap != nil:
		// The missing event may be of an epoch before the one its gap
		// was seen in (the author's later event came after a commit,
		// or we switched branches since): as far back as past
		// messages are read (pastEpochWindow). Before, a run asked from
		// the epoch before ours only, and an event lost just before a
		// commit was never found (the 5-node churn testbed lost one).
		from = min(from, gapEpoch-min(gapEpoch, pastEpochWindow))
	case (s.lastSeq != a.lastSeq || a.recheck) && now.Sub(a.last) >= aeEvery:
		since = a.last.Add(-aeMargin)
		heads = true // compare heads first: usually nothing is missing
	default:
		return
	}
	peers := s.syncPeers()
	if len(peers) == 0 {
		return
	}
	var p p2p.PeerID
	var cursor uint64
	switch {
	case gap != nil:
		p, cursor = a.pickFor(gap, peers, since)
	case a.recheck && slices.Contains(peers, p2p.PeerID(a.recheckAuthor)):
		// A gap was forgotten: its author holds the event for sure,
		// and its heads reveal the hole if we still have it.
		p = p2p.PeerID(a.recheckAuthor)
		cursor = a.cursorBefore(p, since)
	default:
		p, cursor = a.pick(peers, since)
	}
	if heads {
		a.recheck = false
	}
	a.running, s.syncing = true, true
	a.last, a.lastSeq = now, s.lastSeq
	a.runs++
	c, n := s.c, s.n
	req := syncRequest{Channel: s.id, Epoch: from, Cursor: cursor, Heads: heads, Prefixes: heads}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		var cur aeCursor
		var ok bool
		func() {
			defer recoverRemote(n, "anti-entropy", c.id)
			cur, ok = n.runAntiEntropy(c, p, req)
		}()
		c.do(n.ctx, func(s *chanState) error { //nolint:errcheck // ErrClosed at shutdown
			s.ae.running, s.syncing = false, false
			if ok {
				s.ae.keep(p, cur)
			}
			if !heads {
				s.ae.ran(now, p)
			}
			return nil
		})
	}()
}

// runAntiEntropy pages through p's log from req's cursor, handing each page
// to the loop, and returns where it stopped.
func (n *Node) runAntiEntropy(c *channel, p p2p.PeerID, req syncRequest) (aeCursor, bool) {
	for range aeMaxPages {
		page, err := n.fetchPage(p, req)
		if err != nil {
			n.log.Debug("anti-entropy page", "channel", c.id, "peer", p, "err", err)
			return aeCursor{}, false
		}
		at := time.Now()
		if page.Heads != nil {
			// The periodic run's first answer: fetch entries only if p
			// holds an event we lack, from the same cursor.
			req.Heads, req.Prefixes = false, false
			if _, err := n.takeHeads(c, p, page); err != nil {
				return aeCursor{}, false // closing
			}
			behind, err := n.stillBehind(c, page.Heads, aeHeadsGrace)
			if err != nil {
				return aeCursor{}, false // closing
			}
			if !behind {
				return aeCursor{at: at, next: page.Next}, true
			}
			continue
		}
		if len(page.Entries) > 0 {
			if err := n.applyPage(c, page); err != nil {
				return aeCursor{}, false // closing
			}
		}
		if !page.More || page.Next <= req.Cursor {
			return aeCursor{at: at, next: page.Next}, true
		}
		req.Cursor = page.Next
	}
	return aeCursor{next: req.Cursor, partial: true}, true
}

// aeHeadsGrace is how long a periodic run waits for the events a member's
// heads name that we lack (stillBehind), and aeHeadsPoll how often it looks
// again meanwhile.
const (
	aeHeadsGrace = time.Second
	aeHeadsPoll  = 20 * time.Millisecond
)

// stillBehind reports whether heads (another member's largest event
// counter per author) still hold an event we lack after grace: at 200
// messages a second a member's heads nearly always name a post or two that
// are still on their way to us by gossip, and fetching the log for them
// was, before, a fetch of everything the member stored since the last run
// (thousands of entries, each decrypted far enough to be recognised as a
// duplicate) in most periodic runs. It looks again every aeHeadsPoll and
// returns false as soon as we hold everything heads name; an event that
// is really missing costs grace more before the fetch. The error is the
// channel's (closing).
func (n *Node) stillBehind(c *channel, heads map[string]syncHead, grace time.Duration) (bool, error) {
	deadline := time.Now().Add(grace)
	for {
		behind := false
		if err := c.doLive(n.ctx, func(s *chanState) error {
			behind = s.behind(heads)
			return nil
		}); err != nil {
			return false, err
		}
		if !behind || !time.Now().Before(deadline) {
			return behind, nil
		}
		select {
		case <-time.After(min(aeHeadsPoll, time.Until(deadline))):
		case <-n.ctx.Done():
			return false, ErrClosed
		}
	}
}

// behind reports whether heads (another member's largest event counter
// per author) holds an event of another author past the largest we hold.
// The holes below are noteHoles'.
func (s *chanState) behind(heads map[string]syncHead) bool {
	for a, h := range heads {
		if a != s.n.id.peerID && h.Max >= s.crdt.Next(a).Seq {
			return true
		}
	}
	return false
}

// pick chooses the member to ask and where in its log to start: a run left
// partial first, else the member whose newest cursor from before since is
// the newest; with none, a member at random from the start of the epoch.
func (a *antiEntropy) pick(peers []p2p.PeerID, since time.Time) (p2p.PeerID, uint64) {
	var best p2p.PeerID
	var bestAt time.Time
	var cursor uint64
	for _, p := range peers {
		cs := a.cursors[p]
		for i := len(cs) - 1; i >= 0; i-- {
			c := cs[i]
			if c.partial {
				return p, c.next
			}
			if !c.at.After(since) {
				if best == "" || c.at.After(bestAt) {
					best, bestAt, cursor = p, c.at, c.next
				}
				break
			}
		}
	}
	if best != "" {
		return best, cursor
	}
	return peers[rand.IntN(len(peers))], 0
}

// pickFor chooses the member to ask for gap, and where in its log to
// start: the member whose heads revealed it, if not asked yet; else as
// pick does among the members not asked yet for it (all of them once each
// was).
func (a *antiEntropy) pickFor(g *aeGap, peers []p2p.PeerID, since time.Time) (p2p.PeerID, uint64) {
	if g.holder != "" && !slices.Contains(g.asked, g.holder) && slices.Contains(peers, g.holder) {
		return g.holder, a.cursorBefore(g.holder, since)
	}
	fresh := make([]p2p.PeerID, 0, len(peers))
	for _, p := range peers {
		if !slices.Contains(g.asked, p) {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		fresh = peers
	}
	return a.pick(fresh, since)
}

// cursorBefore returns p's newest cursor from before since, or 0 (the
// start of the epoch asked from).
func (a *antiEntropy) cursorBefore(p p2p.PeerID, since time.Time) uint64 {
	cs := a.cursors[p]
	for i := len(cs) - 1; i >= 0; i-- {
		if !cs[i].partial && !cs[i].at.After(since) {
			return cs[i].next
		}
	}
	return 0
}

// keep records a cursor of p's log, dropping a partial one it continues.
func (a *antiEntropy) keep(p p2p.PeerID, c aeCursor) {
	if a.cursors == nil {
		a.cursors = map[p2p.PeerID][]aeCursor{}
	}
	cs := a.cursors[p]
	if k := len(cs); k > 0 && cs[k-1].partial {
		cs = cs[:k-1]
	}
	cs = append(cs, c)
	if len(cs) > aeCursors {
		cs = cs[len(cs)-aeCursors:]
	}
	a.cursors[p] = cs
	if len(a.cursors) > 4*aeCursors {
		for q := range a.cursors { // bounded: forget an arbitrary other peer
			if q != p {
				delete(a.cursors, q)
				break
			}
		}
	}
}

// ran counts a gap run that asked p against the gaps seen before it
// started; those that aeTries runs did not fill are forgotten: a hole
// heads revealed for good (given), any other one until heads reveal it
// (the next periodic run comes even if nothing was stored, recheck).
func (a *antiEntropy) ran(start time.Time, p p2p.PeerID) {
	for id, g := range a.missing {
		if !g.seen.Before(start) {
			continue
		}
		if !slices.Contains(g.asked, p) {
			g.asked = append(g.asked, p)
		}
		if g.tries++; g.tries < aeTries {
			continue
		}
		delete(a.missing, id)
		if g.holder == "" {
			a.recheck, a.recheckAuthor = true, id.Author
			continue
		}
		if a.given == nil {
			a.given = map[crdt.ID]struct{}{}
		}
		if len(a.given) >= aeMaxMissing {
			for q := range a.given { // bounded: forget an arbitrary one
				delete(a.given, q)
				break
			}
		}
		a.given[id] = struct{}{}
	}
}
