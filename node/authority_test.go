package node

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
)

// offlineTrio is offlinePair plus carol, admitted by alice; bob has
// processed carol's admission. Alice is the owner, bob and carol plain
// members.
func offlineTrio(t *testing.T) (a, b, c *Node, id string) {
	t.Helper()
	a, b, id = offlinePair(t)
	c = open(t, newHome(t, "carol"), false)
	before := outboxLen(a, id)
	resp, bundle, inv := admitOffline(t, a, c, id)
	deliver(t, b, id, outboxSince(t, a, id, before))
	if _, err := c.finishJoin(ctxT(t), id, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	return a, b, c, id
}

// rogueCommit makes n act as a modified client: it commits opts from the
// given group state with no authorization check of its own (an mls group
// without the node's CommitPolicy), stores and queues the commit as its node
// would, and returns the envelopes to publish. A nil state means n's
// current one. accept, if set, is asked for each attempt (to grind the
// commit's hash); a refused attempt is discarded and made again.
func rogueCommit(t *testing.T, n *Node, id string, state []byte, opts mls.CommitOptions, accept func(commit []byte) bool) [][]byte {
	t.Helper()
	ctx := ctxT(t)
	var out [][]byte
	err := n.channel(id).do(ctx, func(s *chanState) error {
		if state == nil {
			state = s.stored
		}
		g, err := mls.UnmarshalGroup(state, mls.Config{AuthenticationService: peerAuth{}})
		if err != nil {
			return err
		}
		var c *mls.CommitOutput
		for try := 0; ; try++ {
			if c, err = g.Commit(rand.Reader, opts); err != nil {
				return err
			}
			if accept == nil || accept(c.Commit) || try > 256 {
				break
			}
			if err := g.DiscardPendingCommit(); err != nil {
				return err
			}
		}
		epoch := g.Epoch()
		if _, err := g.MergePendingCommit(); err != nil {
			return err
		}
		s.group = &mlsGroup{g: g, e: n.eng.(*mlsEngine)}
		before := len(s.outbox)
		if err := s.run(ctx, step{commit: c.Commit, commitEpoch: epoch}); err != nil {
			return err
		}
		for _, it := range s.outbox[before:] {
			out = append(out, it.Data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mlsMembers returns the peer IDs in n's MLS tree of channel id.
func mlsMembers(t *testing.T, n *Node, id string) []string {
	var ms []string
	n.channel(id).do(ctxT(t), func(s *chanState) error { ms = s.group.Members(); return nil }) //nolint:errcheck
	return ms
}

func storedState(t *testing.T, n *Node, id string) []byte {
	var st []byte
	n.channel(id).do(ctxT(t), func(s *chanState) error { st = s.stored; return nil }) //nolint:errcheck
	return st
}

func leafOf(t *testing.T, n *Node, id string) mls.LeafIndex {
	var l mls.LeafIndex
	n.channel(id).do(ctxT(t), func(s *chanState) error { l = s.group.(*mlsGroup).g.OwnLeaf(); return nil }) //nolint:errcheck
	return l
}

// post has n send text and returns the envelopes it queued.
//
// It compares the outbox's contents, not its length: a delivery may take
// older items out of the outbox meanwhile (TestFlightCarriesOpenChunk once
// found nothing past the length it had read before the send).
func post(t *testing.T, n *Node, id, text string) [][]byte {
	t.Helper()
	before := map[string]bool{}
	for _, it := range outboxSince(t, n, id, 0) {
		before[string(it)] = true
	}
	if _, err := n.Send(ctxT(t), id, text); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, it := range outboxSince(t, n, id, 0) {
		if !before[string(it)] {
			out = append(out, it)
		}
	}
	return out
}

func hasText(t *testing.T, n *Node, id, text string) bool {
	ms, err := n.Messages(ctxT(t), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(texts(ms), text)
}

// TestRemovalCannotBeUndone is scenario 1 of issue 10: the owner removes
// bob; bob, from the state of the epoch before his removal, grinds an
// empty commit until its hash is below the removal's and publishes it.
// Whatever the order in which the others see the two commits, bob stays
// removed from every honest member's tree and reads nothing sent after.
func TestRemovalCannotBeUndone(t *testing.T) {
	for _, order := range []string{"removal first", "ground commit first"} {
		t.Run(order, func(t *testing.T) {
			ctx := ctxT(t)
			a, b, c, id := offlineTrio(t)
			bobID := b.PeerID()
			before := storedState(t, b, id) // bob's state before the removal
			ra := outboxLen(a, id)
			if err := a.RemoveMember(ctx, id, bobID); err != nil {
				t.Fatal(err)
			}
			removal := outboxSince(t, a, id, ra)
			rh := hashOf(mustEnv(t, removal[0]).msg)
			ground := rogueCommit(t, b, id, before, mls.CommitOptions{ForcePath: true}, func(commit []byte) bool {
				return bytes.Compare(hashOf(commit), rh) < 0
			})
			if order == "removal first" {
				deliver(t, c, id, removal)
				deliver(t, c, id, ground)
			} else {
				deliver(t, c, id, ground)
				deliver(t, c, id, removal)
			}
			deliver(t, a, id, ground)
			for _, n := range []*Node{a, c} {
				if slices.Contains(mlsMembers(t, n, id), bobID) {
					t.Fatalf("%s's tree still holds the removed member", n.id.name)
				}
			}
			_, authA := groupState(t, a, id)
			_, authC := groupState(t, c, id)
			if !bytes.Equal(authA, authC) {
				t.Fatal("alice and carol diverged")
			}
			secret := post(t, a, id, "after the removal")
			deliver(t, c, id, secret)
			deliver(t, b, id, secret)
			if !hasText(t, c, id, "after the removal") {
				t.Error("carol did not read alice's post")
			}
			if hasText(t, b, id, "after the removal") {
				t.Error("the removed member read a post sent after its removal")
			}
			ms, err := a.Members(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(ms, func(m MemberInfo) bool { return m.ID == bobID }) {
				t.Error("Members lists the removed member")
			}
		})
	}
}

// TestUnauthorizedCommitsRefused is scenarios 2 and 3 of issue 10, and the
// other commits every member must refuse: a plain member's Add by value of
// a third identity, its Remove of another member, a ReInit, a change of the
// roles or of another group context extension (external senders). Each is
// refused by the others (nothing changes), and the channel keeps working.
func TestUnauthorizedCommitsRefused(t *testing.T) {
	d := open(t, newHome(t, "dave"), false)
	kpRaw, _, _, err := d.eng.NewKeyPackage()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := mls.UnmarshalKeyPackage(kpRaw)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts func(a, c *Node, id string) mls.CommitOptions
	}{
		{"add by a plain member", func(a, c *Node, id string) mls.CommitOptions {
			return mls.CommitOptions{Adds: []*mls.KeyPackage{kp}}
		}},
		{"remove by a plain member", func(a, c *Node, id string) mls.CommitOptions {
			return mls.CommitOptions{Removes: []mls.LeafIndex{leafOf(t, c, id)}}
		}},
		{"remove of the owner", func(a, c *Node, id string) mls.CommitOptions {
			return mls.CommitOptions{Removes: []mls.LeafIndex{leafOf(t, a, id)}}
		}},
		{"reinit", func(a, c *Node, id string) mls.CommitOptions {
			return mls.CommitOptions{ReInit: &mls.ReInitParams{GroupID: []byte("another group id"), CipherSuite: suite}}
		}},
		{"roles by a plain member", func(a, c *Node, id string) mls.CommitOptions {
			var b string
			a.channel(id).do(ctxT(t), func(s *chanState) error { //nolint:errcheck
				for _, m := range s.group.Members() {
					if m != a.PeerID() && m != c.PeerID() {
						b = m
					}
				}
				return nil
			})
			r := roleSet{a.PeerID(): crdt.RoleOwner, b: crdt.RoleOwner}
			return mls.CommitOptions{GroupContextExtensions: withRoles(nil, r), SetExtensions: true}
		}},
		{"external senders", func(a, c *Node, id string) mls.CommitOptions {
			es := []mls.Extension{{Type: mls.ExtensionExternalSenders, Data: []byte{0}}}
			return mls.CommitOptions{GroupContextExtensions: append(es, withRoles(nil, roleSet{a.PeerID(): crdt.RoleOwner})...), SetExtensions: true}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b, c, id := offlineTrio(t)
			epA, authA := groupState(t, a, id)
			membersA := mlsMembers(t, a, id)
			rogue := rogueCommit(t, b, id, nil, tc.opts(a, c, id), nil)
			deliver(t, a, id, rogue)
			deliver(t, c, id, rogue)
			ep, auth := groupState(t, a, id)
			if ep != epA || !bytes.Equal(auth, authA) {
				t.Fatalf("alice applied the commit: epoch %d -> %d", epA, ep)
			}
			if got := mlsMembers(t, a, id); !slices.Equal(got, membersA) {
				t.Fatalf("alice's members changed: %v -> %v", membersA, got)
			}
			deliver(t, c, id, post(t, a, id, "still working"))
			if !hasText(t, c, id, "still working") {
				t.Error("carol did not read alice's post after the refused commit")
			}
		})
	}
}

// TestCommitEffectsSurviveRestart is scenario 5 of issue 10: bob processes
// the commit that adds carol, restarts before the Joined event that
// mirrors it arrives, and then receives it. The commit's effects were
// stored with it, so the event is accepted, carol's posts are visible, and
// bob's view equals alice's.
func TestCommitEffectsSurviveRestart(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := offlinePair(t)
	c := open(t, newHome(t, "carol"), false)
	before := outboxLen(a, id)
	resp, bundle, inv := admitOffline(t, a, c, id)
	if _, err := c.finishJoin(ctx, id, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	envs := outboxSince(t, a, id, before) // the invite, the Add commit, the Joined event
	if len(envs) != 3 {
		t.Fatalf("alice queued %d messages, want 3", len(envs))
	}
	deliver(t, b, id, envs[:2])
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open(t, b.cfg.Home, false)
	deliver(t, b, id, envs[2:])
	deliver(t, b, id, post(t, c, id, "carol speaks"))
	if !hasText(t, b, id, "carol speaks") {
		t.Error("after a restart, bob does not show the post of a member added by a commit he processed")
	}
	var inCRDT bool
	b.channel(id).do(ctx, func(s *chanState) error { inCRDT = s.crdt.Role(c.PeerID()) != crdt.RoleNone; return nil }) //nolint:errcheck
	if !inCRDT {
		t.Error("bob's timeline lost carol's Joined event")
	}
}

// TestSetRole: roles change only by commits every member applies; only
// owners change them; an admin removes plain members but not owners; the
// last owner cannot step down, but can hand ownership over first.
func TestSetRole(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := offlineTrio(t)
	sync := func(from *Node, skip int, to ...*Node) {
		for _, n := range to {
			deliver(t, n, id, outboxSince(t, from, id, skip))
		}
	}
	role := func(n *Node, who string) string {
		ms, err := n.Members(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.ID == who {
				return m.Role
			}
		}
		return "none"
	}
	if err := b.SetRole(ctx, id, c.PeerID(), "admin"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a plain member set a role: %v", err)
	}
	skip := outboxLen(a, id)
	if err := a.SetRole(ctx, id, b.PeerID(), "admin"); err != nil {
		t.Fatal(err)
	}
	sync(a, skip, b, c)
	for _, n := range []*Node{a, b, c} {
		if got := role(n, b.PeerID()); got != "admin" {
			t.Fatalf("%s sees bob as %s, want admin", n.id.name, got)
		}
	}
	if err := b.RemoveMember(ctx, id, a.PeerID()); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an admin removed the owner: %v", err)
	}
	if err := a.SetRole(ctx, id, a.PeerID(), "member"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the last owner stepped down: %v", err)
	}
	skip = outboxLen(a, id)
	if err := a.SetRole(ctx, id, b.PeerID(), "owner"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRole(ctx, id, a.PeerID(), "member"); err != nil {
		t.Fatalf("stepping down after handing ownership over: %v", err)
	}
	sync(a, skip, b, c)
	skip = outboxLen(b, id)
	if err := b.RemoveMember(ctx, id, a.PeerID()); err != nil {
		t.Fatalf("the new owner removes the former one: %v", err)
	}
	sync(b, skip, c)
	if got := role(c, a.PeerID()); got != "none" {
		t.Fatalf("carol sees alice as %s after her removal", got)
	}
	if got := role(c, b.PeerID()); got != "owner" {
		t.Fatalf("carol sees bob as %s, want owner", got)
	}
}

// TestLosingCommitProposedAgain: an admin's removal loses a conflict to
// the owner's concurrent commit (higher role); the admin proposes the
// removal again on the winning branch, and every member ends without the
// removed member.
func TestLosingCommitProposedAgain(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := offlineTrio(t)
	skip := outboxLen(a, id)
	if err := a.SetRole(ctx, id, b.PeerID(), "admin"); err != nil {
		t.Fatal(err)
	}
	deliver(t, b, id, outboxSince(t, a, id, skip))
	deliver(t, c, id, outboxSince(t, a, id, skip))
	sa, sb := outboxLen(a, id), outboxLen(b, id)
	fromA := commitAndPost(t, a, id, "owner's branch")
	if err := b.RemoveMember(ctx, id, c.PeerID()); err != nil {
		t.Fatal(err)
	}
	fromB := outboxSince(t, b, id, sb)
	deliver(t, a, id, fromB) // stale and of lower rank: ignored
	deliver(t, b, id, fromA) // b switches to a's branch and removes carol again
	deliver(t, a, id, outboxSince(t, b, id, sb+len(fromB)))
	_ = sa
	for _, n := range []*Node{a, b} {
		if slices.Contains(mlsMembers(t, n, id), c.PeerID()) {
			t.Errorf("%s still has carol after the re-proposed removal", n.id.name)
		}
	}
	_, authA := groupState(t, a, id)
	_, authB := groupState(t, b, id)
	if !bytes.Equal(authA, authB) {
		t.Error("alice and bob diverged")
	}
}

// TestRestoredClockRefusesFarFuture is scenario 6 of issue 10: a member's
// post stamped ~285,000 years ahead is applied but not followed by the
// live clock; after a restart, the clock is not rebuilt from it either, so
// the node's next event carries the current time.
func TestRestoredClockRefusesFarFuture(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := offlinePair(t)
	now := b.nowMs()
	a.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
		s.clock = crdt.NewClock(crdt.Time{Wall: now + 9e15})
		return nil
	})
	deliver(t, b, id, post(t, a, id, "from the future"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open(t, b.cfg.Home, false)
	post(t, b, id, "now")
	var last crdt.Time
	b.channel(id).do(ctx, func(s *chanState) error { last = s.clock.Last(); return nil }) //nolint:errcheck
	if last.Wall > b.nowMs()+crdt.DefaultMaxDrift {
		t.Fatalf("after a restart, bob stamps his events %d ms ahead", last.Wall-b.nowMs())
	}
}

// TestLeaveProposedAgain is scenario 7 of issue 10, first half: carol's
// leave proposal is dropped because alice's commit won the epoch; carol
// proposes it again in the new epoch, and it is committed.
func TestLeaveProposedAgain(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := offlineTrio(t)
	sc := outboxLen(c, id)
	if err := c.Leave(ctx, id); err != nil {
		t.Fatal(err)
	}
	prop := outboxSince(t, c, id, sc)
	fromA := commitAndPost(t, a, id, "meanwhile")
	deliver(t, b, id, fromA)
	deliver(t, c, id, fromA)
	deliver(t, a, id, prop) // stale: the epoch has moved on
	deliver(t, b, id, prop)
	again := outboxSince(t, c, id, sc+len(prop))
	sa, sb := outboxLen(a, id), outboxLen(b, id)
	deliver(t, a, id, again)
	deliver(t, b, id, again)
	commitA, commitB := outboxSince(t, a, id, sa), outboxSince(t, b, id, sb)
	for _, n := range []*Node{a, b, c} {
		deliver(t, n, id, commitA)
		deliver(t, n, id, commitB)
	}
	for _, n := range []*Node{a, b} {
		if slices.Contains(mlsMembers(t, n, id), c.PeerID()) {
			t.Errorf("%s still has carol: her leave was never committed", n.id.name)
		}
	}
	var removed bool
	c.channel(id).do(ctx, func(s *chanState) error { removed = s.meta.Removed; return nil }) //nolint:errcheck
	if !removed {
		t.Error("carol did not learn that her leave was committed")
	}
}

// TestRemovingLastOtherMemberPublished is scenario 7 of issue 10, second
// half: alice removes bob, the only other member; the commit is published
// all the same, so bob learns he was removed.
func TestRemovingLastOtherMemberPublished(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := offlinePair(t)
	before := outboxLen(a, id)
	if err := a.RemoveMember(ctx, id, b.PeerID()); err != nil {
		t.Fatal(err)
	}
	envs := outboxSince(t, a, id, before)
	if len(envs) == 0 {
		t.Fatal("the commit removing the last other member was not queued for publication")
	}
	deliver(t, b, id, envs)
	var removed bool
	b.channel(id).do(ctx, func(s *chanState) error { removed = s.meta.Removed; return nil }) //nolint:errcheck
	if !removed {
		t.Error("bob did not learn he was removed")
	}
}
