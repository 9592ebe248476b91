package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// commitRank orders the commits that compete for one epoch
// (docs/protocol.md, "Commit conflicts"). Every input is fixed by the group
// state of the epoch, not by the commit's bytes: the committer's role in
// the roles extension, then its leaf index. Only two commits by the same
// committer (same leaf) fall back to the hash of the message, which that
// committer can grind, but only to choose between its own commits.
type commitRank struct {
	Role crdt.Role `json:"role"`
	Leaf uint32    `json:"leaf"`
	Hash []byte    `json:"hash,omitempty"`
}

// beats reports whether a commit of rank r wins over one of rank o.
// A member may remove only members of a strictly lower role
// (commitPolicy), so a removal always beats a competing commit of the
// member it removes: the removed member cannot undo it.
func (r commitRank) beats(o commitRank) bool {
	if r.Role != o.Role {
		return r.Role > o.Role
	}
	if r.Leaf != o.Leaf {
		return r.Leaf < o.Leaf
	}
	return bytes.Compare(r.Hash, o.Hash) < 0
}

// commitRecord is what a commit did, stored in the channel's metadata in
// the same synced batch as the commit: the membership events that mirror
// it are checked against it (also after a restart), and the conflict rule
// compares a competing commit with it.
type commitRecord struct {
	Epoch     uint64     `json:"epoch"` // the epoch the commit made
	Committer string     `json:"committer"`
	Added     []string   `json:"added,omitempty"`
	Removed   []string   `json:"removed,omitempty"`
	Rank      commitRank `json:"rank"`
	// Intent is what this node meant by its own commit, to propose again
	// on the winning branch when the commit loses: "remove" Member, "role"
	// Member Role, "add" Member (readmit). Empty for a received commit.
	Intent string    `json:"intent,omitempty"`
	Member string    `json:"member,omitempty"`
	Role   crdt.Role `json:"role,omitempty"`
	// Sent are the counters of our events sent in the epoch this commit
	// left (Epoch-1): re-sent if a conflict is resolved before it.
	Sent seqList `json:"sent,omitempty"`
}

// branchDepth is how many epochs back a commit conflict is resolved
// (docs/protocol.md, "Commit conflicts"): a channel keeps the records of
// its last branchDepth commits and the group states of the branchDepth
// epochs they left (the store's past-epoch records), so a commit for any
// of those epochs can be processed on the state it was made in and
// compared with the one this node applied. A competing commit older than
// that is ignored as stale: the node stays on its branch.
const branchDepth = 16

// keepCommits is how many commit records a channel keeps.
const keepCommits = branchDepth

// recordCommit adds r to the metadata, keeping the last keepCommits.
func (s *chanState) recordCommit(r commitRecord) {
	s.meta.Commits = slices.DeleteFunc(s.meta.Commits, func(o commitRecord) bool {
		return o.Epoch >= r.Epoch || o.Epoch+keepCommits <= r.Epoch
	})
	s.meta.Commits = append(s.meta.Commits, r)
}

// commitOf returns the record of the commit that made epoch e.
func (s *chanState) commitOf(e uint64) (commitRecord, bool) {
	for _, r := range s.meta.Commits {
		if r.Epoch == e {
			return r, true
		}
	}
	return commitRecord{}, false
}

// pastState returns the stored group state of epoch e of the current
// branch, nil if it is no longer (or was never) kept.
func (s *chanState) pastState(ctx context.Context, e uint64) ([]byte, error) {
	if s.prevState != nil && s.group.Active() && e+1 == s.group.Epoch() {
		return s.prevState, nil
	}
	st, err := s.n.db.PastEpoch(ctx, store.ChannelID(s.id), e)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return st, err
}

