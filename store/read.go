package store

import (
	"context"
	"errors"
)

// kvReader is a consistent read view of plaintext records: the DB's opens
// sealed values from a Pebble snapshot, the MemDB's reads its map.
type kvReader interface {
	// get returns the value at key or an error matching ErrNotFound.
	get(key []byte) ([]byte, error)
	// scan calls fn for the records in [lo, hi) in key order (reverse order
	// if reverse), stopping after limit records if limit > 0 or when fn
	// returns errStop. hi == nil means no upper bound. key and value are
	// valid only during the call.
	scan(ctx context.Context, lo, hi []byte, reverse bool, limit int, fn func(key, value []byte) error) error
}

// errStop ends a scan early without error.
var errStop = errors.New("store: stop scan")

// viewer runs fn on a consistent read view.
type viewer interface {
	view(ctx context.Context, fn func(r kvReader) error) error
}

// reads implements the read API of DB and MemDB on a viewer.
type reads struct{ v viewer }

// Identity returns the node's identity, or an error matching ErrNotFound.
func (rs reads) Identity(ctx context.Context) (Identity, error) {
	var id Identity
	err := rs.v.view(ctx, func(r kvReader) error {
		v, err := r.get(identityKey())
		if err != nil {
			return err
		}
		id, err = decodeIdentity(identityKey(), v)
		return err
	})
	return id, err
}

