package mls

import (
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"

	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// CipherSuite is an MLS cipher suite identifier (RFC 9420 §5.1, §17.1).
type CipherSuite uint16

// The cipher suites of RFC 9420 §17.1, all supported.
const (
	X25519_AES128GCM_SHA256_Ed25519        CipherSuite = 0x0001
	P256_AES128GCM_SHA256_P256             CipherSuite = 0x0002
	X25519_CHACHA20POLY1305_SHA256_Ed25519 CipherSuite = 0x0003
	X448_AES256GCM_SHA512_Ed448            CipherSuite = 0x0004
	P521_AES256GCM_SHA512_P521             CipherSuite = 0x0005
	X448_CHACHA20POLY1305_SHA512_Ed448     CipherSuite = 0x0006
	P384_AES256GCM_SHA384_P384             CipherSuite = 0x0007
)

// LeafIndex is the position of a member in the ratchet tree (RFC 9420
// §4.1, §7.7). It identifies a member for the length of an epoch; a Remove
// blanks it and a later Add may reuse it.
type LeafIndex uint32

// CredentialType is RFC 9420 §5.3; only basic and x509 are defined.
type CredentialType uint16

// The credential types of RFC 9420 §17.5.
const (
	CredentialBasic CredentialType = 1
	CredentialX509  CredentialType = 2
)

// Credential is a member's claimed identity (RFC 9420 §5.3): a basic
// credential holds an application-defined identity (in SpacePanda, a libp2p
// peer ID); an x509 credential a certificate chain. Binding it to the
// member's signature key is the AuthenticationService's job (§5.3.1).
type Credential struct {
	Type         CredentialType
	Identity     []byte   // basic
	Certificates [][]byte // x509
}

// BasicCredential returns a basic credential for identity (§5.3).
func BasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialBasic, Identity: append([]byte(nil), identity...)}
}

func credentialToWire(c Credential) wire.Credential {
	return wire.Credential{CredentialType: wire.CredentialType(c.Type), Identity: c.Identity, Certificates: c.Certificates}
}

func credentialFromWire(c *wire.Credential) Credential {
	return Credential{Type: CredentialType(c.CredentialType), Identity: c.Identity, Certificates: c.Certificates}
}

// AuthenticationService validates credentials (RFC 9420 §5.3.1). The group
// calls it for every leaf node it accepts: the members of a tree it joins,
// added key packages, updates, committers' new leaf nodes, and external
// senders. A non-nil error refuses the credential; the group reports it
// wrapped in ErrCredential. Implementations must be deterministic for a
// given input, since every member must reach the same decision.
type AuthenticationService interface {
	ValidateCredential(cred Credential, signatureKey []byte) error
}

// AcceptAllCredentials is an AuthenticationService that accepts every
// credential. It is for tests and vectors only: it authenticates nobody.
type AcceptAllCredentials struct{}

// ValidateCredential returns nil.
func (AcceptAllCredentials) ValidateCredential(Credential, []byte) error { return nil }

// PSKStore looks up external pre-shared keys by their psk_id (RFC 9420
// §8.4). A nil PSKStore holds none.
type PSKStore interface {
	ExternalPSK(id []byte) (secret []byte, ok bool)
}

// PSKMap is a PSKStore backed by a map from string(psk_id) to the secret.
type PSKMap map[string][]byte

// ExternalPSK returns the secret of id.
func (m PSKMap) ExternalPSK(id []byte) ([]byte, bool) {
	s, ok := m[string(id)]
	return s, ok
}

