package mls

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// Identity is what a client signs with: its cipher suite, its signature
// private key and its credential (RFC 9420 §5.1.2, §5.3). For Ed25519
// suites the private key is the 32-byte RFC 8032 seed, for Ed448 the 57-byte
// seed, for ECDSA the big-endian scalar.
type Identity struct {
	CipherSuite         CipherSuite
	SignaturePrivateKey []byte
	Credential          Credential
}

// signer parses the identity's signature key.
func (id *Identity) signer() (*cipher.Suite, *cipher.Signer, error) {
	suite, err := cipher.Lookup(uint16(id.CipherSuite))
	if err != nil {
		return nil, nil, err
	}
	sg, err := suite.NewSigner(id.SignaturePrivateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: signature key: %w", err)
	}
	return suite, sg, nil
}

// KeyPackageOptions are the optional parts of a new KeyPackage (§10).
type KeyPackageOptions struct {
	// Lifetime of the leaf node; the zero value means NotBefore 0 and
	// NotAfter the maximum (no expiry).
	Lifetime Lifetime
	// Extensions of the KeyPackage itself, and of its leaf node.
	Extensions, LeafExtensions []Extension
	// SupportedExtensions are extension types, besides those of
	// LeafExtensions, that the leaf's capabilities list (§7.2): a group
	// may carry a GroupContext extension only if every leaf supports it.
	SupportedExtensions []uint16
}

// KeyPackage is the public part of a client's invitation to be added to a
// group (RFC 9420 §10): its init key, its leaf node and a signature.
// It is immutable and safe for concurrent use.
type KeyPackage struct {
	kp  wire.KeyPackage
	raw []byte // encoded KeyPackage (not wrapped)
}

// KeyPackageBundle is a KeyPackage with its private keys: the init key,
// the leaf encryption key and the signature key (§10). It is what a client
// keeps until the Welcome arrives. It serializes with MarshalBinary; the
// bytes hold private keys.
type KeyPackageBundle struct {
	kp       *KeyPackage
	initPriv []byte
	encPriv  []byte
	sigPriv  []byte
}

// NewKeyPackage creates a KeyPackage for id with fresh init and encryption
// keys drawn from random (RFC 9420 §10).
func NewKeyPackage(random io.Reader, id Identity, opts KeyPackageOptions) (*KeyPackageBundle, error) {
	suite, sg, err := id.signer()
	if err != nil {
		return nil, err
	}
	initPriv, initPub, err := suite.GenerateHPKEKey(random)
	if err != nil {
		return nil, err
	}
	encPriv, encPub, err := suite.GenerateHPKEKey(random)
	if err != nil {
		return nil, err
	}
	lt := wire.Lifetime{NotBefore: opts.Lifetime.NotBefore, NotAfter: opts.Lifetime.NotAfter}
	if lt == (wire.Lifetime{}) {
		lt.NotAfter = ^uint64(0)
	}
	ln := &wire.LeafNode{
		EncryptionKey:  encPub,
		SignatureKey:   sg.PublicKey(),
		Credential:     credentialToWire(id.Credential),
		Capabilities:   defaultCapabilities(id.CipherSuite, id.Credential.Type, opts.LeafExtensions),
		LeafNodeSource: wire.LeafNodeSourceKeyPackage,
		Lifetime:       lt,
		Extensions:     extensionsToWire(opts.LeafExtensions),
	}
	for _, t := range opts.SupportedExtensions {
		if !supportsExtension(&ln.Capabilities, wire.ExtensionType(t)) {
			ln.Capabilities.Extensions = append(ln.Capabilities.Extensions, wire.ExtensionType(t))
		}
	}
	if err := tree.SignLeafNode(sg, ln, nil, 0); err != nil {
		return nil, err
	}
	wkp := wire.KeyPackage{
		Version: wire.MLS10, CipherSuite: wire.CipherSuite(id.CipherSuite),
		InitKey: initPub, LeafNode: *ln, Extensions: extensionsToWire(opts.Extensions),
	}
	tbs, err := tls.Marshal((*wire.KeyPackageTBS)(&wkp))
	if err != nil {
		return nil, err
	}
	if wkp.Signature, err = sg.SignWithLabel("KeyPackageTBS", tbs); err != nil {
		return nil, err
	}
	raw, err := tls.Marshal(&wkp)
	if err != nil {
		return nil, err
	}
	return &KeyPackageBundle{kp: &KeyPackage{kp: wkp, raw: raw}, initPriv: initPriv, encPriv: encPriv,
		sigPriv: slices.Clone(id.SignaturePrivateKey)}, nil
}

