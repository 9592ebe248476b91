package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// Re-admission after a lost Add (docs/protocol.md, "Re-admission").
//
// An admitter's Add can lose a commit conflict: a commit for an epoch
// before it, which the admitter had applied, is beaten by another one for
// that epoch (the 5-node testbed: the owner applied node2's key update,
// admitted two members, then node1's competing update reached it after a
// restart; node1's leaf is lower, so it won, and the owner switched to it).
// The switch drops the Add, but the joiner has already joined with its
// Welcome, on the branch nobody else is on any more: before, it stayed
// there for good, reading nothing and read by nobody.
//
// Now the admitter adds the joiner again on the winning branch, with the
// key package it kept for a retry (admission.go), and hands the joiner the
// new join response on the delivery protocol. The joiner keeps its key
// package's private keys for readmitWindow after it joins, and takes a
// re-admission only from the member that admitted it, for its channel,
// encrypted to that key package: it moves onto the new group, merges the
// history, and sends again what it sent on the lost branch.

// readmitWindow is how long a joiner keeps the private keys of the key
// package it joined with, to take a re-admission. Beyond it the keys are
// deleted (forward secrecy: they decrypt any Welcome to that key package).
const readmitWindow = 10 * time.Minute

// readmitHistoryMax bounds the history a pushed re-admission carries: it
// travels in one delivery request (maxDeliverRequest), base64-encoded
// twice (in the join response, which is base64 in the request). A longer
// one is left out; the joiner's catch-up and the members' re-sends for a
// joiner bring what it missed.
const readmitHistoryMax = 384 << 10

// Pushes of a re-admission: tries, and the pause between two.
const (
	readmitTries = 8
	readmitPause = 2 * time.Second
)

// keptAdds returns, for our commits in mine that added a member, the key
// package kept for a retry of that member's join: read before a switch,
// whose commit batch deletes the kept responses of peers that are not
// members of the winning branch (dropAdmissions).
func (s *chanState) keptAdds(ctx context.Context, mine []commitRecord) map[string]*admission {
	var out map[string]*admission
	for _, r := range mine {
		if r.Intent != "add" {
			continue
		}
		exp, ok := s.meta.Admitted[r.Member]
		if !ok || s.n.nowMs() >= exp {
			continue
		}
		raw, err := s.n.db.Admission(ctx, store.ChannelID(s.id), admissionID(r.Member))
		if err != nil {
			continue
		}
		kp, _, err := decodeAdmission(raw)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]*admission{}
		}
		out[r.Member] = &admission{peer: r.Member, kp: kp, expires: exp}
	}
	return out
}

// readmit adds a again, on the branch we switched to, with the key package
// it joined with, and hands it the new join response.
func (s *chanState) readmit(ctx context.Context, a *admission) error {
	if s.meta.Removed || !s.group.Active() {
		return errRemoved
	}
	if containsMember(s.group.Members(), a.peer) {
		return nil // the winning branch has it too
	}
	if s.group.Roles().of(s.n.id.peerID) < crdt.RoleAdmin {
		return fmt.Errorf("%w: only owners and admins admit members", ErrForbidden)
	}
	epoch := s.group.Epoch()
	commit, welcome, tree, err := s.group.Add(a.kp)
	if err != nil {
		s.rollback()
		return fmt.Errorf("%w: key package refused: %v", ErrProtocol, err)
	}
	if !containsMember(s.group.Members(), a.peer) {
		s.rollback()
		return fmt.Errorf("%w: the key package's credential does not name %s", ErrProtocol, a.peer)
	}
	short, err := json.Marshal(joinResponse{Version: joinRequestVersion, Channel: s.id, Welcome: welcome, Tree: tree})
	if err != nil {
		s.rollback()
		return err
	}
	push := short
	if hist := s.crdt.Snapshot(); len(hist) <= readmitHistoryMax {
		if full, err := json.Marshal(joinResponse{Version: joinRequestVersion, Channel: s.id, Welcome: welcome,
			Tree: tree, History: hist, Names: s.joinNames()}); err == nil && (len(full)+2)/3*4+1024 <= maxDeliverRequest {
			push = full
		}
	}
	// The joiner's Joined line, re-sent once this commit backs it
	// (checkMirror): the copy the switch re-sent came before it.
	s.relabelLater(a.peer, crdt.KindJoined)
	kept := &admission{peer: a.peer, kp: a.kp, resp: short, expires: a.expires}
	if err := s.run(ctx, step{commit: commit, commitEpoch: epoch, admission: kept,
		intent: commitRecord{Intent: "add", Member: a.peer}}); err != nil {
		return err
	}
	s.n.log.Info("re-admitted a member whose Add lost a commit conflict", "channel", s.id, "member", a.peer,
		"epoch", epoch+1)
	s.pushReadmission(a.peer, push)
	return nil
}

