// Package schedule is the MLS key schedule of RFC 9420 §8 and the secret
// tree and sender ratchets of §9.
//
// The key schedule (Derive, DeriveFromJoiner) turns the previous init_secret,
// a commit_secret, a psk_secret (§8.4, PSKSecret) and the encoded
// GroupContext (§8.1) into the epoch's secrets (Secrets). Export is the
// MLS-Exporter of §8.5; ExternalKeyPair and the ExternalInit functions are
// §8.3. SenderDataKeyNonce derives the sender-data key and nonce of §6.3.2.
//
// A SecretTree (§9) holds, per epoch, the unconsumed node secrets and the
// handshake and application ratchets of each leaf; it deletes (and zeroes)
// secrets as they are consumed (§9.2) and keeps a bounded window of skipped
// keys for out-of-order delivery. It encodes to bytes (MarshalTLS) and back
// (UnmarshalSecretTree) so that group state can be stored.
//
// The functions are pure. A SecretTree is not safe for concurrent use; the
// other types are plain values.
package schedule

import (
	"fmt"
	"io"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
)

// Secrets are the secrets of one epoch (RFC 9420 §8, table "Epoch-Derived
// Secrets"), plus the joiner and welcome secrets from which the epoch secret
// was derived. The epoch secret itself is consumed by the derivation and not
// kept (§9.2). Each field is KDF.Nh bytes.
type Secrets struct {
	Joiner  []byte // joiner_secret, encrypted to new members in GroupSecrets
	Welcome []byte // welcome_secret, keys the Welcome's GroupInfo (§12.4.3.1)

	SenderData         []byte // "sender data": sender-data keys (§6.3.2)
	Encryption         []byte // "encryption": root of the secret tree (§9)
	Exporter           []byte // "exporter": MLS-Exporter (§8.5)
	External           []byte // "external": external key pair (§8.3)
	Confirmation       []byte // "confirm": confirmation tag (§6.1)
	Membership         []byte // "membership": membership tag (§6.2)
	Resumption         []byte // "resumption": resumption PSK (§8.6)
	EpochAuthenticator []byte // "authentication": epoch authenticator (§8.7)
	Init               []byte // "init": init_secret of the next epoch
}

// zeroOr returns b, or Nh zero bytes if b is empty: the "0" of RFC 9420 §8
// for an absent commit_secret or psk_secret.
func zeroOr(s *cipher.Suite, b []byte) []byte {
	if len(b) == 0 {
		return make([]byte, s.Nh())
	}
	return b
}

// JoinerSecret implements the first step of RFC 9420 §8:
// ExpandWithLabel(Extract(init_secret, commit_secret), "joiner",
// GroupContext, Nh). A nil commitSecret stands for the all-zero secret.
func JoinerSecret(s *cipher.Suite, initSecret, commitSecret, groupContext []byte) []byte {
	prk := s.Extract(initSecret, zeroOr(s, commitSecret))
	out, _ := s.ExpandWithLabel(prk, "joiner", groupContext, s.Nh()) // Nh is always valid
	return out
}

// Derive runs the key schedule of RFC 9420 §8 for a new epoch from the
// previous epoch's init_secret, the commit_secret and psk_secret (nil for
// the all-zero value) and the new epoch's encoded GroupContext.
func Derive(s *cipher.Suite, initSecret, commitSecret, pskSecret, groupContext []byte) Secrets {
	return DeriveFromJoiner(s, JoinerSecret(s, initSecret, commitSecret, groupContext), pskSecret, groupContext)
}

