package crdt

import (
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
