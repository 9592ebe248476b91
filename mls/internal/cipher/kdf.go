package cipher

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// labelPrefix prefixes every label of RFC 9420 §5.1.2, §5.1.3 and §8.
const labelPrefix = "MLS 1.0 "

// hmacMaxInline is the largest message hmac hashes from a stack buffer;
// longer ones (a MAC over a whole message) stream through crypto/hmac.
const hmacMaxInline = 384

// hmac appends HMAC(key, concatenation of parts) (RFC 2104) with the suite's
// hash to dst. The short messages of the key schedule are hashed from stack
// buffers with no allocation besides dst's growth, which makes each
// ExpandWithLabel a handful of compression-function calls.
func (s *Suite) hmac(dst, key []byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	bs := s.blockSize()
	if n > hmacMaxInline {
		// One copy of the parts, so that what crypto/hmac is handed (an
		// interface call the compiler cannot see through) is not the
		// parts themselves: they, and the stack buffers of callers such
		// as expandWithLabel, stay off the heap.
		msg := make([]byte, 0, n)
		for _, p := range parts {
			msg = append(msg, p...)
		}
		return s.hmacStream(dst, key, msg)
	}
	var kb [64]byte
	k := key
	if len(key) > bs {
		k = s.sum(kb[:0], key)
	}
	var buf [128 + hmacMaxInline]byte
	b := pad(buf[:bs], k, 0x36)
	for _, p := range parts {
		b = append(b, p...)
	}
	var ib [64]byte
	inner := s.sum(ib[:0], b)
	b = append(pad(buf[:bs], k, 0x5c), inner...)
	return s.sum(dst, b)
}

// hmacStream appends HMAC(key, msg) to dst through crypto/hmac.
func (s *Suite) hmacStream(dst, key, msg []byte) []byte {
	m := hmac.New(s.newHash, key)
	m.Write(msg)
	return m.Sum(dst)
}

// counters holds the one-byte block counters of HKDF-Expand (1 to 255).
var counters = func() (c [256]byte) {
	for i := range c {
		c[i] = byte(i)
	}
	return c
}()

// pad fills b with key, zero-extended, XORed with c.
func pad(b, key []byte, c byte) []byte {
	for i := range b {
		b[i] = c
		if i < len(key) {
			b[i] ^= key[i]
		}
	}
	return b
}

// blockSize is the input block size of the suite's hash.
func (s *Suite) blockSize() int {
	if s.nh == 32 {
		return 64
	}
	return 128
}

// sum appends the hash of b to dst without allocating (Nh identifies the
// hash: SHA-256, SHA-384 or SHA-512).
func (s *Suite) sum(dst, b []byte) []byte {
	switch s.nh {
	case 32:
		h := sha256.Sum256(b)
		return append(dst, h[:]...)
	case 48:
		h := sha512.Sum384(b)
		return append(dst, h[:]...)
	}
	h := sha512.Sum512(b)
	return append(dst, h[:]...)
}

// Extract is KDF.Extract (HKDF-Extract, RFC 5869 §2.2): HMAC keyed with salt
// over ikm. RFC 9420 §8 draws its salt from the previous secret.
func (s *Suite) Extract(salt, ikm []byte) []byte {
	if len(salt) == 0 {
		salt = make([]byte, s.nh) // RFC 5869: an absent salt is Nh zeros
	}
	return s.hmac(nil, salt, ikm)
}

// Expand is KDF.Expand (HKDF-Expand, RFC 5869 §2.3). A length above 255·Nh
// gives an error matching ErrInvalidLength.
func (s *Suite) Expand(prk, info []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*s.nh {
		return nil, fmt.Errorf("cipher: Expand to %d bytes: %w", length, ErrInvalidLength)
	}
	return s.expand(prk, info, length), nil
}

// expand is Expand for a length already checked.
func (s *Suite) expand(prk, info []byte, length int) []byte {
	out := make([]byte, 0, (length+s.nh-1)/s.nh*s.nh)
	var prev []byte
	for i := 1; len(out) < length; i++ {
		start := len(out)
		out = s.hmac(out, prk, prev, info, counters[i:i+1])
		prev = out[start:]
	}
	return out[:length:length]
}

