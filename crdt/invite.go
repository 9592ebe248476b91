package crdt

import (
	"bytes"
	"fmt"
	"slices"
)

// InviteInfo describes a recorded invite.
type InviteInfo struct {
	Hash      InviteHash
	Creator   string // the member who recorded it
	Created   Time
	Expires   int64 // Unix ms; 0 for never
	MaxUses   int   // 0 for unlimited
	Uses      int   // joins that named this invite
	Remaining int   // uses left; -1 for unlimited
	Revoked   bool
}

// Invite answers the node's admission question: is the invite with hash h
// valid at time nowMs (Unix ms), and how many uses remain. It returns the
// invite's description and nil, or ErrInviteUnknown, ErrInviteRevoked
// (also when its creator is still a member but no longer admin or owner),
// ErrInviteExpired or ErrInviteUsedUp (with the description when known).
//
// Uses are counted from the Joined events that name the invite. Two members
// admitting concurrently can both succeed on the last use: the count then
// exceeds the limit and Remaining is 0 (docs/crdt.md, "Invites").
func (s *State) Invite(h InviteHash, nowMs int64) (InviteInfo, error) {
	return s.controls().inviteStatus(h, nowMs)
}

// Invites returns the invites valid at nowMs, by hash.
func (s *State) Invites(nowMs int64) []InviteInfo {
	c := s.controls()
	var out []InviteInfo
	for h := range c.invites {
		if info, err := c.inviteStatus(h, nowMs); err == nil {
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b InviteInfo) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
	return out
}

func (c *controlState) inviteStatus(h InviteHash, nowMs int64) (InviteInfo, error) {
	inv := c.invites[h]
	if inv == nil {
		return InviteInfo{}, ErrInviteUnknown
	}
	info := c.describe(h, inv)
	switch {
	case inv.revoked:
		return info, ErrInviteRevoked
	case c.members[info.Creator] != nil && c.members[info.Creator].role < RoleAdmin:
		// Its creator was demoted: its invites die with its role. A
		// demoted admin could otherwise date an invite back into its
		// admin period and go on admitting (docs/crdt.md, "Invites").
		return info, fmt.Errorf("%w: its creator is no longer admin or owner", ErrInviteRevoked)
	case info.Expires != 0 && nowMs >= info.Expires:
		return info, fmt.Errorf("%w at %d", ErrInviteExpired, info.Expires)
	case info.Remaining == 0:
		return info, fmt.Errorf("%w: %d of %d", ErrInviteUsedUp, info.Uses, info.MaxUses)
	}
	return info, nil
}

func (c *controlState) describe(h InviteHash, inv *invite) InviteInfo {
	e := inv.created
	info := InviteInfo{
		Hash: h, Creator: e.ID.Author, Created: e.Time, Expires: e.Expires,
		MaxUses: int(e.MaxUses), Uses: c.uses[h], Remaining: -1, Revoked: inv.revoked,
	}
	if info.MaxUses > 0 {
		info.Remaining = max(0, info.MaxUses-info.Uses)
	}
	return info
}
