package mls

import (
	"errors"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestSupportsGroup(t *testing.T) {
	caps := defaultCapabilities(1, CredentialBasic, []Extension{{Type: 0xff01}})
	rc := func(r wire.RequiredCapabilities) wire.Extensions {
		return wire.Extensions{{ExtensionType: wire.ExtensionTypeRequiredCapabilities, ExtensionData: tls.MustMarshal(&r)}}
	}
	for _, c := range []struct {
		name string
		ext  wire.Extensions
		ok   bool
	}{
		{"none", nil, true},
		{"default extension", wire.Extensions{{ExtensionType: wire.ExtensionTypeApplicationID}}, true},
		{"listed extension", wire.Extensions{{ExtensionType: 0xff01}}, true},
		{"unlisted extension", wire.Extensions{{ExtensionType: 0xff02}}, false},
		{"required listed", rc(wire.RequiredCapabilities{ExtensionTypes: []wire.ExtensionType{0xff01}}), true},
		{"required unlisted", rc(wire.RequiredCapabilities{ExtensionTypes: []wire.ExtensionType{0xff02}}), false},
		{"required proposal", rc(wire.RequiredCapabilities{ProposalTypes: []wire.ProposalType{0xff00}}), false},
		{"required default proposal", rc(wire.RequiredCapabilities{ProposalTypes: []wire.ProposalType{wire.ProposalTypeAdd}}), true},
		{"required credential", rc(wire.RequiredCapabilities{CredentialTypes: []wire.CredentialType{wire.CredentialTypeX509}}), false},
	} {
		err := supportsGroup(&caps, c.ext)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if err != nil && !errors.Is(err, ErrCapabilities) {
			t.Errorf("%s: error %v does not match ErrCapabilities", c.name, err)
		}
	}
	bad := wire.Extensions{{ExtensionType: wire.ExtensionTypeRequiredCapabilities, ExtensionData: []byte{1}}}
	if err := supportsGroup(&caps, bad); err == nil {
		t.Error("malformed required_capabilities accepted")
	}
}

func TestLeafCheckRejects(t *testing.T) {
	rnd := testRand(12)
	b, _ := NewKeyPackage(rnd, testIdentity(t, rnd, 1, "x"), KeyPackageOptions{LeafExtensions: []Extension{{Type: 0xff03}}})
	ln := b.KeyPackage().kp.LeafNode
	suite, _ := cipherSuite(1)
	v := leafCheck{suite: suite, as: AcceptAllCredentials{}, source: wire.LeafNodeSourceKeyPackage}
	if err := v.check(&ln, nil, 0); err != nil {
		t.Fatalf("valid leaf: %v", err)
	}
	v.source = wire.LeafNodeSourceUpdate
	if err := v.check(&ln, nil, 0); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("wrong source: %v", err)
	}
	v.source = 0
	noCred := ln
	noCred.Capabilities.Credentials = nil
	if err := v.policy(&noCred); !errors.Is(err, ErrCapabilities) {
		t.Fatalf("credential type not listed: %v", err)
	}
	noExt := ln
	noExt.Capabilities.Extensions = nil
	if err := v.policy(&noExt); !errors.Is(err, ErrCapabilities) {
		t.Fatalf("leaf extension not listed: %v", err)
	}
}

func TestMaxLifetime(t *testing.T) {
	for _, c := range []struct {
		l    wire.Lifetime
		max  time.Duration
		want bool
	}{
		{wire.Lifetime{NotBefore: 0, NotAfter: ^uint64(0)}, 0, false},
		{wire.Lifetime{NotBefore: 0, NotAfter: ^uint64(0)}, time.Hour, true},
		{wire.Lifetime{NotBefore: 100, NotAfter: 3700}, time.Hour, false},
		{wire.Lifetime{NotBefore: 100, NotAfter: 3701}, time.Hour, true},
		{wire.Lifetime{NotBefore: 200, NotAfter: 100}, time.Hour, true},
	} {
		if got := tooLong(c.l, c.max); got != c.want {
			t.Errorf("tooLong(%v, %v) = %v", c.l, c.max, got)
		}
	}
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 1)
	tg.members[0].cfg.MaxLifetime = 24 * time.Hour
	kp := tg.newBundles(1)[0].KeyPackage() // no expiry
	if _, err := tg.members[0].Commit(tg.rnd, CommitOptions{Adds: []*KeyPackage{kp}}); !errors.Is(err, ErrInvalidLeafNode) {
		t.Fatalf("key package beyond the maximum lifetime: %v", err)
	}
}