// defaultCapabilities lists what this implementation supports (§7.2):
// MLS 1.0, the suite, the credential type, and the non-default extension
// types the leaf carries. Default proposal and extension types are implied.
func defaultCapabilities(cs CipherSuite, ct CredentialType, leafExt []Extension) wire.Capabilities {
	c := wire.Capabilities{
		Versions:     []wire.ProtocolVersion{wire.MLS10},
		CipherSuites: []wire.CipherSuite{wire.CipherSuite(cs)},
		Credentials:  []wire.CredentialType{wire.CredentialTypeBasic},
	}
	if ct != CredentialBasic {
		c.Credentials = append(c.Credentials, wire.CredentialType(ct))
	}
	for _, e := range leafExt {
		if !defaultExtension(wire.ExtensionType(e.Type)) {
			c.Extensions = append(c.Extensions, wire.ExtensionType(e.Type))
		}
	}
	return c
}

// KeyPackage returns the public part.
func (b *KeyPackageBundle) KeyPackage() *KeyPackage { return b.kp }

// Identity returns the identity the key package was made for.
func (b *KeyPackageBundle) Identity() Identity {
	return Identity{CipherSuite: b.kp.CipherSuite(), SignaturePrivateKey: slices.Clone(b.sigPriv), Credential: b.kp.Credential()}
}

const keyPackageBundleVersion = 1

// MarshalBinary encodes the bundle: uint16 version (1), the KeyPackage as
// an MLSMessage, then init, encryption and signature private keys as
// opaque<V>. The bytes hold private keys: store them as secrets.
func (b *KeyPackageBundle) MarshalBinary() ([]byte, error) {
	var w tls.Writer
	w.Uint16(keyPackageBundleVersion)
	w.Opaque(b.kp.Marshal())
	w.Opaque(b.initPriv)
	w.Opaque(b.encPriv)
	w.Opaque(b.sigPriv)
	return w.Bytes(), w.Err()
}

// UnmarshalKeyPackageBundle decodes MarshalBinary's output and checks that
// the private keys match the key package. Errors match ErrMalformed,
// ErrUnsupported or ErrState.
func UnmarshalKeyPackageBundle(data []byte) (*KeyPackageBundle, error) {
	r := tls.NewReader(slices.Clone(data))
	v := r.Uint16()
	kpb, ip, ep, sp := r.Opaque(), r.Opaque(), r.Opaque(), r.Opaque()
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("mls: key package bundle: %w", err)
	}
	if v != keyPackageBundleVersion {
		return nil, fmt.Errorf("%w: key package bundle version %d", ErrState, v)
	}
	kp, err := UnmarshalKeyPackage(kpb)
	if err != nil {
		return nil, err
	}
	b := &KeyPackageBundle{kp: kp, initPriv: ip, encPriv: ep, sigPriv: sp}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// check verifies that the bundle's private keys match its public keys.
func (b *KeyPackageBundle) check() error {
	suite, err := cipher.Lookup(uint16(b.kp.kp.CipherSuite))
	if err != nil {
		return err
	}
	for _, k := range []struct{ priv, pub []byte }{{b.initPriv, b.kp.kp.InitKey}, {b.encPriv, b.kp.kp.LeafNode.EncryptionKey}} {
		pk, err := suite.ParseHPKEPrivateKey(k.priv)
		if err != nil || !bytes.Equal(pk.PublicKey(), k.pub) {
			return fmt.Errorf("%w: HPKE private key does not match the key package", ErrState)
		}
	}
	sg, err := suite.NewSigner(b.sigPriv)
	if err != nil || !bytes.Equal(sg.PublicKey(), b.kp.kp.LeafNode.SignatureKey) {
		return fmt.Errorf("%w: signature key does not match the key package", ErrState)
	}
	return nil
}

