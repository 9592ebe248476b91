// Package welcome holds the primitives of joining a group from a Welcome
// message, RFC 9420 §12.4.3.1, and of building one: finding and decrypting
// the EncryptedGroupSecrets addressed to a KeyPackage, deriving the welcome
// secret from the joiner secret and the PSK secret (§8, §8.4; PSKSecret and
// the reinit/branch checks), decrypting the GroupInfo, and verifying its
// signature and confirmation tag.
//
// The join procedure itself (tree validation, locating the new member's
// leaf, path secrets, PSK lookup, initializing the group state) belongs to the
// group state machine, which calls these functions in the order of
// §12.4.3.1.
//
// Every function is pure and safe for concurrent use. Errors wrap this
// package's sentinels or those of packages cipher and tls with %w and never
// contain secrets.
package welcome

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/transcript"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// Errors of this package.
var (
	// ErrNotForUs: no entry of the Welcome names the KeyPackage (§12.4.3.1).
	ErrNotForUs = errors.New("mls: welcome: no group secrets for this key package")
	// ErrCipherSuiteMismatch: the Welcome's cipher suite differs from the
	// KeyPackage's or the GroupInfo's (§12.4.3.1).
	ErrCipherSuiteMismatch = errors.New("mls: welcome: cipher suite mismatch")
)

// welcomeLabel is the EncryptWithLabel label of group secrets (§12.4.3.1).
const welcomeLabel = "Welcome"

// FindSecrets returns the entry of w addressed to the KeyPackage whose
// KeyPackageRef (§5.2) is ref, or ErrNotForUs.
func FindSecrets(w *wire.Welcome, ref []byte) (*wire.EncryptedGroupSecrets, error) {
	for i := range w.Secrets {
		if bytes.Equal(w.Secrets[i].NewMember, ref) {
			return &w.Secrets[i], nil
		}
	}
	return nil, ErrNotForUs
}

// DecryptGroupSecrets finds the entry of w for keyPackage, checks the cipher
// suites match, and opens it with initPriv, the private key of the
// KeyPackage's init_key (§12.4.3.1): DecryptWithLabel(init_key_priv,
// "Welcome", encrypted_group_info, kem_output, ciphertext).
func DecryptGroupSecrets(s *cipher.Suite, initPriv *cipher.HPKEPrivateKey, w *wire.Welcome, keyPackage *wire.KeyPackage) (*wire.GroupSecrets, error) {
	if uint16(w.CipherSuite) != s.ID() || uint16(keyPackage.CipherSuite) != s.ID() {
		return nil, ErrCipherSuiteMismatch
	}
	kp, err := wire.Marshal(keyPackage)
	if err != nil {
		return nil, fmt.Errorf("mls: welcome: encoding key package: %w", err)
	}
	egs, err := FindSecrets(w, s.MakeKeyPackageRef(kp))
	if err != nil {
		return nil, err
	}
	ct := &egs.EncryptedGroupSecrets
	pt, err := initPriv.DecryptWithLabel(welcomeLabel, w.EncryptedGroupInfo, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("mls: welcome: group secrets: %w", err)
	}
	var gs wire.GroupSecrets
	if err := wire.Unmarshal(pt, &gs); err != nil {
		return nil, fmt.Errorf("mls: welcome: group secrets: %w", err)
	}
	return &gs, nil
}

// EncryptGroupSecrets is the sender's side of DecryptGroupSecrets: it seals
// gs to a new member's init key, bound to the encrypted GroupInfo.
func EncryptGroupSecrets(random io.Reader, initKey *cipher.HPKEPublicKey, encryptedGroupInfo []byte, gs *wire.GroupSecrets) (*wire.HPKECiphertext, error) {
	pt, err := wire.Marshal(gs)
	if err != nil {
		return nil, fmt.Errorf("mls: welcome: encoding group secrets: %w", err)
	}
	kem, ct, err := initKey.EncryptWithLabel(random, welcomeLabel, encryptedGroupInfo, pt)
	if err != nil {
		return nil, fmt.Errorf("mls: welcome: sealing group secrets: %w", err)
	}
	return &wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct}, nil
}

