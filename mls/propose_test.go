package mls

import (
	"errors"
	"testing"
)

// TestProposalsByReference: Update and GroupContextExtensions proposals
// from members are committed by reference by another member.
func TestProposalsByReference(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	upd, err := tg.members[1].ProposeUpdate(tg.rnd)
	if err != nil {
		t.Fatal(err)
	}
	gce, err := tg.members[2].ProposeGroupContextExtensions([]Extension{{Type: ExtensionApplicationID, Data: []byte("chat")}})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := tg.members[1].Member(1)
	for k, msg := range [][]byte{upd, gce} {
		sender := k + 1
		for i, g := range tg.members {
			res, err := g.ProcessMessage(msg, timeZero)
			if i == sender && VerdictOf(err) == Ignore {
				continue // the sender's own echo
			}
			if err != nil {
				t.Fatalf("member %d: %v", i, err)
			}
			if _, ok := res.(*ProposalReceived); !ok {
				t.Fatalf("result %T", res)
			}
		}
	}
	out := tg.commit(0, CommitOptions{})
	if len(out.Result.Updated) != 1 || out.Result.Updated[0] != 1 {
		t.Fatalf("updated %v", out.Result.Updated)
	}
	tg.agree()
	after, _ := tg.members[0].Member(1)
	if string(before.SignatureKey) != string(after.SignatureKey) {
		t.Fatal("update changed the signature key")
	}
	if es := tg.members[1].Extensions(); len(es) != 1 || string(es[0].Data) != "chat" {
		t.Fatalf("extensions %v", es)
	}
	// The updated member still follows the group with its new key.
	tg.commit(2, CommitOptions{ForcePath: true})
	tg.agree()
}

// TestMaxProposals: proposals beyond the bound are ignored.
func TestMaxProposals(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	g := tg.members[1]
	for i := range MaxProposals + 1 {
		p, err := tg.members[0].ProposeGroupContextExtensions([]Extension{{Type: ExtensionApplicationID, Data: []byte{byte(i), byte(i >> 8)}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.ProcessMessage(p, timeZero)
		if i < MaxProposals && err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
		if i == MaxProposals && (VerdictOf(err) != Ignore || !errors.Is(err, ErrTooManyProposals)) {
			t.Fatalf("proposal beyond the bound: %v", err)
		}
	}
}
