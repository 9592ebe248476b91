package cipher

import (
	"crypto/ecdh"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/cloudflare/circl/dh/x448"
)

// kem is a DHKEM of RFC 9180 §4.1 over one group, with its own KDF.
type kem struct {
	id      uint16
	curve   ecdh.Curve // nil for X448
	newHash func() hash.Hash
	nSecret int  // Nsecret: size of the KEM shared secret
	nsk     int  // Nsk: size of a serialized private key
	npk     int  // Npk: size of a serialized public key
	mask    byte // DeriveKeyPair bitmask for NIST curves (RFC 9180 §7.1.3)
	lab     labeled
}

var (
	kemP256   = &kem{id: 0x0010, curve: ecdh.P256(), newHash: sha256.New, nSecret: 32, nsk: 32, npk: 65, mask: 0xff}
	kemP384   = &kem{id: 0x0011, curve: ecdh.P384(), newHash: sha512.New384, nSecret: 48, nsk: 48, npk: 97, mask: 0xff}
	kemP521   = &kem{id: 0x0012, curve: ecdh.P521(), newHash: sha512.New, nSecret: 64, nsk: 66, npk: 133, mask: 0x01}
	kemX25519 = &kem{id: 0x0020, curve: ecdh.X25519(), newHash: sha256.New, nSecret: 32, nsk: 32, npk: 32}
	kemX448   = &kem{id: 0x0021, newHash: sha512.New, nSecret: 64, nsk: 56, npk: 56}
)

// labeled is the LabeledExtract/LabeledExpand pair of RFC 9180 §4 for one
// suite_id and KDF.
type labeled struct {
	suiteID []byte
	kdf     *Suite // only newHash and nh are used
}

// init sets the KEM's labeled KDF, whose suite_id is "KEM" || kem_id
// (RFC 9180 §4.1); the KDF is a Suite value used only for its HMAC helpers.
func init() {
	for _, k := range []*kem{kemP256, kemP384, kemP521, kemX25519, kemX448} {
		id := binary.BigEndian.AppendUint16([]byte("KEM"), k.id)
		k.lab = labeled{suiteID: id, kdf: &Suite{newHash: k.newHash, nh: k.newHash().Size()}}
	}
}

// extract is LabeledExtract(salt, label, ikm) of RFC 9180 §4.
func (l labeled) extract(salt []byte, label string, ikm []byte) []byte {
	if len(salt) == 0 {
		salt = make([]byte, l.kdf.nh)
	}
	return l.kdf.hmac(nil, salt, []byte("HPKE-v1"), l.suiteID, []byte(label), ikm)
}

// expand is LabeledExpand(prk, label, info, L) of RFC 9180 §4; L ≤ 255·Nh.
func (l labeled) expand(prk []byte, label string, info []byte, length int) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 64+len(info)), uint16(length))
	b = append(b, "HPKE-v1"...)
	b = append(b, l.suiteID...)
	b = append(b, label...)
	b = append(b, info...)
	return l.kdf.expand(prk, b, length)
}

// privateKey is a parsed KEM private key.
type privateKey struct {
	ec   *ecdh.PrivateKey
	x448 x448.Key
	pub  []byte // serialized public key
}

// publicKey is a parsed KEM public key.
type publicKey struct {
	ec  *ecdh.PublicKey
	raw []byte
}

// deriveKeyPair is DeriveKeyPair(ikm) of RFC 9180 §7.1.3.
func (k *kem) deriveKeyPair(ikm []byte) (*privateKey, []byte, error) {
	l := k.lab
	prk := l.extract(nil, "dkp_prk", ikm)
	if k.mask == 0 { // X25519, X448
		sk := l.expand(prk, "sk", nil, k.nsk)
		p, err := k.parsePrivate(sk)
		return p, sk, err
	}
	for counter := range 256 {
		sk := l.expand(prk, "candidate", []byte{byte(counter)}, k.nsk)
		sk[0] &= k.mask
		if p, err := k.parsePrivate(sk); err == nil {
			return p, sk, nil
		}
	}
	return nil, nil, fmt.Errorf("cipher: DeriveKeyPair: %w", ErrInvalidKey) // probability < 2^-256
}

