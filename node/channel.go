package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// snapshotEvery is how many events a channel applies between CRDT snapshots
// while it holds fewer than snapshotEvery × snapshotGrowth events; past
// that, a snapshot is written every 1/snapshotGrowth of the channel's
// events. A snapshot is the whole state, so a fixed interval would write
// O(events²) bytes over a channel's life (and a catch-up of 100,000
// entries would rewrite a 20 MB state 780 times); the growing interval
// keeps it O(events), and restoring reads the snapshot and at most
// max(128, events/16) events.
const (
	snapshotEvery  = 128
	snapshotGrowth = 16
)

// channel is the handle on one channel's owner loop. Everything that reads or
// changes the channel's state runs as a request on the loop.
type channel struct {
	id   string
	reqs chan func(*chanState)
	quit <-chan struct{} // closed when the node closes
	stop chan struct{}   // closed when the channel alone is dropped (Forget, rejoin)
	done chan struct{}   // closed when the loop has returned
	// watching is closed when the topic reader has returned (nil: none).
	watching chan struct{}
	stopOnce sync.Once
	epoch    atomic.Uint64 // the group's epoch, for the topic validator
	// groupID is the MLS group ID, for the topic validator; immutable.
	groupID []byte
	sends   sendQueue // posts waiting for the loop (sendbatch.go)
	pubs    publisher // outbox items waiting to be published (flushOutbox)
	recvs   recvQueue // gossip waiting for the loop (receivelive.go)
	// members holds the peer IDs of the group's members at the current
	// epoch, for checks made off the loop (the sync server, the
	// validator); replaced, never changed, by publishEpoch.
	members atomic.Pointer[map[string]struct{}]
}

// isMember reports whether peer is a member of the group's current epoch.
func (c *channel) isMember(peer string) bool {
	m := c.members.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[peer]
	return ok
}

// do runs fn on the channel's loop and returns its error. It honours ctx
// while waiting; fn itself always runs to completion once started. The
// open batch of live gossip, if any, is stored first (closeLive), so that
// fn finds the store holding everything the channel's state holds.
func (c *channel) do(ctx context.Context, fn func(*chanState) error) error {
	return c.turn(ctx, false, fn)
}

// doLive is do without storing the open batch of live gossip first, for
// turns that only read memory or add to that batch (receivelive.go).
func (c *channel) doLive(ctx context.Context, fn func(*chanState) error) error {
	return c.turn(ctx, true, fn)
}

