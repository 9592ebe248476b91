package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/store"
)

// The future-epoch buffer (messages of epochs not reached yet, kept until
// the commit that reaches them arrives) is bounded in messages, in bytes
// and in epochs ahead: a message more than maxEpochsAhead epochs ahead is
// ignored (the validator does not even hand it over), and once the buffer
// is full new messages are dropped (sync recovers honest ones), so what a
// stranger sends cannot push out what is already buffered.
const (
	maxFuture      = 1024
	maxFutureBytes = 4 << 20
	// Messages of the next epoch from peers that are not members of ours
	// (buffer): a smaller buffer, which a stranger can fill but not grow.
	maxStrangerFuture      = 128
	maxStrangerFutureBytes = 512 << 10
	maxEpochsAhead         = 2
)

// receive processes an envelope from the topic or from a sync: MLS
// decrypts and verifies it, the CRDT applies the event it carries, and the
// log entry, event and new group state are stored in one synced batch.
// Stale and duplicate messages are dropped without error.
func (s *chanState) receive(ctx context.Context, env envelope) error {
	if s.meta.Removed || !s.group.Active() {
		if !s.untrusted && isCommit(env.msg) {
			// A commit that beats the one that removed us puts us back
			// on its branch (a leave that lost a conflict).
			return s.maybeSwitchBranch(ctx, env)
		}
		return nil
	}
	cur := s.group.Epoch()
	if env.epoch > cur {
		s.buffer(env)
		return nil
	}
	if s.chunkDirty && !isApplication(env.msg) {
		// A commit or proposal is stored with the group state it leaves
		// (and a commit with the state of the epoch before): write the
		// chunk's first.
		if err := s.flushChunk(ctx); err != nil {
			return err
		}
	}
	res, err := s.group.Process(env.msg, !s.forceGap)
	if err != nil {
		if errors.Is(err, mls.ErrGenerationGap) && !s.untrusted {
			return s.hold(env)
		}
		switch {
		case s.untrusted:
		case otherBranch(err):
			// Possibly a message of a branch we have not switched to yet
			// (a commit conflict, maybe several epochs back): catch up
			// from a member's log, further back than usual. Only a
			// member's forwarding counts: a stranger's junk never makes
			// us sync.
			s.noteFork()
			s.askReadmission()
		case verdictOf(err) != verdictIgnore:
		case env.epoch < cur && isCommit(env.msg):
			return s.maybeSwitchBranch(ctx, env)
		case env.epoch < cur && isProposal(env.msg):
			return s.keepPastProposal(ctx, env)
		case env.epoch+pastEpochWindow < cur && env.epoch+branchDepth >= cur && isApplication(env.msg) && !s.untrusted:
			return s.readPast(ctx, env)
		default:
			return nil
		}
		return fmt.Errorf("%w: %w", errMLS, err)
	}
	if res.Proposal && res.Leave {
		if r := s.group.Roles(); r.of(res.Sender) == crdt.RoleOwner && r.owners() == 1 {
			// No commit may remove the last owner (commitPolicy): storing
			// its leave would block every member's next commit.
			s.rollback()
			return fmt.Errorf("%w: the last owner's leave", ErrProtocol)
		}
	}
	if res.Proposal && !res.Leave {
		// Members commit adds and removals themselves, after their role
		// is checked; the only proposal a node stores for another to
		// commit is a member's own leave. Refusing the rest here, by a
		// rule that depends on the proposal alone, keeps every honest
		// member on the same side: a commit that references a refused
		// proposal cannot be processed by any of them.
		s.rollback()
		return fmt.Errorf("%w: refused a proposal other than a member's own leave", ErrProtocol)
	}
	return s.accept(ctx, env, res, cur)
}

