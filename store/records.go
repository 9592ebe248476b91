package store

import (
	"encoding/binary"
)

// ChannelID identifies a channel: its MLS group ID, 1 to MaxChannelIDLen
// arbitrary bytes held in a string so that it can key maps.
type ChannelID string

// Identity is the node's own identity.
type Identity struct {
	// PrivateKey is the serialized Ed25519 private key, opaque to the store.
	PrivateKey []byte
	// Name is the display name.
	Name string
}

// Entry is one accepted MLS message in a channel's log.
type Entry struct {
	Seq   uint64 // position in the channel's log, from 1, without gaps
	Epoch uint64 // the MLS epoch the message belongs to
	Data  []byte // the serialized MLSMessage
}

// Event is one CRDT event of a channel, in the order it was applied.
type Event struct {
	Seq  uint64 // position in the channel's event sequence, from 1
	Data []byte // the serialized crdt event
}

// Snapshot is a channel's CRDT state after applying events up to EventSeq.
// At most one is kept per channel; writing one replaces the previous one.
type Snapshot struct {
	EventSeq uint64 // last event the snapshot includes
	LogSeq   uint64 // last log entry whose effects the snapshot includes
	Data     []byte // the serialized crdt state
}

// EpochState is the retained state of a past MLS epoch, kept to read late
// messages.
type EpochState struct {
	Epoch uint64
	Data  []byte
}

// OutboxItem is an outgoing message not yet confirmed sent.
type OutboxItem struct {
	Seq  uint64 // chosen by the caller, unique in the channel's outbox
	Data []byte
	// Ref is the caller's own reference for the item, nil if none (node:
	// the own post the item carries, since Data is encrypted). It is
	// written, loaded and deleted with the item.
	Ref []byte
}

// Invite is an invite this node issued for a channel.
type Invite struct {
	ID   []byte // e.g. the hash of the invite secret
	Data []byte
}

// Admission is a join response a member keeps so that a retry after a lost
// response gets the same one, also after a restart.
type Admission struct {
	ID   []byte // chosen by the caller, e.g. a hash of the requester
	Data []byte
}

// Peer is a known peer and its addresses.
type Peer struct {
	ID   string // the libp2p peer ID
	Data []byte // serialized addresses
}

// ChannelState is everything needed to restore a channel at start. Loading
// it costs one point read per record kind and a short scan of each bounded
// range; it does not read the log.
type ChannelState struct {
	ID ChannelID
	// Meta is the channel's metadata as last written with PutChannel.
	Meta []byte
	// Epoch and Group are the current MLS group state; Group is nil if none
	// has been written.
	Epoch uint64
	Group []byte
	// PastEpochs holds the latest retained past-epoch state (none if
	// none); DB.PastEpoch reads older ones.
	PastEpochs []EpochState
	// Snapshot is the latest CRDT snapshot, nil if none.
	Snapshot *Snapshot
	// Events are the events after the snapshot (all events if none), by
	// ascending Seq.
	Events []Event
	// LastSeq is the Seq of the newest log entry, or the snapshot's LogSeq if
	// that is larger (retention may have emptied the log); 0 if neither
	// exists. The next entry appended is LastSeq+1.
	LastSeq uint64
	// LastEventSeq is the Seq of the newest event, or the snapshot's EventSeq
	// if no event follows it; 0 if neither exists.
	LastEventSeq uint64
	// Outbox is the channel's pending outgoing messages, by ascending Seq.
	Outbox []OutboxItem
}

func encodeIdentity(id Identity) []byte {
	b := binary.AppendUvarint(nil, uint64(len(id.PrivateKey)))
	b = append(b, id.PrivateKey...)
	return append(b, id.Name...)
}

func decodeIdentity(key, v []byte) (Identity, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)-k) {
		return Identity{}, &CorruptError{Key: describeKey(key), Reason: "bad identity record"}
	}
	priv := v[k : k+int(n)]
	return Identity{PrivateKey: priv, Name: string(v[k+int(n):])}, nil
}

// withU64 prefixes data with big-endian integers.
func withU64(data []byte, ns ...uint64) []byte {
	b := make([]byte, 0, 8*len(ns)+len(data))
	for _, n := range ns {
		b = binary.BigEndian.AppendUint64(b, n)
	}
	return append(b, data...)
}

// splitU64 reverses withU64 for count integers.
func splitU64(key, v []byte, count int) ([]uint64, []byte, error) {
	if len(v) < 8*count {
		return nil, nil, &CorruptError{Key: describeKey(key), Reason: "record too short"}
	}
	ns := make([]uint64, count)
	for i := range ns {
		ns[i] = binary.BigEndian.Uint64(v[8*i:])
	}
	return ns, v[8*count:], nil
}

func encodeVersion(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func decodeVersion(key, v []byte) (uint32, error) {
	if len(v) != 4 {
		return 0, &CorruptError{Key: describeKey(key), Reason: "bad version record"}
	}
	return binary.BigEndian.Uint32(v), nil
}
