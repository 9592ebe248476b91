package node

import (
	"encoding/json"
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
