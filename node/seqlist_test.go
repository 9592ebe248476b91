package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

func TestSeqListRoundTrip(t *testing.T) {
	for _, l := range []seqList{nil, {7}, {1, 2, 3}, {1, 2, 3, 7, 8, 10}, {5, 4, 3}, {3, 3}} {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var got seqList
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v: %s: %v", l, b, err)
		}
		if !slices.Equal(got, l) {
			t.Fatalf("%v encoded as %s decodes to %v", l, b, got)
		}
	}
	long := make(seqList, 5000)
	for i := range long {
		long[i] = uint64(i + 1)
	}
	if b, _ := json.Marshal(long); string(b) != "[[1,5000]]" {
		t.Fatalf("5,000 consecutive counters encode as %d bytes, want one run", len(b))
	}
}

// TestSeqListReadsFlat: metadata written by earlier versions (a flat list)
// still loads.
func TestSeqListReadsFlat(t *testing.T) {
	var m channelMeta
	if err := json.Unmarshal([]byte(`{"v":1,"branch":[4,5,9]}`), &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Branch, seqList{4, 5, 9}) {
		t.Fatalf("branch %v", m.Branch)
	}
}

func TestSeqListBadInput(t *testing.T) {
	for _, in := range []string{`[[5,4]]`, `[[0,18446744073709551615]]`, `"x"`, `[[1]]`, `[[1,2,3]]`} {
		var l seqList
		if err := json.Unmarshal([]byte(in), &l); err == nil {
			t.Errorf("%s decoded without error: %v", in, l)
		}
	}
}

// TestFlightKeepsMetadata: posts sent in flights do not rewrite the
// channel's metadata (a JSON encoding of all of it per send), and after a
// restart Branch holds them all the same, as they would be re-sent if the
// last commit lost a conflict.
func TestFlightKeepsMetadata(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	storedMeta := func(n *Node) []byte {
		t.Helper()
		states, err := n.db.Channels(ctx)
		if err != nil || len(states) != 1 {
			t.Fatalf("channels: %v, %d", err, len(states))
		}
		return states[0].Meta
	}
	branch := func(n *Node) (b seqList) {
		t.Helper()
		if err := n.channel(ci.ID).do(ctx, func(s *chanState) error { b = slices.Clone(s.meta.Branch); return nil }); err != nil {
			t.Fatal(err)
		}
		return b
	}
	before, first := storedMeta(n), branch(n)
	for i := range 5 {
		if _, err := n.Send(ctx, ci.ID, fmt.Sprint("post ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if after := storedMeta(n); !bytes.Equal(after, before) {
		t.Errorf("five posts rewrote the metadata:\n%s\n%s", before, after)
	}
	want := branch(n)
	if len(want) != len(first)+5 {
		t.Fatalf("branch %v after five posts, %v before", want, first)
	}
	n.Close()
	n = open(t, home, false)
	if got := branch(n); !slices.Equal(got, want) {
		t.Fatalf("branch after a restart %v, want %v", got, want)
	}
	// A step that writes the metadata (a rename) writes Branch in full,
	// and the next restart finds the same.
	if _, err := n.Rename(ctx, ci.ID, "news"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, ci.ID, "after the rename"); err != nil {
		t.Fatal(err)
	}
	want = branch(n)
	n.Close()
	n = open(t, home, false)
	if got := branch(n); !slices.Equal(got, want) || len(got) != len(first)+7 {
		t.Fatalf("branch after a rename, a post and a restart %v, want %v (%d more than %v)", got, want, 7, first)
	}
}
