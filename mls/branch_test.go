package mls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// memberBundle makes a fresh key package for member i of tg under its
// identity (credential and signature key), as a member does to be
// welcomed into a branch or a reinitialized group.
func memberBundle(tg *testGroup, i int, suite CipherSuite) *KeyPackageBundle {
	tg.t.Helper()
	g := tg.members[i]
	m, _ := g.Member(g.OwnLeaf())
	priv := g.sigPriv
	if suite != g.CipherSuite() {
		var err error
		if priv, _, err = GenerateSignatureKey(tg.rnd, suite); err != nil {
			tg.t.Fatal(err)
		}
	}
	b, err := NewKeyPackage(tg.rnd, Identity{CipherSuite: suite, SignaturePrivateKey: priv, Credential: m.Credential}, KeyPackageOptions{})
	if err != nil {
		tg.t.Fatal(err)
	}
	return b
}

// sameEpoch checks that groups agree on the epoch and can talk.
func sameEpoch(t *testing.T, rnd io.Reader, gs ...*Group) {
	t.Helper()
	for _, g := range gs[1:] {
		if !bytes.Equal(g.EpochAuthenticator(), gs[0].EpochAuthenticator()) {
			t.Fatal("epoch authenticators differ")
		}
		a, _ := g.Export("x", nil, 32)
		b, _ := gs[0].Export("x", nil, 32)
		if !bytes.Equal(a, b) {
			t.Fatal("exporters differ")
		}
	}
	for i, g := range gs {
		msg, err := g.EncryptApplication(rnd, []byte(fmt.Sprint("from ", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, o := range gs {
			if k == i {
				continue
			}
			r, err := o.ProcessMessage(msg, timeZero)
			if err != nil || string(r.(*ApplicationMessage).Data) != fmt.Sprint("from ", i) {
				t.Fatalf("member %d reads member %d: %v", k, i, err)
			}
		}
	}
}

// TestBranch: a subgroup of members 0 and 2 of a three-member group
// (§11.3), on every suite, with the tree in the Welcome and out of band.
func TestBranch(t *testing.T) {
	for cs := CipherSuite(1); cs <= 7; cs++ {
		for _, inWelcome := range []bool{true, false} {
			t.Run(fmt.Sprintf("suite%d/tree-in-welcome=%v", cs, inWelcome), func(t *testing.T) {
				tg := newTestGroup(t, cs, 3)
				b := memberBundle(tg, 2, cs)
				opts := SuccessorOptions{RatchetTreeInWelcome: inWelcome, ForcePath: inWelcome}
				ng, out, err := tg.members[0].Branch(tg.rnd, []byte("branch"), nil, []*KeyPackage{b.KeyPackage()}, tg.cfg, opts)
				if err != nil {
					t.Fatal(err)
				}
				if ng.Epoch() != 1 || string(ng.GroupID()) != "branch" || ng.MemberCount() != 2 || ng.CipherSuite() != cs {
					t.Fatalf("branch epoch %d, group %q, %d members", ng.Epoch(), ng.GroupID(), ng.MemberCount())
				}
				tree := out.RatchetTree
				if inWelcome {
					tree = nil
				}
				if _, err := JoinGroup(out.Welcome, b, tree, tg.cfg, timeZero); !errors.Is(err, ErrUnknownPSK) {
					t.Fatalf("join without the old group: %v, want ErrUnknownPSK", err)
				}
				other := newTestGroup(t, cs, 1).members[0]
				if _, err := JoinBranch(out.Welcome, b, tree, other, tg.cfg, timeZero); !errors.Is(err, ErrUnknownPSK) {
					t.Fatalf("join with another old group: %v, want ErrUnknownPSK", err)
				}
				j, err := JoinBranch(out.Welcome, b, tree, tg.members[2], tg.cfg, timeZero)
				if err != nil {
					t.Fatal(err)
				}
				sameEpoch(t, tg.rnd, ng, roundTrip(t, j, tg.cfg))
				// The old group goes on untouched.
				tg.commit(1, CommitOptions{ForcePath: true})
				tg.agree()
			})
		}
	}
}

// TestBranchRefused: the checks of §11.3 at the creator and at the joiner.
func TestBranchRefused(t *testing.T) {
	cs := X25519_AES128GCM_SHA256_Ed25519
	tg := newTestGroup(t, cs, 3)
	g := tg.members[0]
	b := memberBundle(tg, 1, cs)
	outsider := tg.newBundles(1)[0]
	kps := []*KeyPackage{b.KeyPackage()}
	if _, _, err := g.Branch(tg.rnd, g.GroupID(), nil, kps, tg.cfg, SuccessorOptions{}); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("same group ID: %v", err)
	}
	if _, _, err := g.Branch(tg.rnd, []byte("b"), nil, []*KeyPackage{outsider.KeyPackage()}, tg.cfg, SuccessorOptions{}); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("outsider's key package: %v", err)
	}
	// A creator that does not check: the joiner refuses a branch with a
	// member that was not in the old group.
	pskID, psk, err := g.branchPSK(g.Epoch())
	if err != nil {
		t.Fatal(err)
	}
	self, _ := g.Member(g.OwnLeaf())
	id := Identity{CipherSuite: cs, SignaturePrivateKey: g.sigPriv, Credential: self.Credential}
	_, out, err := successor(tg.rnd, id, []byte("b"), nil, pskID, psk, append(kps, outsider.KeyPackage()), tg.cfg, SuccessorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinBranch(out.Welcome, b, out.RatchetTree, tg.members[1], tg.cfg, timeZero); !errors.Is(err, ErrInvalidTree) {
		t.Fatalf("branch with an outsider: %v, want ErrInvalidTree", err)
	}
	// A branch of an epoch the joiner has left: joinable while the joiner
	// keeps that epoch's resumption secret (8 epochs), not after.
	ng, out, err := g.Branch(tg.rnd, []byte("b"), nil, kps, tg.cfg, SuccessorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tg.commit(2, CommitOptions{ForcePath: true})
	j, err := JoinBranch(out.Welcome, b, out.RatchetTree, tg.members[1], tg.cfg, timeZero)
	if err != nil {
		t.Fatalf("branch of the previous epoch: %v", err)
	}
	sameEpoch(t, tg.rnd, ng, j)
	for range resumptionEpochs {
		tg.commit(2, CommitOptions{ForcePath: true})
	}
	if _, err := JoinBranch(out.Welcome, b, out.RatchetTree, tg.members[1], tg.cfg, timeZero); !errors.Is(err, ErrUnknownPSK) {
		t.Fatalf("branch of a forgotten epoch: %v, want ErrUnknownPSK", err)
	}
	// A branch PSK may not be proposed in the group itself (§11.3).
	pskID.PSKNonce = make([]byte, 32)
	if err := newProvisional(g, 0, false, timeZero).applyPSK(pskID); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("branch PSK in a commit: %v", err)
	}
	// A ReInit welcome is no branch welcome.
	if _, err := JoinBranch(nil, b, nil, tg.members[1], tg.cfg, timeZero); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty welcome: %v", err)
	}
}
