package crdt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersion(t *testing.T) {
	s := build(t, append(channel(), post("carol", 2, 2000, "after a gap"), post("bob", 1, 2001, "b"))...)
	want := VersionVector{"alice": 4, "bob": 1} // carol/1 is missing: no prefix
	if diff := cmp.Diff(want, s.Version()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if err := s.Apply(post("carol", 1, 1999, "fills it")); err != nil {
		t.Fatal(err)
	}
	if got := s.Version()["carol"]; got != 2 {
		t.Errorf("carol = %d after the gap filled, want 2", got)
	}
}

// TestMissing: a peer that applies what Missing returns ends identical.
func TestMissing(t *testing.T) {
	all := append(channel(), post("carol", 1, 2000, "a"), post("bob", 1, 2001, "b"), post("carol", 2, 2002, "c"))
	full := build(t, all...)
	peer := build(t, all[0], all[1], all[4]) // has alice/1-2 and carol/1
	evs := full.Missing(peer.Version())
	got := []ID{}
	for _, e := range evs {
		got = append(got, e.ID)
	}
	want := []ID{id("alice", 3), id("alice", 4), id("bob", 1), id("carol", 2)} // total order
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	applyAll(t, peer, evs)
	if !bytes.Equal(peer.Snapshot(), full.Snapshot()) {
		t.Error("peer differs after sync")
	}
	if n := len(full.Missing(full.Version())); n != 0 {
		t.Errorf("Missing(own version) = %d events", n)
	}
}

func TestVersionVectorCodec(t *testing.T) {
	vv := VersionVector{"alice": 4, "bob": 1 << 40}
	b, err := vv.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalVersionVector(b)
	if err != nil || !cmp.Equal(vv, got) {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrVersion},
		{"out of order", []byte{1, 2, 1, 'b', 1, 1, 'a', 1}, ErrMalformed},
		{"repeated", []byte{1, 2, 1, 'a', 1, 1, 'a', 1}, ErrMalformed},
		{"zero counter", []byte{1, 1, 1, 'a', 0}, ErrMalformed},
		{"too many authors", []byte{1, 0xff, 0xff, 0x7f}, ErrTooLarge},
		{"long author", append([]byte{1, 1, 0xff, 0x01}, make([]byte, 255)...), ErrTooLarge},
		{"trailing", append(bytes.Clone(b), 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnmarshalVersionVector(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzVersionVector: no panic, typed errors, canonical round trip.
func FuzzVersionVector(f *testing.F) {
	b, _ := VersionVector{"alice": 4, "bob": 9}.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		vv, err := UnmarshalVersionVector(b)
		if err != nil {
			if !isDecodeError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if out, err := vv.MarshalBinary(); err != nil || !bytes.Equal(out, b) {
			t.Fatalf("re-encodes to %x, %v; input %x", out, err, b)
		}
	})
}
