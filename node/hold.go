package node

import (
	"bytes"
	"context"
	"errors"
	"time"
)

// Held messages (docs/protocol.md, "Catch-up"). MLS keeps the keys of at
// most 32 skipped generations per sender (§9.2, mls.Config.MaxSkipped): a
// member that comes back from a crash, from being offline or from a
// partition, and reads a sender's new message before its catch-up brought
// the older ones, would delete the keys of all but the newest 32 of them,
// and the sync would bring messages it can no longer read. So the channel
// processes messages with mls.ProcessOptions.KeepSkipped: a message whose
// generation gap exceeds the window is held here, unread and unchanged,
// and a catch-up is asked for; after each synced page (and each message
// read) the held ones are tried again, and they read as soon as the gap is
// filled. A gap that no catch-up fills (nobody has those messages) costs
// what it cost before, but only after heldRuns complete catch-up runs or
// heldMax: the message is then read at the cost of the missing keys. The
// buffer is bounded per channel; a message that does not fit is dropped
// and comes back with the sync (every message is in its sender's log).
const (
	maxHeld      = 1024
	maxHeldBytes = 4 << 20
	heldRuns     = 2
	heldMax      = 30 * time.Second
)

// heldMsg is a message waiting for the catch-up to fill the gap before it.
type heldMsg struct {
	env  envelope
	runs uint64    // chanState.syncRuns when it was first held
	at   time.Time // when it was first held
}

// errHeld: the message was held (or, the buffer full, dropped for the sync
// to bring again); not an error of the message.
var errHeld = errors.New("node: message held until the catch-up fills the gap before it")

// hold keeps a message that a generation gap keeps from being read without
// loss, and asks for a catch-up.
func (s *chanState) hold(env envelope) error {
	s.needSync = true
	h := heldMsg{runs: s.syncRuns, at: time.Now()}
	if s.releasing != nil {
		h = *s.releasing // tried again, still waiting: keep its age
	}
	if len(s.held) >= maxHeld || s.heldBytes+len(env.msg) > maxHeldBytes {
		return errHeld
	}
	// A copy: env.msg may alias a whole synced page.
	h.env = envelope{epoch: env.epoch, msg: bytes.Clone(env.msg)}
	s.held = append(s.held, h)
	s.heldBytes += len(h.env.msg)
	return errHeld
}

// releaseHeld tries the held messages again, until none reads; those held
// through heldRuns complete catch-ups, or for heldMax, are read even at the
// cost of the keys before them.
func (s *chanState) releaseHeld(ctx context.Context) {
	if len(s.held) == 0 || s.releasing != nil {
		return
	}
	for progress := true; progress && len(s.held) > 0; {
		progress = false
		held := s.held
		s.held, s.heldBytes = nil, 0
		for i := range held {
			h := &held[i]
			s.releasing = h
			s.forceGap = s.syncRuns-h.runs >= heldRuns || time.Since(h.at) >= heldMax
			err := s.receive(ctx, h.env)
			s.releasing, s.forceGap = nil, false
			switch {
			case errors.Is(err, errHeld):
			case err != nil:
				progress = true
				s.n.log.Info("held message dropped", "channel", s.id, "err", err)
			default:
				progress = true
			}
		}
	}
}

// heldExpired reports whether a held message waited heldMax.
func (s *chanState) heldExpired() bool {
	return len(s.held) > 0 && time.Since(s.held[0].at) >= heldMax
}
