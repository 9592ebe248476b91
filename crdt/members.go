package crdt

import (
	"slices"
	"strings"
)

// Member is a current member of the channel.
type Member struct {
	ID     string
	Name   string // display name (Profile); empty when never set
	Role   Role
	Joined Time   // time of the Create or Joined event that admitted them
	Epoch  uint64 // MLS epoch of that commit
}

// Metadata is the channel's name and topic (last writer wins among
// permitted changes) and its creator.
type Metadata struct {
	Name    string
	Topic   string
	Creator string
}

// Members returns the current members, by ID.
func (s *State) Members() []Member {
	c := s.controls()
	out := make([]Member, 0, len(c.members))
	for id, m := range c.members {
		out = append(out, Member{ID: id, Name: s.displayName(c, id), Role: m.role, Joined: m.joined.Time, Epoch: m.epoch})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Role returns m's current role; RoleNone when m is not a member.
func (s *State) Role(m string) Role { return s.controls().role(m) }

// DisplayName returns the display name m last set while a member (last
// writer wins by total order), also after m left; empty when never set.
func (s *State) DisplayName(m string) string { return s.displayName(s.controls(), m) }

// displayName returns the text of m's last Profile made while a member.
func (s *State) displayName(c *controlState, m string) string {
	list := s.profiles[m]
	for i := len(list) - 1; i >= 0; i-- {
		if c.roleAt(m, list[i]) >= RoleMember {
			return list[i].Text
		}
	}
	return ""
}

// Metadata returns the channel's name, topic and creator.
func (s *State) Metadata() Metadata {
	c := s.controls()
	return Metadata{Name: c.name, Topic: c.topic, Creator: c.creator}
}
