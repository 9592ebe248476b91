package store

import (
	"fmt"
	"math/rand/v2"
)

// workload generates random batches for one writer. Every ID it uses starts
// with the writer's tag byte, so that the records of concurrent writers can
// be told apart (owner). Sequence numbers follow the rules a channel owner
// keeps: log entries and events without gaps.
type workload struct {
	rng     *rand.Rand
	tag     byte
	nextLog map[ChannelID]uint64
	nextEv  map[ChannelID]uint64
	epoch   map[ChannelID]uint64
	chans   []ChannelID
}

func newWorkload(seed uint64, writer int) *workload {
	w := &workload{
		rng:     rand.New(rand.NewPCG(seed, uint64(writer))),
		tag:     byte('a' + writer),
		nextLog: map[ChannelID]uint64{},
		nextEv:  map[ChannelID]uint64{},
		epoch:   map[ChannelID]uint64{},
	}
	for i := range 3 {
		w.chans = append(w.chans, ChannelID(fmt.Sprintf("%c-chan-%d", w.tag, i)))
	}
	return w
}

// batches returns n random batches.
func (w *workload) batches(n int) []*Batch {
	out := make([]*Batch, n)
	for i := range out {
		b := &Batch{}
		for range 1 + w.rng.IntN(8) {
			w.op(b)
		}
		out[i] = b
	}
	return out
}

func (w *workload) value(what string) []byte {
	v := make([]byte, w.rng.IntN(64))
	for i := range v {
		v[i] = byte(w.rng.Uint32())
	}
	return append([]byte(what+":"), v...)
}

func (w *workload) ref(kind string) []byte {
	return []byte(fmt.Sprintf("%c-%s-%d", w.tag, kind, w.rng.IntN(6)))
}

// op adds one random write to b.
func (w *workload) op(b *Batch) {
	ch := w.chans[w.rng.IntN(len(w.chans))]
	switch k := w.rng.IntN(100); {
	case k < 8:
		b.PutChannel(ch, w.value("meta"))
	case k < 16:
		w.epoch[ch]++
		b.SetGroup(ch, w.epoch[ch], w.value("group"))
		b.PutPastEpoch(ch, EpochState{Epoch: w.epoch[ch] - 1, Data: w.value("past")})
	case k < 20:
		b.DeletePastEpochsBelow(ch, w.epoch[ch]-min(w.epoch[ch], 2))
	case k < 45:
		w.nextLog[ch]++
		b.Append(ch, Entry{Seq: w.nextLog[ch], Epoch: w.epoch[ch], Data: w.value("msg")})
	case k < 60:
		w.nextEv[ch]++
		b.PutEvent(ch, Event{Seq: w.nextEv[ch], Data: w.value("event")})
	case k < 65:
		b.PutSnapshot(ch, Snapshot{EventSeq: w.nextEv[ch], LogSeq: w.nextLog[ch], Data: w.value("snap")})
	case k < 72:
		b.PutOutbox(ch, OutboxItem{Seq: uint64(w.rng.IntN(5)), Data: w.value("out")})
	case k < 76:
		b.DeleteOutbox(ch, uint64(w.rng.IntN(5)))
	case k < 80:
		b.PutInvite(ch, Invite{ID: w.ref("inv"), Data: w.value("invite")})
	case k < 82:
		b.DeleteInvite(ch, w.ref("inv"))
	case k < 87:
		b.PutKeyPackage(w.ref("kp"), w.value("kp"))
	case k < 90:
		b.DeleteKeyPackage(w.ref("kp"))
	case k < 94:
		b.PutPeer(Peer{ID: string(w.ref("peer")), Data: w.value("addrs")})
	case k < 96:
		b.DeletePeer(string(w.ref("peer")))
	case k < 98 && w.tag == 'a':
		b.PutIdentity(Identity{PrivateKey: w.value("priv"), Name: "alice"})
	default:
		b.DeleteChannel(ch)
		w.nextLog[ch], w.nextEv[ch], w.epoch[ch] = 0, 0, 0
	}
}

// owner returns the tag byte of the writer that wrote key; the identity
// belongs to writer 'a'.
func owner(key []byte) byte {
	switch key[0] {
	case tagIdentity:
		return 'a'
	case tagChannel:
		return key[2]
	default:
		return key[1]
	}
}

// ownedBy returns the records of d written by writer tag.
func ownedBy(d map[string][]byte, tag byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range d {
		if owner([]byte(k)) == tag {
			out[k] = v
		}
	}
	return out
}
