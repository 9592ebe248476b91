package node

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/store"
)

// Gossip envelope, version 1 (docs/protocol.md, "Envelope"):
//
//	0x01 ‖ epoch (uint64 big-endian) ‖ MLSMessage
//
// The epoch lets the topic validator ignore stale messages without touching
// MLS; MLS authenticates everything, the epoch included.
type envelope struct {
	epoch uint64
	msg   []byte
}

const envelopeHeader = 9

func (e envelope) encode() []byte {
	b := make([]byte, envelopeHeader, envelopeHeader+len(e.msg))
	b[0] = envelopeVersion
	binary.BigEndian.PutUint64(b[1:], e.epoch)
	return append(b, e.msg...)
}

func decodeEnvelope(b []byte) (envelope, error) {
	if len(b) <= envelopeHeader || len(b) > maxEnvelope || b[0] != envelopeVersion {
		return envelope{}, fmt.Errorf("%w: bad envelope", ErrProtocol)
	}
	return envelope{epoch: binary.BigEndian.Uint64(b[1:envelopeHeader]), msg: b[envelopeHeader:]}, nil
}

// Application plaintext, version 1: what an MLS PrivateMessage carries.
//
//	0x01 ‖ u8 len ‖ sender display name ‖ crdt event payload (without author)
//
// The author of the event is the MLS sender, never a field of the payload.
func sealEvent(name string, e crdt.Event) ([]byte, error) {
	payload, err := e.MarshalPayload()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	b := append([]byte{1, byte(len(name))}, name...)
	return append(b, payload...), nil
}

func openEvent(sender string, b []byte) (name string, e crdt.Event, err error) {
	if len(b) < 2 || b[0] != 1 || len(b) < 2+int(b[1]) {
		return "", e, fmt.Errorf("%w: bad application plaintext", ErrProtocol)
	}
	name = string(b[2 : 2+int(b[1])])
	if checkName(name) != nil {
		name = ""
	}
	e, err = crdt.UnmarshalPayload(sender, b[2+int(b[1]):])
	if err != nil {
		return "", e, fmt.Errorf("%w: event: %v", ErrProtocol, err)
	}
	return name, e, nil
}

// step is one local protocol step: an own commit (already merged into the
// group) and local events to encrypt in the epoch that follows it.
type step struct {
	commit      []byte
	commitEpoch uint64 // the epoch the commit was made in
	events      []crdt.Event
	metaChanged bool
	resend      bool // events already stored and applied: only re-encrypt
	pipelined   bool // posts: stored without waiting for the fsync (sendbatch.go)
	// proposal is an own proposal (a leave) to store and publish.
	proposal []byte
	// intent is what the commit means, to propose again if it loses a
	// conflict (commitRecord.Intent).
	intent commitRecord
	// admission is the join response of the Add this step commits, kept
	// in the same batch (admission.go).
	admission *admission
}

