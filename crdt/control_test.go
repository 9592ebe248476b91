package crdt

import (
	"errors"
	"testing"
)

// TestPermissions runs small histories and checks roles and metadata; every
// history is applied in several orders.
func TestPermissions(t *testing.T) {
	tests := []struct {
		name      string
		evs       []Event
		roles     map[string]Role
		chanName  string
		chanTopic string
	}{
		{
			name:     "creator is owner; joiners are members; owner grants admin",
			evs:      channel(),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "a second create is void",
			evs:      append(channel(), create("carol", 1, 500, "mine")),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "admin renames and sets topic; member cannot",
			evs:      append(channel(), rename("bob", 1, 2000, "ops"), topic("bob", 2, 2001, "t"), rename("carol", 1, 3000, "mine"), topic("carol", 2, 3001, "no")),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "ops", chanTopic: "t",
		},
		{
			name:     "rename is last writer wins by HLC then ID",
			evs:      append(channel(), rename("bob", 1, 2000, "b"), rename("alice", 5, 2000, "a"), rename("alice", 6, 1999, "early")),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "b", // equal times: ID order puts bob after alice
		},
		{
			name:     "admins cannot grant roles",
			evs:      append(channel(), setRole("bob", 1, 2000, "carol", RoleAdmin)),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "a grant ordered before the join is void",
			evs:      append(channel(), setRole("alice", 5, 1015, "carol", RoleAdmin)),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "the last owner cannot step down",
			evs:      append(channel(), setRole("alice", 5, 2000, "alice", RoleMember)),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleAdmin, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "an owner leaving hands ownership to the senior admin",
			evs:      append(channel(), left("bob", 1, 2000, "alice", 3)),
			roles:    map[string]Role{"bob": RoleOwner, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "the creator leaving and re-joining stays the channel's creator",
			evs:      append(channel(), left("bob", 1, 2000, "alice", 3), joined("bob", 2, 3000, "alice", 4), rename("bob", 3, 4000, "renamed")),
			roles:    map[string]Role{"alice": RoleMember, "bob": RoleOwner, "carol": RoleMember},
			chanName: "renamed",
		},
		{
			name:     "removed then re-joined comes back as member",
			evs:      append(channel(), removed("alice", 5, 2000, "bob", 3), joined("alice", 6, 3000, "bob", 4)),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleMember, "carol": RoleMember},
			chanName: "general",
		},
		{
			name:     "a membership event stale by epoch is ignored",
			evs:      append(channel(), removed("alice", 5, 3000, "bob", 4), joined("alice", 6, 3100, "bob", 3)),
			roles:    map[string]Role{"alice": RoleOwner, "carol": RoleMember},
			chanName: "general",
		},
		{
			name: "demoted admin's later rename is void (permission race)",
			evs: append(channel(), setRole("alice", 5, 2000, "bob", RoleMember),
				rename("bob", 1, 2001, "late"), rename("bob", 2, 1999, "early")),
			roles:    map[string]Role{"alice": RoleOwner, "bob": RoleMember, "carol": RoleMember},
			chanName: "early",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachOrder(t, tt.evs, func(t *testing.T, s *State) {
				got := map[string]Role{}
				for _, m := range s.Members() {
					got[m.ID] = m.Role
				}
				if !mapsEqual(got, tt.roles) {
					t.Errorf("roles = %v, want %v", got, tt.roles)
				}
				if md := s.Metadata(); md.Name != tt.chanName || md.Topic != tt.chanTopic {
					t.Errorf("metadata = %+v, want name %q topic %q", md, tt.chanName, tt.chanTopic)
				}
			})
		})
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDemotionRace: an owner demotes an admin while the admin deletes a
// member's message. Whichever comes first in HLC order decides, at every
// replica, whatever order they arrive in.
func TestDemotionRace(t *testing.T) {
	base := append(channel(), post("carol", 1, 2000, "spam"))
	tests := []struct {
		name        string
		demote, del int64
		deleted     bool
	}{
		{"delete before demotion", 3000, 2999, true},
		{"delete after demotion", 3000, 3001, false},
		{"same millisecond: ID order (alice before bob)", 3000, 3000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := append(base, setRole("alice", 5, tt.demote, "bob", RoleMember), del("bob", 1, tt.del, id("carol", 1)))
			eachOrder(t, evs, func(t *testing.T, s *State) {
				m, err := s.Message(id("carol", 1))
				if err != nil {
					t.Fatal(err)
				}
				if m.Deleted != tt.deleted {
					t.Errorf("deleted = %v, want %v", m.Deleted, tt.deleted)
				}
			})
		})
	}
}

// TestRemovalByDemotedAdmin: membership mirrors MLS, so a removal stands
// even when its author had just been demoted; what the demotion stops is
// the demoted admin's later role-gated actions.
func TestRemovalByDemotedAdmin(t *testing.T) {
	evs := append(channel(), setRole("alice", 5, 3000, "bob", RoleMember),
		removed("bob", 1, 3001, "carol", 3), rename("bob", 2, 3002, "bob's"))
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if r := s.Role("carol"); r != RoleNone {
			t.Errorf("carol's role = %s, want none: the MLS removal stands", r)
		}
		if n := s.Metadata().Name; n != "general" {
			t.Errorf("name = %q, want general", n)
		}
	})
	// The node's gate, asked before committing, refuses the demoted admin.
	s := build(t, append(channel(), setRole("alice", 5, 3000, "bob", RoleMember))...)
	if err := s.Check(removed("bob", 1, 3001, "carol", 3)); !errors.Is(err, ErrForbidden) {
		t.Errorf("Check(removal by demoted admin) = %v, want ErrForbidden", err)
	}
}

// TestPostsFollowMembership: a post counts only if its author was a member
// at its place in the order; arriving before the join does not matter.
func TestPostsFollowMembership(t *testing.T) {
	evs := append(channel(),
		post("dave", 1, 1500, "before join"),
		joined("bob", 1, 2000, "dave", 3),
		post("dave", 2, 2500, "member"),
		removed("alice", 5, 3000, "dave", 4),
		post("dave", 3, 3500, "after removal"))
	eachOrder(t, evs, func(t *testing.T, s *State) {
		ms, err := s.Messages(ID{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Text != "member" {
			t.Errorf("messages = %+v, want only %q", ms, "member")
		}
	})
}

func TestRoleAt(t *testing.T) {
	s := build(t, append(channel(), setRole("alice", 5, 2000, "bob", RoleMember), removed("alice", 6, 3000, "bob", 3))...)
	c := s.controls()
	tests := []struct {
		wall int64
		want Role
	}{{1000, RoleNone}, {1011, RoleMember}, {1500, RoleAdmin}, {2500, RoleMember}, {3500, RoleNone}}
	for _, tt := range tests {
		e := post("zed", 1, tt.wall, "x")
		if got := c.roleAt("bob", &e); got != tt.want {
			t.Errorf("roleAt(bob, %d) = %s, want %s", tt.wall, got, tt.want)
		}
	}
}