// DeriveFromJoiner runs the key schedule of RFC 9420 §8 from the
// joiner_secret, as a new member does with the one in its GroupSecrets
// (§12.4.3.1). A nil pskSecret stands for the all-zero value.
func DeriveFromJoiner(s *cipher.Suite, joinerSecret, pskSecret, groupContext []byte) Secrets {
	member := s.Extract(joinerSecret, zeroOr(s, pskSecret))
	epoch, _ := s.ExpandWithLabel(member, "epoch", groupContext, s.Nh())
	out := Secrets{
		Joiner:             joinerSecret,
		Welcome:            s.DeriveSecret(member, "welcome"),
		SenderData:         s.DeriveSecret(epoch, "sender data"),
		Encryption:         s.DeriveSecret(epoch, "encryption"),
		Exporter:           s.DeriveSecret(epoch, "exporter"),
		External:           s.DeriveSecret(epoch, "external"),
		Confirmation:       s.DeriveSecret(epoch, "confirm"),
		Membership:         s.DeriveSecret(epoch, "membership"),
		Resumption:         s.DeriveSecret(epoch, "resumption"),
		EpochAuthenticator: s.DeriveSecret(epoch, "authentication"),
		Init:               s.DeriveSecret(epoch, "init"),
	}
	clear(member)
	clear(epoch)
	return out
}

// WelcomeKeyNonce derives the AEAD key and nonce that encrypt a Welcome's
// GroupInfo from the welcome_secret (RFC 9420 §12.4.3.1).
func WelcomeKeyNonce(s *cipher.Suite, welcomeSecret []byte) (key, nonce []byte) {
	key, _ = s.ExpandWithLabel(welcomeSecret, "key", nil, s.Nk())
	nonce, _ = s.ExpandWithLabel(welcomeSecret, "nonce", nil, s.Nn())
	return key, nonce
}

// Export implements MLS-Exporter(label, context, length) of RFC 9420 §8.5:
// ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported",
// Hash(context), length). A length above 255·Nh gives an error matching
// cipher.ErrInvalidLength.
func Export(s *cipher.Suite, exporterSecret []byte, label string, context []byte, length int) ([]byte, error) {
	return s.ExpandWithLabel(s.DeriveSecret(exporterSecret, label), "exported", s.Hash(context), length)
}

// ExternalKeyPair derives the group's external HPKE key pair from the
// external_secret (RFC 9420 §8.3): KEM.DeriveKeyPair(external_secret).
func ExternalKeyPair(s *cipher.Suite, externalSecret []byte) (priv, pub []byte, err error) {
	return s.DeriveKeyPair(externalSecret)
}

// externalInitLabel is the exporter context of RFC 9420 §8.3.
const externalInitLabel = "MLS 1.0 external init secret"

// ExternalInit is the joiner's side of RFC 9420 §8.3: SetupBaseS(external_pub,
// "") and export of the init_secret. The kemOutput goes into the
// ExternalInit proposal. The ephemeral key comes from random.
func ExternalInit(s *cipher.Suite, random io.Reader, externalPub []byte) (kemOutput, initSecret []byte, err error) {
	pk, err := s.ParseHPKEPublicKey(externalPub)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule: external init: %w", err)
	}
	return pk.Export(random, nil, []byte(externalInitLabel), s.Nh())
}

// ExternalInitSecret is the members' side of RFC 9420 §8.3: SetupBaseR with
// the external private key and the ExternalInit proposal's kemOutput, and
// export of the init_secret. A malformed kemOutput gives an error matching
// cipher.ErrInvalidKey.
func ExternalInitSecret(s *cipher.Suite, externalPriv, kemOutput []byte) ([]byte, error) {
	sk, err := s.ParseHPKEPrivateKey(externalPriv)
	if err != nil {
		return nil, fmt.Errorf("schedule: external init: %w", err)
	}
	return sk.Export(kemOutput, nil, []byte(externalInitLabel), s.Nh())
}

// SenderDataKeyNonce derives the key and nonce that encrypt a
// PrivateMessage's SenderData (RFC 9420 §6.3.2) from the sender_data_secret
// and the first Nh bytes of the content ciphertext (all of it if shorter).
func SenderDataKeyNonce(s *cipher.Suite, senderDataSecret, ciphertext []byte) (key, nonce []byte) {
	sample := ciphertext[:min(len(ciphertext), s.Nh())]
	key, _ = s.ExpandWithLabel(senderDataSecret, "key", sample, s.Nk())
	nonce, _ = s.ExpandWithLabel(senderDataSecret, "nonce", sample, s.Nn())
	return key, nonce
}