// parsePrivate is DeserializePrivateKey of RFC 9180 §7.1.2.
func (k *kem) parsePrivate(b []byte) (*privateKey, error) {
	if k.curve != nil && k.curve != ecdh.X25519() {
		b = leftPad(b, k.nsk) // a NIST scalar written as a minimal integer
	}
	if len(b) != k.nsk {
		return nil, fmt.Errorf("cipher: HPKE private key of %d bytes: %w", len(b), ErrInvalidKey)
	}
	if k.curve == nil {
		p := &privateKey{pub: make([]byte, k.npk)}
		copy(p.x448[:], b)
		x448.KeyGen((*x448.Key)(p.pub), &p.x448)
		return p, nil
	}
	sk, err := k.curve.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("cipher: HPKE private key: %w", ErrInvalidKey)
	}
	return &privateKey{ec: sk, pub: sk.PublicKey().Bytes()}, nil
}

// parsePublic is DeserializePublicKey of RFC 9180 §7.1.1.
func (k *kem) parsePublic(b []byte) (*publicKey, error) {
	if len(b) != k.npk {
		return nil, fmt.Errorf("cipher: HPKE public key of %d bytes: %w", len(b), ErrInvalidKey)
	}
	p := &publicKey{raw: append([]byte(nil), b...)}
	if k.curve != nil {
		pk, err := k.curve.NewPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("cipher: HPKE public key: %w", ErrInvalidKey)
		}
		p.ec = pk
	}
	return p, nil
}

// dh is DH(sk, pk) of RFC 9180 §4.1; a low-order or identity result is an
// error matching ErrInvalidKey.
func (k *kem) dh(sk *privateKey, pk *publicKey) ([]byte, error) {
	if k.curve == nil {
		var out, pub x448.Key
		copy(pub[:], pk.raw)
		if !x448.Shared(&out, &sk.x448, &pub) {
			return nil, fmt.Errorf("cipher: X448: %w", ErrInvalidKey)
		}
		return out[:], nil
	}
	out, err := sk.ec.ECDH(pk.ec)
	if err != nil {
		return nil, fmt.Errorf("cipher: ECDH: %w", ErrInvalidKey)
	}
	return out, nil
}

// sharedSecret is ExtractAndExpand of RFC 9180 §4.1 with kem_context = enc
// || pkRm.
func (k *kem) sharedSecret(dh, enc, pkR []byte) []byte {
	l := k.lab
	prk := l.extract(nil, "eae_prk", dh)
	ctx := make([]byte, 0, len(enc)+len(pkR))
	ctx = append(append(ctx, enc...), pkR...)
	return l.expand(prk, "shared_secret", ctx, k.nSecret)
}

// encap is Encap(pkR) of RFC 9180 §4.1, its ephemeral key DeriveKeyPair of
// ikm (Nsk random bytes).
func (k *kem) encap(pkR *publicKey, ikm []byte) (shared, enc []byte, err error) {
	skE, _, err := k.deriveKeyPair(ikm)
	if err != nil {
		return nil, nil, err
	}
	dh, err := k.dh(skE, pkR)
	if err != nil {
		return nil, nil, err
	}
	enc = skE.pub
	return k.sharedSecret(dh, enc, pkR.raw), enc, nil
}

// decap is Decap(enc, skR) of RFC 9180 §4.1.
func (k *kem) decap(enc []byte, skR *privateKey) ([]byte, error) {
	pkE, err := k.parsePublic(enc)
	if err != nil {
		return nil, err
	}
	dh, err := k.dh(skR, pkE)
	if err != nil {
		return nil, err
	}
	return k.sharedSecret(dh, enc, skR.pub), nil
}
