package cipher

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/ed448"
)

// signContent returns the encoding of the SignContent struct of RFC 9420
// §5.1.2: opaque label<V> = "MLS 1.0 " + label, opaque content<V>.
func signContent(label string, content []byte) []byte {
	b := make([]byte, 0, 8+len(labelPrefix)+len(label)+len(content))
	b = appendVarint(b, len(labelPrefix)+len(label))
	b = append(b, labelPrefix...)
	b = append(b, label...)
	b = appendVarint(b, len(content))
	return append(b, content...)
}

// Signer holds a parsed signature private key of one suite. It is immutable
// and safe for concurrent use.
type Signer struct {
	suite *Suite
	pub   []byte
	ed    ed25519.PrivateKey
	ed448 ed448.PrivateKey
	ec    *ecdsa.PrivateKey
}

// NewSigner parses a signature private key (RFC 9420 §5.1.2): a 32-byte seed
// for Ed25519, a 57-byte seed for Ed448, a big-endian scalar of the curve's
// size for ECDSA. Bad bytes give an error matching ErrInvalidKey.
func (s *Suite) NewSigner(priv []byte) (*Signer, error) {
	sg := &Signer{suite: s}
	switch s.sig.kind {
	case sigEd25519:
		if len(priv) != ed25519.SeedSize {
			return nil, s.keyError("signature private", len(priv))
		}
		sg.ed = ed25519.NewKeyFromSeed(priv)
		sg.pub = sg.ed.Public().(ed25519.PublicKey)
	case sigEd448:
		if len(priv) != ed448.SeedSize {
			return nil, s.keyError("signature private", len(priv))
		}
		sg.ed448 = ed448.NewKeyFromSeed(priv)
		sg.pub = sg.ed448.Public().(ed448.PublicKey)
	default:
		k, err := ecdsa.ParseRawPrivateKey(s.sig.curve, leftPad(priv, s.sigSeedSize()))
		if err != nil {
			return nil, s.keyError("signature private", len(priv))
		}
		sg.ec = k
		if sg.pub, err = k.PublicKey.Bytes(); err != nil {
			return nil, s.keyError("signature private", len(priv))
		}
	}
	return sg, nil
}

func (s *Suite) keyError(what string, n int) error {
	return fmt.Errorf("cipher: suite %d: %s key of %d bytes: %w", s.id, what, n, ErrInvalidKey)
}

// PublicKey returns the encoded signature public key (RFC 9420 §5.1.1).
func (sg *Signer) PublicKey() []byte { return append([]byte(nil), sg.pub...) }

// SignWithLabel implements RFC 9420 §5.1.2: a signature over SignContent
// {"MLS 1.0 " + label, content}. Signing is deterministic for every suite:
// EdDSA by design, ECDSA per RFC 6979; ECDSA signatures are DER-encoded.
func (sg *Signer) SignWithLabel(label string, content []byte) ([]byte, error) {
	msg := signContent(label, content)
	switch sg.suite.sig.kind {
	case sigEd25519:
		return ed25519.Sign(sg.ed, msg), nil
	case sigEd448:
		return ed448.Sign(sg.ed448, msg, ""), nil
	}
	// A nil reader selects RFC 6979 deterministic ECDSA: no randomness
	// outside the caller's control (Go 1.26 ignores any other reader).
	sig, err := sg.ec.Sign(nil, sg.suite.Hash(msg), sg.suite.cryptoHash())
	if err != nil {
		return nil, fmt.Errorf("cipher: SignWithLabel %q: %w", label, err)
	}
	return sig, nil
}

// Verifier holds a parsed signature public key of one suite. It is immutable
// and safe for concurrent use.
type Verifier struct {
	suite *Suite
	pub   []byte
	ec    *ecdsa.PublicKey
}

// NewVerifier parses a signature public key (RFC 9420 §5.1.1): 32 bytes for
// Ed25519, 57 for Ed448, an uncompressed point for ECDSA. Bad bytes give an
// error matching ErrInvalidKey.
func (s *Suite) NewVerifier(pub []byte) (*Verifier, error) {
	v := &Verifier{suite: s, pub: append([]byte(nil), pub...)}
	switch s.sig.kind {
	case sigEd25519:
		if len(pub) != ed25519.PublicKeySize {
			return nil, s.keyError("signature public", len(pub))
		}
	case sigEd448:
		if len(pub) != ed448.PublicKeySize {
			return nil, s.keyError("signature public", len(pub))
		}
	default:
		k, err := ecdsa.ParseUncompressedPublicKey(s.sig.curve, pub)
		if err != nil {
			return nil, s.keyError("signature public", len(pub))
		}
		v.ec = k
	}
	return v, nil
}

