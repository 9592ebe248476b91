package node

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
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
