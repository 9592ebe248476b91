package crdt

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInvite(t *testing.T) {
	h1, h2, h3, h4 := HashInvite([]byte("one")), HashInvite([]byte("two")), HashInvite([]byte("three")), HashInvite([]byte("four"))
	evs := append(channel(),
		inviteCreate("bob", 1, 2000, h1, 10_000, 2),
		joinedVia("carol", 1, 3000, "dave", 3, h1),
		inviteCreate("alice", 5, 2000, h2, 0, 0),
		inviteRevoke("bob", 2, 4000, h2),
		inviteCreate("carol", 2, 2000, h3, 0, 0), // a member may not create invites
		inviteCreate("alice", 6, 2000, h4, 0, 1),
		joinedVia("bob", 3, 3000, "erin", 4, h4),
		joinedVia("carol", 3, 3000, "fred", 5, h4), // concurrent admission past the limit
	)
	tests := []struct {
		name      string
		h         InviteHash
		now       int64
		err       error
		uses      int
		remaining int
	}{
		{"valid, one use left", h1, 5000, nil, 1, 1},
		{"expired", h1, 10_000, ErrInviteExpired, 1, 1},
		{"revoked", h2, 5000, ErrInviteRevoked, 0, -1},
		{"created by a member: unknown", h3, 5000, ErrInviteUnknown, 0, 0},
		{"used up, over the limit", h4, 5000, ErrInviteUsedUp, 2, 0},
		{"never recorded", HashInvite([]byte("x")), 5000, ErrInviteUnknown, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachOrder(t, evs, func(t *testing.T, s *State) {
				info, err := s.Invite(tt.h, tt.now)
				if !errors.Is(err, tt.err) {
					t.Fatalf("Invite = %v, want %v", err, tt.err)
				}
				if info.Uses != tt.uses || info.Remaining != tt.remaining {
					t.Errorf("uses %d remaining %d, want %d and %d", info.Uses, info.Remaining, tt.uses, tt.remaining)
				}
			})
		})
	}
}

func TestInvitesActive(t *testing.T) {
	h1, h2 := HashInvite([]byte("one")), HashInvite([]byte("two"))
	s := build(t, append(channel(), inviteCreate("bob", 1, 2000, h1, 10_000, 0), inviteCreate("bob", 2, 2000, h2, 5000, 0))...)
	got := []InviteHash{}
	for _, inv := range s.Invites(6000) {
		got = append(got, inv.Hash)
	}
	if diff := cmp.Diff([]InviteHash{h1}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