// run stores the step (group state, log entries, events, outbox items and
// the state of the epoch left, in one synced batch), applies it to the
// in-memory state, and publishes the outbox. On a store failure the group
// is reloaded from its last stored state, so memory never runs ahead of disk.
func (s *chanState) run(ctx context.Context, st step) error {
	// A flight of posts carries the open batch of live gossip in its own
	// batch (absorbChunk); any other step in the middle of a chunk (a
	// re-send for a joiner after a received Add, a leave proposed again,
	// a commit of proposals) stores the chunk first: its log entries follow
	// the chunk's, and a failed step reloads the group from the stored
	// state, which must include what the chunk read.
	absorb := s.absorbChunk(st)
	if s.chunkDirty && !absorb {
		if err := s.flushChunk(ctx); err != nil {
			return err
		}
	}
	oldCommits, oldBranch, oldAdmitted := slices.Clone(s.meta.Commits), s.meta.Branch, s.meta.Admitted
	if st.commit != nil {
		s.meta.Branch = nil
		st.events = append(st.events, s.leaveLabels(st)...)
	}
	if len(st.events) > 0 {
		// Our events on this branch, by ID, to re-send if it loses a
		// conflict, also after a restart. (Appending leaves the
		// elements oldBranch holds alone: no copy, which cost O(sends
		// since the last commit) per step.)
		for _, e := range st.events {
			s.meta.Branch = append(s.meta.Branch, e.ID.Seq)
		}
		// A flight's posts are new events of ours, which restoreState
		// finds again from BranchNext: the metadata is not rewritten.
		if !st.pipelined || st.commit != nil {
			st.metaChanged = true
		}
	}
	if st.commit != nil {
		lc := s.group.LastCommit()
		rank := lc.Rank
		rank.Hash = hashOf(st.commit)
		s.recordCommit(commitRecord{Epoch: st.commitEpoch + 1, Committer: s.n.id.peerID, Added: lc.Added,
			Removed: lc.Removed, Rank: rank, Intent: st.intent.Intent, Member: st.intent.Member, Role: st.intent.Role,
			Sent: oldBranch})
		s.noteFormer(st.commitEpoch, lc.Removed)
		s.expireJoinKey()
		st.metaChanged = true
	}
	base := &store.Batch{}
	if absorb {
		base = s.chunk.Clone() // s.chunk stays as it is if the step fails
	}
	b, items, seq, state, err := s.stepBatch(st, base)
	built := err == nil
	if built {
		err = s.storeStep(ctx, b, st)
	}
	if err != nil {
		s.meta.Commits, s.meta.Branch, s.meta.Admitted, s.relabel = oldCommits, oldBranch, oldAdmitted, nil
		if absorb {
			s.unabsorb(ctx, built)
		}
		s.rollback()
		return err
	}
	if absorb {
		// Stored with the step: the chunk ends as closeLive ends it.
		s.endChunk(true)
		s.closeChunk()
	}
	prev := s.stored
	s.lastSeq, s.stored = seq, state
	s.publishEpoch()
	if st.commit != nil {
		s.prevState = prev
	}
	s.countQueued(items) // before the message events: our posts show queued
	for _, e := range st.events {
		if !st.resend {
			s.commitApplied(e)
		}
	}
	s.queueItems(st, items)
	if len(items) > 0 {
		s.lastQueued = items[len(items)-1].Seq
	}
	s.flushErr = s.flushOutbox(ctx)
	s.maybeSnapshot(ctx)
	r := s.relabel
	s.relabel = nil
	if st.commit != nil {
		for _, ev := range s.dueUnbacked() {
			if !slices.ContainsFunc(r, func(x crdt.Event) bool { return x.ID == ev.ID }) {
				r = append(r, ev)
			}
		}
	}
	if len(r) > 0 {
		return s.resend(ctx, r)
	}
	return nil
}

// absorbChunk reports whether step st stores the open batch of live gossip
// (receivelive.go) in its own batch: a flight of posts (sendbatch.go) does,
// so that the group state, sealed and written once per batch, is written
// once for both, and Pebble commits one batch instead of two. The chunk
// becomes durable with the flight's fsync instead of with a later one:
// nothing it holds waits longer than it did when stored before the step.
func (s *chanState) absorbChunk(st step) bool {
	return s.chunkDirty && s.liveOpen() && st.pipelined && s.flying != nil && !s.lazy
}

// unabsorb handles a flight that failed after absorbChunk chose to carry
// the open chunk. If its batch could not be built (built false: MLS refused
// to encrypt, for instance because proposals are pending, before changing
// the group), the chunk is stored on its own, as it would have been before
// the step, and the step's rollback reloads the state stored with it. If
// the store refused the batch, the chunk was lost with it: it is dropped
// as flushChunk drops a chunk the store refused, and the catch-up brings
// its messages again.
func (s *chanState) unabsorb(ctx context.Context, built bool) {
	if built {
		s.lastSeq, s.lastEventSeq = s.chunkSeq, s.chunkEventSeq
		s.chunk, s.chunkDirty = &store.Batch{}, false
		s.needSync = true
		s.chunkFailures++
		s.endChunk(false)
		return
	}
	if err := s.flushChunk(ctx); err != nil {
		s.n.log.Warn("received messages not stored", "channel", s.id, "err", err)
	}
}