// accept stores and applies a processed message.
func (s *chanState) accept(ctx context.Context, env envelope, res processed, prevEpoch uint64) error {
	if s.chunk != nil && res.Application != nil {
		return s.acceptInChunk(ctx, env, res, prevEpoch)
	}
	id := store.ChannelID(s.id)
	oldMeta := s.meta
	oldMeta.Commits, oldMeta.Branch = slices.Clone(s.meta.Commits), slices.Clone(s.meta.Branch)
	b := &store.Batch{}
	b.Append(id, store.Entry{Seq: s.lastSeq + 1, Epoch: env.epoch, Data: env.msg})
	var ev *crdt.Event
	switch {
	case res.Application != nil:
		e, err := s.incomingEvent(res, b)
		if err != nil {
			s.rollback()
			return err
		}
		ev = e
	case res.Commit:
		s.keepPastEpoch(b, prevEpoch)
		// Past states after prevEpoch, if any, are of a branch we leave.
		b.DeletePastEpochsFrom(id, prevEpoch+1)
		if res.SelfRemoved {
			s.meta.Removed = true
		}
		rank := res.Rank
		rank.Hash = hashOf(env.msg)
		s.recordCommit(commitRecord{Epoch: prevEpoch + 1, Committer: res.Sender, Added: res.Added, Removed: res.Removed, Rank: rank, Sent: s.meta.Branch})
		s.meta.Branch = nil
		s.noteFormer(prevEpoch, res.Removed)
		s.dropAdmissions(b)
		s.expireJoinKey()
		b.PutChannel(id, s.metaBytes())
	}
	state, err := s.putGroup(b)
	if err == nil {
		err = s.apply(ctx, b)
	}
	if err != nil {
		s.meta = oldMeta
		s.rollback()
		return fmt.Errorf("%w: %w", errStore, err)
	}
	prev := s.stored
	s.lastSeq, s.stored = s.lastSeq+1, state
	s.publishEpoch()
	s.onAccepted(res, prevEpoch)
	switch {
	case ev != nil:
		_ = s.clock.Observe(ev.Time, s.n.nowMs()) // a far-future time is applied, not followed
		s.commitApplied(*ev)
		s.maybeSnapshot(ctx)
		s.releaseHeld(ctx) // it may have filled a held message's gap
	case res.Commit:
		if res.SelfRemoved {
			s.n.log.Warn("removed from the channel", "channel", s.id, "by", res.Sender, "epoch", prevEpoch+1)
			s.notifyGone()
		}
		s.afterCommit(ctx, prev)
		if len(res.Removed) > 0 && !s.switching {
			s.resendUnbacked(ctx)
		}
		if len(res.Added) > 0 && !s.switching {
			s.resendForJoiners(ctx, oldMeta.Branch)
		}
	case res.Proposal:
		s.maybeCommitProposals(ctx, res.Sender)
	}
	return nil
}

// acceptInChunk is accept for an application message of a synced page:
// its log entry and event join the chunk's batch, and the group state is
// written once, at the end of the chunk, in the same batch (flushChunk).
// A refused event is not rolled back: its key stays used, and is deleted
// on disk with the chunk (as MLS does for a message refused after
// decryption).
func (s *chanState) acceptInChunk(ctx context.Context, env envelope, res processed, prevEpoch uint64) error {
	if !s.chunkDirty {
		// What to take back if the chunk is not stored: the sequence
		// numbers before its first message (a commit stored since the
		// last flush advanced them).
		s.chunkSeq, s.chunkEventSeq = s.lastSeq, s.lastEventSeq
		s.chunkSince = time.Now()
	}
	ev, err := s.incomingEvent(res, s.chunk)
	if err != nil {
		s.chunkDirty = true
		return err
	}
	s.chunk.Append(store.ChannelID(s.id), store.Entry{Seq: s.lastSeq + 1, Epoch: env.epoch, Data: env.msg})
	s.lastSeq++
	s.chunkDirty = true
	s.onAccepted(res, prevEpoch)
	_ = s.clock.Observe(ev.Time, s.n.nowMs())
	s.commitApplied(*ev)
	s.releaseHeld(ctx)
	return nil
}

// contentApplication is the content type of application data (RFC 9420
// §6).
const contentApplication = 1

// isApplication reports whether msg is an MLS application message, from
// its header alone.
func isApplication(msg []byte) bool {
	if ct, ok := privateContentType(msg); ok {
		return ct == contentApplication
	}
	h, err := mls.PeekMessage(msg)
	return err == nil && h.ContentType == contentApplication
}

// incomingEvent decodes the event of an application message and adds it
// (and a changed display name) to b. Membership events must mirror a commit
// this node processed, by its committer; a Create never comes by gossip.
func (s *chanState) incomingEvent(res processed, b *store.Batch) (*crdt.Event, error) {
	name, e, err := openEvent(res.Sender, res.Application)
	if err != nil {
		return nil, err
	}
	if err := s.checkMirror(e); err != nil {
		return nil, err
	}
	bin, err := e.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	b.PutEvent(store.ChannelID(s.id), store.Event{Seq: s.lastEventSeq + 1, Data: bin})
	if s.setName(res.Sender, name) {
		b.PutChannel(store.ChannelID(s.id), s.metaBytes())
	}
	return &e, nil
}

