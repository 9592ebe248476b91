package cipher

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
)

// labelPrefix prefixes every label of RFC 9420 §5.1.2, §5.1.3 and §8.
const labelPrefix = "MLS 1.0 "

// hmacState is an HMAC under one key that can be reused for several
// messages, saving the key schedule of hmac.New for each.
type hmacState struct{ h hash.Hash }

func (s *Suite) newHMAC(key []byte) hmacState { return hmacState{hmac.New(s.newHash, key)} }

// sum returns the HMAC of the concatenation of parts, appended to dst.
func (m hmacState) sum(dst []byte, parts ...[]byte) []byte {
	m.h.Reset()
	for _, p := range parts {
		m.h.Write(p)
	}
	return m.h.Sum(dst)
}

// Extract is KDF.Extract (HKDF-Extract, RFC 5869 §2.2): HMAC keyed with salt
// over ikm. RFC 9420 §8 draws its salt from the previous secret.
func (s *Suite) Extract(salt, ikm []byte) []byte {
	if len(salt) == 0 {
		salt = make([]byte, s.nh) // RFC 5869: an absent salt is Nh zeros
	}
	return s.newHMAC(salt).sum(nil, ikm)
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
	m := s.newHMAC(prk)
	out := make([]byte, 0, (length+s.nh-1)/s.nh*s.nh)
	var prev []byte
	for i := 1; len(out) < length; i++ {
		start := len(out)
		out = m.sum(out, prev, info, []byte{byte(i)})
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
func (s *Suite) MAC(key, data []byte) []byte { return s.newHMAC(key).sum(nil, data) }

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
