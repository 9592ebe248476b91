package node

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// Sync (docs/protocol.md, "Sync"): a member asks another member for the log
// entries it missed, one page at a time. Log sequence numbers are local to
// each node, epochs common to the group: the first request names an epoch,
// and each answer returns a cursor (the answering node's next sequence
// number) for the next page. Both sides check that the other is a member of
// the channel's current epoch; the answer streams from the store, page by
// page, without ever holding more than one page; the asker processes a page
// before it asks for the next, so catching up any number of entries costs
// the memory of one page.

// syncRequest asks for a page of log entries (SyncProtocol).
type syncRequest struct {
	Channel string `json:"channel"`
	// Epoch is the first epoch of interest; entries of older epochs are
	// skipped.
	Epoch uint64 `json:"epoch"`
	// Cursor is the answering node's sequence number to continue from (the
	// Next of the previous page); 0 starts at Epoch.
	Cursor uint64 `json:"cursor,omitempty"`
	// Heads asks, instead of entries, for the largest event counter of
	// each author the answering node holds, and its log's next sequence
	// number (anti-entropy's periodic run, antientropy.go). A node that
	// does not know the field answers with a page of entries.
	Heads bool `json:"heads,omitempty"`
	// Prefixes asks, with Heads, for each author's prefix too (the
	// counter up to which every event of theirs is held) and the
	// answering node's epoch: the answer then reveals the asker's holes,
	// not only the events it lacks past its largest counter, and a
	// catch-up round learns whether it lacks a commit. A node that does
	// not know the field answers with heads alone.
	Prefixes bool `json:"prefixes,omitempty"`
}

// syncPage is one answer. Its wire form (binary, to avoid base64 on
// megabytes of ciphertext):
//
//	u8 version (1) ‖ uvarint next ‖ u8 more ‖ uvarint count ‖ count × (uvarint len ‖ envelope)
type syncPage struct {
	Next    uint64
	More    bool
	Entries [][]byte // encoded envelopes
	// Heads, in the answer to a request for heads, holds the largest
	// event counter per author and, if Prefixes, the prefix; nil in a
	// page of entries. Its wire form:
	//
	//	u8 version (2) ‖ uvarint next ‖ uvarint count ‖ count × (uvarint len ‖ author ‖ uvarint max)
	//	u8 version (3) ‖ uvarint next ‖ uvarint epoch ‖ uvarint count ‖ count × (uvarint len ‖ author ‖ uvarint max ‖ uvarint prefix)
	Heads    map[string]syncHead
	Prefixes bool   // version 3
	Epoch    uint64 // with Prefixes: the answering node's epoch
}

// syncHead is an author's entry in heads: the largest counter held and
// the counter up to which every event is held (0 without Prefixes).
type syncHead struct{ Max, Prefix uint64 }

// syncHeadsVersion and syncPrefixesVersion mark an answer with heads,
// without and with prefixes; maxHeadAuthor bounds an author's ID in it.
const (
	syncHeadsVersion    = 2
	syncPrefixesVersion = 3
	maxHeadAuthor       = 256
)

const (
	syncPageVersion = 1
	// syncPageBytes is the byte budget of a page: the server stops adding
	// entries once it is reached (a page holds at least one entry, so a
	// page is at most syncPageBytes plus one envelope).
	syncPageBytes = 1 << 20
	// syncPageEntries bounds the entries of a page, so that the asker's
	// channel loop is never busy with one page for long.
	syncPageEntries = 1024
	// syncScanLimit bounds the log entries the server reads for one page
	// (entries of older epochs are read and skipped).
	syncScanLimit = 4 * syncPageEntries
	// syncReadChunk is how many entries the server reads from the store at
	// a time (at most syncReadChunk × maxEnvelope in memory).
	syncReadChunk = 16
	// syncMaxFrame bounds a page on the wire.
	syncMaxFrame = syncPageBytes + maxEnvelope + 64<<10
	// syncMaxRequest bounds a sync request on the wire.
	syncMaxRequest = 4 << 10
	// syncMaxPages bounds one catch-up run (about 4 GiB); the next run
	// continues where it stopped.
	syncMaxPages = 4096
	// syncRounds is how many catch-up rounds a channel runs after it is
	// joined or restored, syncRoundEvery apart: gossip does not deliver
	// what was published before the mesh included us.
	syncRounds     = 4
	syncRoundEvery = 2 * time.Second
	// needSyncGap is the least time between two syncs asked for by a gap.
	needSyncGap = time.Second
	// syncRate and syncBurst limit the pages one peer may ask of us: a
	// token bucket per peer.
	syncRate  = 50 // pages per second
	syncBurst = 100
	// syncLimiterPeers bounds the peers the rate limiter remembers.
	syncLimiterPeers = 4096
)