// loadPast loads the kept state of epoch e of the current branch (and
// returns its bytes); a nil group if it is no longer (or was never) kept.
func (s *chanState) loadPast(ctx context.Context, e uint64) (group, []byte, error) {
	state, err := s.pastState(ctx, e)
	if err != nil || state == nil {
		return nil, nil, err
	}
	g, err := s.n.eng.Load(state)
	if err != nil {
		return nil, nil, fmt.Errorf("node: load the state of epoch %d: %w", e, err)
	}
	return g, state, nil
}

// maxLosers bounds the hashes of commits known to lose (chanState.losers).
const maxLosers = 256

// maybeSwitchBranch applies the commit-conflict rule (docs/protocol.md,
// "Commit conflicts") to a commit for an epoch e this node has left, at
// most branchDepth epochs back: of two valid commits for one epoch, the
// one of higher rank (commitRank) wins. If it beats the commit this node
// applied at e, the node goes back to the state of e, applies it, and
// drops every later epoch of the losing branch; our events sent on that
// branch are re-sent, and the changes we committed there are proposed
// again. A commit for e that does not verify on our state of e (another
// branch further back, or junk) is ignored, not punished: an honest member
// on another branch sends such commits.
func (s *chanState) maybeSwitchBranch(ctx context.Context, env envelope) error {
	e := env.epoch
	ours, ok := s.commitOf(e + 1)
	if !ok {
		return nil // beyond the depth, or an epoch before we joined
	}
	h := sha256.Sum256(env.msg)
	if bytes.Equal(h[:], ours.Rank.Hash) {
		return nil // the commit we applied
	}
	if committer, ok := s.losers[h]; ok {
		// One that lost already, seen again (a catch-up served it from a
		// member's log): its committer may still be on the losing branch.
		s.announceWinner(ctx, ours, committer)
		return nil
	}
	g, state, err := s.loadPast(ctx, e)
	if err != nil || g == nil {
		return err
	}
	res, err := g.Process(env.msg, false)
	if err != nil {
		if errors.Is(err, errUnauthorized) {
			return fmt.Errorf("%w: competing commit: %w", errMLS, err)
		}
		if errors.Is(err, mls.ErrUnknownProposal) && !s.untrusted {
			s.n.log.Info("competing commit waits for a proposal it refers to", "channel", s.id, "epoch", e)
			s.await(env)
		}
		return nil
	}
	if !res.Commit {
		return nil
	}
	rank := res.Rank
	rank.Hash = h[:]
	if !rank.beats(ours.Rank) {
		s.noteLoser(h, res.Sender)
		s.announceWinner(ctx, ours, res.Sender)
		return nil
	}
	return s.switchBranch(ctx, env, g, state, res)
}

// maxAwaiting bounds the competing commits kept until a proposal they
// refer to arrives (chanState.awaiting).
const maxAwaiting = 16

// await keeps env, a competing commit for a past epoch that refers to a
// proposal we do not have: gossip reorders, and a member's leave proposal
// may arrive after the commit that includes it by reference (RFC 9420
// §12.4). It is tried again when the proposal arrives (keepPastProposal),
// live or from a catch-up, which serves a member's log in order.
func (s *chanState) await(env envelope) {
	n := 0
	for _, es := range s.awaiting {
		n += len(es)
	}
	if s.awaiting == nil || n >= maxAwaiting {
		s.awaiting = map[uint64][]envelope{}
	}
	h := sha256.Sum256(env.msg)
	for _, w := range s.awaiting[env.epoch] {
		if sha256.Sum256(w.msg) == h {
			return
		}
	}
	s.awaiting[env.epoch] = append(s.awaiting[env.epoch], env)
}

