// Package cipher implements the seven cipher suites of RFC 9420 §17.1 and the
// labeled cryptographic operations MLS builds on them (§5): Hash, KDF
// Extract/Expand, ExpandWithLabel, DeriveSecret, DeriveTreeSecret, MAC, AEAD,
// RefHash, SignWithLabel/VerifyWithLabel and EncryptWithLabel/
// DecryptWithLabel over HPKE (RFC 9180).
//
// Choices:
//   - HPKE base mode (RFC 9180 §5.1, §6.1) is implemented here for every
//     suite, on crypto/ecdh (X25519, P-256, P-384, P-521) and on
//     github.com/cloudflare/circl/dh/x448 (X448), rather than on crypto/hpke
//     (which has no X448 KEM and draws its ephemeral key from crypto/rand
//     internally). The ephemeral key is DeriveKeyPair(Nsk bytes read from the
//     caller's io.Reader), which RFC 9180 §7.1.3 allows for GenerateKeyPair,
//     so the caller's reader is honoured.
//   - Signature keys: Ed25519 and Ed448 private keys are RFC 8032 seeds (32
//     and 57 bytes); ECDSA private keys are big-endian scalars and public keys
//     uncompressed points (§5.1.1); ECDSA signatures are DER. Key generation
//     reads its randomness from the caller's reader. Signing takes no reader:
//     Ed25519 and Ed448 are deterministic, and ECDSA uses RFC 6979
//     deterministic nonces (Go 1.26's crypto/ecdsa would ignore a caller's
//     reader and draw from crypto/rand, which the pure mls packages avoid).
//   - Hot paths take parsed keys: NewVerifier, NewSigner, ParseHPKEPublicKey
//     and ParseHPKEPrivateKey parse once; the byte-slice conveniences on Suite
//     parse on every call.
//
// Errors wrap the sentinels of this package (ErrInvalidSignature,
// ErrDecryption, ErrInvalidKey, ErrInvalidLength) or tls.ErrUnsupported with
// %w; they never contain key material or plaintext.
//
// A Suite is immutable and safe for concurrent use, as are Signer, Verifier,
// HPKEPublicKey and HPKEPrivateKey.
package cipher

import (
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// The cipher suite identifiers of RFC 9420 §17.1.
const (
	X25519_AES128GCM_SHA256_Ed25519        uint16 = 0x0001
	P256_AES128GCM_SHA256_P256             uint16 = 0x0002
	X25519_CHACHA20POLY1305_SHA256_Ed25519 uint16 = 0x0003
	X448_AES256GCM_SHA512_Ed448            uint16 = 0x0004
	P521_AES256GCM_SHA512_P521             uint16 = 0x0005
	X448_CHACHA20POLY1305_SHA512_Ed448     uint16 = 0x0006
	P384_AES256GCM_SHA384_P384             uint16 = 0x0007
)

// Suite is one MLS cipher suite (RFC 9420 §5.1, §17.1): its KEM, KDF, AEAD,
// hash and signature scheme. Obtain one with Lookup. It is immutable and safe
// for concurrent use.
type Suite struct {
	id      uint16
	name    string
	newHash func() hash.Hash
	nh      int // KDF.Nh, the hash output size
	aead    aeadAlg
	kem     *kem
	sig     sigAlg
	hpke    labeled // set by init in hpke.go
}

// aeadAlg identifies an AEAD by its HPKE identifier (RFC 9180 §7.3).
type aeadAlg uint16

const (
	aesGCM128        aeadAlg = 0x0001
	aesGCM256        aeadAlg = 0x0002
	chaCha20Poly1305 aeadAlg = 0x0003
)

// sigAlg is a signature scheme (RFC 9420 §5.1.2).
type sigAlg struct {
	kind  sigKind
	curve elliptic.Curve // ECDSA only
}

type sigKind uint8

const (
	sigEd25519 sigKind = iota + 1
	sigEd448
	sigECDSA
)

var suites = [...]*Suite{
	{id: 1, name: "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
		newHash: sha256.New, nh: 32, aead: aesGCM128, kem: kemX25519, sig: sigAlg{kind: sigEd25519}},
	{id: 2, name: "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
		newHash: sha256.New, nh: 32, aead: aesGCM128, kem: kemP256, sig: sigAlg{sigECDSA, elliptic.P256()}},
	{id: 3, name: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
		newHash: sha256.New, nh: 32, aead: chaCha20Poly1305, kem: kemX25519, sig: sigAlg{kind: sigEd25519}},
	{id: 4, name: "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
		newHash: sha512.New, nh: 64, aead: aesGCM256, kem: kemX448, sig: sigAlg{kind: sigEd448}},
	{id: 5, name: "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
		newHash: sha512.New, nh: 64, aead: aesGCM256, kem: kemP521, sig: sigAlg{sigECDSA, elliptic.P521()}},
	{id: 6, name: "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
		newHash: sha512.New, nh: 64, aead: chaCha20Poly1305, kem: kemX448, sig: sigAlg{kind: sigEd448}},
	{id: 7, name: "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
		newHash: sha512.New384, nh: 48, aead: aesGCM256, kem: kemP384, sig: sigAlg{sigECDSA, elliptic.P384()}},
}

// Lookup returns the cipher suite with the given RFC 9420 §17.1 identifier.
// An unknown, reserved or GREASE identifier gives an error matching
// tls.ErrUnsupported.
func Lookup(id uint16) (*Suite, error) {
	if id == 0 || int(id) > len(suites) {
		return nil, fmt.Errorf("cipher: cipher suite 0x%04x: %w", id, tls.ErrUnsupported)
	}
	return suites[id-1], nil
}

// IDs returns the identifiers of every supported suite, in order.
func IDs() []uint16 {
	ids := make([]uint16, len(suites))
	for i, s := range suites {
		ids[i] = s.id
	}
	return ids
}

// ID returns the suite's RFC 9420 §17.1 identifier.
func (s *Suite) ID() uint16 { return s.id }

// String returns the suite's IANA name.
func (s *Suite) String() string { return s.name }

// Nh returns KDF.Nh, the size in bytes of the KDF's (and hash's) output.
func (s *Suite) Nh() int { return s.nh }

// Nk returns AEAD.Nk, the AEAD key size in bytes.
func (s *Suite) Nk() int { return s.aead.nk() }

// Nn returns AEAD.Nn, the AEAD nonce size in bytes.
func (s *Suite) Nn() int { return 12 }

// Hash returns the suite's hash of data (RFC 9420 §5.1: the hash named in
// the suite, also used for transcript and tree hashes).
func (s *Suite) Hash(data []byte) []byte {
	h := s.newHash()
	h.Write(data)
	return h.Sum(nil)
}
