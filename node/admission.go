package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// Kept join responses (issue 11, item 3). A member that admits a joiner
// stores the join response in the batch that commits the Add, so that a
// retry after a lost response — the same requester with the same key
// package — gets the same Welcome, also after the member restarts. The
// kept value is the Welcome and the tree; a retry's history and names are
// those of the time of the retry (a kept history would be up to the frame
// limit per joiner and keep text that its author deleted since). Bounds:
// at most maxAdmissions per channel; each kept until the invite expires
// (at most maxAdmissionAge), and deleted by the first commit after that,
// or after the member has left the group (removed, or its Add lost a
// commit conflict). The store seals it like every value; its key is a hash
// of the requester's peer ID.

const (
	// maxAdmissions bounds the join responses a channel keeps.
	maxAdmissions = 16
	// maxAdmissionAge bounds how long one is kept, whatever the invite's
	// expiry.
	maxAdmissionAge = 7 * 24 * time.Hour
)

// admission is a join response kept for a retry: the requester, the key
// package it presented, the response and when it expires (Unix ms).
type admission struct {
	peer    string
	kp      []byte
	resp    []byte
	expires int64
}

// admissionID is the store key of peer's kept join response: a hash, so
// that the store's keys do not name the peers a member admitted.
func admissionID(peer string) []byte {
	h := sha256.Sum256([]byte("spacepanda admission v1\x00" + peer))
	return h[:16]
}

// encode is uvarint(len(kp)) ‖ kp ‖ resp.
func (a *admission) encode() []byte {
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(a.kp)+len(a.resp)), uint64(len(a.kp)))
	return append(append(out, a.kp...), a.resp...)
}

func decodeAdmission(b []byte) (kp, resp []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: a kept join response does not decode", ErrInvalidInput)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// admissionExpiry is when the response to inv is no longer kept.
func (s *chanState) admissionExpiry(inv invite) int64 {
	return min(inv.expires, s.n.nowMs()+maxAdmissionAge.Milliseconds())
}

// keptResponse returns the join response kept for the member peer if it
// presented the key package kp and its time is not up; nil if there is
// none. It runs on the channel's loop.
func (s *chanState) keptResponse(ctx context.Context, peer string, kp, have []byte) ([]byte, error) {
	exp, ok := s.meta.Admitted[peer]
	if !ok || s.n.nowMs() >= exp {
		return nil, nil
	}
	raw, err := s.n.db.Admission(ctx, store.ChannelID(s.id), admissionID(peer))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("node: store: %w", err)
	}
	gotKP, kept, err := decodeAdmission(raw)
	if err != nil || !bytes.Equal(gotKP, kp) {
		return nil, err
	}
	// The same Welcome and tree; the history and names of now (the
	// joiner's Joined event is in it: it was stored with the Add).
	var resp joinResponse
	if err := json.Unmarshal(kept, &resp); err != nil {
		return nil, fmt.Errorf("%w: a kept join response does not decode", ErrInvalidInput)
	}
	resp.History, resp.Names = s.historyFor(have), s.joinNames()
	out, err := json.Marshal(resp)
	if err == nil && len(out) > maxJoinResponse {
		err = fmt.Errorf("%w: the join response would be %d bytes (at most %d)", ErrInvalidInput, len(out), maxJoinResponse)
	}
	return out, err
}

// historyFor returns the history a kept response carries: the whole
// channel, or, for a member that sent its version vector have (a joiner
// asking again, askReadmission), the events it may lack.
func (s *chanState) historyFor(have []byte) []byte {
	if have == nil {
		return s.crdt.Snapshot()
	}
	vv, err := crdt.UnmarshalVersionVector(have)
	if err != nil {
		return s.crdt.Snapshot()
	}
	part := crdt.New()
	for _, e := range s.crdt.Missing(vv) {
		_ = part.Apply(e) // valid: it is in our state
	}
	return part.Snapshot()
}

// dropAdmissions deletes, in the batch of a commit, the kept responses of
// peers that are no longer members and those whose time is up. The
// caller writes the metadata in the same batch.
func (s *chanState) dropAdmissions(b *store.Batch) {
	if len(s.meta.Admitted) == 0 {
		return
	}
	now, members := s.n.nowMs(), s.group.Members()
	keep := make(map[string]int64, len(s.meta.Admitted))
	for p, exp := range s.meta.Admitted {
		if now < exp && containsMember(members, p) {
			keep[p] = exp
			continue
		}
		b.DeleteAdmission(store.ChannelID(s.id), admissionID(p))
	}
	if len(keep) != len(s.meta.Admitted) {
		s.meta.Admitted = keep
	}
}

// keepAdmission stores a in the batch of the commit that adds its peer,
// dropping the kept response that expires first when maxAdmissions are
// kept already.
func (s *chanState) keepAdmission(b *store.Batch, a *admission) {
	if a == nil {
		return
	}
	id := store.ChannelID(s.id)
	next := maps.Clone(s.meta.Admitted)
	if next == nil {
		next = map[string]int64{}
	}
	for len(next) >= maxAdmissions {
		first := ""
		for p, exp := range next {
			if first == "" || exp < next[first] || exp == next[first] && p < first {
				first = p
			}
		}
		delete(next, first)
		b.DeleteAdmission(id, admissionID(first))
	}
	next[a.peer] = a.expires
	s.meta.Admitted = next
	b.PutAdmission(id, store.Admission{ID: admissionID(a.peer), Data: a.encode()})
}
