package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spacepanda/spacepanda/crdt"
)

// waitFor polls cond until it holds or the deadline passes: no fixed sleeps.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitTexts waits until n's timeline of channel holds want, in order.
func waitTexts(t testing.TB, n *Node, channel string, want ...string) {
	t.Helper()
	var got []string
	waitFor(t, 20*time.Second, "timeline "+cmp.Diff(want, got), func() bool {
		ms, err := n.Messages(context.Background(), channel, 0)
		got = texts(ms)
		return err == nil && slices.Equal(got, want)
	})
}

// pair returns two online nodes; a owns channel "general" and b joined it.
func pair(t testing.TB) (a, b *Node, id string) {
	t.Helper()
	a = open(t, newHome(t, "alice"), true)
	b = open(t, newHome(t, "bob"), true)
	id, got := joinGeneral(t, a, b)
	if got.ID != id || got.Name != "general" || got.Epoch != 1 {
		t.Fatalf("joined %+v, want channel %s at epoch 1", got, id)
	}
	return a, b, id
}

// joinGeneral makes a create channel "general" and b join it with an
// invite code; it returns the channel's ID and what b's Join returned.
func joinGeneral(t testing.TB, a, b *Node) (string, ChannelInfo) {
	t.Helper()
	ctx := ctxT(t)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, ci.ID, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Join(ctx, code)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	return ci.ID, got
}

// TestJoinAndTalk: invite, join, messages both ways, names, membership.
func TestJoinAndTalk(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	if _, err := a.Send(ctx, id, "hello bob"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, b, id, "hello bob")
	if _, err := b.Send(ctx, id, "hi alice"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "hello bob", "hi alice")
	ms, _ := a.Messages(ctx, id, 0)
	if ms[1].Author != b.PeerID() || ms[1].AuthorName != "bob" {
		t.Errorf("author of bob's message: %q %q", ms[1].Author, ms[1].AuthorName)
	}
	members, err := b.Members(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []MemberInfo{{ID: a.PeerID(), Name: "alice", Role: "owner"}, {ID: b.PeerID(), Name: "bob", Role: "member"}}
	slices.SortFunc(want, func(x, y MemberInfo) int { return cmpString(x.ID, y.ID) })
	if diff := cmp.Diff(want, members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestBadInviteChangesNothing: forged, expired, used-up and unknown codes
// are refused with their error, and neither side changes.
func TestBadInviteChangesNothing(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	c := open(t, newHome(t, "carol"), true)
	used, err := a.Invite(ctx, id, InviteOptions{Uses: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, used); err != nil {
		t.Fatalf("first use: %v", err)
	}
	d := open(t, newHome(t, "dave"), true)
	short, _ := a.Invite(ctx, id, InviteOptions{Expires: time.Millisecond})
	revoked, _ := a.Invite(ctx, id, InviteOptions{})
	if err := a.RevokeInvite(ctx, id, revoked); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "bob to see the revocation", func() bool {
		var gone bool
		b.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
			_, err := s.crdt.Invite(mustParse(t, revoked).hash(), time.Now().UnixMilli())
			gone = errors.Is(err, crdt.ErrInviteRevoked)
			return nil
		})
		return gone
	})
	forged := []byte(used)
	forged[40] ^= 2
	before, _ := a.Channels(ctx)
	beforeMsgs, _ := a.Messages(ctx, id, 0)
	// A valid signature over an invite the channel never recorded.
	inv, _ := parseInvite(used)
	fresh, _ := newInvite(inv.channel, inv.inviter, inv.addrs, inv.expires, 1)
	unknown := fresh.encode(a.id.key)
	waitFor(t, 5*time.Second, "short invite to expire", func() bool { return time.Now().UnixMilli() > mustParse(t, short).expires })
	tests := []struct {
		name, code string
		want       error
	}{
		{"malformed", "sp1hello", ErrBadInvite},
		{"forged", string(forged), ErrBadInvite},
		{"expired", short, ErrInviteExpired},
		{"used up", used, ErrInviteUsedUp},
		{"revoked", revoked, ErrInviteRevoked},
		{"unknown", unknown, ErrInviteUnknown},
		{"already member", used, ErrAlreadyMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			joiner := d
			if tt.name == "already member" {
				joiner = b
			}
			if _, err := joiner.Join(ctx, tt.code); !errors.Is(err, tt.want) {
				t.Fatalf("Join: %v, want %v", err, tt.want)
			}
			if cs, _ := d.Channels(ctx); len(cs) != 0 {
				t.Errorf("joiner has channels %v", cs)
			}
		})
	}
	after, _ := a.Channels(ctx)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("member's channels changed (-before +after):\n%s", diff)
	}
	afterMsgs, _ := a.Messages(ctx, id, 0)
	if diff := cmp.Diff(beforeMsgs, afterMsgs); diff != "" {
		t.Errorf("member's timeline changed (-before +after):\n%s", diff)
	}
}