// Channels returns the state of every channel, ordered by ID.
func (rs reads) Channels(ctx context.Context) ([]ChannelState, error) {
	var out []ChannelState
	err := rs.v.view(ctx, func(r kvReader) error {
		ids, err := channelIDs(ctx, r)
		if err != nil {
			return err
		}
		out = make([]ChannelState, 0, len(ids))
		for _, id := range ids {
			st, err := loadChannel(ctx, r, id)
			if err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// Channel returns the state of one channel, or an error matching ErrNotFound.
func (rs reads) Channel(ctx context.Context, id ChannelID) (ChannelState, error) {
	var st ChannelState
	err := rs.v.view(ctx, func(r kvReader) error {
		var err error
		st, err = loadChannel(ctx, r, id)
		return err
	})
	return st, err
}

// PastEpoch returns the retained state of a past epoch of the channel, or
// an error matching ErrNotFound.
func (rs reads) PastEpoch(ctx context.Context, id ChannelID, epoch uint64) ([]byte, error) {
	var out []byte
	err := rs.v.view(ctx, func(r kvReader) error {
		v, err := r.get(channelSeqKey(id, subPastEpoch, epoch))
		out = clone(v)
		return err
	})
	return out, err
}

// Log returns up to limit log entries of the channel with Seq >= from, in
// order (all of them if limit <= 0).
func (rs reads) Log(ctx context.Context, id ChannelID, from uint64, limit int) ([]Entry, error) {
	var out []Entry
	err := rs.v.view(ctx, func(r kvReader) error {
		lo, hi := seqRange(id, subLog, from, 0)
		return r.scan(ctx, lo, hi, false, limit, func(k, v []byte) error {
			ns, data, err := splitU64(k, v, 1)
			if err != nil {
				return err
			}
			out = append(out, Entry{Seq: seqOf(k), Epoch: ns[0], Data: clone(data)})
			return nil
		})
	})
	return out, err
}

// Events returns up to limit events of the channel with Seq > after, in
// order (all of them if limit <= 0).
func (rs reads) Events(ctx context.Context, id ChannelID, after uint64, limit int) ([]Event, error) {
	var out []Event
	err := rs.v.view(ctx, func(r kvReader) error {
		var err error
		out, err = loadEvents(ctx, r, id, after, limit)
		return err
	})
	return out, err
}

// Invites returns the invites recorded for the channel, ordered by ID.
func (rs reads) Invites(ctx context.Context, id ChannelID) ([]Invite, error) {
	var out []Invite
	err := rs.v.view(ctx, func(r kvReader) error {
		p := channelKey(id, subInvite)
		return r.scan(ctx, p, prefixEnd(p), false, 0, func(k, v []byte) error {
			out = append(out, Invite{ID: clone(k[len(p):]), Data: clone(v)})
			return nil
		})
	})
	return out, err
}

// Admission returns the join response kept under admissionID in the
// channel, or an error matching ErrNotFound.
func (rs reads) Admission(ctx context.Context, id ChannelID, admissionID []byte) ([]byte, error) {
	var out []byte
	err := rs.v.view(ctx, func(r kvReader) error {
		v, err := r.get(channelRefKey(id, subAdmission, admissionID))
		out = clone(v)
		return err
	})
	return out, err
}

// KeyPackage returns the private bundle stored under ref, or an error
// matching ErrNotFound.
func (rs reads) KeyPackage(ctx context.Context, ref []byte) ([]byte, error) {
	var out []byte
	err := rs.v.view(ctx, func(r kvReader) error {
		v, err := r.get(keyPackageKey(ref))
		out = clone(v)
		return err
	})
	return out, err
}

// Peers returns every known peer, ordered by ID.
func (rs reads) Peers(ctx context.Context) ([]Peer, error) {
	var out []Peer
	err := rs.v.view(ctx, func(r kvReader) error {
		p := []byte{tagPeer}
		return r.scan(ctx, p, prefixEnd(p), false, 0, func(k, v []byte) error {
			out = append(out, Peer{ID: string(k[1:]), Data: clone(v)})
			return nil
		})
	})
	return out, err
}

func channelIDs(ctx context.Context, r kvReader) ([]ChannelID, error) {
	var ids []ChannelID
	p := []byte{tagChannelIdx}
	err := r.scan(ctx, p, prefixEnd(p), false, 0, func(k, _ []byte) error {
		ids = append(ids, ChannelID(k[1:]))
		return nil
	})
	return ids, err
}

// loadChannel reads one channel's state: point reads and scans of bounded
// ranges, never the log (its last entry is found with one reverse seek).
func loadChannel(ctx context.Context, r kvReader, id ChannelID) (ChannelState, error) {
	st := ChannelState{ID: id}
	meta, err := r.get(channelIdxKey(id))
	if err != nil {
		return st, err
	}
	st.Meta = clone(meta)
	steps := []func(context.Context, kvReader, *ChannelState) error{
		loadGroup, loadPastEpochs, loadSnapshotAndEvents, loadLastSeq, loadOutbox,
	}
	for _, step := range steps {
		if err := step(ctx, r, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func loadGroup(_ context.Context, r kvReader, st *ChannelState) error {
	k := channelKey(st.ID, subGroup)
	v, err := r.get(k)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ns, data, err := splitU64(k, v, 1)
	if err != nil {
		return err
	}
	st.Epoch, st.Group = ns[0], clone(data)
	return nil
}

func loadPastEpochs(ctx context.Context, r kvReader, st *ChannelState) error {
	// Only the latest: older ones are read when needed (PastEpoch).
	lo, hi := seqRange(st.ID, subPastEpoch, 0, 0)
	return r.scan(ctx, lo, hi, true, 1, func(k, v []byte) error {
		st.PastEpochs = append(st.PastEpochs, EpochState{Epoch: seqOf(k), Data: clone(v)})
		return nil
	})
}

func loadSnapshotAndEvents(ctx context.Context, r kvReader, st *ChannelState) error {
	k := channelKey(st.ID, subSnapshot)
	v, err := r.get(k)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		ns, data, err := splitU64(k, v, 2)
		if err != nil {
			return err
		}
		h, chunked, err := parseChunkHeader(k, data)
		switch {
		case err != nil:
			return err
		case chunked:
			data, err = readChunks(ctx, r, st.ID, h)
			if err != nil {
				return err
			}
		default:
			data = clone(data)
		}
		st.Snapshot = &Snapshot{EventSeq: ns[0], LogSeq: ns[1], Data: data}
		st.LastEventSeq = ns[0]
	}
	var after uint64
	if st.Snapshot != nil {
		after = st.Snapshot.EventSeq
	}
	st.Events, err = loadEvents(ctx, r, st.ID, after, 0)
	if n := len(st.Events); n > 0 {
		st.LastEventSeq = st.Events[n-1].Seq
	}
	return err
}

func loadEvents(ctx context.Context, r kvReader, id ChannelID, after uint64, limit int) ([]Event, error) {
	if after == KeepAll {
		return nil, nil
	}
	var out []Event
	lo, hi := seqRange(id, subEvent, after+1, 0)
	err := r.scan(ctx, lo, hi, false, limit, func(k, v []byte) error {
		out = append(out, Event{Seq: seqOf(k), Data: clone(v)})
		return nil
	})
	return out, err
}

// loadLastSeq finds the newest log entry with one reverse seek. Retention
// may have deleted every entry the snapshot covers, so the snapshot's LogSeq
// counts too: sequence numbers never go back.
func loadLastSeq(ctx context.Context, r kvReader, st *ChannelState) error {
	if st.Snapshot != nil {
		st.LastSeq = st.Snapshot.LogSeq
	}
	last, err := lastLogKey(ctx, r, st.ID)
	st.LastSeq = max(st.LastSeq, last)
	return err
}

// lastLogKey returns the Seq of the channel's newest log entry, 0 if none.
func lastLogKey(ctx context.Context, r kvReader, id ChannelID) (uint64, error) {
	var last uint64
	lo, hi := seqRange(id, subLog, 0, 0)
	err := r.scan(ctx, lo, hi, true, 1, func(k, _ []byte) error {
		last = seqOf(k)
		return nil
	})
	return last, err
}

// lastSeq returns the channel's LastSeq as loadChannel computes it.
func lastSeq(ctx context.Context, r kvReader, id ChannelID) (uint64, error) {
	last, err := lastLogKey(ctx, r, id)
	if err != nil {
		return 0, err
	}
	k := channelKey(id, subSnapshot)
	v, err := r.get(k)
	if errors.Is(err, ErrNotFound) {
		return last, nil
	}
	if err != nil {
		return 0, err
	}
	ns, _, err := splitU64(k, v, 2)
	if err != nil {
		return 0, err
	}
	return max(last, ns[1]), nil
}

func loadOutbox(ctx context.Context, r kvReader, st *ChannelState) error {
	lo, hi := seqRange(st.ID, subOutbox, 0, 0)
	if err := r.scan(ctx, lo, hi, false, 0, func(k, v []byte) error {
		st.Outbox = append(st.Outbox, OutboxItem{Seq: seqOf(k), Data: clone(v)})
		return nil
	}); err != nil {
		return err
	}
	// References, by the same ascending seq: one merge pass.
	lo, hi = seqRange(st.ID, subOutboxRef, 0, 0)
	i := 0
	return r.scan(ctx, lo, hi, false, 0, func(k, v []byte) error {
		seq := seqOf(k)
		for i < len(st.Outbox) && st.Outbox[i].Seq < seq {
			i++
		}
		if i < len(st.Outbox) && st.Outbox[i].Seq == seq {
			st.Outbox[i].Ref = clone(v)
		}
		return nil
	})
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
