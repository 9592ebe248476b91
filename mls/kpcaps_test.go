package mls

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// resigned returns b's key package with its leaf's capabilities changed by
// edit and both signatures made again, so that only the capabilities are
// wrong.
func resigned(t *testing.T, b *KeyPackageBundle, edit func(*wire.Capabilities)) *KeyPackage {
	t.Helper()
	id := b.Identity()
	_, sg, err := id.signer()
	if err != nil {
		t.Fatal(err)
	}
	kp := b.kp.kp
	ln := kp.LeafNode
	ln.Capabilities.Versions = append([]wire.ProtocolVersion(nil), ln.Capabilities.Versions...)
	ln.Capabilities.CipherSuites = append([]wire.CipherSuite(nil), ln.Capabilities.CipherSuites...)
	edit(&ln.Capabilities)
	if err := tree.SignLeafNode(sg, &ln, nil, 0); err != nil {
		t.Fatal(err)
	}
	kp.LeafNode = ln
	tbs := tls.MustMarshal((*wire.KeyPackageTBS)(&kp))
	if kp.Signature, err = sg.SignWithLabel("KeyPackageTBS", tbs); err != nil {
		t.Fatal(err)
	}
	return &KeyPackage{kp: kp, raw: tls.MustMarshal(&kp)}
}

// TestKeyPackageCapabilitiesListSuiteAndVersion: a key package whose leaf
// does not claim to support its own suite or MLS 1.0 is invalid (§7.2,
// §10.1: the leaf's capabilities list what the client supports, and it is
// being added to a group of that suite and version).
func TestKeyPackageCapabilitiesListSuiteAndVersion(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 1)
	b := tg.newBundles(1)[0]
	if err := resigned(t, b, func(*wire.Capabilities) {}).Validate(AcceptAllCredentials{}, timeZero); err != nil {
		t.Fatalf("unchanged key package: %v", err)
	}
	noSuite := resigned(t, b, func(c *wire.Capabilities) { c.CipherSuites = []wire.CipherSuite{2} })
	if err := noSuite.Validate(AcceptAllCredentials{}, timeZero); !errors.Is(err, ErrCapabilities) {
		t.Fatalf("capabilities without the suite: %v, want ErrCapabilities", err)
	}
	noVersion := resigned(t, b, func(c *wire.Capabilities) { c.Versions = []wire.ProtocolVersion{2} })
	if err := noVersion.Validate(AcceptAllCredentials{}, timeZero); !errors.Is(err, ErrCapabilities) {
		t.Fatalf("capabilities without MLS 1.0: %v, want ErrCapabilities", err)
	}
}
