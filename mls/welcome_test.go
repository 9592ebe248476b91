package mls

import (
	"errors"
	"testing"
	"time"
)

func TestJoinGroupTreeInBandOrSupplied(t *testing.T) {
	for _, inBand := range []bool{true, false} {
		tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
		bs := tg.newBundles(2)
		out := tg.commit(0, CommitOptions{Adds: []*KeyPackage{bs[0].KeyPackage(), bs[1].KeyPackage()},
			RatchetTreeInWelcome: inBand, ForcePath: true})
		tree := out.RatchetTree
		if inBand {
			tree = nil
		}
		if !inBand {
			if _, err := JoinGroup(out.Welcome, bs[0], nil, tg.cfg, time.Time{}); !errors.Is(err, ErrInvalidTree) {
				t.Fatalf("join without a tree: %v", err)
			}
		}
		for _, b := range bs {
			g, err := JoinGroup(out.Welcome, b, tree, tg.cfg, time.Time{})
			if err != nil {
				t.Fatalf("in band %v: %v", inBand, err)
			}
			tg.members = append(tg.members, g)
		}
		tg.agree()
		tg.commit(4, CommitOptions{ForcePath: true})
		tg.agree()
	}
}

func TestJoinGroupRejects(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	bs := tg.newBundles(2)
	out, err := tg.members[0].Commit(tg.rnd, CommitOptions{Adds: []*KeyPackage{bs[0].KeyPackage()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinGroup(out.Welcome, bs[1], out.RatchetTree, tg.cfg, time.Time{}); !errors.Is(err, ErrNotForUs) {
		t.Fatalf("other key package: %v", err)
	}
	strict := tg.cfg
	strict.AuthenticationService = refuseAll{}
	if _, err := JoinGroup(out.Welcome, bs[0], out.RatchetTree, strict, time.Time{}); !errors.Is(err, ErrCredential) {
		t.Fatalf("refused credentials: %v", err)
	}
	bad := append([]byte(nil), out.RatchetTree...)
	bad[len(bad)/2] ^= 1
	if _, err := JoinGroup(out.Welcome, bs[0], bad, tg.cfg, time.Time{}); err == nil {
		t.Fatal("tampered tree accepted")
	}
	if _, err := JoinGroup(out.Welcome[:len(out.Welcome)-1], bs[0], out.RatchetTree, tg.cfg, time.Time{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated welcome: %v", err)
	}
	if _, err := JoinGroup(out.Welcome, bs[0], out.RatchetTree, tg.cfg, time.Time{}); err != nil {
		t.Fatalf("the valid join: %v", err)
	}
}

type refuseAll struct{}

func (refuseAll) ValidateCredential(Credential, []byte) error { return errors.New("no") }

func TestJoinWithExternalPSK(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	psks := PSKMap{"k": []byte("sixteen byte key")}
	for _, g := range tg.members {
		g.cfg.PSKs = psks
	}
	bs := tg.newBundles(1)
	out := tg.commit(0, CommitOptions{Adds: []*KeyPackage{bs[0].KeyPackage()}, PSKs: []PSKRef{{ExternalID: []byte("k")}}})
	if _, err := JoinGroup(out.Welcome, bs[0], out.RatchetTree, tg.cfg, time.Time{}); !errors.Is(err, ErrUnknownPSK) {
		t.Fatalf("join without the PSK: %v", err)
	}
	cfg := tg.cfg
	cfg.PSKs = psks
	g, err := JoinGroup(out.Welcome, bs[0], out.RatchetTree, cfg, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tg.members = append(tg.members, g)
	tg.agree()
}
