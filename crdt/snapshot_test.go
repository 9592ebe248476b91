package crdt

import (
	"bytes"
	"errors"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	h := HashInvite([]byte("s"))
	p := id("carol", 1)
	evs := append(channel(), post("carol", 1, 2000, "hi"), edit("carol", 2, 2100, p, "hello"),
		react("bob", 1, 2200, p, "👍"), unreact("bob", 2, 2300, p, "👍", 1), post("carol", 3, 2400, "gone"),
		del("carol", 4, 2500, id("carol", 3)), inviteCreate("bob", 3, 2600, h, 9000, 2),
		joinedVia("carol", 5, 2700, "dave", 3, h), topic("bob", 4, 2800, "t"), post("zed", 4, 1, "gap, no member"))
	s := build(t, evs...)
	b := s.Snapshot()
	r, err := Restore(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot(); !bytes.Equal(got, b) {
		t.Error("snapshot of the restored state differs")
	}
	if got, want := dump(t, r, 5000), dump(t, s, 5000); got != want {
		t.Errorf("views differ:\n%s", firstDiff(want, got))
	}
	if r.MaxTime() != s.MaxTime() || r.Next("zed") != s.Next("zed") {
		t.Error("clock seed or counters differ")
	}
	if empty, err := Restore(New().Snapshot()); err != nil || empty.Len() != 0 {
		t.Errorf("empty round trip: %v", err)
	}
}

func TestRestoreErrors(t *testing.T) {
	good := build(t, channel()...).Snapshot()
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not a snapshot", []byte("hello, world"), ErrMalformed},
		{"version", append([]byte(snapshotMagic), 9), ErrVersion},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed},
		{"author index out of range", append([]byte(snapshotMagic), 1, 1, 1, 'a', 1, 5), ErrMalformed},
		{"unused author", append([]byte(snapshotMagic), 1, 1, 1, 'a', 0), ErrMalformed},
		{"authors out of order", append([]byte(snapshotMagic), 1, 2, 1, 'b', 1, 'a', 0), ErrMalformed},
		{"long author", append(append([]byte(snapshotMagic), 1, 1, 0xff, 0x01), make([]byte, 255)...), ErrTooLarge},
		{"repeated event", append([]byte(snapshotMagic), 1, 1, 1, 'a', 2,
			0, byte(KindCreate), 1, 1, 0, 1, 'n', 0, byte(KindCreate), 1, 1, 0, 1, 'n'), ErrMalformed},
		{"events out of order", append([]byte(snapshotMagic), 1, 1, 1, 'a', 2,
			0, byte(KindCreate), 2, 1, 0, 1, 'n', 0, byte(KindCreate), 1, 0, 0, 1, 'n'), ErrMalformed},
		{"invalid event", append([]byte(snapshotMagic), 1, 1, 1, 'a', 1, 0, byte(KindCreate), 0, 1, 0, 1, 'n'), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Restore(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzRestore: arbitrary bytes never panic and errors are typed; what is
// accepted snapshots to bytes that restore to the same snapshot.
func FuzzRestore(f *testing.F) {
	f.Add(build(f, channel()...).Snapshot())
	p := id("carol", 1)
	f.Add(build(f, append(channel(), post("carol", 1, 2000, "hi"), react("bob", 1, 2100, p, "x"),
		unreact("bob", 2, 2200, p, "x", 1), del("carol", 2, 2300, p))...).Snapshot())
	f.Add(build(f, append(channel(), post("carol", 1, 2000, "hi"), removedCut("alice", 5, 2100, "carol", 3, 2))...).Snapshot())
	f.Add(build(f, append(channel(), rename("bob", 1, 2000, "x"), setRoleCut("alice", 5, 2100, "bob", RoleMember, 1))...).Snapshot())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Restore(b)
		if err != nil {
			if !isDecodeError(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out := s.Snapshot()
		r, err := Restore(out)
		if err != nil {
			t.Fatalf("restoring our own snapshot: %v", err)
		}
		if !bytes.Equal(r.Snapshot(), out) {
			t.Fatal("snapshot not stable")
		}
		var pieces []byte
		r.SnapshotTo(len(b)%97+1, func(p []byte) error { //nolint:errcheck // emit never fails
			pieces = append(pieces, p...)
			return nil
		})
		if !bytes.Equal(pieces, out) {
			t.Fatal("SnapshotTo's pieces differ from Snapshot")
		}
		dump(t, r, 0) // reading a restored state must not panic either
	})
}

// TestSnapshotHoldsEveryEvent: whatever index an event lives in, the
// snapshot has it.
func TestSnapshotHoldsEveryEvent(t *testing.T) {
	evs := samples()
	s := build(t, evs...)
	r, err := Restore(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != len(evs) {
		t.Fatalf("restored %d events, want %d", r.Len(), len(evs))
	}
	for _, e := range evs {
		if _, ok := r.Event(e.ID); !ok {
			t.Errorf("%s %s missing", e.Kind, e.ID)
		}
	}
}

// TestSnapshotToPieces: SnapshotTo hands out exactly Snapshot's bytes, in
// pieces of at least the chunk size but the last, for a simulated channel
// with every kind of event and erasures; emit's error stops it.
func TestSnapshotToPieces(t *testing.T) {
	for seed := range uint64(3) {
		sm := newSim(t, seed, 4)
		sm.run(600)
		s := sm.nodes[0].state
		s.markErased(ID{Author: "someone", Seq: 3}) // an erasure mark of a post not held
		want := s.Snapshot()
		for _, chunk := range []int{0, 1, 7, 100, 4096, len(want), len(want) + 1} {
			var got []byte
			var pieces []int
			err := s.SnapshotTo(chunk, func(p []byte) error {
				got = append(got, p...)
				pieces = append(pieces, len(p))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("seed %d chunk %d: pieces differ from Snapshot", seed, chunk)
			}
			for i, n := range pieces[:len(pieces)-1] {
				if n < chunk {
					t.Fatalf("seed %d chunk %d: piece %d has %d bytes", seed, chunk, i, n)
				}
			}
			if len(pieces) == 0 {
				t.Fatalf("seed %d chunk %d: no piece", seed, chunk)
			}
			if chunk == 100 && len(pieces) < len(want)/(100+MaxEventSize) {
				t.Fatalf("seed %d: %d pieces of %d bytes", seed, len(pieces), len(want))
			}
		}
		stop := errors.New("stop")
		calls := 0
		if err := s.SnapshotTo(16, func([]byte) error { calls++; return stop }); err != stop || calls != 1 {
			t.Fatalf("emit error: got %v after %d calls", err, calls)
		}
	}
}