// keepPastProposal stores a member's leave proposal of epoch e, which this
// node left (its own commit, or one it received, made e+1), in the stored
// state of e: a competing commit for e that includes the proposal by
// reference can then be processed on that state and compared with ours
// (maybeSwitchBranch). Without it, a member who committed in e before the
// proposal reached it could never process the winning commit and stayed on
// its branch for good. The commits that waited for the proposal are tried
// again.
func (s *chanState) keepPastProposal(ctx context.Context, env envelope) error {
	e := env.epoch
	if _, ok := s.commitOf(e + 1); !ok || s.untrusted {
		return nil
	}
	g, _, err := s.loadPast(ctx, e)
	if err != nil || g == nil {
		return err
	}
	res, err := g.Process(env.msg, false)
	if err != nil || !res.Proposal || !res.Leave {
		// Held already, not of this branch, or not a member's own
		// leave: the only proposal a node stores (receive).
		return nil
	}
	kept, err := g.Marshal()
	if err != nil {
		return fmt.Errorf("node: group state: %w", err)
	}
	b := &store.Batch{}
	b.PutPastEpoch(store.ChannelID(s.id), store.EpochState{Epoch: e, Data: kept})
	if err := s.n.db.Apply(ctx, b); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	if s.prevState != nil && s.group.Active() && e+1 == s.group.Epoch() {
		s.prevState = kept // pastState reads it first
	}
	waiting := s.awaiting[e]
	delete(s.awaiting, e)
	for _, w := range waiting {
		if err := s.maybeSwitchBranch(ctx, w); err != nil {
			s.n.log.Info("competing commit dropped", "channel", s.id, "epoch", e, "err", err)
		}
	}
	return nil
}

// announceGap is the least time between two publications of the commit
// that won an epoch (announceWinner).
const announceGap = 3 * time.Second

// announceWinner hands our branch's commit r (the one that made epoch
// r.Epoch), which a competing commit of loser just lost against, straight
// to loser (or, if we have no connection to it, to every member we are
// connected to) on the delivery protocol: loser is on the losing branch
// and may never have received our commit (gossip drops it under load, and
// a node whose validator ignored it once never takes the same bytes from
// gossip again: message IDs are content hashes), and nothing else would
// ever show it the commit it must switch to — its catch-ups ask for its
// own, later epochs. A member that has our commit already takes it as
// stale. At most once per announceGap per epoch; best effort.
func (s *chanState) announceWinner(ctx context.Context, r commitRecord, loser string) {
	now := time.Now()
	if t, ok := s.announced[r.Epoch]; ok && now.Sub(t) < announceGap || s.n.host == nil {
		return
	}
	peers := s.deliveryPeers()
	if slices.Contains(peers, p2p.PeerID(loser)) {
		peers = []p2p.PeerID{p2p.PeerID(loser)}
	}
	if len(peers) == 0 {
		return
	}
	if s.announced == nil || len(s.announced) >= branchDepth {
		s.announced = map[uint64]time.Time{}
	}
	s.announced[r.Epoch] = now
	msg, err := s.n.commitMessage(ctx, store.ChannelID(s.id), r.Epoch-1, r.Rank.Hash, s.lastSeq)
	if err != nil || msg == nil {
		s.n.log.Debug("announce a winning commit: not in the log", "channel", s.id, "epoch", r.Epoch-1, "err", err)
		return
	}
	env := envelope{epoch: r.Epoch - 1, msg: msg}.encode()
	req, _ := json.Marshal(deliverRequest{Channel: s.id, Envelopes: [][]byte{env}})
	n, id := s.n, s.id
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for _, p := range peers {
			taken := n.deliverTo([]p2p.PeerID{p}, req)
			n.log.Debug("announced a winning commit", "channel", id, "epoch", r.Epoch-1, "peer", p, "taken", taken)
		}
	}()
}

// commitMessage finds in the log the commit of epoch e whose message has
// the SHA-256 hash h, looking up to entry last; nil if it is not there.
func (n *Node) commitMessage(ctx context.Context, id store.ChannelID, e uint64, h []byte, last uint64) ([]byte, error) {
	start, err := n.firstSeqOfEpoch(ctx, id, e, last)
	if err != nil {
		return nil, err
	}
	for next := start; next <= last; {
		es, err := n.db.Log(ctx, id, next, syncReadChunk)
		if err != nil || len(es) == 0 {
			return nil, err
		}
		for _, en := range es {
			if en.Epoch > e+1 {
				return nil, nil // past the epoch, allowing for slack
			}
			if en.Epoch == e && isCommit(en.Data) {
				if sum := sha256.Sum256(en.Data); bytes.Equal(sum[:], h) {
					return en.Data, nil
				}
			}
			next = en.Seq + 1
		}
	}
	return nil, nil
}