func mustParse(t testing.TB, code string) invite {
	inv, err := parseInvite(code)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// trio is pair plus carol, admitted by alice; alice posts text and both
// others have read it when trio returns.
func trio(t *testing.T, text string) (a, b, c *Node, id string) {
	t.Helper()
	ctx := ctxT(t)
	a, b, id = pair(t)
	c = open(t, newHome(t, "carol"), true)
	code, _ := a.Invite(ctx, id, InviteOptions{})
	if _, err := c.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, id, text); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, c, id, text)
	waitTexts(t, b, id, text)
	return a, b, c, id
}

// TestRemovedMemberReadsNothing: after a removal, the removed member does
// not get what follows, and the others still talk.
func TestRemovedMemberReadsNothing(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := trio(t, "before")
	waitFor(t, 20*time.Second, "bob to learn carol's name", func() bool {
		ms, _ := b.Members(ctx, id)
		return slices.ContainsFunc(ms, func(m MemberInfo) bool { return m.Name == "carol" })
	})
	if err := b.RemoveMember(ctx, id, "carol"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a plain member removed another: %v", err)
	}
	if err := a.RemoveMember(ctx, id, "bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "bob to see his removal", func() bool {
		var removed bool
		b.channel(id).do(ctx, func(s *chanState) error { removed = s.meta.Removed; return nil })
		return removed
	})
	if _, err := c.Send(ctx, id, "after"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "before", "after")
	if _, err := b.Send(ctx, id, "ghost"); !errors.Is(err, ErrForbidden) {
		t.Errorf("removed member sent: %v", err)
	}
	// c's message reached a; b is still connected and subscribed, and its
	// timeline must not have grown.
	ms, _ := b.Messages(ctx, id, 0)
	if diff := cmp.Diff([]string{"before"}, texts(ms)); diff != "" {
		t.Errorf("removed member's timeline (-want +got):\n%s", diff)
	}
}

// TestRestartCatchesUp: a member that was closed while others talked gets
// the messages by sync when it comes back, with its history intact.
func TestRestartCatchesUp(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	if _, err := b.Send(ctx, id, "one"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "one")
	bHome := b.cfg.Home
	b.Close()
	waitFor(t, 20*time.Second, "alice to see bob gone", func() bool { return len(a.host.TopicPeers(topicOf(id))) == 0 })
	res, err := a.Send(ctx, id, "while you were away")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Queued || res.Reason == "" {
		t.Errorf("send with no member reachable: %+v, want queued with a reason", res)
	}
	b2, err := Open(ctx, Config{Home: bHome, Network: true, Logger: quiet, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS: true, Bootstrap: a.host.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	waitTexts(t, b2, id, "one", "while you were away")
	waitFor(t, 20*time.Second, "alice's outbox to empty", func() bool { return outboxLen(a, id) == 0 })
	if _, err := b2.Send(ctx, id, "back"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "one", "while you were away", "back")
}

// TestLeave: a member leaves; a remaining member commits its Remove, the
// leaver reads nothing afterwards and the others carry on.
func TestLeave(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := trio(t, "all three")
	if err := c.Leave(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, id, "gone"); !errors.Is(err, ErrForbidden) {
		t.Errorf("send after leave: %v", err)
	}
	waitFor(t, 20*time.Second, "carol's removal to be committed", func() bool {
		ms, _ := a.Members(ctx, id)
		return len(ms) == 2
	})
	if _, err := b.Send(ctx, id, "two of us"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "all three", "two of us")
	if ms, _ := c.Messages(ctx, id, 0); len(ms) != 1 {
		t.Errorf("leaver's timeline: %v", texts(ms))
	}
}
