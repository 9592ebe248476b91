package store

import (
	"bytes"
	"testing"
)

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xff}, []byte{2}},
		{[]byte{0xff, 0xff}, nil},
	} {
		if got := prefixEnd(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
}

// TestChannelKeysDisjoint: one channel's ranges never hold another's keys,
// even when one ID is a prefix of the other.
func TestChannelKeysDisjoint(t *testing.T) {
	a, ab := ChannelID("a"), ChannelID("ab")
	lo, hi := seqRange(a, subLog, 0, 0)
	for _, k := range [][]byte{
		channelSeqKey(ab, subLog, 1), channelKey(ab, subGroup), channelSeqKey(a, subEvent, 1),
	} {
		if bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0 {
			t.Errorf("key %x inside the log range of %q", k, a)
		}
	}
	p := channelPrefix(a)
	if k := channelKey(ab, subGroup); bytes.HasPrefix(k, p) {
		t.Errorf("channel %q key %x has the prefix of %q", ab, k, a)
	}
}

// TestSeqKeysOrdered: big-endian sequence numbers sort numerically.
func TestSeqKeysOrdered(t *testing.T) {
	seqs := []uint64{0, 1, 255, 256, 1 << 32, 1<<64 - 1}
	for i := 1; i < len(seqs); i++ {
		a, b := channelSeqKey("c", subLog, seqs[i-1]), channelSeqKey("c", subLog, seqs[i])
		if bytes.Compare(a, b) >= 0 || seqOf(b) != seqs[i] {
			t.Errorf("seq %d does not sort before %d", seqs[i-1], seqs[i])
		}
	}
}

func TestDescribeKey(t *testing.T) {
	if got := describeKey(channelSeqKey("c", subLog, 1)); got != "channel/01630300000000000000"+"01" {
		t.Errorf("describeKey = %q", got)
	}
	if got := describeKey(identityKey()); got != "identity" {
		t.Errorf("describeKey(identity) = %q", got)
	}
}
