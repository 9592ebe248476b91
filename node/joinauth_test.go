package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// TestJoinForgedGroupRefused is scenario 4 of issue 10: a non-member that
// knows the channel ID (an old code, a removed member) answers a join with
// a Welcome to a group of its own made with the same group ID, and a forged
// history with posts attributed to the owner. The joiner refuses it (the
// inviter's leaf is not in that tree) and keeps nothing.
func TestJoinForgedGroupRefused(t *testing.T) {
	ctx := ctxT(t)
	a, x, j := open(t, newHome(t, "alice"), false), open(t, newHome(t, "mallory"), false), open(t, newHome(t, "joiner"), false)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, ci.ID, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(ci.ID)
	g, err := x.eng.NewGroup(raw)
	if err != nil {
		t.Fatal(err)
	}
	kp, _, bundle, err := j.eng.NewKeyPackage()
	if err != nil {
		t.Fatal(err)
	}
	_, welcome, tree, err := g.Add(kp)
	if err != nil {
		t.Fatal(err)
	}
	hist := crdt.New()
	for _, e := range []crdt.Event{
		{ID: crdt.ID{Author: a.PeerID(), Seq: 1}, Time: crdt.Time{Wall: 1}, Kind: crdt.KindCreate, Text: "general"},
		{ID: crdt.ID{Author: a.PeerID(), Seq: 2}, Time: crdt.Time{Wall: 2}, Kind: crdt.KindPost, Text: "forged post by the owner"},
	} {
		if err := hist.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	resp := joinResponse{Version: 1, Channel: ci.ID, Welcome: welcome, Tree: tree, History: hist.Snapshot(),
		Names: map[string]string{a.PeerID(): "alice"}}
	if _, err := j.finishJoin(ctx, ci.ID, resp, bundle, mustParse(t, code), x.PeerID()); err == nil {
		t.Fatal("the joiner accepted a Welcome to a forged group")
	}
	if cs, _ := j.Channels(ctx); len(cs) != 0 {
		t.Fatalf("the joiner kept %d channels", len(cs))
	}
}

// TestJoinRetryAfterLostResponse (issue 11, item 3): the admitting member
// commits the Add, but its response is lost; the joiner asks again with the
// same request (Join keeps its key package per invite) and gets the same
// Welcome, joins, and the member committed the Add once.
func TestJoinRetryAfterLostResponse(t *testing.T) {
	ctx := ctxT(t)
	a, b := open(t, newHome(t, "alice"), false), open(t, newHome(t, "bob"), false)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, ci.ID, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv := mustParse(t, code)
	key, err := b.keyFor(inv)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.keyFor(inv); !bytes.Equal(again.kp, key.kp) {
		t.Fatal("a second join with the same code presents another key package")
	}
	req := joinRequest{Version: joinRequestVersion, Invite: inv.token(), Name: "bob", KeyPackage: key.kp, Proof: inv.proveJoin(key.kp)}
	admit := func() ([]byte, error) {
		var raw []byte
		err := a.channel(ci.ID).do(ctx, func(s *chanState) error {
			var err error
			raw, err = s.admit(ctx, b.PeerID(), req, inv)
			return err
		})
		return raw, err
	}
	first, err := admit()
	if err != nil {
		t.Fatal(err)
	}
	epoch, _ := groupState(t, a, ci.ID)
	// The response is lost; the joiner retries.
	second, err := admit()
	if err != nil {
		t.Fatalf("retry after a lost response: %v", err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("the retry got another response")
	}
	if ep, _ := groupState(t, a, ci.ID); ep != epoch {
		t.Fatalf("the retry committed again: epoch %d -> %d", epoch, ep)
	}
	var resp joinResponse
	if err := json.Unmarshal(second, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := b.finishJoin(ctx, ci.ID, resp, key.bundle, inv, a.PeerID()); err != nil {
		t.Fatalf("joining with the retried response: %v", err)
	}
	// Another key package from the same peer is a new request: refused.
	other, _, _, _ := b.eng.NewKeyPackage()
	req.KeyPackage, req.Proof = other, inv.proveJoin(other)
	if _, err := admit(); !errors.Is(err, ErrAlreadyMember) {
		t.Fatalf("a new request from a member: %v, want ErrAlreadyMember", err)
	}
}

// TestJoinRequestHoldsNoSecret: the join request carries the invite's
// token and a proof bound to the key package, never the secret; a peer that
// sees the request cannot reuse the proof for a key package of its own, and
// a forged proof is refused before anything changes.
func TestJoinRequestHoldsNoSecret(t *testing.T) {
	ctx := ctxT(t)
	a, b := open(t, newHome(t, "alice"), false), open(t, newHome(t, "bob"), false)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := a.Invite(ctx, ci.ID, InviteOptions{})
	inv := mustParse(t, code)
	kp, _, _, _ := b.eng.NewKeyPackage()
	raw, _ := json.Marshal(joinRequest{Version: joinRequestVersion, Invite: inv.token(), Name: "bob", KeyPackage: kp, Proof: inv.proveJoin(kp)})
	if bytes.Contains(raw, inv.secret) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(inv.secret))) {
		t.Fatal("the join request reveals the invite secret")
	}
	tok, err := parseToken(inv.token())
	if err != nil {
		t.Fatal(err)
	}
	if tok.secret != nil || tok.hash() != inv.hash() {
		t.Fatal("the token does not match the code")
	}
	eve := open(t, newHome(t, "eve"), false)
	ekp, _, _, _ := eve.eng.NewKeyPackage()
	if tok.checkJoinProof(ekp, inv.proveJoin(kp)) {
		t.Fatal("a proof made for one key package verifies for another")
	}
	forged, _ := json.Marshal(joinRequest{Version: joinRequestVersion, Invite: inv.token(), Name: "eve", KeyPackage: ekp, Proof: inv.proveJoin(kp)})
	epoch, _ := groupState(t, a, ci.ID)
	if _, err := a.serveJoin(ctx, p2p.PeerID(eve.PeerID()), forged); err == nil || !strings.Contains(err.Error(), "[bad_invite]") {
		t.Fatalf("a reused proof: %v, want bad_invite", err)
	}
	if ep, _ := groupState(t, a, ci.ID); ep != epoch {
		t.Fatal("a refused request changed the group")
	}
}

// openAt is open (offline) with a clock that the test moves.
func openAt(t *testing.T, home string, now *atomic.Int64) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Home: home, Logger: quiet, DisableMDNS: true,
		Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// lostAdmission makes a create a channel and admit b with a fresh invite
// whose response is lost (never given to b); it returns what b needs to
// retry and to join.
func lostAdmission(t *testing.T, a, b *Node, opts InviteOptions) (id string, req joinRequest, inv invite, key joinKey, first []byte) {
	t.Helper()
	ctx := ctxT(t)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, ci.ID, opts)
	if err != nil {
		t.Fatal(err)
	}
	inv = mustParse(t, code)
	if key, err = b.keyFor(inv); err != nil {
		t.Fatal(err)
	}
	req = joinRequest{Version: joinRequestVersion, Invite: inv.token(), Name: "bob", KeyPackage: key.kp, Proof: inv.proveJoin(key.kp)}
	first, err = admitOn(t, a, ci.ID, b.PeerID(), req, inv)
	if err != nil {
		t.Fatal(err)
	}
	return ci.ID, req, inv, key, first
}

