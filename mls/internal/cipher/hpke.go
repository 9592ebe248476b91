package cipher

import (
	"encoding/binary"
	"fmt"
	"io"
)

// init sets each suite's HPKE labeled KDF, whose suite_id is "HPKE" ||
// kem_id || kdf_id || aead_id (RFC 9180 §5.1).
func init() {
	for _, s := range suites {
		id := binary.BigEndian.AppendUint16([]byte("HPKE"), s.kem.id)
		id = binary.BigEndian.AppendUint16(id, s.kdfID())
		id = binary.BigEndian.AppendUint16(id, uint16(s.aead))
		s.hpke = labeled{suiteID: id, kdf: s}
	}
}

// kdfID is the HPKE identifier of the suite's KDF (RFC 9180 §7.2).
func (s *Suite) kdfID() uint16 {
	switch s.nh {
	case 32:
		return 0x0001
	case 48:
		return 0x0002
	}
	return 0x0003
}

// hpkeContext is the output of the base-mode key schedule of RFC 9180 §5.1
// for a single-shot use (sequence number 0, so the nonce is base_nonce).
type hpkeContext struct {
	key, nonce, exporter []byte
}

// keySchedule is KeySchedule(mode_base, shared_secret, info, "", "") of
// RFC 9180 §5.1.
func (s *Suite) keySchedule(shared, info []byte) hpkeContext {
	l := s.hpke
	ctx := []byte{0x00} // mode_base
	ctx = append(ctx, l.extract(nil, "psk_id_hash", nil)...)
	ctx = append(ctx, l.extract(nil, "info_hash", info)...)
	secret := l.extract(shared, "secret", nil)
	return hpkeContext{
		key:      l.expand(secret, "key", ctx, s.Nk()),
		nonce:    l.expand(secret, "base_nonce", ctx, s.Nn()),
		exporter: l.expand(secret, "exp", ctx, s.nh),
	}
}

// export is Context.Export(exporter_context, L) of RFC 9180 §5.3.
func (s *Suite) export(c hpkeContext, exporterContext []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*s.nh {
		return nil, fmt.Errorf("cipher: HPKE export of %d bytes: %w", length, ErrInvalidLength)
	}
	return s.hpke.expand(c.exporter, "sec", exporterContext, length), nil
}

// HPKEPublicKey is a parsed HPKE public key of one suite (RFC 9420 §5.1.1).
// It is immutable and safe for concurrent use.
type HPKEPublicKey struct {
	suite *Suite
	pk    *publicKey
}

// ParseHPKEPublicKey parses an HPKE public key (RFC 9180 §7.1.1: 32 bytes for
// X25519, 56 for X448, an uncompressed point for NIST curves). Bad bytes give
// an error matching ErrInvalidKey.
func (s *Suite) ParseHPKEPublicKey(pub []byte) (*HPKEPublicKey, error) {
	pk, err := s.kem.parsePublic(pub)
	if err != nil {
		return nil, err
	}
	return &HPKEPublicKey{suite: s, pk: pk}, nil
}

// Bytes returns the serialized public key.
func (p *HPKEPublicKey) Bytes() []byte { return append([]byte(nil), p.pk.raw...) }

// setup is SetupBaseS of RFC 9180 §5.1.1, the ephemeral key derived from Nsk
// bytes of random.
func (p *HPKEPublicKey) setup(random io.Reader, info []byte) (hpkeContext, []byte, error) {
	ikm := make([]byte, p.suite.kem.nsk)
	if _, err := io.ReadFull(random, ikm); err != nil {
		return hpkeContext{}, nil, fmt.Errorf("cipher: HPKE setup: %w", err)
	}
	shared, enc, err := p.suite.kem.encap(p.pk, ikm)
	if err != nil {
		return hpkeContext{}, nil, err
	}
	return p.suite.keySchedule(shared, info), enc, nil
}