// PublicKey returns the encoded public key.
func (v *Verifier) PublicKey() []byte { return append([]byte(nil), v.pub...) }

// VerifyWithLabel implements RFC 9420 §5.1.2. It returns nil if sig is a
// valid signature over SignContent {"MLS 1.0 " + label, content}, and an
// error matching ErrInvalidSignature otherwise.
func (v *Verifier) VerifyWithLabel(label string, content, sig []byte) error {
	msg := signContent(label, content)
	var ok bool
	switch v.suite.sig.kind {
	case sigEd25519:
		ok = ed25519.Verify(v.pub, msg, sig)
	case sigEd448:
		ok = ed448.Verify(v.pub, msg, sig, "")
	default:
		ok = ecdsa.VerifyASN1(v.ec, v.suite.Hash(msg), sig)
	}
	if !ok {
		return fmt.Errorf("cipher: VerifyWithLabel %q: %w", label, ErrInvalidSignature)
	}
	return nil
}

// SignWithLabel is NewSigner(priv) followed by Signer.SignWithLabel
// (RFC 9420 §5.1.2).
func (s *Suite) SignWithLabel(priv []byte, label string, content []byte) ([]byte, error) {
	sg, err := s.NewSigner(priv)
	if err != nil {
		return nil, err
	}
	return sg.SignWithLabel(label, content)
}

// VerifyWithLabel is NewVerifier(pub) followed by Verifier.VerifyWithLabel
// (RFC 9420 §5.1.2). A malformed key gives ErrInvalidKey, a bad signature
// ErrInvalidSignature.
func (s *Suite) VerifyWithLabel(pub []byte, label string, content, sig []byte) error {
	v, err := s.NewVerifier(pub)
	if err != nil {
		return err
	}
	return v.VerifyWithLabel(label, content, sig)
}

// GenerateSignatureKey returns a new signature key pair (RFC 9420 §5.1.2),
// reading all its randomness from random: a seed for EdDSA, a scalar drawn
// by rejection sampling for ECDSA.
func (s *Suite) GenerateSignatureKey(random io.Reader) (priv, pub []byte, err error) {
	n := s.sigSeedSize()
	for range 64 { // P-521 accepts over half of the 66-byte masked draws
		priv = make([]byte, n)
		if _, err := io.ReadFull(random, priv); err != nil {
			return nil, nil, fmt.Errorf("cipher: GenerateSignatureKey: %w", err)
		}
		if s.sig.kind == sigECDSA && s.sig.curve == elliptic.P521() {
			priv[0] &= 0x01
		}
		sg, err := s.NewSigner(priv)
		if err == nil {
			return priv, sg.pub, nil
		}
	}
	return nil, nil, fmt.Errorf("cipher: GenerateSignatureKey: no valid scalar in 64 draws: %w", ErrInvalidKey)
}

// sigSeedSize is the size of a signature private key.
func (s *Suite) sigSeedSize() int {
	switch s.sig.kind {
	case sigEd25519:
		return ed25519.SeedSize
	case sigEd448:
		return ed448.SeedSize
	}
	return (s.sig.curve.Params().BitSize + 7) / 8
}

// cryptoHash names the suite's hash for crypto.SignerOpts.
func (s *Suite) cryptoHash() crypto.Hash {
	switch s.nh {
	case 32:
		return crypto.SHA256
	case 48:
		return crypto.SHA384
	}
	return crypto.SHA512
}

// leftPad returns a big-endian scalar shorter than n bytes left-padded with
// zeros to n bytes. Encoders such as the mlswg vectors write scalars as
// minimal integers (a 65-byte P-521 key), while the standard library wants
// the fixed Field-Element-to-Octet-String length; the value is the same.
// Empty and over-long input is returned as is, for the parser to refuse.
func leftPad(b []byte, n int) []byte {
	if len(b) == 0 || len(b) >= n {
		return b
	}
	return append(make([]byte, n-len(b), n), b...)
}