func admitOn(t *testing.T, a *Node, id, from string, req joinRequest, inv invite) ([]byte, error) {
	var raw []byte
	err := a.channel(id).do(ctxT(t), func(s *chanState) error {
		var err error
		raw, err = s.admit(ctxT(t), from, req, inv)
		return err
	})
	return raw, err
}

// TestJoinRetryAfterAdmitterRestart (issue 11, item 3): the admitting
// member commits the Add, the response is lost, and the member restarts
// (real Pebble on disk) before the joiner retries: the retry gets the same
// Welcome, the Add is not committed again, and the joiner joins with it.
func TestJoinRetryAfterAdmitterRestart(t *testing.T) {
	ctx := ctxT(t)
	homeA := newHome(t, "alice")
	a, b := open(t, homeA, false), open(t, newHome(t, "bob"), false)
	id, req, inv, key, first := lostAdmission(t, a, b, InviteOptions{})
	epoch, _ := groupState(t, a, id)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = open(t, homeA, false)
	second, err := admitOn(t, a, id, b.PeerID(), req, inv)
	if err != nil {
		t.Fatalf("retry after a lost response and a restart: %v", err)
	}
	var resp, was joinResponse
	if err := json.Unmarshal(second, &resp); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(first, &was); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Welcome, was.Welcome) || !bytes.Equal(resp.Tree, was.Tree) {
		t.Fatal("the retry got another Welcome or tree")
	}
	if ep, _ := groupState(t, a, id); ep != epoch {
		t.Fatalf("the retry committed again: epoch %d -> %d", epoch, ep)
	}
	// The store keeps the Welcome and the tree, not the history (up to
	// 8 MiB per joiner, and text deleted since): the retry's is rebuilt.
	raw, err := a.db.Admission(ctx, store.ChannelID(id), admissionID(b.PeerID()))
	if err != nil {
		t.Fatal(err)
	}
	_, keptRaw, err := decodeAdmission(raw)
	var kept joinResponse
	if err != nil || json.Unmarshal(keptRaw, &kept) != nil || len(kept.History) != 0 || len(kept.Welcome) == 0 {
		t.Fatalf("kept admission: history %d bytes, welcome %d bytes, %v", len(kept.History), len(kept.Welcome), err)
	}
	if len(resp.History) == 0 {
		t.Fatal("the retry's response has no history")
	}
	if _, err := b.finishJoin(ctx, id, resp, key.bundle, inv, a.PeerID()); err != nil {
		t.Fatalf("joining with the retried response: %v", err)
	}
	if _, err := b.Send(ctx, id, "hello"); err != nil {
		t.Fatalf("the joiner posts: %v", err)
	}
}