// Seal is single-shot HPKE SealBase(pkR, info, aad, plaintext) of RFC 9180
// §6.1. The ephemeral key is derived from the reader's bytes.
func (p *HPKEPublicKey) Seal(random io.Reader, info, aad, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	c, enc, err := p.setup(random, info)
	if err != nil {
		return nil, nil, err
	}
	ct, err := p.suite.Seal(c.key, c.nonce, aad, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return enc, ct, nil
}

// Export is SetupBaseS followed by Context.Export (RFC 9180 §5.1.1, §5.3),
// as used for external initialization (RFC 9420 §8.3).
func (p *HPKEPublicKey) Export(random io.Reader, info, exporterContext []byte, length int) (kemOutput, secret []byte, err error) {
	c, enc, err := p.setup(random, info)
	if err != nil {
		return nil, nil, err
	}
	secret, err = p.suite.export(c, exporterContext, length)
	if err != nil {
		return nil, nil, err
	}
	return enc, secret, nil
}

// EncryptWithLabel implements RFC 9420 §5.1.3: SealBase(pub,
// EncryptContext{"MLS 1.0 " + label, context}, "", plaintext).
func (p *HPKEPublicKey) EncryptWithLabel(random io.Reader, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	return p.Seal(random, encryptContext(label, context), nil, plaintext)
}

// encryptContext returns the encoding of EncryptContext (RFC 9420 §5.1.3);
// it has the same shape as SignContent.
func encryptContext(label string, context []byte) []byte { return signContent(label, context) }

// HPKEPrivateKey is a parsed HPKE private key of one suite, with its public
// key. It is immutable and safe for concurrent use.
type HPKEPrivateKey struct {
	suite *Suite
	sk    *privateKey
}

// ParseHPKEPrivateKey parses an HPKE private key (RFC 9180 §7.1.2: a raw
// scalar). Bad bytes give an error matching ErrInvalidKey.
func (s *Suite) ParseHPKEPrivateKey(priv []byte) (*HPKEPrivateKey, error) {
	sk, err := s.kem.parsePrivate(priv)
	if err != nil {
		return nil, err
	}
	return &HPKEPrivateKey{suite: s, sk: sk}, nil
}

// PublicKey returns the serialized public key.
func (k *HPKEPrivateKey) PublicKey() []byte { return append([]byte(nil), k.sk.pub...) }

// setup is SetupBaseR of RFC 9180 §5.1.1.
func (k *HPKEPrivateKey) setup(kemOutput, info []byte) (hpkeContext, error) {
	shared, err := k.suite.kem.decap(kemOutput, k.sk)
	if err != nil {
		return hpkeContext{}, fmt.Errorf("cipher: HPKE decapsulation: %w", err)
	}
	return k.suite.keySchedule(shared, info), nil
}

// Open is single-shot HPKE OpenBase(enc, skR, info, aad, ciphertext) of
// RFC 9180 §6.1. A kemOutput that is not a valid public key gives an error
// matching ErrInvalidKey; a ciphertext that does not authenticate one
// matching ErrDecryption.
func (k *HPKEPrivateKey) Open(kemOutput, info, aad, ciphertext []byte) ([]byte, error) {
	c, err := k.setup(kemOutput, info)
	if err != nil {
		return nil, err
	}
	return k.suite.Open(c.key, c.nonce, aad, ciphertext)
}

// Export is SetupBaseR followed by Context.Export (RFC 9180 §5.1.1, §5.3),
// as used for external initialization (RFC 9420 §8.3).
func (k *HPKEPrivateKey) Export(kemOutput, info, exporterContext []byte, length int) ([]byte, error) {
	c, err := k.setup(kemOutput, info)
	if err != nil {
		return nil, err
	}
	return k.suite.export(c, exporterContext, length)
}

// DecryptWithLabel implements RFC 9420 §5.1.3: OpenBase(kemOutput, priv,
// EncryptContext{"MLS 1.0 " + label, context}, "", ciphertext).
func (k *HPKEPrivateKey) DecryptWithLabel(label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	return k.Open(kemOutput, encryptContext(label, context), nil, ciphertext)
}

// EncryptWithLabel is ParseHPKEPublicKey(pub) followed by
// HPKEPublicKey.EncryptWithLabel (RFC 9420 §5.1.3).
func (s *Suite) EncryptWithLabel(random io.Reader, pub []byte, label string, context, plaintext []byte) (kemOutput, ciphertext []byte, err error) {
	p, err := s.ParseHPKEPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return p.EncryptWithLabel(random, label, context, plaintext)
}

// DecryptWithLabel is ParseHPKEPrivateKey(priv) followed by
// HPKEPrivateKey.DecryptWithLabel (RFC 9420 §5.1.3).
func (s *Suite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ciphertext []byte) ([]byte, error) {
	k, err := s.ParseHPKEPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return k.DecryptWithLabel(label, context, kemOutput, ciphertext)
}

// DeriveKeyPair is the KEM's DeriveKeyPair(ikm) (RFC 9180 §7.1.3), used for
// tree node keys (RFC 9420 §7.4) and the external key pair (§8.3). It returns
// the serialized private and public keys.
func (s *Suite) DeriveKeyPair(ikm []byte) (priv, pub []byte, err error) {
	sk, raw, err := s.kem.deriveKeyPair(ikm)
	if err != nil {
		return nil, nil, err
	}
	return raw, append([]byte(nil), sk.pub...), nil
}

// GenerateHPKEKey returns a new HPKE key pair: DeriveKeyPair of Nsk bytes
// read from random (RFC 9180 §7.1.3 allows this for GenerateKeyPair).
func (s *Suite) GenerateHPKEKey(random io.Reader) (priv, pub []byte, err error) {
	ikm := make([]byte, s.kem.nsk)
	if _, err := io.ReadFull(random, ikm); err != nil {
		return nil, nil, fmt.Errorf("cipher: GenerateHPKEKey: %w", err)
	}
	return s.DeriveKeyPair(ikm)
}