func (p syncPage) encode() []byte {
	if p.Heads != nil {
		b := []byte{syncHeadsVersion}
		if p.Prefixes {
			b[0] = syncPrefixesVersion
		}
		b = binary.AppendUvarint(b, p.Next)
		if p.Prefixes {
			b = binary.AppendUvarint(b, p.Epoch)
		}
		b = binary.AppendUvarint(b, uint64(len(p.Heads)))
		for _, a := range slices.Sorted(maps.Keys(p.Heads)) {
			b = binary.AppendUvarint(b, uint64(len(a)))
			b = append(b, a...)
			b = binary.AppendUvarint(b, p.Heads[a].Max)
			if p.Prefixes {
				b = binary.AppendUvarint(b, p.Heads[a].Prefix)
			}
		}
		return b
	}
	size := 1 + 2*binary.MaxVarintLen64 + 1
	for _, e := range p.Entries {
		size += binary.MaxVarintLen32 + len(e)
	}
	b := make([]byte, 0, size)
	b = append(b, syncPageVersion)
	b = binary.AppendUvarint(b, p.Next)
	b = append(b, boolByte(p.More))
	b = binary.AppendUvarint(b, uint64(len(p.Entries)))
	for _, e := range p.Entries {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

var errBadPage = fmt.Errorf("%w: malformed sync page", ErrProtocol)

// decodeSyncPage parses a page; the entries alias b.
func decodeSyncPage(b []byte) (syncPage, error) {
	var p syncPage
	if len(b) >= 1 && (b[0] == syncHeadsVersion || b[0] == syncPrefixesVersion) {
		return decodeHeads(b[1:], b[0] == syncPrefixesVersion)
	}
	if len(b) < 1 || b[0] != syncPageVersion {
		return p, errBadPage
	}
	b = b[1:]
	next, k := binary.Uvarint(b)
	if k <= 0 || len(b) < k+1 || b[k] > 1 {
		return p, errBadPage
	}
	p.Next, p.More, b = next, b[k] == 1, b[k+1:]
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return p, errBadPage
	}
	b = b[k:]
	p.Entries = make([][]byte, 0, count)
	for range count {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > maxEnvelope || n > uint64(len(b)-k) {
			return p, errBadPage
		}
		p.Entries = append(p.Entries, b[k:k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) != 0 {
		return p, errBadPage
	}
	return p, nil
}

// decodeHeads parses an answer with heads, after its version byte; with
// prefixes, each at most its author's largest counter.
func decodeHeads(b []byte, prefixes bool) (syncPage, error) {
	p := syncPage{Heads: map[string]syncHead{}, Prefixes: prefixes}
	next, k := binary.Uvarint(b)
	if k <= 0 {
		return syncPage{}, errBadPage
	}
	p.Next, b = next, b[k:]
	if prefixes {
		if p.Epoch, k = binary.Uvarint(b); k <= 0 {
			return syncPage{}, errBadPage
		}
		b = b[k:]
	}
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return syncPage{}, errBadPage
	}
	b = b[k:]
	for range count {
		n, k := binary.Uvarint(b)
		if k <= 0 || n == 0 || n > maxHeadAuthor || n > uint64(len(b)-k) {
			return syncPage{}, errBadPage
		}
		author := string(b[k : k+int(n)])
		b = b[k+int(n):]
		max, k := binary.Uvarint(b)
		if k <= 0 {
			return syncPage{}, errBadPage
		}
		b = b[k:]
		h := syncHead{Max: max}
		if prefixes {
			if h.Prefix, k = binary.Uvarint(b); k <= 0 || h.Prefix > max {
				return syncPage{}, errBadPage
			}
			b = b[k:]
		}
		if _, dup := p.Heads[author]; dup {
			return syncPage{}, errBadPage
		}
		p.Heads[author] = h
	}
	if len(b) != 0 {
		return syncPage{}, errBadPage
	}
	return p, nil
}

// syncLimiter is a token bucket per peer. It is safe for concurrent use.
type syncLimiter struct {
	mu      sync.Mutex
	buckets map[p2p.PeerID]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes a token of p's bucket, reporting whether there was one.
func (l *syncLimiter) allow(p p2p.PeerID, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[p2p.PeerID]*bucket{}
	}
	b := l.buckets[p]
	if b == nil {
		if len(l.buckets) >= syncLimiterPeers {
			l.pruneLocked(now)
		}
		b = &bucket{tokens: syncBurst, last: now}
		l.buckets[p] = b
	}
	b.tokens = min(syncBurst, b.tokens+now.Sub(b.last).Seconds()*syncRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// pruneLocked forgets full buckets (peers idle long enough to have
// refilled), or all of them if none is full: a Sybil's many peer IDs then
// cost at most syncLimiterPeers entries.
func (l *syncLimiter) pruneLocked(now time.Time) {
	for p, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*syncRate >= syncBurst {
			delete(l.buckets, p)
		}
	}
	if len(l.buckets) >= syncLimiterPeers {
		clear(l.buckets)
	}
}

// serveSync answers a member's request for a page of the log entries it
// missed: the MLS messages themselves, which the asker verifies and
// decrypts as if they came by gossip. Only members of the current epoch are
// served, at most syncRate pages a second each.
func (n *Node) serveSync(ctx context.Context, from p2p.PeerID, raw []byte) ([]byte, error) {
	var req syncRequest
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Channel) > 2*maxGroupIDLen {
		return nil, codedf(ErrProtocol, "malformed sync request")
	}
	if !n.syncLimit.allow(from, time.Now()) {
		return nil, codedf(ErrForbidden, "too many sync requests; slow down")
	}
	c := n.channel(req.Channel)
	if c == nil {
		return nil, codedf(ErrNoChannel, "unknown channel")
	}
	// A former member gets the log up to the commit that removed it, so
	// that it learns of its removal.
	var member bool
	var last, upTo uint64
	var heads map[string]syncHead
	var epoch uint64
	if err := c.do(ctx, func(s *chanState) error {
		upTo, member = s.syncLimit(from.String())
		last = s.lastSeq
		if member && req.Heads && s.c.isMember(from.String()) { // not a former member's
			heads = map[string]syncHead{}
			if req.Prefixes {
				epoch = s.group.Epoch()
			}
			s.crdt.Heads(func(a string, prefix, max uint64) {
				if len(a) <= maxHeadAuthor && max > 0 {
					if !req.Prefixes {
						prefix = 0
					}
					heads[a] = syncHead{Max: max, Prefix: prefix}
				}
			})
		}
		return nil
	}); err != nil {
		return nil, coded(err)
	}
	if !member {
		return nil, codedf(ErrForbidden, "not a member")
	}
	if heads != nil {
		n.onSyncServed(req.Channel, from, 0)
		return syncPage{Next: last + 1, Heads: heads, Prefixes: req.Prefixes, Epoch: epoch}.encode(), nil
	}
	id := store.ChannelID(req.Channel)
	start := req.Cursor
	if start == 0 {
		var err error
		if start, err = n.firstSeqOfEpoch(ctx, id, req.Epoch, last); err != nil {
			return nil, codedf(ErrProtocol, "log unavailable")
		}
	}
	page, err := n.readPage(ctx, id, req.Epoch, upTo, start, last)
	if err != nil {
		return nil, codedf(ErrProtocol, "log unavailable")
	}
	n.onSyncServed(req.Channel, from, len(page.Entries))
	return page.encode(), nil
}

// readPage reads the entries of epochs epoch to upTo from seq start on, up
// to the page's byte and entry budgets, syncReadChunk entries at a time.
func (n *Node) readPage(ctx context.Context, id store.ChannelID, epoch, upTo, start, last uint64) (syncPage, error) {
	p := syncPage{Next: start}
	size, scanned := 0, 0
	for p.Next <= last && scanned < syncScanLimit {
		es, err := n.db.Log(ctx, id, p.Next, syncReadChunk)
		if err != nil {
			return p, err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Epoch >= epoch && e.Epoch <= upTo {
				if len(p.Entries) > 0 && (size+len(e.Data) > syncPageBytes || len(p.Entries) >= syncPageEntries) {
					p.More = true
					return p, nil
				}
				env := envelope{epoch: e.Epoch, msg: e.Data}.encode()
				p.Entries = append(p.Entries, env)
				size += len(env)
			}
			p.Next, scanned = e.Seq+1, scanned+1
		}
	}
	p.More = p.Next <= last
	return p, nil
}

// syncSlack is how many entries before the first one of the asked epoch a
// sync response starts: a late message of an older epoch may be logged
// after a commit, so epochs along the log are only nearly sorted.
const syncSlack = 256

// firstSeqOfEpoch finds, by binary search with point reads (never a scan of
// the log), about where the log's entries of epoch reach epoch, minus
// syncSlack.
func (n *Node) firstSeqOfEpoch(ctx context.Context, id store.ChannelID, epoch, last uint64) (uint64, error) {
	lo, hi := uint64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		es, err := n.db.Log(ctx, id, mid, 1)
		if err != nil {
			return 0, err
		}
		if len(es) == 0 || es[0].Epoch >= epoch {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo > syncSlack {
		return lo - syncSlack, nil
	}
	return 1, nil
}

// maybeCatchUp starts a catch-up when a gap was seen and none is running.
// It runs on the channel's loop; the pages are fetched in a goroutine and
// handed back to the loop one at a time.
func (s *chanState) maybeCatchUp() {
	if s.syncing || s.n.host == nil {
		return
	}
	// needSync comes from messages anyone on the topic can send (a future
	// epoch, a current one that does not decrypt): at most one such sync
	// per needSyncGap, so junk cannot make members sync back to back.
	since := time.Since(s.lastSync)
	fresh := len(s.newPeers) > 0
	due := (s.needSync || fresh) && since >= needSyncGap || s.syncRounds > 0 && since >= syncRoundEvery
	if !due {
		return
	}
	peers := s.syncPeers()
	if len(peers) == 0 {
		return
	}
	round := false
	switch {
	case fresh:
		peers = append([]p2p.PeerID{s.newPeers[0]}, peers...)
		s.newPeers = s.newPeers[1:]
	case !s.needSync:
		s.syncRounds--
		round = true
	}
	s.needSync, s.syncing, s.lastSync = false, true, time.Now()
	// From the epoch before ours: a competing commit for it (a commit
	// conflict during a partition) is what we must see to switch branches;
	// further back when a member seems to be on another branch.
	from, deep := s.deepSyncFrom(time.Now())
	if deep {
		if fresh {
			// The new peer waits for the next run: this one is for the
			// members on the branch we lack.
			s.newPeers = append([]p2p.PeerID{peers[0]}, s.newPeers...)
			peers = peers[1:]
		}
		peers = s.deepPeers(peers, from)
		s.forkPeers = nil
	} else if from+1 < s.group.Epoch() {
		// Asking from further back (a branch switch, a join burst):
		// members added since that epoch come last, as their logs
		// start at their join and hold nothing of it (a switch's rounds
		// went to the members churn had just re-admitted, and a message
		// of the switch's epoch was never fetched).
		peers = s.oldMembersFirst(peers, from)
	}
	var cursor uint64
	if rc := s.roundCursor; round && rc.peer != "" && rc.from == from && rc.group == s.group && rc.epoch == s.group.Epoch() &&
		slices.Contains(peers, rc.peer) {
		// A round after a complete run from the same epoch: what that
		// member logged since the run's end (roundCursor).
		peers = append([]p2p.PeerID{rc.peer}, slices.DeleteFunc(peers, func(p p2p.PeerID) bool { return p == rc.peer })...)
		cursor = rc.next
	}
	g0, e0 := s.group, s.group.Epoch()
	c, n := s.c, s.n
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		var complete bool
		var end syncCursor
		func() {
			defer recoverRemote(n, "sync", c.id)
			complete, end = n.catchUp(c, peers, from, cursor, round)
		}()
		c.do(n.ctx, func(s *chanState) error { //nolint:errcheck // ErrClosed at shutdown
			s.syncing = false
			if complete {
				s.syncRuns++
			}
			s.roundCursor = syncCursor{}
			if complete && s.group == g0 && s.group.Epoch() == e0 {
				// Nothing replaced the group (a branch switch, a
				// re-admission, a rollback) or moved it on during the run.
				end.from, end.group, end.epoch = from, g0, e0
				s.roundCursor = end
			}
			s.releaseHeld(n.ctx)
			return nil
		})
	}()
}

// deepPeers orders peers for a deep catch-up from epoch: the members whose
// messages did not verify first (forkPeersFirst), but those added after
// epoch last all the same (oldMembersFirst): their logs start at their
// join and cannot hold a competing commit from before it. Members just
// admitted on our own branch also send messages we cannot read (node 0
// of a testbed run noted its two joiners after the two members of the
// winning branch).
func (s *chanState) deepPeers(peers []p2p.PeerID, epoch uint64) []p2p.PeerID {
	return s.oldMembersFirst(forkPeersFirst(peers, s.forkPeers), epoch)
}

// oldMembersFirst orders peers so that those added by a commit we know of
// after epoch come last, keeping the order otherwise.
func (s *chanState) oldMembersFirst(peers []p2p.PeerID, epoch uint64) []p2p.PeerID {
	late := map[string]bool{}
	for _, r := range s.meta.Commits {
		if r.Epoch > epoch {
			for _, m := range r.Added {
				late[m] = true
			}
		}
	}
	out := make([]p2p.PeerID, 0, len(peers))
	for _, p := range peers {
		if !late[p.String()] {
			out = append(out, p)
		}
	}
	for _, p := range peers {
		if late[p.String()] {
			out = append(out, p)
		}
	}
	return out
}

// syncPeers returns the topic's peers that are members of the group: a
// stranger on the topic is never asked (it could answer nothing and
// defeat the catch-up).
func (s *chanState) syncPeers() []p2p.PeerID {
	members := s.group.Members()
	var out []p2p.PeerID
	for _, p := range s.n.host.TopicPeers(topicOf(s.id)) {
		if slices.Contains(members, p.String()) {
			out = append(out, p)
		}
	}
	return out
}

// syncCursor is where a complete catch-up run from epoch from ended in
// peer's log: every entry peer logs later has a sequence number of at
// least next. The catch-up rounds after a join or start (syncRounds) that
// follow a complete run from the same epoch ask that peer for what it
// logged since, instead of the whole epoch again: at 200 messages a
// second the rounds of nine joiners fetched about 80,000 entries already
// held (each decrypted far enough to be recognised as a duplicate), more
// than the minute's live traffic at one node. A run asked for by a gap
// (needSync) or a new peer still fetches from the epoch, and so does a
// round after anything replaced the group or changed its epoch since that
// run (group, epoch): a branch switch, a re-admission, a rollback, a
// commit.
type syncCursor struct {
	peer  p2p.PeerID
	next  uint64
	from  uint64
	group group  // s.group during the run
	epoch uint64 // its epoch then
}

// catchUp pages through the log of the first peer that answers, handing
// each page to the channel's loop; cursor, if not 0, is where in the
// first peer's log to start (syncCursor). The next page is fetched while
// the loop processes this one (two pages in memory at most). A peer that
// fails mid-way is replaced by the next one, from the epoch reached. It
// reports whether it reached the end of a peer's log, and where. A round
// (syncRounds) asks the first peer for its heads first and ends there if
// we lack nothing it holds (roundHeads).
func (n *Node) catchUp(c *channel, peers []p2p.PeerID, epoch, cursor uint64, round bool) (bool, syncCursor) {
	if round && len(peers) > 0 {
		if done, end, err := n.roundHeads(c, peers[0], epoch); err != nil || done {
			return err == nil, end
		}
	}
	pages := 0
	for i, p := range peers {
		req := syncRequest{Channel: c.id, Epoch: epoch}
		if i == 0 {
			req.Cursor = cursor
		}
		next := n.fetchAsync(p, req)
		for pages < syncMaxPages {
			r := <-next
			if r.err != nil {
				n.log.Debug("sync page", "channel", c.id, "peer", p, "err", r.err)
				break
			}
			pages++
			page, more := r.page, r.page.More && r.page.Next > req.Cursor
			if more && pages < syncMaxPages {
				req.Cursor = page.Next
				next = n.fetchAsync(p, req)
			}
			err := n.applyPage(c, page)
			if err != nil || !more {
				if more && pages < syncMaxPages {
					<-next // the node is closing: wait for the fetch in flight
				}
				return err == nil, syncCursor{peer: p, next: page.Next}
			}
		}
		if pages >= syncMaxPages {
			return false, syncCursor{}
		}
		epoch = c.epoch.Load()
		if epoch > 0 {
			epoch--
		}
	}
	return false, syncCursor{}
}

// roundHeads asks p for its heads (with prefixes and its epoch) and
// reports whether the round is done: p is at no later epoch than ours and
// holds no event we lack past our largest counter of its author, once
// aeHeadsGrace let those on their way by gossip arrive; the holes below
// become anti-entropy's gaps (noteHoles). Its cursor is then p's log's
// next sequence number. Before, every round fetched p's log from the
// epoch or from the previous round's end: at 200 messages a second the
// rounds after nine joins fetched about 23,000 entries in the first ten
// seconds, all already held. The error is the channel's (closing); an
// answer without prefixes (a node that predates them) or a failed
// request leaves the round to fetch as before.
func (n *Node) roundHeads(c *channel, p p2p.PeerID, from uint64) (bool, syncCursor, error) {
	page, err := n.fetchPage(p, syncRequest{Channel: c.id, Epoch: from, Heads: true, Prefixes: true})
	if err != nil || !page.Prefixes {
		return false, syncCursor{}, nil
	}
	ours, err := n.takeHeads(c, p, page)
	if err != nil {
		return false, syncCursor{}, err
	}
	if page.Epoch > ours {
		return false, syncCursor{}, nil
	}
	behind, err := n.stillBehind(c, page.Heads, aeHeadsGrace)
	if err != nil || behind {
		return false, syncCursor{}, err
	}
	return true, syncCursor{peer: p, next: page.Next}, nil
}

type fetched struct {
	page syncPage
	err  error
}

// fetchAsync fetches a page in a goroutine; the channel gets its result.
func (n *Node) fetchAsync(p p2p.PeerID, req syncRequest) <-chan fetched {
	ch := make(chan fetched, 1)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		page, err := n.fetchPage(p, req)
		ch <- fetched{page, err}
	}()
	return ch
}

// fetchPage asks p for one page.
func (n *Node) fetchPage(p p2p.PeerID, req syncRequest) (syncPage, error) {
	raw, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(n.ctx, 15*time.Second)
	defer cancel()
	resp, err := n.host.Request(ctx, p, SyncProtocol, raw, syncLimits)
	if err != nil {
		var re *p2p.RemoteError
		if errors.As(err, &re) {
			return syncPage{}, remoteError(re.Message)
		}
		return syncPage{}, err
	}
	page, err := decodeSyncPage(resp)
	if err == nil {
		n.onSyncFetched(p, req, len(page.Entries))
	}
	return page, err
}

// syncLimits bound the sync protocol on both sides.
var syncLimits = p2p.Limits{MaxFrame: syncMaxFrame, MaxRequest: syncMaxRequest, Timeout: 15 * time.Second}

// applyChunk is how many synced entries the loop processes per request, so
// that other requests (a send, a follower) wait at most that long.
const applyChunk = 64

// applyPage processes a page's entries on the channel's loop, applyChunk
// at a time, each chunk stored in one batch (receiveBatch); the batches
// are handed to the store without waiting, and the page waits once, at
// its end, for all of them to be durable.
func (n *Node) applyPage(c *channel, page syncPage) error {
	for es := range slices.Chunk(page.Entries, applyChunk) {
		err := c.do(n.ctx, func(s *chanState) error {
			s.receiveBatch(n.ctx, es)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return c.do(n.ctx, func(s *chanState) error {
		s.waitLazy()
		s.maybeSnapshotSync(n.ctx)
		return nil
	})
}

// memberCount returns how many of peers are members of the current epoch.
func (s *chanState) memberCount(peers []p2p.PeerID) int {
	k := 0
	for _, p := range peers {
		if s.c.isMember(p.String()) {
			k++
		}
	}
	return k
}

// maxNewPeers bounds the peers remembered for a catch-up (notePeers).
const maxNewPeers = 16

// notePeers records the channel's topic peers. A peer that appears — a
// partition healed, a member restarted — may hold messages of the current
// epoch we missed while apart, which gossip does not send again and which
// no gap reveals (a later message decrypts without them): catch up from it
// first. The first observation only sets the baseline (a start or a join
// runs its own catch-up rounds).
func (s *chanState) notePeers(peers []p2p.PeerID) {
	seen := make(map[p2p.PeerID]bool, len(peers))
	for _, p := range peers {
		seen[p] = true
		// Only members: a stranger appearing on the topic must not make
		// us sync, nor be asked.
		if s.topicPeers[p] || !s.c.isMember(p.String()) {
			continue
		}
		// A member that appeared: remember where it is (the only way a
		// peer enters the peer table, besides an invite's inviter).
		s.n.rememberPeer(s.n.ctx, p.String(), s.n.host.PeerAddrs(p))
		if s.topicPeers != nil && len(s.newPeers) < maxNewPeers {
			s.newPeers = append(s.newPeers, p)
		}
	}
	s.topicPeers = seen
}

// receiveBatch processes synced envelopes. The application messages among
// them are stored in one batch, with the group state written once at its
// end (acceptInChunk, flushChunk): a crash keeps all of it or none, so the
// group state on disk is never older than the log and events; a commit or
// proposal first writes what came before it. The batches are handed to
// the store without waiting for fsync (apply); applyPage waits at the end
// of the page. A crash keeps a prefix of them (batches are ordered), and
// the rest is synced again.
func (s *chanState) receiveBatch(ctx context.Context, envs [][]byte) {
	s.lazy = true
	s.chunk, s.chunkDirty = &store.Batch{}, false
	s.chunkSeq, s.chunkEventSeq = s.lastSeq, s.lastEventSeq
	done := false
	defer func() {
		if !done {
			// A panic (the loop recovers it and reloads the group from
			// its stored state): what the chunk read is not stored.
			s.lastSeq, s.lastEventSeq = s.chunkSeq, s.chunkEventSeq
		}
		s.chunk, s.chunkDirty, s.lazy = nil, false, false
	}()
	for _, raw := range envs {
		env, err := decodeEnvelope(raw)
		if err != nil {
			continue
		}
		if err := s.receive(ctx, env); err != nil && !errors.Is(err, errHeld) {
			s.n.log.Info("synced message dropped", "channel", s.id, "err", err)
		}
	}
	s.releaseHeld(ctx)
	if err := s.flushChunk(ctx); err != nil {
		s.n.log.Warn("synced messages not stored", "channel", s.id, "err", err)
	}
	done = true
}

// flushChunk stores the chunk's log entries and events with the group
// state they leave, in one batch. On a store failure the group is reloaded
// from its last stored state and the chunk's sequence numbers are taken
// back: those messages come again with the next sync.
func (s *chanState) flushChunk(ctx context.Context) error {
	if !s.chunkDirty {
		return nil
	}
	b := s.chunk
	s.chunk, s.chunkDirty = &store.Batch{}, false
	state, err := s.putGroup(b)
	switch {
	case err != nil:
	case s.noSync:
		err = s.n.applyNoSync(ctx, b) // live gossip (receivelive.go)
	default:
		err = s.apply(ctx, b)
	}
	if err != nil {
		s.lastSeq, s.lastEventSeq = s.chunkSeq, s.chunkEventSeq
		s.rollback()
		s.needSync = true
		s.chunkFailures++
		s.endChunk(false)
		return fmt.Errorf("%w: %w", errStore, err)
	}
	s.stored = state
	s.chunkSeq, s.chunkEventSeq = s.lastSeq, s.lastEventSeq
	s.endChunk(true)
	return nil
}

// apply stores b: synced, or, while a synced page is processed, handed to
// the store's pipeline to be waited for at the end of the page.
func (s *chanState) apply(ctx context.Context, b *store.Batch) error {
	if !s.lazy {
		return s.n.db.Apply(ctx, b)
	}
	p, err := s.n.db.ApplyNoWait(ctx, b)
	if err != nil {
		return err
	}
	s.pending = append(s.pending, p)
	return nil
}

// waitLazy waits for the batches apply handed over without waiting.
func (s *chanState) waitLazy() {
	for _, p := range s.pending {
		if err := p.Wait(); err != nil {
			s.n.log.Warn("synced batch not durable", "channel", s.id, "err", err)
		}
	}
	s.pending = s.pending[:0]
}