// checkMirror refuses membership events that no processed commit backs.
func (s *chanState) checkMirror(e crdt.Event) error {
	switch e.Kind {
	case crdt.KindCreate:
		return fmt.Errorf("%w: a Create event by gossip", ErrProtocol)
	case crdt.KindJoined, crdt.KindLeft, crdt.KindRemoved:
	default:
		return nil
	}
	if ci, ok := s.commitOf(e.Epoch); ok && labels(ci, e) {
		return nil
	}
	// A label re-sent after a branch switch names the epoch of the losing
	// commit, before the commit of this branch that backs it: the
	// author's commit that made the same change (conflict.go, relabel),
	// or, for a "left" line, any commit that removed the member
	// (unbacked.go). Never an epoch after that commit: a membership event
	// of a later epoch would hide the member's next admission (crdt:
	// stale).
	for _, ci := range s.meta.Commits {
		if e.Epoch > ci.Epoch {
			continue
		}
		if labels(ci, e) || e.Kind == crdt.KindLeft && slices.Contains(ci.Removed, e.Member) {
			return nil
		}
	}
	return fmt.Errorf("%w: membership event without its commit (epoch %d)", ErrProtocol, e.Epoch)
}

// labels reports whether membership event e mirrors commit ci: same
// author, and the member it names was added (Joined) or removed by it.
func labels(ci commitRecord, e crdt.Event) bool {
	if ci.Committer != e.ID.Author {
		return false
	}
	if e.Kind == crdt.KindJoined {
		return slices.Contains(ci.Added, e.Member)
	}
	return slices.Contains(ci.Removed, e.Member)
}

// afterCommit processes the messages that waited for the new epoch.
func (s *chanState) afterCommit(ctx context.Context, prev []byte) {
	s.prevState = prev
	if s.meta.Leaving && s.group.Active() {
		// Our leave was not in that commit: propose it again in the new
		// epoch.
		if err := s.proposeLeave(ctx); err != nil {
			s.n.log.Warn("propose leave again", "channel", s.id, "err", err)
		}
	}
	s.drainFuture(ctx)
}

// readPast reads an application message of an epoch older than those whose
// secrets MLS keeps (pastEpochWindow), with the state of that epoch the
// node keeps for commit conflicts (pastState: branchDepth epochs, so no
// secret is kept longer than before). A catch-up or anti-entropy run
// brings such a message when we missed it live and moved on several epochs
// since (a member that joined in a burst of joins missed the next joiner's
// label, and could never read it again). A message we have already is
// dropped before it is stored; one that does not verify on that state is
// dropped as stale was.
func (s *chanState) readPast(ctx context.Context, env envelope) error {
	pr := s.pastRead
	if pr == nil || pr.epoch != env.epoch || pr.group != s.group || pr.at != s.group.Epoch() {
		g, _, err := s.loadPast(ctx, env.epoch)
		if err != nil || g == nil {
			return err
		}
		pr = &pastGroup{epoch: env.epoch, group: s.group, at: s.group.Epoch(), g: g}
		s.pastRead = pr
	}
	res, err := pr.g.Process(env.msg, false)
	if err != nil || res.Application == nil {
		return nil
	}
	if _, e, err := openEvent(res.Sender, res.Application); err == nil {
		if _, have := s.crdt.Event(e.ID); have {
			return nil
		}
	}
	return s.storePastEvent(ctx, res)
}

// storePastEvent stores and applies the event of a message readPast read:
// the event only, no log entry. An entry of an epoch that old appended at
// the log's end would break the order of epochs the sync server's search
// relies on (firstSeqOfEpoch), and the members that sent or relayed the
// message hold it in their logs. Our group did not change: no group state
// is written, except with an open chunk, which the event joins.
func (s *chanState) storePastEvent(ctx context.Context, res processed) error {
	if s.chunk != nil {
		if !s.chunkDirty {
			s.chunkSeq, s.chunkEventSeq = s.lastSeq, s.lastEventSeq
			s.chunkSince = time.Now()
		}
		ev, err := s.incomingEvent(res, s.chunk) // writes nothing when it fails
		if err != nil {
			return err
		}
		s.chunkDirty = true
		_ = s.clock.Observe(ev.Time, s.n.nowMs())
		s.commitApplied(*ev)
		return nil
	}
	b := &store.Batch{}
	ev, err := s.incomingEvent(res, b)
	if err != nil {
		return err
	}
	if err := s.apply(ctx, b); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	_ = s.clock.Observe(ev.Time, s.n.nowMs())
	s.commitApplied(*ev)
	s.maybeSnapshot(ctx)
	return nil
}