// ExpandWithLabel implements RFC 9420 §8: KDF.Expand(secret, KDFLabel,
// length) with KDFLabel = {uint16 length; opaque label<V> = "MLS 1.0 " +
// label; opaque context<V>}. A length above 255·Nh gives an error matching
// ErrInvalidLength.
func (s *Suite) ExpandWithLabel(secret []byte, label string, context []byte, length int) ([]byte, error) {
	if length < 0 || length > 255*s.nh {
		return nil, fmt.Errorf("cipher: ExpandWithLabel %q to %d bytes: %w", label, length, ErrInvalidLength)
	}
	return s.expandWithLabel(secret, label, context, length), nil
}

// expandWithLabel is ExpandWithLabel for a length already checked.
func (s *Suite) expandWithLabel(secret []byte, label string, context []byte, length int) []byte {
	var buf [128]byte
	info := kdfLabel(buf[:0], uint16(length), label, context)
	return s.expand(secret, info, length)
}

// kdfLabel appends the encoding of the KDFLabel struct of RFC 9420 §8.
func kdfLabel(dst []byte, length uint16, label string, context []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, length)
	dst = appendVarint(dst, len(labelPrefix)+len(label))
	dst = append(dst, labelPrefix...)
	dst = append(dst, label...)
	dst = appendVarint(dst, len(context))
	return append(dst, context...)
}

// appendVarint appends n as a minimal variable-length integer (RFC 9420
// §2.1.2). The lengths encoded here are of labels, contexts and encoded
// structs, which the codec bounds far below 2^30.
func appendVarint(dst []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return binary.BigEndian.AppendUint16(dst, uint16(n)|0x4000)
	default:
		return binary.BigEndian.AppendUint32(dst, uint32(n)|0x80000000)
	}
}

// DeriveSecret implements RFC 9420 §8: ExpandWithLabel(secret, label, "",
// KDF.Nh).
func (s *Suite) DeriveSecret(secret []byte, label string) []byte {
	return s.expandWithLabel(secret, label, nil, s.nh)
}

// DeriveTreeSecret implements RFC 9420 §9: ExpandWithLabel(secret, label,
// generation as uint32, length).
func (s *Suite) DeriveTreeSecret(secret []byte, label string, generation uint32, length int) ([]byte, error) {
	var ctx [4]byte
	binary.BigEndian.PutUint32(ctx[:], generation)
	return s.ExpandWithLabel(secret, label, ctx[:], length)
}

// MAC is the suite's MAC (HMAC with its hash, RFC 9420 §5.1, §17.1) of data
// under key.
func (s *Suite) MAC(key, data []byte) []byte { return s.hmac(nil, key, data) }

// VerifyMAC reports, in constant time, whether tag is MAC(key, data).
func (s *Suite) VerifyMAC(key, data, tag []byte) bool {
	return subtle.ConstantTimeCompare(s.MAC(key, data), tag) == 1
}

// RefHash implements RFC 9420 §5.2: Hash(RefHashInput{label, value}). The
// label is used as given (MakeKeyPackageRef and MakeProposalRef supply the
// full "MLS 1.0 ..." strings).
func (s *Suite) RefHash(label string, value []byte) []byte {
	var buf [8]byte
	h := s.newHash()
	h.Write(appendVarint(buf[:0], len(label)))
	h.Write([]byte(label))
	h.Write(appendVarint(buf[:0], len(value)))
	h.Write(value)
	return h.Sum(nil)
}

// MakeKeyPackageRef implements RFC 9420 §5.2: the KeyPackageRef of an encoded
// KeyPackage.
func (s *Suite) MakeKeyPackageRef(keyPackage []byte) []byte {
	return s.RefHash("MLS 1.0 KeyPackage Reference", keyPackage)
}

// MakeProposalRef implements RFC 9420 §5.2: the ProposalRef of an encoded
// AuthenticatedContent carrying a Proposal.
func (s *Suite) MakeProposalRef(authenticatedContent []byte) []byte {
	return s.RefHash("MLS 1.0 Proposal Reference", authenticatedContent)
}