// pushReadmission hands peer its new join response on the delivery
// protocol, until it takes it or readmitTries pass. Best effort: a joiner
// that stays unreachable all that time stays on the lost branch
// (docs/protocol.md, "Re-admission").
func (s *chanState) pushReadmission(peer string, resp []byte) {
	n := s.n
	if n.host == nil {
		return
	}
	req, _ := json.Marshal(deliverRequest{Channel: s.id, Readmit: resp})
	if len(req) > maxDeliverRequest {
		n.log.Warn("re-admission too large to hand over", "channel", s.id, "member", peer, "bytes", len(req))
		return
	}
	id := s.id
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for try := range readmitTries {
			if try > 0 {
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(readmitPause):
				}
			}
			if n.deliverTo([]p2p.PeerID{p2p.PeerID(peer)}, req) > 0 {
				n.log.Debug("re-admission taken", "channel", id, "member", peer)
				return
			}
		}
		n.log.Warn("re-admission not taken", "channel", id, "member", peer)
	}()
}

// errNoReadmit: a re-admission this node did not expect.
var errNoReadmit = fmt.Errorf("%w: no re-admission expected from this peer", ErrForbidden)

// takeReadmission moves the channel onto the group of a re-admission by
// from (readmit): only the member that admitted us, within readmitWindow
// of our join, with a Welcome to the key package we joined with, for this
// channel's group, holding from. Everything is checked before anything
// changes; a refusal changes nothing.
func (s *chanState) takeReadmission(ctx context.Context, from string, raw []byte) error {
	if s.meta.JoinKey == nil || s.meta.JoinedVia != from || s.n.nowMs() >= s.meta.JoinKeyUntil {
		return errNoReadmit
	}
	var resp joinResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.Version != joinRequestVersion {
		return fmt.Errorf("%w: malformed re-admission", ErrProtocol)
	}
	if resp.Channel != s.id {
		return fmt.Errorf("%w: re-admitted to %q, a member of %q", ErrProtocol, resp.Channel, s.id)
	}
	g, err := s.n.eng.Join(resp.Welcome, resp.Tree, s.meta.JoinKey)
	if err != nil {
		return fmt.Errorf("%w: welcome: %v", ErrProtocol, err)
	}
	if got := hex.EncodeToString(g.GroupID()); got != s.id {
		return fmt.Errorf("%w: the Welcome is for group %s, not channel %s", ErrProtocol, got, s.id)
	}
	if !containsMember(g.Members(), from) || !containsMember(g.Members(), s.n.id.peerID) {
		return fmt.Errorf("%w: the Welcome's group does not hold %s and us", ErrProtocol, from)
	}
	missing, err := s.missingFrom(resp.History)
	if err != nil {
		return err
	}
	if s.group.Active() && g.Epoch() == s.group.Epoch() && bytes.Equal(g.EpochAuthenticator(), s.group.EpochAuthenticator()) ||
		g.Epoch() == s.meta.JoinEpoch && bytes.Equal(g.EpochAuthenticator(), s.meta.JoinAuth) {
		// The admission we are on: taken already, or the join's, which an
		// ask brings when our Add did not lose. Its history tops ours up
		// (askReadmission).
		return s.storeHistory(ctx, missing)
	}
	if err := s.flushChunk(ctx); err != nil {
		return err
	}
	id := store.ChannelID(s.id)
	b := &store.Batch{}
	if err := s.putEvents(b, missing); err != nil {
		return err
	}
	lost := s.lostEvents(0) // ours on the lost branch
	// Replaced, not changed in place (but Names, as everywhere): the copy
	// restores them if the store fails.
	oldMeta, oldGroup, oldStored, oldPrev := s.meta, s.group, s.stored, s.prevState
	s.group, s.prevState, s.losers, s.pastRead, s.awaiting = g, nil, nil, nil, nil
	s.meta.Commits, s.meta.Branch, s.meta.Removed, s.meta.SyncFloor = nil, nil, false, g.Epoch()+1
	s.meta.JoinEpoch, s.meta.JoinAuth = g.Epoch(), g.EpochAuthenticator()
	if s.c != nil {
		s.c.members.Store(nil) // publishEpoch refreshes it
	}
	b.DeletePastEpochsBelow(id, math.MaxUint64) // the lost branch's
	for p, name := range resp.Names {
		if checkName(name) == nil {
			s.setName(p, name)
		}
	}
	b.PutChannel(id, s.metaBytes())
	state, err := s.putGroup(b)
	if err == nil {
		err = s.n.db.Apply(ctx, b)
	}
	if err != nil {
		s.meta, s.group, s.stored, s.prevState = oldMeta, oldGroup, oldStored, oldPrev
		s.publishEpoch()
		return fmt.Errorf("%w: %w", errStore, err)
	}
	s.stored = state
	s.publishEpoch()
	s.applyHistory(missing)
	s.n.log.Info("re-admitted after the admitter's Add lost a commit conflict", "channel", s.id,
		"epoch", g.Epoch(), "history", len(missing), "resent", len(lost))
	// What the winning branch said before we were on it: from the epoch
	// we were added in, like a join.
	s.needSync, s.syncRounds, s.syncFloor = true, max(s.syncRounds, syncRounds), g.Epoch()+1
	s.maybeSnapshot(ctx)
	if err := s.resend(ctx, lost); err != nil && !errors.Is(err, ErrProtocol) {
		return err
	}
	return nil
}