// noteLoser remembers a commit that lost, so that it costs no state load
// when it comes again (a sync serves it from a peer's log).
func (s *chanState) noteLoser(h [32]byte, committer string) {
	if s.losers == nil || len(s.losers) >= maxLosers {
		s.losers = map[[32]byte]string{}
	}
	s.losers[h] = committer
}

// switchBranch moves the channel onto the winning commit env, processed
// into g on the state of its epoch.
func (s *chanState) switchBranch(ctx context.Context, env envelope, g group, state []byte, res processed) error {
	e := env.epoch
	s.n.log.Info("commit conflict: switching to the winning commit", "channel", s.id, "epoch", e,
		"depth", s.lastRecordEpoch()-e)
	lost, mine := s.lostEvents(e), s.ownCommitsAfter(e)
	readd := s.keptAdds(ctx, mine) // before the switch's commit drops them
	oldGroup, oldStored, oldPrev, oldRemoved := s.group, s.stored, s.prevState, s.meta.Removed
	s.group, s.stored, s.meta.Removed, s.losers, s.pastRead = g, state, false, nil, nil
	floor := e + 1 // see below
	if s.syncFloor > 0 {
		floor = min(floor, s.syncFloor)
	}
	oldFloor := s.meta.SyncFloor
	s.meta.SyncFloor = floor // stored with the winning commit (accept)
	if s.c != nil {
		s.c.members.Store(nil) // maybe the same epoch number, another tree: publishEpoch refreshes it
	}
	// Our events of epoch e, which both branches share, stay the Sent of
	// the record of the commit that leaves it, now the winning one: a
	// member that processes a later Add re-sends them for the joiner
	// (resendForJoiners), who cannot read epoch e. Before, the record of
	// the winner took our Branch, which our losing commit had emptied, and
	// a joiner admitted just after the switch missed them for good (the
	// 5-node testbed: "node3 is missing tb/0000914/n2"). Our events after
	// e are in lost, re-sent below.
	oldBranch, oldUnbacked := s.meta.Branch, s.meta.Unbacked
	s.keepUnbacked(lost, g) // stored with the winning commit
	if replaced, ok := s.commitOf(e + 1); ok {
		s.meta.Branch = slices.Clone(replaced.Sent)
	}
	s.switching = true
	err := s.accept(ctx, env, res, e)
	s.switching = false
	if err != nil {
		s.group, s.stored, s.prevState, s.meta.Removed = oldGroup, oldStored, oldPrev, oldRemoved
		s.meta.SyncFloor, s.meta.Branch, s.meta.Unbacked = oldFloor, oldBranch, oldUnbacked
		s.publishEpoch()
		return err
	}
	// Messages of the winning branch that arrived before the switch did not
	// decrypt; the members who sent them hold them in their logs. Several
	// rounds, as the first peer to answer may not have them yet.
	s.needSync, s.syncRounds = true, max(s.syncRounds, 2)
	// From the winning commit's epoch on, however far the node has moved
	// when the catch-up starts (it processes more of the page first), also
	// after a restart (channelMeta.SyncFloor, stored with the next meta).
	s.syncFloor = floor
	if err := s.resend(ctx, lost); err != nil {
		return err
	}
	for _, r := range mine {
		s.repropose(ctx, r, readd)
	}
	return nil
}

// lastRecordEpoch is the epoch made by the last recorded commit.
func (s *chanState) lastRecordEpoch() uint64 {
	var last uint64
	for _, r := range s.meta.Commits {
		last = max(last, r.Epoch)
	}
	return last
}