// UnmarshalKeyPackage decodes a KeyPackage wrapped in an MLSMessage (§6,
// §10), as Marshal produces. It checks syntax only; call Validate before
// using it. Errors match ErrMalformed or ErrUnsupported.
func UnmarshalKeyPackage(data []byte) (*KeyPackage, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("mls: key package: %w", err)
	}
	if m.WireFormat != wire.WireFormatKeyPackage || m.KeyPackage == nil {
		return nil, fmt.Errorf("%w: mls: not a key package (wire format %d)", ErrMalformed, m.WireFormat)
	}
	raw, err := tls.Marshal(m.KeyPackage)
	if err != nil {
		return nil, err
	}
	return &KeyPackage{kp: *m.KeyPackage, raw: raw}, nil
}

// Marshal returns the KeyPackage wrapped in an MLSMessage (§6).
func (kp *KeyPackage) Marshal() []byte {
	return tls.MustMarshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatKeyPackage, KeyPackage: &kp.kp})
}

// Ref returns the KeyPackageRef (§5.2), or nil for an unknown suite.
func (kp *KeyPackage) Ref() []byte {
	suite, err := cipher.Lookup(uint16(kp.kp.CipherSuite))
	if err != nil {
		return nil
	}
	return suite.MakeKeyPackageRef(kp.raw)
}

// CipherSuite returns the key package's cipher suite.
func (kp *KeyPackage) CipherSuite() CipherSuite { return CipherSuite(kp.kp.CipherSuite) }

// Credential returns the credential of the key package's leaf node.
func (kp *KeyPackage) Credential() Credential { return credentialFromWire(&kp.kp.LeafNode.Credential) }

// SignatureKey returns the leaf node's signature public key.
func (kp *KeyPackage) SignatureKey() []byte { return slices.Clone(kp.kp.LeafNode.SignatureKey) }

// Validate runs the checks of RFC 9420 §10.1 that need no group: a
// supported version and cipher suite, the KeyPackage signature, the leaf
// node (§7.3: source key_package, signature, lifetime covering now unless
// now is zero, capabilities listing the key package's suite and version and
// the leaf's own extensions and credential type, the credential accepted by
// as), and an init key distinct from the encryption key. Errors match
// ErrInvalidKeyPackage, ErrInvalidLeafNode, ErrExpired, ErrCapabilities,
// ErrCredential or ErrUnsupported.
func (kp *KeyPackage) Validate(as AuthenticationService, now time.Time) error {
	suite, err := validateKeyPackageSyntax(&kp.kp)
	if err != nil {
		return err
	}
	c := &kp.kp.LeafNode.Capabilities
	if !slices.Contains(c.CipherSuites, kp.kp.CipherSuite) || !slices.Contains(c.Versions, kp.kp.Version) {
		return fmt.Errorf("%w: the leaf's capabilities do not list the key package's suite %d and version %d",
			ErrCapabilities, kp.kp.CipherSuite, kp.kp.Version)
	}
	v := leafCheck{suite: suite, as: as, now: now, source: wire.LeafNodeSourceKeyPackage}
	return v.check(&kp.kp.LeafNode, nil, 0)
}

// validateKeyPackageSyntax checks version, suite, signature and key reuse.
func validateKeyPackageSyntax(kp *wire.KeyPackage) (*cipher.Suite, error) {
	if kp.Version != wire.MLS10 {
		return nil, fmt.Errorf("%w: key package version %d", ErrUnsupported, kp.Version)
	}
	suite, err := cipher.Lookup(uint16(kp.CipherSuite))
	if err != nil {
		return nil, err
	}
	tbs, err := tls.Marshal((*wire.KeyPackageTBS)(kp))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKeyPackage, err)
	}
	if err := suite.VerifyWithLabel(kp.LeafNode.SignatureKey, "KeyPackageTBS", tbs, kp.Signature); err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrInvalidKeyPackage, err)
	}
	if bytes.Equal(kp.InitKey, kp.LeafNode.EncryptionKey) {
		return nil, fmt.Errorf("%w: init key equals the encryption key", ErrInvalidKeyPackage)
	}
	if _, err := suite.ParseHPKEPublicKey(kp.InitKey); err != nil {
		return nil, fmt.Errorf("%w: init key: %w", ErrInvalidKeyPackage, err)
	}
	return suite, nil
}
