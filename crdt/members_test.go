package crdt

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMembers(t *testing.T) {
	s := build(t, channel()...)
	want := []Member{
		{ID: "alice", Role: RoleOwner, Joined: Time{Wall: 1000}},
		{ID: "bob", Role: RoleAdmin, Joined: Time{Wall: 1010}, Epoch: 1},
		{ID: "carol", Role: RoleMember, Joined: Time{Wall: 1020}, Epoch: 2},
	}
	if diff := cmp.Diff(want, s.Members()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if md := s.Metadata(); md != (Metadata{Name: "general", Creator: "alice"}) {
		t.Errorf("Metadata = %+v", md)
	}
}

// TestCheck is the node's gate before it authors an event.
func TestCheck(t *testing.T) {
	h, used := HashInvite([]byte("s")), HashInvite([]byte("u"))
	p, gone := id("carol", 1), id("carol", 2)
	s := build(t, append(channel(), post("carol", 1, 2000, "hi"), post("carol", 2, 2001, "bye"),
		del("carol", 3, 2002, gone), inviteCreate("bob", 1, 2000, h, 9000, 0),
		inviteCreate("bob", 2, 2000, used, 0, 1), joinedVia("bob", 3, 2100, "dave", 3, used))...)
	tests := []struct {
		name string
		e    Event
		want error
	}{
		{"member posts", post("carol", 4, 3000, "x"), nil},
		{"stranger posts", post("zed", 1, 3000, "x"), ErrForbidden},
		{"author edits", edit("carol", 4, 3000, p, "y"), nil},
		{"other edits", edit("bob", 4, 3000, p, "y"), ErrForbidden},
		{"edit of unknown message", edit("carol", 4, 3000, id("carol", 99), "y"), ErrUnknownMessage},
		{"edit of deleted message", edit("carol", 4, 3000, gone, "y"), ErrUnknownMessage},
		{"admin deletes", del("bob", 4, 3000, p), nil},
		{"member deletes another's", del("dave", 1, 3000, p), ErrForbidden},
		{"member reacts", react("dave", 1, 3000, p, "👍"), nil},
		{"member renames", rename("carol", 4, 3000, "n"), ErrForbidden},
		{"admin renames", rename("bob", 4, 3000, "n"), nil},
		{"admin grants", setRole("bob", 4, 3000, "carol", RoleAdmin), ErrForbidden},
		{"owner grants", setRole("alice", 5, 3000, "carol", RoleAdmin), nil},
		{"owner grants a stranger", setRole("alice", 5, 3000, "zed", RoleAdmin), ErrForbidden},
		{"member admits with invite", joinedVia("carol", 4, 3000, "zed", 4, h), nil},
		{"member admits with expired invite", joinedVia("carol", 4, 9000, "zed", 4, h), ErrInviteExpired},
		{"member admits with used-up invite", joinedVia("carol", 4, 3000, "zed", 4, used), ErrInviteUsedUp},
		{"member admits without invite", joined("carol", 4, 3000, "zed", 4), ErrForbidden},
		{"admin admits without invite", joined("bob", 4, 3000, "zed", 4), nil},
		{"stranger admits", joinedVia("zed", 1, 3000, "yan", 4, h), ErrForbidden},
		{"admit a member", joined("bob", 4, 3000, "carol", 4), ErrForbidden},
		{"admin removes member", removed("bob", 4, 3000, "carol", 4), nil},
		{"admin removes owner", removed("bob", 4, 3000, "alice", 4), ErrForbidden},
		{"owner removes admin", removed("alice", 5, 3000, "bob", 4), nil},
		{"member removes member", removed("carol", 4, 3000, "dave", 4), ErrForbidden},
		{"remove self", removed("alice", 5, 3000, "alice", 4), ErrForbidden},
		{"member leaves", left("bob", 4, 3000, "carol", 4), nil},
		{"member creates invite", inviteCreate("carol", 4, 3000, HashInvite([]byte("n")), 0, 0), ErrForbidden},
		{"invite creator revokes", inviteRevoke("bob", 4, 3000, h), nil},
		{"member revokes another's invite", inviteRevoke("carol", 4, 3000, h), ErrForbidden},
		{"revoke unknown invite", inviteRevoke("bob", 4, 3000, HashInvite([]byte("n"))), ErrInviteUnknown},
		{"second create", create("bob", 4, 3000, "x"), ErrForbidden},
		{"invalid event", post("", 1, 3000, "x"), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Snapshot()
			err := s.Check(tt.e)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
			if !cmp.Equal(before, s.Snapshot()) {
				t.Error("Check changed the state")
			}
		})
	}
}

// TestDisplayNames: members set their own display name, last writer wins;
// a name outlives membership so old messages still show it.
func TestDisplayNames(t *testing.T) {
	evs := append(channel(), profile("carol", 1, 2000, "Carol"), profile("carol", 2, 2100, "Caz"),
		profile("carol", 3, 2050, "older"), profile("zed", 1, 2000, "not a member"),
		profile("bob", 1, 2000, "Bob"), removed("alice", 5, 3000, "bob", 3), profile("bob", 2, 3100, "after removal"))
	eachOrder(t, evs, func(t *testing.T, s *State) {
		names := map[string]string{}
		for _, m := range []string{"alice", "bob", "carol", "zed"} {
			names[m] = s.DisplayName(m)
		}
		want := map[string]string{"alice": "", "bob": "Bob", "carol": "Caz", "zed": ""}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
		if ms := s.Members(); ms[1].ID != "carol" || ms[1].Name != "Caz" {
			t.Errorf("Members = %+v", ms)
		}
	})
}