// lostEvents returns our events sent in the epochs after e, which a switch
// to another commit for e takes off the branch.
func (s *chanState) lostEvents(e uint64) []crdt.Event {
	var seqs []uint64
	for _, r := range s.meta.Commits {
		if r.Epoch > e+1 {
			seqs = append(seqs, r.Sent...)
		}
	}
	seqs = append(seqs, s.meta.Branch...)
	slices.Sort(seqs)
	var out []crdt.Event
	for _, seq := range slices.Compact(seqs) {
		if ev, ok := s.crdt.Event(crdt.ID{Author: s.n.id.peerID, Seq: seq}); ok {
			out = append(out, ev)
		}
	}
	return out
}

// ownCommitsAfter returns, by epoch, our commits that made the epochs
// after e and carry an intent to propose again.
func (s *chanState) ownCommitsAfter(e uint64) []commitRecord {
	var out []commitRecord
	for _, r := range s.meta.Commits {
		if r.Epoch > e && r.Committer == s.n.id.peerID && r.Intent != "" {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b commitRecord) int { return int(a.Epoch) - int(b.Epoch) })
	return out
}

// repropose commits again, on the winning branch, the change our losing
// commit made, if it still applies and is still allowed.
func (s *chanState) repropose(ctx context.Context, r commitRecord, readd map[string]*admission) {
	var err error
	switch r.Intent {
	case "add":
		if a := readd[r.Member]; a != nil {
			err = s.readmit(ctx, a)
		}
	case "remove":
		if containsMember(s.group.Members(), r.Member) {
			err = s.removeMember(ctx, r.Member)
		}
	case "role":
		if containsMember(s.group.Members(), r.Member) {
			err = s.setRole(ctx, r.Member, r.Role)
		}
	default:
		return
	}
	if err != nil {
		s.n.log.Warn("propose again after a lost commit conflict", "channel", s.id, "intent", r.Intent, "err", err)
	}
}

// resend sends again, in the current epoch, the events we authored on a
// losing branch: same IDs, so replicas that had them drop the duplicates.
func (s *chanState) resend(ctx context.Context, events []crdt.Event) error {
	if len(events) == 0 || s.gone() != nil {
		return nil
	}
	err := s.runResend(ctx, events)
	if errors.Is(err, ErrProtocol) {
		return nil
	}
	return err
}

// Events re-sent for joiners: at most joinResendMax, sent at most
// joinResendAge before the Add.
const (
	joinResendMax = 256
	joinResendAge = 30 * time.Second
)

