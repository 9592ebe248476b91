package crdt

import (
	"slices"
	"testing"
)

func setRoleCut(a string, seq uint64, wall int64, m string, r Role, cut uint64) Event {
	return withCut(setRole(a, seq, wall, m, r), cut)
}

// TestDemotionCapsBackdated: bob, an admin, deletes carol's first post
// while admin (his counter 1). Alice demotes him with cut 2: she held his
// counter 1. Bob then dates a delete of carol's second post, a rename and
// an invite back into his admin period. They take effect as a plain
// member's would, in every arrival order: the post stays, the name and
// the invite do not change; his first delete stays.
func TestDemotionCapsBackdated(t *testing.T) {
	var h InviteHash
	h[0] = 9
	evs := append(channel(),
		post("carol", 1, 1100, "one"),
		post("carol", 2, 1110, "two"),
		del("bob", 1, 1120, id("carol", 1)),
		del("bob", 2, 1180, id("carol", 2)), // sent after the demotion, dated before it
		rename("bob", 3, 1185, "hijacked"),
		inviteCreate("bob", 4, 1190, h, 0, 0),
		setRoleCut("alice", 5, 1200, "bob", RoleMember, 2),
		post("bob", 5, 1300, "still a member"),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if got, want := shown(t, s), []string{"", "two", "still a member"}; !slices.Equal(got, want) {
			t.Errorf("timeline %q, want %q", got, want)
		}
		if name := s.Metadata().Name; name != "general" {
			t.Errorf("name %q, want general", name)
		}
		if _, err := s.Invite(h, 1300); err == nil {
			t.Error("the demoted admin's back-dated invite is valid")
		}
	})
}

// TestDemotedOwnerCannotBackdateRoles: alice makes bob owner, then
// demotes him to member with cut 1 (she held none of his events). Bob
// dates a promotion of carol to admin back into his owner period; it takes
// no effect, so carol's rename after it does not either. A demotion
// without a cut keeps the old rule: bob's back-dated promotion of carol
// counts.
func TestDemotedOwnerCannotBackdateRoles(t *testing.T) {
	evs := append(channel(),
		setRole("alice", 5, 1100, "bob", RoleOwner),
		setRole("bob", 1, 1190, "carol", RoleAdmin), // sent after the demotion, dated before it
		setRoleCut("alice", 6, 1200, "bob", RoleMember, 1),
		rename("carol", 1, 1300, "carols"),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if name := s.Metadata().Name; name != "general" {
			t.Errorf("name %q, want general", name)
		}
		if r := s.controls().role("carol"); r != RoleMember {
			t.Errorf("carol is %s, want member", r)
		}
	})
	evs[len(evs)-2] = setRole("alice", 6, 1200, "bob", RoleMember)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if name := s.Metadata().Name; name != "carols" {
			t.Errorf("without a cut: name %q, want carols", name)
		}
	})
}

// TestMutualDemotion: bob and carol, both owners, demote each other at
// once, each with a cut past the other's events it held. Every order of
// arrival ends in the same state: the demotion placed first wins.
func TestMutualDemotion(t *testing.T) {
	evs := append(channel(),
		setRole("alice", 5, 1100, "bob", RoleOwner),
		setRole("alice", 6, 1110, "carol", RoleOwner),
		setRoleCut("bob", 1, 1200, "carol", RoleMember, 1),
		setRoleCut("carol", 1, 1201, "bob", RoleMember, 1),
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		c := s.controls()
		if b, cr := c.role("bob"), c.role("carol"); b != RoleOwner || cr != RoleMember {
			t.Errorf("bob %s, carol %s; want owner, member", b, cr)
		}
	})
}

// TestDemotionCutCodec: a demotion's cut survives the event and snapshot
// encodings; a promotion without one encodes as before.
func TestDemotionCutCodec(t *testing.T) {
	cutRoundTrip(t, setRoleCut("alice", 5, 1200, "bob", RoleMember, 4), setRole("alice", 5, 1200, "bob", RoleMember))
}

// TestCompactWaitsForDemotion: carol holds bob's back-dated delete of her
// post, and reports from alice and bob that cover it, but not yet alice's
// demotion of bob that caps it. Compacting then would erase the post for
// good at carol while the others show it: Compact waits until carol holds
// what each member reported of itself.
func TestCompactWaitsForDemotion(t *testing.T) {
	evs := append(channel(),
		post("carol", 1, 1100, "keep me"),
		del("bob", 1, 1120, id("carol", 1)), // sent after the demotion, dated before it
		post("alice", 5, 1150, "hello"),
		post("bob", 2, 1300, "later"),
	)
	demotion := setRoleCut("alice", 6, 1200, "bob", RoleMember, 1)
	peers := map[string]VersionVector{
		"alice": {"alice": 6, "bob": 2, "carol": 1},
		"bob":   {"alice": 6, "bob": 2, "carol": 1},
	}
	s := build(t, evs...)
	if n := s.Compact("carol", peers); n != 0 {
		t.Fatalf("compacted %d messages before holding the demotion", n)
	}
	if err := s.Apply(demotion); err != nil {
		t.Fatal(err)
	}
	if n := s.Compact("carol", peers); n != 0 {
		t.Fatalf("compacted %d messages: the capped delete counts as a member's", n)
	}
	if got, want := shown(t, s), []string{"keep me", "hello", "later"}; !slices.Equal(got, want) {
		t.Errorf("timeline %q, want %q", got, want)
	}
}

// TestVoidRoleChangesKeepControlState: role changes with a cut that take
// no effect (carol, a plain member, demoting bob), placed last or back-
// dated, keep the derived control state: a member sending them cannot make
// every read rebuild it. An owner's demotion with a cut rebuilds it.
func TestVoidRoleChangesKeepControlState(t *testing.T) {
	s := build(t, append(channel(),
		setRole("alice", 5, 1100, "carol", RoleAdmin),
		setRoleCut("alice", 6, 1200, "carol", RoleMember, 1), // caps exist: two passes
	)...)
	c := s.controls()
	for i, e := range []Event{
		setRoleCut("carol", 1, 1300, "bob", RoleMember, 1), // last
		setRoleCut("carol", 2, 1050, "bob", RoleMember, 1), // back-dated
		setRole("carol", 3, 1060, "bob", RoleOwner),        // back-dated, no cut
	} {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
		if s.controls() != c {
			t.Fatalf("void role change %d rebuilt the control state", i)
		}
	}
	if err := s.Apply(setRoleCut("alice", 7, 1400, "bob", RoleMember, 1)); err != nil {
		t.Fatal(err)
	}
	if s.controls() == c {
		t.Fatal("an owner's demotion with a cut kept the control state")
	}
	if r := s.controls().role("bob"); r != RoleMember {
		t.Fatalf("bob is %s, want member", r)
	}
}