// stepBatch builds the batch of a step and its outbox items, adding them
// to b (empty, or the open chunk that the step carries: absorbChunk).
func (s *chanState) stepBatch(st step, b *store.Batch) (_ *store.Batch, items []store.OutboxItem, seq uint64, state []byte, err error) {
	id := store.ChannelID(s.id)
	seq, out := s.lastSeq, s.nextOutboxSeq()
	// Alone in the channel there is nobody to deliver to: the log has it,
	// and a member who joins later gets the history.
	alone := len(s.group.Members()) <= 1
	queue := func(epoch uint64, msg []byte, publish bool, ref []byte) {
		seq++
		b.Append(id, store.Entry{Seq: seq, Epoch: epoch, Data: msg})
		if !publish {
			return
		}
		it := store.OutboxItem{Seq: out, Data: envelope{epoch: epoch, msg: msg}.encode(), Ref: ref}
		out++
		b.PutOutbox(id, it)
		items = append(items, it)
	}
	if st.commit != nil {
		s.keepPastEpoch(b, st.commitEpoch)
		s.dropAdmissions(b)
		s.keepAdmission(b, st.admission)
		// A commit that removes the last other member is published all the
		// same, so that the removed member learns it (flushOutbox).
		queue(st.commitEpoch, st.commit, !alone || len(s.group.LastCommit().Removed) > 0, nil)
	}
	if st.proposal != nil {
		queue(s.group.Epoch(), st.proposal, true, nil)
	}
	for i, e := range st.events {
		bin, err := e.MarshalBinary()
		if err != nil {
			return nil, nil, 0, nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
		}
		if !st.resend {
			b.PutEvent(id, store.Event{Seq: s.lastEventSeq + uint64(i) + 1, Data: bin})
		}
		pt, err := sealEvent(s.n.displayName(), e)
		if err != nil {
			return nil, nil, 0, nil, err
		}
		msg, err := s.group.Encrypt(pt)
		if err != nil {
			return nil, nil, 0, nil, fmt.Errorf("node: encrypt: %w", err)
		}
		var ref []byte
		if e.Kind == crdt.KindPost && e.ID.Author == s.n.id.peerID {
			ref = postRef(e.ID) // its delivery state (delivery.go)
		}
		queue(s.group.Epoch(), msg, !alone, ref)
	}
	if st.metaChanged {
		b.PutChannel(id, s.metaBytes())
	}
	state, err = s.putGroup(b)
	return b, items, seq, state, err
}

// rollback reloads the group from the last stored state after a failed step.
func (s *chanState) rollback() {
	if s.stored == nil {
		return
	}
	g, err := s.n.eng.Load(s.stored)
	if err != nil {
		s.n.log.Error("reload group after failed step", "channel", s.id, "err", err)
		return
	}
	s.group = g
}

func hashOf(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// errRemoved: this node was removed from the channel (or left it).
var errRemoved = fmt.Errorf("%w: you are no longer a member of this channel", ErrRemoved)

// authorLocal assigns e its ID and time, checks it, and runs it as a step,
// committing pending proposals first when MLS requires it.
func (s *chanState) authorLocal(ctx context.Context, e crdt.Event) (crdt.Event, error) {
	if err := s.gone(); err != nil {
		return e, err
	}
	e.ID = s.crdt.Next(s.n.id.peerID)
	e.Time = s.clock.Now(s.n.nowMs())
	if err := s.crdt.Check(e); err != nil {
		return e, crdtError(err)
	}
	err := s.run(ctx, step{events: []crdt.Event{e}})
	if !errors.Is(err, mls.ErrProposalsPending) {
		return e, err
	}
	// A member who has proposals of the epoch (a leaver's Remove) must
	// commit them before sending (RFC 9420 §12.4).
	epoch := s.group.Epoch()
	commit, err := s.group.CommitPending()
	if err != nil {
		s.rollback()
		return e, fmt.Errorf("node: commit pending proposals: %w", err)
	}
	return e, s.run(ctx, step{commit: commit, commitEpoch: epoch, events: []crdt.Event{e}})
}

// runResend re-encrypts events of a losing branch in the current epoch.
func (s *chanState) runResend(ctx context.Context, events []crdt.Event) error {
	return s.run(ctx, step{events: events, resend: true})
}