// missingFrom returns the events of the history snapshot hist that we do
// not hold, in total order.
func (s *chanState) missingFrom(hist []byte) ([]crdt.Event, error) {
	if len(hist) == 0 {
		return nil, nil
	}
	h, err := crdt.Restore(hist)
	if err != nil {
		return nil, fmt.Errorf("%w: history: %v", ErrProtocol, err)
	}
	var out []crdt.Event
	for _, e := range h.Missing(s.crdt.Version()) {
		if _, have := s.crdt.Event(e.ID); !have {
			out = append(out, e)
		}
	}
	return out, nil
}

// storeHistory stores and applies events of an admitter's history that we
// lack: the events only, no log entry, like readPast's.
func (s *chanState) storeHistory(ctx context.Context, events []crdt.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := s.flushChunk(ctx); err != nil {
		return err
	}
	b := &store.Batch{}
	if err := s.putEvents(b, events); err != nil {
		return err
	}
	if err := s.n.db.Apply(ctx, b); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	s.applyHistory(events)
	s.maybeSnapshot(ctx)
	s.n.log.Info("history topped up by the admitter", "channel", s.id, "events", len(events))
	return nil
}

// putEvents adds the history events to b, numbered after our last event.
func (s *chanState) putEvents(b *store.Batch, events []crdt.Event) error {
	for i, e := range events {
		bin, err := e.MarshalBinary()
		if err != nil {
			return fmt.Errorf("%w: history: %v", ErrProtocol, err)
		}
		b.PutEvent(store.ChannelID(s.id), store.Event{Seq: s.lastEventSeq + uint64(i) + 1, Data: bin})
	}
	return nil
}