// TestKeptAdmissionDoesNotResurrect: a kept join response is served only
// while its member is in the channel and its time (the invite's expiry) is
// not up, and is deleted from the store once either ends: a removed
// member's retry, or one after the expiry, never gets the old Welcome,
// also after a restart.
func TestKeptAdmissionDoesNotResurrect(t *testing.T) {
	ctx := ctxT(t)
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	kept := func(n *Node, id, peer string) bool {
		_, err := n.db.Admission(ctx, store.ChannelID(id), admissionID(peer))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	t.Run("removed", func(t *testing.T) {
		homeA := newHome(t, "alice")
		a, b := openAt(t, homeA, &now), open(t, newHome(t, "bob"), false)
		id, req, inv, _, first := lostAdmission(t, a, b, InviteOptions{})
		if !kept(a, id, b.PeerID()) {
			t.Fatal("the response is not kept")
		}
		if err := a.RemoveMember(ctx, id, b.PeerID()); err != nil {
			t.Fatal(err)
		}
		if kept(a, id, b.PeerID()) {
			t.Fatal("the removed member's response is still kept")
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		a = openAt(t, homeA, &now)
		resp, err := admitOn(t, a, id, b.PeerID(), req, inv)
		if err == nil || bytes.Equal(resp, first) {
			t.Fatalf("a removed member's retry was answered (%d bytes, the old response: %v); err %v",
				len(resp), bytes.Equal(resp, first), err)
		}
	})
	t.Run("removed by another member", func(t *testing.T) {
		a, b, c, id := offlineTrio(t) // alice admitted carol, bob saw it
		if !kept(a, id, c.PeerID()) {
			t.Fatal("carol's response is not kept")
		}
		before := outboxLen(a, id)
		if err := a.SetRole(ctx, id, b.PeerID(), "admin"); err != nil {
			t.Fatal(err)
		}
		deliver(t, b, id, outboxSince(t, a, id, before))
		before = outboxLen(b, id)
		if err := b.RemoveMember(ctx, id, c.PeerID()); err != nil {
			t.Fatal(err)
		}
		deliver(t, a, id, outboxSince(t, b, id, before))
		if ea, _ := groupState(t, a, id); ea != 4 {
			t.Fatalf("alice at epoch %d, want 4 (bob's removal of carol)", ea)
		}
		if kept(a, id, c.PeerID()) {
			t.Fatal("carol's response is still kept after bob's commit removed her")
		}
	})
	t.Run("expired", func(t *testing.T) {
		homeA := newHome(t, "alice")
		a, b := openAt(t, homeA, &now), open(t, newHome(t, "bob"), false)
		id, req, inv, _, _ := lostAdmission(t, a, b, InviteOptions{Expires: time.Hour})
		epoch, _ := groupState(t, a, id)
		now.Add(time.Hour.Milliseconds() + 1)
		for _, restart := range []bool{false, true} {
			if restart {
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				a = openAt(t, homeA, &now)
			}
			if _, err := admitOn(t, a, id, b.PeerID(), req, inv); !errors.Is(err, ErrAlreadyMember) {
				t.Fatalf("a retry after the invite expired (restart %v): %v, want ErrAlreadyMember", restart, err)
			}
		}
		if ep, _ := groupState(t, a, id); ep != epoch {
			t.Fatalf("the expired retry committed: epoch %d -> %d", epoch, ep)
		}
		// The next commit deletes it from the store.
		if err := a.SetRole(ctx, id, b.PeerID(), "admin"); err != nil {
			t.Fatal(err)
		}
		if kept(a, id, b.PeerID()) {
			t.Fatal("an expired response is still kept after a commit")
		}
	})
}