// resendForJoiners sends again, after a commit that added members, our
// events of the last joinResendAge (on this branch): one of them may reach
// the admitter only after it made the joiner's history, and the joiner
// cannot decrypt the epochs before its Add. Same IDs: the others drop the
// duplicates. Older events were in the admitter's history.
func (s *chanState) resendForJoiners(ctx context.Context, sent []uint64) {
	seqs := slices.Clone(sent)
	for _, r := range s.meta.Commits {
		seqs = append(seqs, r.Sent...)
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	since := s.n.nowMs() - joinResendAge.Milliseconds()
	var recent []crdt.Event
	for _, seq := range seqs[max(0, len(seqs)-joinResendMax):] {
		if ev, ok := s.crdt.Event(crdt.ID{Author: s.n.id.peerID, Seq: seq}); ok && ev.Time.Wall >= since {
			recent = append(recent, ev)
		}
	}
	if err := s.resend(ctx, recent); err != nil {
		s.n.log.Warn("re-send for a joiner", "channel", s.id, "err", err)
	}
}

// relabelLater notes that our commit removes member m whose removal our
// replica already shows (or, readmit, adds m again), from our own label of
// one of kinds on a branch that lost: that label is re-sent once the
// commit is stored (run), and the others accept it because our commit on
// this branch backs it (checkMirror).
func (s *chanState) relabelLater(m string, kinds ...crdt.Kind) {
	seqs := slices.Clone(s.meta.Branch)
	for _, r := range s.meta.Commits {
		seqs = append(seqs, r.Sent...)
	}
	for _, seq := range seqs {
		ev, ok := s.crdt.Event(crdt.ID{Author: s.n.id.peerID, Seq: seq})
		if ok && ev.Member == m && slices.Contains(kinds, ev.Kind) {
			s.relabel = append(s.relabel, ev)
			return
		}
	}
}

// deepSyncGap is the least time between two catch-ups that start
// branchDepth epochs back (deepSyncFrom).
const deepSyncGap = 10 * time.Second

// deepSyncFrom returns the epoch a catch-up asks from: the one before ours,
// or the epoch of the last branch switch if that is older (the messages of
// the winning branch dropped before the switch are from it on), or, when a member's message of a past or current epoch did not verify (a
// sign that it is on another branch, forked maybe several epochs back), the
// oldest epoch whose commit this node could still switch, at most once per
// deepSyncGap.
func (s *chanState) deepSyncFrom(now time.Time) (from uint64, deep bool) {
	from = s.group.Epoch()
	if from > 0 {
		from--
	}
	if s.syncFloor > 0 {
		// For every round a switch asked for: the first peer to answer
		// may not have the winning branch's messages yet.
		from = min(from, s.syncFloor-1)
		if s.syncRounds <= 1 {
			s.syncFloor, s.meta.SyncFloor = 0, 0
		}
	}
	if !s.forked || now.Sub(s.lastDeepSync) < deepSyncGap {
		return from, false
	}
	s.forked, s.lastDeepSync = false, now
	for _, r := range s.meta.Commits {
		if r.Epoch > 0 {
			from = min(from, r.Epoch-1)
		}
	}
	return from, true
}

// maxForkPeers bounds chanState.forkPeers.
const maxForkPeers = 4

// noteFork records that a member's message did not verify: a sign that it
// is on another branch; the member that handed it over is asked first by
// the next deep catch-up.
func (s *chanState) noteFork() {
	s.needSync, s.forked = true, true
	p := s.recvFrom
	if p == "" {
		return
	}
	s.forkPeers = append([]p2p.PeerID{p}, slices.DeleteFunc(s.forkPeers, func(x p2p.PeerID) bool { return x == p })...)
	s.forkPeers = s.forkPeers[:min(len(s.forkPeers), maxForkPeers)]
}

// forkPeersFirst orders peers for a deep catch-up: the members that handed
// over messages that did not verify first, then the others in their order.
// Before, a deep catch-up asked the topic's first peer (a member that had
// just appeared came first), often one on our own branch, which answered
// in full and used up the deep run: node 0, on a branch that had lost
// while it admitted two members, asked those two and a removed member for
// 33 s before a deep run reached a member of the winning branch.
func forkPeersFirst(peers, fork []p2p.PeerID) []p2p.PeerID {
	out := make([]p2p.PeerID, 0, len(peers))
	for _, f := range fork {
		if slices.Contains(peers, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, p := range peers {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// The content types of a proposal and a commit (RFC 9420 §6).
const (
	contentProposal = 2
	contentCommit   = 3
)

// keepPastEpoch adds to b the state of the epoch a commit leaves, and
// deletes the states older than branchDepth epochs: forward secrecy wants
// them gone, and no conflict is resolved further back.
func (s *chanState) keepPastEpoch(b *store.Batch, left uint64) {
	id := store.ChannelID(s.id)
	b.PutPastEpoch(id, store.EpochState{Epoch: left, Data: s.stored})
	if left+1 > branchDepth {
		b.DeletePastEpochsBelow(id, left+1-branchDepth)
	}
}

// oldCommit reports whether env is a commit for an epoch older than the
// validator's window but recent enough for the conflict rule.
func oldCommit(env envelope, cur uint64) bool {
	return env.epoch+branchDepth >= cur && isCommit(env.msg)
}