// Config holds the policy of a group that is not part of its state: the
// hooks and the bounds. It is passed to CreateGroup, JoinGroup and
// UnmarshalGroup; a restored group uses the Config it is given.
type Config struct {
	// AuthenticationService validates every credential (§5.3.1). It is
	// required: nil makes CreateGroup, JoinGroup and UnmarshalGroup fail.
	AuthenticationService AuthenticationService
	// PSKs supplies external PSKs (§8.4); nil means none.
	PSKs PSKStore
	// PastEpochs is how many epochs before the current one keep their
	// application secrets, to decrypt late messages (§14). Zero means the
	// default, 3; a negative value keeps none.
	PastEpochs int
	// MaxSkipped is how many skipped message keys each sender ratchet keeps
	// for out-of-order delivery (§9.2). Zero means the default, 32.
	// MaxSkipped and MaxForward take effect from the next epoch: an
	// epoch's secret tree keeps the window it was created with, also
	// across MarshalBinary and UnmarshalGroup.
	MaxSkipped uint32
	// MaxForward is how far ahead of a sender ratchet a generation may be
	// (§9.2). Zero means the default, 1024.
	MaxForward uint32
	// MaxLifetime, if non-zero, refuses key packages whose lifetime
	// (not_after - not_before) is longer (§7.2 asks applications to define
	// such a maximum). Zero accepts any.
	MaxLifetime time.Duration
	// PrivateHandshake sends this member's proposals and commits as
	// PrivateMessages (§6.3) instead of PublicMessages, hiding membership
	// changes from observers who are not members. Non-members (external
	// joiners, external senders) always send PublicMessages.
	PrivateHandshake bool
	// PaddingBlock pads the content of application messages to a multiple
	// of this many bytes (§6.3.1) to hide their exact length. Zero means
	// the default, 32; 1 disables padding.
	PaddingBlock int
	// CommitPolicy, if set, authorizes every commit the group processes
	// or creates (see CommitPolicy).
	CommitPolicy CommitPolicy
}

const (
	defaultPastEpochs   = 3
	defaultPaddingBlock = 32
	// resumptionEpochs is how many past resumption PSKs are kept (§8.6).
	resumptionEpochs = 8
)

func (c *Config) pastEpochs() int {
	switch {
	case c.PastEpochs == 0:
		return defaultPastEpochs
	case c.PastEpochs < 0:
		return 0
	}
	return c.PastEpochs
}

func (c *Config) window() schedule.Window {
	w := schedule.DefaultWindow
	if c.MaxSkipped != 0 {
		w.MaxSkipped = c.MaxSkipped
	}
	if c.MaxForward != 0 {
		w.MaxForward = c.MaxForward
	}
	return w
}

func (c *Config) padding(n int) int {
	b := c.PaddingBlock
	if b == 0 {
		b = defaultPaddingBlock
	}
	if b <= 1 {
		return 0
	}
	return (b - n%b) % b
}

func (c *Config) psk(id []byte) ([]byte, bool) {
	if c.PSKs == nil {
		return nil, false
	}
	return c.PSKs.ExternalPSK(id)
}

// Extension is a group context, key package or leaf node extension (RFC 9420
// §7.2, §13).
type Extension struct {
	Type uint16
	Data []byte
}

// The extension types of RFC 9420 §17.3.
const (
	ExtensionApplicationID        uint16 = 1
	ExtensionRatchetTree          uint16 = 2
	ExtensionRequiredCapabilities uint16 = 3
	ExtensionExternalPub          uint16 = 4
	ExtensionExternalSenders      uint16 = 5
)

func extensionsToWire(es []Extension) wire.Extensions {
	out := make(wire.Extensions, len(es))
	for i, e := range es {
		out[i] = wire.Extension{ExtensionType: wire.ExtensionType(e.Type), ExtensionData: e.Data}
	}
	return out
}

func extensionsFromWire(es wire.Extensions) []Extension {
	out := make([]Extension, len(es))
	for i, e := range es {
		out[i] = Extension{Type: uint16(e.ExtensionType), Data: e.ExtensionData}
	}
	return out
}

// Lifetime is the validity period of a key package's leaf node (§7.2),
// in seconds since the Unix epoch.
type Lifetime struct {
	NotBefore, NotAfter uint64
}

// covers reports whether now lies in the lifetime. The zero time skips the
// check (as for replayed test vectors, whose lifetimes may have expired).
func covers(l wire.Lifetime, now time.Time) bool {
	if now.IsZero() {
		return true
	}
	s := now.Unix()
	return s >= 0 && uint64(s) >= l.NotBefore && uint64(s) <= l.NotAfter
}

// Member is a non-blank leaf of the ratchet tree (§7.2).
type Member struct {
	Index        LeafIndex
	Credential   Credential
	SignatureKey []byte
}

// cipherSuite looks up a suite's implementation.
func cipherSuite(cs CipherSuite) (*cipher.Suite, error) { return cipher.Lookup(uint16(cs)) }