// Secret returns the welcome_secret of §8: DeriveSecret(KDF.Extract(
// joiner_secret, psk_secret), "welcome"). A nil pskSecret stands for the
// all-zero psk_secret of a join without PSKs.
func Secret(s *cipher.Suite, joinerSecret, pskSecret []byte) []byte {
	return s.DeriveSecret(memberSecret(s, joinerSecret, pskSecret), "welcome")
}

// memberSecret returns KDF.Extract(joiner_secret, psk_secret), the value
// between joiner_secret and epoch_secret in the key schedule of §8 from
// which both welcome_secret and epoch_secret derive. A nil pskSecret stands
// for the all-zero psk_secret.
func memberSecret(s *cipher.Suite, joinerSecret, pskSecret []byte) []byte {
	if pskSecret == nil {
		pskSecret = make([]byte, s.Nh())
	}
	return s.Extract(joinerSecret, pskSecret)
}

// DecryptGroupInfo opens encrypted_group_info with the welcome key and
// nonce and decodes the GroupInfo (§12.4.3.1). It does not verify it.
func DecryptGroupInfo(s *cipher.Suite, welcomeSecret, encryptedGroupInfo []byte) (*wire.GroupInfo, error) {
	key, nonce := schedule.WelcomeKeyNonce(s, welcomeSecret)
	pt, err := s.Open(key, nonce, nil, encryptedGroupInfo)
	if err != nil {
		return nil, fmt.Errorf("mls: welcome: group info: %w", err)
	}
	var gi wire.GroupInfo
	if err := wire.Unmarshal(pt, &gi); err != nil {
		return nil, fmt.Errorf("mls: welcome: group info: %w", err)
	}
	if uint16(gi.GroupContext.CipherSuite) != s.ID() {
		return nil, ErrCipherSuiteMismatch
	}
	return &gi, nil
}

// EncryptGroupInfo is the sender's side of DecryptGroupInfo.
func EncryptGroupInfo(s *cipher.Suite, welcomeSecret []byte, gi *wire.GroupInfo) ([]byte, error) {
	pt, err := wire.Marshal(gi)
	if err != nil {
		return nil, fmt.Errorf("mls: welcome: encoding group info: %w", err)
	}
	key, nonce := schedule.WelcomeKeyNonce(s, welcomeSecret)
	return s.Seal(key, nonce, nil, pt)
}

// groupInfoLabel is the SignWithLabel label of GroupInfo (§12.4.3).
const groupInfoLabel = "GroupInfoTBS"

// VerifyGroupInfo checks gi's signature with the signer's public key, taken
// by the caller from the leaf gi.Signer of the ratchet tree (§12.4.3.1).
// A bad signature gives an error matching cipher.ErrInvalidSignature.
func VerifyGroupInfo(signer *cipher.Verifier, gi *wire.GroupInfo) error {
	tbs, err := wire.Marshal((*wire.GroupInfoTBS)(gi))
	if err != nil {
		return fmt.Errorf("mls: welcome: encoding group info: %w", err)
	}
	if err := signer.VerifyWithLabel(groupInfoLabel, tbs, gi.Signature); err != nil {
		return fmt.Errorf("mls: welcome: group info signature: %w", err)
	}
	return nil
}

// SignGroupInfo sets gi.Signature: SignWithLabel(., "GroupInfoTBS",
// GroupInfoTBS) (§12.4.3).
func SignGroupInfo(signer *cipher.Signer, gi *wire.GroupInfo) error {
	tbs, err := wire.Marshal((*wire.GroupInfoTBS)(gi))
	if err != nil {
		return fmt.Errorf("mls: welcome: encoding group info: %w", err)
	}
	sig, err := signer.SignWithLabel(groupInfoLabel, tbs)
	if err != nil {
		return fmt.Errorf("mls: welcome: signing group info: %w", err)
	}
	gi.Signature = sig
	return nil
}

// VerifyConfirmationTag checks gi.ConfirmationTag against the confirmation
// key of the epoch the Welcome starts, derived by the key schedule from the
// joiner secret (§12.4.3.1): MAC(confirmation_key,
// group_context.confirmed_transcript_hash). A mismatch gives
// transcript.ErrBadConfirmationTag.
func VerifyConfirmationTag(s *cipher.Suite, confirmationKey []byte, gi *wire.GroupInfo) error {
	return transcript.VerifyConfirmationTag(s, confirmationKey, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag)
}