// pastGroup is the state of a past epoch loaded by readPast, valid while
// the channel's group is the one, and at the epoch, it was loaded under (a
// switch or a rollback replaces the group, a commit moves it on and may
// delete the kept state for forward secrecy).
type pastGroup struct {
	epoch uint64
	group group  // s.group when it was loaded
	at    uint64 // s.group's epoch then: a commit since may have deleted the kept state (keepPastEpoch)
	g     group
}

// buffer keeps a message of a future epoch until the commit that reaches it
// arrives (gossip does not preserve order), and asks peers for what is
// missing.
//
// A message of the next epoch handed over by a peer that is not a member
// of ours is kept too, apart: a member just added (whose Add we have not
// processed yet) forwards what it reads in the epoch its Add made, and
// gossipsub never hands us the same message again, even from its author
// (the topic validator lets exactly these through). Before, such a copy
// was dropped, and a label or post of that epoch was lost for good once we
// moved more than pastEpochWindow epochs on (a join burst: ten joins in a
// second). They are read as a stranger's: no catch-up, no hold.
func (s *chanState) buffer(env envelope) {
	if s.untrusted {
		if env.epoch != s.group.Epoch()+1 || len(s.strangerFuture) >= maxStrangerFuture ||
			s.strangerBytes+len(env.msg) > maxStrangerFutureBytes {
			return
		}
		s.strangerFuture = append(s.strangerFuture, env)
		s.strangerBytes += len(env.msg)
		return
	}
	s.needSync = true
	if env.epoch > s.group.Epoch()+maxEpochsAhead || len(s.future) >= maxFuture ||
		s.futureBytes+len(env.msg) > maxFutureBytes {
		return
	}
	s.future = append(s.future, env)
	s.futureBytes += len(env.msg)
}

// otherBranch reports whether MLS refused a message in a way an honest
// member's message of another branch causes: its epoch's keys are not
// ours (a PrivateMessage that does not decrypt, a PublicMessage whose
// membership tag does not verify).
func otherBranch(err error) bool {
	return errors.Is(err, mls.ErrDecryption) || errors.Is(err, mls.ErrInvalidMembershipTag)
}

// isCommit reports whether msg is an MLS commit, from its header alone:
// only a commit can be the competing commit of a branch switch, so nothing
// else costs a load of the previous epoch's state.
func isCommit(msg []byte) bool {
	h, err := mls.PeekMessage(msg)
	return err == nil && h.ContentType == contentCommit
}

// isProposal reports whether msg is an MLS proposal, from its header alone.
func isProposal(msg []byte) bool {
	h, err := mls.PeekMessage(msg)
	return err == nil && h.ContentType == contentProposal
}

// drainFuture processes the buffered messages the group can now read.
func (s *chanState) drainFuture(ctx context.Context) {
	was := s.untrusted
	defer func() { s.untrusted = was }()
	for progress := true; progress; {
		progress = s.drainBuffered(ctx, &s.future, false)
		if s.drainBuffered(ctx, &s.strangerFuture, true) {
			progress = true
		}
	}
	s.futureBytes, s.strangerBytes = 0, 0
	for _, env := range s.future {
		s.futureBytes += len(env.msg)
	}
	for _, env := range s.strangerFuture {
		s.strangerBytes += len(env.msg)
	}
}

// drainBuffered processes the messages of *buf the group can now read, as
// a stranger's if untrusted, and reports whether there were any.
func (s *chanState) drainBuffered(ctx context.Context, buf *[]envelope, untrusted bool) bool {
	progress := false
	rest := (*buf)[:0:0]
	for _, env := range *buf {
		if env.epoch > s.group.Epoch() {
			rest = append(rest, env)
			continue
		}
		progress = true
		s.untrusted = untrusted
		if err := s.receive(ctx, env); err != nil && !errors.Is(err, errHeld) {
			s.n.log.Info("buffered message dropped", "channel", s.id, "err", err)
		}
	}
	*buf = rest
	return progress
}