func (c *channel) turn(ctx context.Context, live bool, fn func(*chanState) error) error {
	errc := make(chan error, 1)
	run := func(s *chanState) {
		defer func() {
			// A bug reached by what a peer sent must not take the node
			// down: log it, drop the input (reload the group from its
			// stored state), and keep the channel running.
			if r := recover(); r != nil {
				if s.liveOpen() {
					s.dropChunk(r)
					s.closeChunk()
				} else {
					s.n.log.Error("recovered from a panic in the channel loop", "channel", c.id, "panic", fmt.Sprint(r))
					s.rollback()
				}
				errc <- errPanic
			}
		}()
		if !live {
			s.closeLive()
		}
		errc <- fn(s)
	}
	select {
	case c.reqs <- run:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return ErrClosed
	case <-c.stop:
		return ErrClosed
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop serves requests until the node closes.
func (c *channel) loop(s *chanState) {
	defer close(c.done)
	for {
		select {
		case fn := <-c.reqs:
			fn(s)
		case <-c.quit:
			s.closeLive()
			s.closeSubs()
			return
		case <-c.stop:
			s.closeLive()
			s.closeSubs()
			return
		}
	}
}

// channelMeta is the node's metadata of a channel, stored with PutChannel.
type channelMeta struct {
	Version int               `json:"v"`
	Names   map[string]string `json:"names,omitempty"` // peer ID -> display name
	Removed bool              `json:"removed,omitempty"`
	// Leaving: we proposed to leave and wait for a commit that removes us.
	Leaving bool `json:"leaving,omitempty"`
	// Commits are the last commits' effects (commitRecord), written in
	// the batch of each commit.
	Commits []commitRecord `json:"commits,omitempty"`
	// Branch holds the counters of our events sent since the last commit:
	// re-sent if that commit loses a conflict, also after a restart.
	Branch seqList `json:"branch,omitempty"`
	// Former are members removed by a commit this node processed, with the
	// epoch of that commit: sync serves them the log up to it, so that a
	// member removed while offline learns it (serveSync).
	Former map[string]uint64 `json:"former,omitempty"`
	// Read is the local read position (reads.go): the CRDT ID of the
	// last post the user has read.
	Read string `json:"read,omitempty"`
	// Admitted are the members whose join response this node keeps in
	// the store for a retry (admit), with when it expires (Unix ms).
	// Replaced, never changed in place, so that a copy of the meta taken
	// before a step stays as it was.
	Admitted map[string]int64 `json:"admitted,omitempty"`
	// SyncFloor is chanState.syncFloor after a branch switch, kept so that
	// a node stopped before its catch-up rounds ran still asks from the
	// switch's epoch when it starts again (deepSyncFrom clears it).
	SyncFloor uint64 `json:"sync_floor,omitempty"`
	// JoinKey is the private part of the key package this node joined
	// with (its bundle), kept until JoinKeyUntil (Unix ms) to take a
	// re-admission from JoinedVia, the member that admitted it
	// (readmit.go). Sealed at rest like every value.
	JoinKey      []byte `json:"join_key,omitempty"`
	JoinedVia    string `json:"joined_via,omitempty"`
	JoinKeyUntil int64  `json:"join_key_until,omitempty"`
	// JoinEpoch and JoinAuth are the epoch and epoch authenticator of the
	// admission we are on (the join, or the last re-admission): the same
	// admission handed over again is not a re-admission. JoinRequest is
	// the join request we were admitted with (the invite's token and a
	// proof, never its secret), sent again to ask JoinedVia for a
	// re-admission when our branch seems dead (askReadmission).
	JoinEpoch   uint64 `json:"join_epoch,omitempty"`
	JoinAuth    []byte `json:"join_auth,omitempty"`
	JoinRequest []byte `json:"join_request,omitempty"`
	// Unbacked are the counters of our "left" and "removed" lines whose
	// commit lost a conflict while the member stayed: re-sent once a
	// commit removes it (unbacked.go). Replaced, never changed in place.
	Unbacked seqList `json:"unbacked,omitempty"`
	// BranchNext is our next event counter when the metadata was
	// written. A flight of new posts extends Branch without writing the
	// metadata (that was a JSON encoding of all of it, and a few KB
	// written, per send); restoreState gives Branch back every counter
	// from BranchNext to our last stored event. 0 in metadata written
	// before it, whose Branch is complete.
	BranchNext uint64 `json:"branch_next,omitempty"`
}

// expireJoinKey deletes the kept key package once readmitWindow has
// passed; the caller writes the metadata.
func (s *chanState) expireJoinKey() {
	if s.meta.JoinKey != nil && s.n.nowMs() >= s.meta.JoinKeyUntil {
		s.meta.JoinKey, s.meta.JoinedVia, s.meta.JoinKeyUntil = nil, "", 0
		s.meta.JoinEpoch, s.meta.JoinAuth, s.meta.JoinRequest = 0, nil, nil
	}
}

// chanState is a channel's state. Only the channel's loop touches it.
type chanState struct {
	n            *Node
	c            *channel
	id           string
	meta         channelMeta
	crdt         *crdt.State
	clock        *crdt.Clock
	group        group
	stored       []byte // the group state on disk
	prevState    []byte // the state of the epoch before the last commit
	lastSeq      uint64
	lastEventSeq uint64
	sinceSnap    int
	outbox       []store.OutboxItem
	future       []envelope // messages of epochs not reached yet
	futureBytes  int        // the bytes of future's messages
	// chunkFailures counts chunks dropped instead of stored (flushChunk,
	// dropChunk): serveDeliver answers nothing taken if one was.
	chunkFailures int
	// pastRead is the state of a past epoch readPast loaded, kept while
	// it reads that epoch's messages (a catch-up page holds many).
	pastRead *pastGroup
	// strangerFuture are messages of the next epoch handed over by a peer
	// that is not a member of ours (buffer), strangerBytes their bytes.
	strangerFuture []envelope
	strangerBytes  int
	// held are messages a generation gap keeps from being read without
	// loss, until the catch-up fills it (hold.go).
	held      []heldMsg
	heldBytes int
	releasing *heldMsg // the held message being tried again
	forceGap  bool     // read across a generation gap (releaseHeld)
	syncRuns  uint64   // catch-up runs that reached the end of a peer's log
	// untrusted is set while the loop processes a gossip message that a
	// non-member handed us: it may be processed, but it may not make us
	// buffer it, sync, or load another epoch's state (issue 11, attack 3).
	untrusted  bool
	syncing    bool // a catch-up request is in flight
	needSync   bool // a gap was seen: ask peers for the log
	syncRounds int  // catch-up rounds left after a join or restart
	// roundCursor is where the last complete catch-up ended (sync.go).
	roundCursor syncCursor
	lastSync    time.Time
	flushErr    error  // why the outbox is not empty, after the last flush
	gossiped    uint64 // the last outbox item this run published on the topic
	delivering  bool   // a delivery request is in flight (maybeDeliver)
	// taken is closed, and cleared, when items leave the outbox
	// (delivered): Sends waiting for their item (waitDelivery) wake up.
	taken      chan struct{}
	lastQueued uint64           // the outbox item of the last local event
	flying     *flight          // the flight sendBatch is storing (sendbatch.go)
	flights    []*flight        // stored posts waiting for their fsync, oldest first
	ae         antiEntropy      // gaps in what gossip brought (antientropy.go)
	lazy       bool             // apply without waiting for fsync (a synced page)
	pending    []*store.Pending // what apply handed over while lazy
	subs       map[int]*follower
	nextSub    int
	dlv        *deliveries         // own posts' delivery states (events.go)
	topicPeers map[p2p.PeerID]bool // at the last retry tick; nil before the first
	newPeers   []p2p.PeerID        // members that appeared on the topic since: catch up from them
	// losers are hashes of commits that lost a conflict (maybeSwitchBranch),
	// with their committers.
	losers map[[32]byte]string
	// awaiting are competing commits of past epochs that refer to a
	// proposal this node did not have when they came (keepPastProposal),
	// by epoch; at most maxAwaiting.
	awaiting map[uint64][]envelope
	// announced is when we last published again the commit that made an
	// epoch, after seeing it win a conflict (announceWinner).
	announced map[uint64]time.Time
	// forked: a member's message of a past or current epoch did not
	// verify, so a member may be on another branch: the next catch-up
	// starts further back (deepSyncFrom), at most once per deepSyncGap.
	forked       bool
	lastDeepSync time.Time
	// forkPeers are the members that handed over the last messages that
	// did not verify (most recent first, at most maxForkPeers): a deep
	// catch-up asks them first, as they are on the branch we lack
	// (deepSyncFrom). recvFrom is who handed over the message being read.
	forkPeers []p2p.PeerID
	recvFrom  p2p.PeerID
	asking    bool      // a re-admission is asked for (askReadmission)
	lastAsk   time.Time // when one was last asked for
	topUps    int       // the readmitTopUps done in this run
	switching bool      // accept runs for a branch switch (switchBranch)
	// syncFloor, if not 0, is one more than the epoch the next catch-up
	// must start from at the latest (the epoch of the last switch).
	syncFloor uint64
	// relabel holds our labels of a losing branch to re-send after the
	// step that commits the same removal again (relabelLater).
	relabel []crdt.Event

	// chunk collects a synced chunk's application messages, stored with
	// the group state in one batch (receiveBatch); nil otherwise.
	chunk         *store.Batch
	chunkDirty    bool   // the group changed since the chunk's last write
	chunkSeq      uint64 // lastSeq and lastEventSeq before the chunk's first message
	chunkEventSeq uint64
	// noSync: the chunk holds live gossip, stored without an fsync and
	// kept open across turns (receivelive.go).
	noSync     bool
	chunkSince time.Time // when the chunk's first message was read
	// chunkEnd, if set, learns how the open chunk ends: stored, or
	// dropped (serveDeliver waits for it).
	chunkEnd *chunkEnd

	// Read receipts (reads.go).
	readPending crdt.ID   // a read receipt waiting for readEvery
	readSent    time.Time // when the last read receipt went out
}

// restoreState rebuilds a channel from what the store loaded: the snapshot
// and the events after it (never the log), and the MLS group from its bytes.
func restoreState(n *Node, cs store.ChannelState) (*chanState, error) {
	s := &chanState{n: n, id: string(cs.ID), crdt: crdt.New(), subs: map[int]*follower{}}
	if err := json.Unmarshal(cs.Meta, &s.meta); err != nil {
		return nil, fmt.Errorf("node: channel %x metadata: %w", cs.ID, err)
	}
	if cs.Snapshot != nil {
		st, err := crdt.Restore(cs.Snapshot.Data)
		if err != nil {
			return nil, fmt.Errorf("node: channel %s snapshot: %w", cs.ID, err)
		}
		s.crdt = st
	}
	for _, ev := range cs.Events {
		var e crdt.Event
		if err := e.UnmarshalBinary(ev.Data); err != nil {
			return nil, fmt.Errorf("node: channel %s event %d: %w", cs.ID, ev.Seq, err)
		}
		if err := s.crdt.Apply(e); err != nil && !errors.Is(err, crdt.ErrDuplicate) && !errors.Is(err, crdt.ErrConflict) {
			return nil, fmt.Errorf("node: channel %s event %d: %w", cs.ID, ev.Seq, err)
		}
	}
	s.sinceSnap = len(cs.Events)
	s.restoreBranch()
	s.clock = s.crdt.RestoreClock(n.nowMs(), 0)
	s.lastSeq, s.lastEventSeq, s.outbox = cs.LastSeq, cs.LastEventSeq, cs.Outbox
	s.deliveries() // which posts the restored outbox carries, before anything is queued
	if cs.Group == nil {
		return nil, fmt.Errorf("node: channel %s has no group state", cs.ID)
	}
	g, err := n.eng.Load(cs.Group)
	if err != nil {
		return nil, fmt.Errorf("node: channel %s group: %w", cs.ID, err)
	}
	s.group, s.stored = g, cs.Group
	s.needSync, s.syncRounds = true, syncRounds // catch up on what was sent while we were away
	if f := s.meta.SyncFloor; f > 0 && f+branchDepth > g.Epoch() {
		s.syncFloor = f // a switch whose catch-up rounds had not run
	}
	if k := len(cs.PastEpochs); k > 0 && cs.PastEpochs[k-1].Epoch+1 == g.Epoch() {
		s.prevState = cs.PastEpochs[k-1].Data
	}
	return s, nil
}

// restoreBranch adds to Branch our events stored after the metadata:
// the posts of flights, which do not write it (channelMeta.BranchNext).
func (s *chanState) restoreBranch() {
	if s.meta.BranchNext == 0 {
		return
	}
	// Counters from BranchNext on that Branch holds (the events of the
	// step that wrote the metadata) come before the ones it lacks: our
	// new events join it in order.
	from := s.meta.BranchNext
	if len(s.meta.Branch) > 0 {
		from = max(from, slices.Max(s.meta.Branch)+1)
	}
	for seq := from; seq < s.crdt.Next(s.n.id.peerID).Seq; seq++ {
		s.meta.Branch = append(s.meta.Branch, seq)
	}
}

// info summarises the channel.
func (s *chanState) info() ChannelInfo {
	return ChannelInfo{ID: s.id, Name: s.crdt.Metadata().Name, Members: len(s.group.Members()),
		Epoch: s.group.Epoch(), State: s.state(), Unread: s.unread()}
}

// groupID returns the channel's MLS group ID (the raw bytes of its ID).
func (s *chanState) groupID() []byte {
	b, _ := hex.DecodeString(s.id) // IDs are hex by construction
	return b
}

// publishEpoch tells the topic validator and the sync server the group's
// epoch and members.
func (s *chanState) publishEpoch() {
	if s.c == nil {
		return
	}
	if ep := s.group.Epoch(); s.c.epoch.Load() != ep || s.c.members.Load() == nil {
		m := map[string]struct{}{}
		for _, p := range s.group.Members() {
			m[p] = struct{}{}
		}
		s.c.members.Store(&m)
		s.c.epoch.Store(ep)
	}
}

// name returns a member's display name: the latest Profile event of theirs,
// else the name their messages carried, else "".
func (s *chanState) name(peerID string) string {
	if peerID == s.n.id.peerID {
		return s.n.displayName()
	}
	if name := s.crdt.DisplayName(peerID); name != "" {
		return name
	}
	return s.meta.Names[peerID]
}

// setName records a member's display name; it reports a change.
func (s *chanState) setName(peerID, name string) bool {
	if name == "" || peerID == s.n.id.peerID || s.meta.Names[peerID] == name {
		return false
	}
	if s.meta.Names == nil {
		s.meta.Names = map[string]string{}
	}
	s.meta.Names[peerID] = name
	return true
}

// metaBytes encodes the metadata for PutChannel, with BranchNext set to our
// next event counter.
func (s *chanState) metaBytes() []byte {
	if s.crdt != nil {
		s.meta.BranchNext = s.crdt.Next(s.n.id.peerID).Seq
	}
	b, _ := json.Marshal(s.meta) // a struct of strings always encodes
	return b
}

// putGroup adds the group's current state to b and returns it.
func (s *chanState) putGroup(b *store.Batch) ([]byte, error) {
	st, err := s.group.Marshal()
	if err != nil {
		return nil, fmt.Errorf("node: group state: %w", err)
	}
	b.SetGroup(store.ChannelID(s.id), s.group.Epoch(), st)
	return st, nil
}

// nextOutboxSeq numbers outbox items in increasing order for the whole run
// (gossiped and lastQueued compare them), even when the outbox empties.
func (s *chanState) nextOutboxSeq() uint64 {
	next := max(s.gossiped, s.lastQueued) + 1
	if len(s.outbox) > 0 {
		next = max(next, s.outbox[len(s.outbox)-1].Seq+1)
	}
	return next
}

// commitApplied applies a stored event to the in-memory state and tells
// followers about it.
func (s *chanState) commitApplied(e crdt.Event) {
	var prevRead crdt.ID
	if e.Kind == crdt.KindRead && e.ID.Author != s.n.id.peerID {
		prevRead, _ = s.crdt.ReadPosition(e.ID.Author) // which of our posts it newly covers (onRead)
	}
	err := s.crdt.Apply(e)
	s.lastEventSeq++
	s.sinceSnap++
	switch {
	case errors.Is(err, crdt.ErrDuplicate):
		// A copy of an event we have, in a new MLS message (a re-send
		// after a branch switch or for a joiner): nothing changed, so
		// followers and subscribers are not told again.
		return
	case err != nil:
		s.n.log.Warn("apply stored event", "channel", s.id, "err", err)
	}
	sh := &shown{s: s, e: e}
	s.notify(e, sh)
	s.onApplied(e, prevRead, sh)
	s.noteApplied(e)
}

// shown is the view of the message an applied event changed, built once
// for both followers (notify) and event subscribers (onApplied).
type shown struct {
	s    *chanState
	e    crdt.Event
	done bool
	v    Message
	ok   bool // false: the message is not visible (its author is not a member)
}

func (sh *shown) view() (Message, bool) {
	if !sh.done {
		sh.done = true
		target := sh.e.Target
		if sh.e.Kind == crdt.KindPost {
			target = sh.e.ID
		}
		if m, err := sh.s.crdt.Message(target); err == nil {
			sh.v, sh.ok = sh.s.view(m), true
		}
	}
	return sh.v, sh.ok
}

// maybeSnapshot writes a CRDT snapshot every snapshotEvery events.
func (s *chanState) maybeSnapshot(ctx context.Context) {
	if !s.snapshotDue() || s.lazy || s.chunkDirty {
		// While lazy (a synced page), applyPage snapshots at its end; an
		// open chunk's messages are not stored yet, and the snapshot
		// names the stored log and event sequence numbers.
		return
	}
	s.snapshot(ctx)
}

// snapshotDue reports whether maybeSnapshot would write a snapshot.
func (s *chanState) snapshotDue() bool {
	return s.sinceSnap >= max(snapshotEvery, s.crdt.Len()/snapshotGrowth)
}

// maybeSnapshotSync is maybeSnapshot at the end of a synced page: a
// snapshot encodes the whole state (a catch-up of 100,000 messages would
// write sixteen of up to ~20 MB), so a catch-up writes one every
// 1/snapshotSyncGrowth of the channel's events instead, which keeps the
// bytes written linear in the events (restoring after a crash in the
// middle of a catch-up reads up to that many events).
func (s *chanState) maybeSnapshotSync(ctx context.Context) {
	if s.sinceSnap >= max(snapshotEvery, s.crdt.Len()/snapshotSyncGrowth) {
		s.snapshot(ctx)
	}
}

// snapshotSyncGrowth: see maybeSnapshotSync.
const snapshotSyncGrowth = 2

// snapshotPiece is the size of the pieces a snapshot is written in: the
// memory a snapshot costs, whatever the channel's size.
const snapshotPiece = 256 << 10

// snapshot writes the CRDT state, in pieces: a channel of 100,000 messages
// is megabytes of snapshot, which the store would hold several copies of
// at once as one value. It does not wait for the fsync of those megabytes
// (most of a snapshot's time on the loop, which every message the channel
// read meanwhile waited for; docs/benchmarks.md, "Stop 13"): the snapshot
// becomes durable with the next synced batch, or the sync within
// retryEvery (syncUnsynced). A crash before that keeps the previous
// snapshot and the events after it, which the node restores from as it
// does from any snapshot (docs/storage.md, "Durability").
func (s *chanState) snapshot(ctx context.Context) {
	err := s.n.db.WriteSnapshotNoSync(ctx, store.ChannelID(s.id), s.lastEventSeq, s.lastSeq, func(put func([]byte) error) error {
		return s.crdt.SnapshotTo(snapshotPiece, put)
	})
	if err != nil {
		s.n.log.Warn("snapshot", "channel", s.id, "err", err)
		return
	}
	s.n.unsynced.Store(true)
	s.sinceSnap = 0
}

// flushOutbox publishes on the topic the queued messages not published yet
// by this run of the node, and hands the outbox to a member (maybeDeliver):
// an item leaves the outbox only once a member has taken it. It returns
// why messages stay queued, or nil.
func (s *chanState) flushOutbox(ctx context.Context) error {
	var err error
	alone := len(s.group.Members()) <= 1
	if !alone && s.n.host != nil {
		// Published in order by the channel's publisher, off the loop:
		// gossipsub takes a publish in turns of its own event loop, which
		// kept ours waiting for tens of milliseconds under load.
		var items []pubItem
		for _, it := range s.outbox {
			if it.Seq > s.gossiped {
				items = append(items, pubItem{seq: it.Seq, data: it.Data})
				s.gossiped = it.Seq
			}
		}
		s.c.pubs.enqueue(s.n, s.c, items)
	}
	for _, it := range s.outbox {
		if !alone && s.n.host != nil {
			break
		}
		if it.Seq <= s.gossiped {
			continue
		}
		if err = s.n.publish(ctx, s.id, it.Data); err != nil {
			break
		}
		s.gossiped = it.Seq
	}
	if alone {
		// Alone, only a commit that removed the last other member is
		// queued: it waits until that member is reachable to learn it
		// (published, or handed to it by tellRemoved).
		var done []store.OutboxItem
		for _, it := range s.outbox {
			if it.Seq <= s.gossiped {
				done = append(done, it)
			}
		}
		s.delivered(ctx, done)
		return err
	}
	s.maybeDeliver()
	if len(s.outbox) > 0 && err == nil && !s.hasDeliveryPeer() {
		err = ErrUnreachable
	}
	return err
}

// eventTypes names, for followers, what an event did (Message.Type).
var eventTypes = map[crdt.Kind]string{
	crdt.KindPost: "post", crdt.KindEdit: "edit", crdt.KindDelete: "delete", crdt.KindReact: "react",
	crdt.KindUnreact: "react", crdt.KindJoined: "join", crdt.KindLeft: "leave", crdt.KindRemoved: "removed",
}

// notify tells followers about the message e concerns (or the member it
// added or removed).
func (s *chanState) notify(e crdt.Event, sh *shown) {
	if len(s.subs) == 0 {
		return
	}
	typ, ok := eventTypes[e.Kind]
	if !ok {
		return
	}
	var msg Message
	switch e.Kind {
	case crdt.KindJoined, crdt.KindLeft, crdt.KindRemoved:
		msg = Message{Type: typ, Author: e.Member, AuthorName: s.name(e.Member), Time: time.UnixMilli(e.Time.Wall).UTC()}
	default:
		v, ok := sh.view()
		if !ok {
			return
		}
		msg = v
		msg.Type = typ
	}
	s.send(msg)
}

// notifyGone tells followers that this node is out of the channel.
func (s *chanState) notifyGone() {
	typ := "removed"
	if s.meta.Leaving {
		typ = "leave"
	}
	s.send(Message{Type: typ, Author: s.n.id.peerID, AuthorName: s.n.displayName(), Time: s.n.cfg.Now().UTC()})
}

func (s *chanState) send(msg Message) {
	for id, f := range s.subs {
		if !f.push(msg) {
			s.n.log.Warn("follower too far behind; its stream ends", "channel", s.id, "sub", id)
			delete(s.subs, id)
		}
	}
}

func (s *chanState) closeSubs() {
	for id, f := range s.subs {
		f.close()
		delete(s.subs, id)
	}
}

// crdtError maps a crdt verdict to the node's errors.
func crdtError(err error) error {
	switch {
	case errors.Is(err, crdt.ErrForbidden):
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	case errors.Is(err, crdt.ErrUnknownMessage):
		return fmt.Errorf("%w: %v", ErrNoMessage, err)
	case errors.Is(err, crdt.ErrInviteExpired):
		return fmt.Errorf("%w: %v", ErrInviteExpired, err)
	case errors.Is(err, crdt.ErrInviteRevoked):
		return fmt.Errorf("%w: %v", ErrInviteRevoked, err)
	case errors.Is(err, crdt.ErrInviteUsedUp):
		return fmt.Errorf("%w: %v", ErrInviteUsedUp, err)
	case errors.Is(err, crdt.ErrInviteUnknown):
		return fmt.Errorf("%w: %v", ErrInviteUnknown, err)
	case errors.Is(err, crdt.ErrInvalid), errors.Is(err, crdt.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return fmt.Errorf("node: %w", err)
}

// applyNoSync stores a batch of received messages without an fsync
// (receivelive.go); retryLoop syncs it within retryEvery.
func (n *Node) applyNoSync(ctx context.Context, b *store.Batch) error {
	if err := n.db.ApplyNoSync(ctx, b); err != nil {
		return err
	}
	n.unsynced.Store(true)
	return nil
}

// syncUnsynced makes what applyNoSync stored durable, if anything.
func (n *Node) syncUnsynced() {
	if n.unsynced.Swap(false) {
		if err := n.db.Sync(n.ctx); err != nil && n.ctx.Err() == nil {
			n.log.Warn("sync received messages", "err", err)
		}
	}
}

// pubItem is an outbox item to publish.
type pubItem struct {
	seq  uint64
	data []byte
}

// publisher publishes a channel's outbox items on its topic in order, in
// a goroutine that runs while it has items. It is safe for concurrent use.
type publisher struct {
	mu      sync.Mutex
	items   []pubItem
	running bool
}

// enqueue adds items to publish after those queued. It runs on the loop.
func (p *publisher) enqueue(n *Node, c *channel, items []pubItem) {
	if len(items) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = append(p.items, items...)
	if p.running {
		return
	}
	p.running = true
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		p.run(n, c)
	}()
}

// run publishes the queued items until none is left. When one fails, it
// and those queued after it are dropped and the loop is told to publish
// them again from there (the outbox keeps them): the next flush does, in
// order.
func (p *publisher) run(n *Node, c *channel) {
	for {
		p.mu.Lock()
		items := p.items
		p.items = nil
		if len(items) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		for i, it := range items {
			err := n.publish(n.ctx, c.id, it.data)
			if err == nil {
				continue
			}
			n.log.Debug("publish", "channel", c.id, "err", err)
			p.mu.Lock()
			p.items = nil // after items[i]: published again from it on
			p.mu.Unlock()
			seq := items[i].seq
			c.doLive(n.ctx, func(s *chanState) error { //nolint:errcheck // closing: nothing to publish
				s.gossiped = min(s.gossiped, seq-1)
				return nil
			})
			break
		}
	}
}
