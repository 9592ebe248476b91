package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Key layout, version 1 (docs/storage.md). The first byte of a key is its
// tag. Integers are big-endian so that Pebble's byte order is numeric order.
// Per-channel keys carry the channel ID with a one-byte length prefix, so
// that one channel's keys are never a prefix range of another's.
const (
	tagVersion    = 0x01 // {tag} -> format version
	tagIdentity   = 0x02 // {tag} -> the node's identity
	tagChannelIdx = 0x03 // {tag, id...} -> channel metadata
	tagChannel    = 0x04 // {tag, len(id), id..., sub, ...} -> per-channel records
	tagKeyPackage = 0x05 // {tag, ref...} -> key package private bundle
	tagPeer       = 0x06 // {tag, peer ID...} -> peer addresses
)

// Sub-tags of per-channel keys.
const (
	subGroup     = 0x01 // -> current MLS group state
	subPastEpoch = 0x02 // + epoch(8) -> retained past-epoch state
	subLog       = 0x03 // + seq(8) -> log entry
	subEvent     = 0x04 // + seq(8) -> CRDT event
	subSnapshot  = 0x05 // -> CRDT snapshot
	subOutbox    = 0x06 // + seq(8) -> outbox item
	subInvite    = 0x07 // + invite ID -> invite
	subSnapChunk = 0x08 // + generation<<24|index (8) -> a piece of a chunked snapshot
	subAdmission = 0x09 // + admission ID -> join response kept for a retry
	subOutboxRef = 0x0a // + seq(8) -> the caller's reference of an outbox item
)

// Limits on the IDs that become parts of keys.
const (
	// MaxChannelIDLen is the longest channel ID the store accepts.
	MaxChannelIDLen = 255
	// MaxRefLen is the longest key package reference, invite ID or peer ID.
	MaxRefLen = 1024
)

func versionKey() []byte  { return []byte{tagVersion} }
func identityKey() []byte { return []byte{tagIdentity} }

func channelIdxKey(id ChannelID) []byte {
	return append([]byte{tagChannelIdx}, id...)
}

// channelPrefix is the prefix of every per-channel key of id.
func channelPrefix(id ChannelID) []byte {
	k := make([]byte, 0, 2+len(id)+1+8)
	k = append(k, tagChannel, byte(len(id)))
	return append(k, id...)
}

func channelKey(id ChannelID, sub byte) []byte {
	return append(channelPrefix(id), sub)
}

func channelSeqKey(id ChannelID, sub byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(channelKey(id, sub), seq)
}

func channelRefKey(id ChannelID, sub byte, ref []byte) []byte {
	return append(channelKey(id, sub), ref...)
}

// seqRange returns the key range [lo, hi) of sequence-keyed records of one
// kind with sequence numbers in [from, to). to == 0 means no upper limit.
func seqRange(id ChannelID, sub byte, from, to uint64) (lo, hi []byte) {
	lo = channelSeqKey(id, sub, from)
	if to == 0 {
		return lo, prefixEnd(channelKey(id, sub))
	}
	return lo, channelSeqKey(id, sub, to)
}

func keyPackageKey(ref []byte) []byte { return append([]byte{tagKeyPackage}, ref...) }
func peerKey(id string) []byte        { return append([]byte{tagPeer}, id...) }

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// seqOf returns the trailing big-endian sequence number of a key.
func seqOf(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(key)-8:])
}

// describeKey renders a key for error messages. Keys hold only IDs and
// sequence numbers, never secrets.
func describeKey(key []byte) string {
	if len(key) == 0 {
		return "empty key"
	}
	names := map[byte]string{
		tagVersion: "version", tagIdentity: "identity", tagChannelIdx: "channel-index",
		tagChannel: "channel", tagKeyPackage: "key-package", tagPeer: "peer",
	}
	name, ok := names[key[0]]
	if !ok {
		name = fmt.Sprintf("tag-%#x", key[0])
	}
	if len(key) == 1 {
		return name
	}
	return name + "/" + hex.EncodeToString(key[1:])
}