// applyHistory applies history events putEvents stored.
func (s *chanState) applyHistory(events []crdt.Event) {
	for _, e := range events {
		_ = s.clock.Observe(e.Time, s.n.nowMs()) // a far-future time is applied, not followed
		s.commitApplied(e)
	}
}

// keepJoinRequest stores, with the channel just joined, the join request
// that admitted us, for askReadmission.
func (n *Node) keepJoinRequest(ctx context.Context, id string, req []byte) {
	c := n.channel(id)
	if c == nil {
		return
	}
	err := c.do(ctx, func(s *chanState) error {
		if s.meta.JoinKey == nil {
			return nil
		}
		s.meta.JoinRequest = req
		b := &store.Batch{}
		b.PutChannel(store.ChannelID(s.id), s.metaBytes())
		return s.n.db.Apply(ctx, b)
	})
	if err != nil {
		n.log.Warn("keep the join request", "channel", id, "err", err)
	}
}

// readmitAskGap is the least time between two asks for a re-admission.
const readmitAskGap = 10 * time.Second

// askReadmission asks the member that admitted us, within readmitWindow
// of the join, for our join response again, when a member's message
// shows another branch: if our Add lost a commit conflict and the push of
// the re-admission never reached us (we were unreachable, or the admitter
// stopped before it was taken), the kept response is the re-admission
// (admission.go, keptResponse), and we take it. If our Add did not lose,
// it is our original admission, which takeReadmission ignores. At most
// once per readmitAskGap; best effort.
func (s *chanState) askReadmission() {
	if s.meta.JoinRequest == nil || s.meta.JoinKey == nil || s.n.nowMs() >= s.meta.JoinKeyUntil ||
		s.n.host == nil || s.asking || time.Since(s.lastAsk) < readmitAskGap {
		return
	}
	s.asking, s.lastAsk = true, time.Now()
	n, c, req, via := s.n, s.c, s.meta.JoinRequest, s.meta.JoinedVia
	var jr joinRequest
	if json.Unmarshal(req, &jr) == nil {
		if have, err := s.crdt.Version().MarshalBinary(); err == nil {
			jr.Have = have
			req, _ = json.Marshal(jr)
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		resp, err := n.askMember(n.ctx, p2p.PeerInfo{ID: p2p.PeerID(via)}, req)
		c.do(n.ctx, func(s *chanState) error { //nolint:errcheck // ErrClosed at shutdown
			s.asking = false
			if err != nil {
				n.log.Debug("ask for a re-admission", "channel", s.id, "err", err)
				return nil
			}
			raw, err := json.Marshal(resp)
			if err == nil {
				err = s.takeReadmission(n.ctx, via, raw)
			}
			if err != nil {
				n.log.Info("asked-for re-admission refused", "channel", s.id, "err", err)
			}
			return nil
		})
	}()
}

// readmitTopUps are the times after its join at which a joiner asks its
// admitter again (askReadmission), whatever it saw: the admitter's history
// tops up the one of the join. A message posted before the joiner's Add
// that reached the admitter only after it made that history (held for a
// generation gap, or late by gossip) is in no epoch the joiner can read,
// and its author's re-send for joiners may never reach the joiner (it
// was published before the joiner was on the topic, and a catch-up brings
// it only from a log that has it).
var readmitTopUps = []time.Duration{5 * time.Second, 20 * time.Second, 60 * time.Second}

// maybeTopUp asks for the next top-up when its time has come; after a
// restart, those whose time passed long ago are skipped but the last.
func (s *chanState) maybeTopUp() {
	if s.topUps >= len(readmitTopUps) || s.meta.JoinRequest == nil || s.meta.JoinKey == nil || s.asking {
		return
	}
	since := time.Duration(s.n.nowMs()-(s.meta.JoinKeyUntil-readmitWindow.Milliseconds())) * time.Millisecond
	for s.topUps+1 < len(readmitTopUps) && since >= readmitTopUps[s.topUps+1] {
		s.topUps++
	}
	if since < readmitTopUps[s.topUps] {
		return
	}
	s.topUps++
	s.lastAsk = time.Time{}
	s.askReadmission()
}
