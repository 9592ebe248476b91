package crdt

import (
	"errors"
	"slices"
	"testing"
)

func removedCut(a string, seq uint64, wall int64, m string, epoch, cut uint64) Event {
	return withCut(removed(a, seq, wall, m, epoch), cut)
}

// withCut returns e, a departure or a role change, with cut in Target.
func withCut(e Event, cut uint64) Event {
	e.Target = ID{Author: e.Member, Seq: cut}
	return e
}

// cutRoundTrip checks that e's cut survives the event and snapshot
// encodings and that plain, e without it, decodes with none. It returns
// both encodings.
func cutRoundTrip(t *testing.T, e, plain Event) (b, pb []byte) {
	t.Helper()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Event
	if err := got.UnmarshalBinary(b); err != nil || got.Target != e.Target {
		t.Fatalf("round trip: %v, target %v", err, got.Target)
	}
	if pb, err = plain.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if err := got.UnmarshalBinary(pb); err != nil || !got.Target.IsZero() {
		t.Fatalf("without a cut: %v, target %v", err, got.Target)
	}
	s := build(t, append(channel(), e)...)
	r, err := Restore(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Snapshot(), s.Snapshot()) {
		t.Fatal("snapshot round trip changed the state")
	}
	return b, pb
}

func shown(t *testing.T, s *State) []string {
	t.Helper()
	ms, err := s.Messages(ID{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return texts(ms)
}

// TestCutVoidsBackdatedEvents: carol is removed with cut 3 (the remover
// held her counters 1 and 2). Her posts 1 and 2 stay; post 3, made after
// the removal but dated before it, and her edit of post 1 with counter 4
// count for nothing, in every arrival order. After she joins again, her
// new posts show.
func TestCutVoidsBackdatedEvents(t *testing.T) {
	evs := append(channel(),
		post("carol", 1, 1100, "one"),
		post("carol", 2, 1110, "two"),
		post("carol", 3, 1190, "backdated"), // sent after the removal, dated before it
		edit("carol", 4, 1195, id("carol", 1), "rewritten"),
		removedCut("alice", 5, 1200, "carol", 3, 3),
		joined("alice", 6, 1300, "carol", 4),
		post("carol", 5, 1310, "back again"),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if got, want := shown(t, s), []string{"one", "two", "back again"}; !slices.Equal(got, want) {
			t.Errorf("timeline %q, want %q", got, want)
		}
	})
}

// TestNoCutKeepsOldRule: a departure without a cut (encoded before cuts
// existed) voids only what is placed after it.
func TestNoCutKeepsOldRule(t *testing.T) {
	evs := append(channel(),
		post("carol", 1, 1100, "one"),
		post("carol", 2, 1190, "dated before"),
		removed("alice", 5, 1200, "carol", 3),
		post("carol", 3, 1210, "after"),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if got, want := shown(t, s), []string{"one", "dated before"}; !slices.Equal(got, want) {
			t.Errorf("timeline %q, want %q", got, want)
		}
	})
}

// TestCutCodec: a cut survives the event and snapshot encodings; an event
// encoded without one decodes with none; a cut naming another member, or
// counter 0, is refused; a version 1 snapshot (no cuts) is still read.
func TestCutCodec(t *testing.T) {
	e := removedCut("alice", 5, 1200, "carol", 3, 7)
	plain := removed("alice", 5, 1200, "carol", 3)
	b, pb := cutRoundTrip(t, e, plain)
	if len(pb) >= len(b) {
		t.Fatalf("an event without a cut encodes as long as one with (%d, %d)", len(pb), len(b))
	}
	var got Event
	if err := got.UnmarshalBinary(append(pb, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("cut 0: %v, want ErrMalformed", err)
	}
	bad := e
	bad.Target.Author = "dave"
	if _, err := bad.MarshalBinary(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cut of another member: %v, want ErrInvalid", err)
	}
	// The same state without cuts, as versions 1 and 2 wrote it: version
	// 1 has no cut after the departure, neither has version 2 after the
	// role change of channel().
	old := build(t, append(channel(), plain)...)
	v1, v2 := snapshotV(t, old, 1), snapshotV(t, old, 2)
	if len(v1)+1 != len(v2) || len(v2)+1 != len(old.Snapshot()) {
		t.Fatalf("snapshots of versions 1, 2, 3: %d, %d, %d bytes; want one cut byte more each", len(v1), len(v2), len(old.Snapshot()))
	}
	for v, b := range [][]byte{v1, v2} {
		r, err := Restore(b)
		if err != nil {
			t.Fatalf("version %d snapshot: %v", v+1, err)
		}
		if !slices.Equal(r.Snapshot(), old.Snapshot()) {
			t.Fatalf("version %d snapshot: restored state differs", v+1)
		}
	}
}

// snapshotV returns s's snapshot in the layout of version v.
func snapshotV(t *testing.T, s *State, v byte) []byte {
	t.Helper()
	var out []byte
	if err := s.snapshotTo(v, 1<<30, func(p []byte) error { out = slices.Clone(p); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCutVoidsBackdatedControl: bob, an admin, is removed with cut 2 (the
// remover held his counter 1, a rename). After the removal he creates an
// invite and renames the channel, dated before it: neither takes effect,
// in any arrival order; his first rename stays.
func TestCutVoidsBackdatedControl(t *testing.T) {
	var h InviteHash
	h[0] = 7
	evs := append(channel(),
		rename("bob", 1, 1100, "bobs"),
		inviteCreate("bob", 2, 1180, h, 0, 0),
		rename("bob", 3, 1190, "hijacked"),
		removedCut("alice", 5, 1200, "bob", 3, 2),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if name := s.Metadata().Name; name != "bobs" {
			t.Errorf("name %q, want bobs", name)
		}
		if _, err := s.Invite(h, 1300); err == nil {
			t.Error("the removed admin's back-dated invite is valid")
		}
	})
}

// TestDemotedAdminsInvitesDie: bob, an admin, creates an invite, is
// demoted, then dates another invite back into his admin period; neither
// admits anyone any more. An invite by an admin who then left stays valid.
func TestDemotedAdminsInvitesDie(t *testing.T) {
	var before, backdated, carols InviteHash
	before[0], backdated[0], carols[0] = 1, 2, 3
	evs := append(channel(),
		setRole("alice", 5, 1040, "carol", RoleAdmin),
		inviteCreate("bob", 1, 1100, before, 0, 0),
		inviteCreate("carol", 1, 1110, carols, 0, 0),
		inviteCreate("bob", 2, 1190, backdated, 0, 0),
		setRole("alice", 6, 1200, "bob", RoleMember),
		left("alice", 7, 1300, "carol", 3),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		for _, h := range []InviteHash{before, backdated} {
			if _, err := s.Invite(h, 2000); !errors.Is(err, ErrInviteRevoked) {
				t.Errorf("invite %d of the demoted admin: %v, want ErrInviteRevoked", h[0], err)
			}
		}
		if _, err := s.Invite(carols, 2000); err != nil {
			t.Errorf("the invite of an admin who left: %v", err)
		}
		if n := len(s.Invites(2000)); n != 1 {
			t.Errorf("%d valid invites listed, want 1", n)
		}
	})
}
