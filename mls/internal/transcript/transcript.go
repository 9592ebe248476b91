// Package transcript computes the transcript hashes and confirmation tags of
// RFC 9420 §8.2 (with the confirmation_key of §8 and the GroupInfo
// confirmation tag of §12.4.3).
//
// Every function is pure and safe for concurrent use.
package transcript

import (
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ErrNotCommit is returned when the transcript is asked to absorb content
// that is not a Commit: only Commits enter the transcript (§8.2).
var ErrNotCommit = errors.New("mls: transcript: content is not a commit")

// ErrBadConfirmationTag is returned when a confirmation tag is not
// MAC(confirmation_key, confirmed_transcript_hash) (§6.1, §12.4.3.1).
var ErrBadConfirmationTag = errors.New("mls: invalid confirmation tag")

// Confirmed returns the confirmed transcript hash after the Commit in ac
// (§8.2): Hash(interim_transcript_hash_before || ConfirmedTranscriptHashInput).
// It returns ErrNotCommit if ac carries no Commit.
func Confirmed(s *cipher.Suite, interimBefore []byte, ac *wire.AuthenticatedContent) ([]byte, error) {
	if ac.Content.ContentType != wire.ContentTypeCommit || ac.Content.Commit == nil {
		return nil, ErrNotCommit
	}
	in := wire.ConfirmedTranscriptHashInput{WireFormat: ac.WireFormat, Content: &ac.Content, Signature: ac.Auth.Signature}
	return hashAfter(s, interimBefore, &in)
}

// Interim returns the interim transcript hash (§8.2):
// Hash(confirmed_transcript_hash || InterimTranscriptHashInput).
func Interim(s *cipher.Suite, confirmed, confirmationTag []byte) ([]byte, error) {
	return hashAfter(s, confirmed, &wire.InterimTranscriptHashInput{ConfirmationTag: confirmationTag})
}

// Update returns both hashes after the Commit in ac, using the confirmation
// tag ac carries.
func Update(s *cipher.Suite, interimBefore []byte, ac *wire.AuthenticatedContent) (confirmed, interim []byte, err error) {
	confirmed, err = Confirmed(s, interimBefore, ac)
	if err != nil {
		return nil, nil, err
	}
	interim, err = Interim(s, confirmed, ac.Auth.ConfirmationTag)
	if err != nil {
		return nil, nil, err
	}
	return confirmed, interim, nil
}

// hashAfter returns Hash(prefix || encoding of v).
func hashAfter(s *cipher.Suite, prefix []byte, v tls.Marshaler) ([]byte, error) {
	var w tls.Writer
	w.Raw(prefix)
	v.MarshalTLS(&w)
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("mls: transcript: encoding hash input: %w", err)
	}
	return s.Hash(w.Bytes()), nil
}

// ConfirmationTag returns MAC(confirmation_key, confirmed_transcript_hash)
// (§6.1).
func ConfirmationTag(s *cipher.Suite, confirmationKey, confirmed []byte) []byte {
	return s.MAC(confirmationKey, confirmed)
}

// VerifyConfirmationTag checks tag in constant time and returns
// ErrBadConfirmationTag if it is not the confirmation tag of confirmed.
func VerifyConfirmationTag(s *cipher.Suite, confirmationKey, confirmed, tag []byte) error {
	if !s.VerifyMAC(confirmationKey, confirmed, tag) {
		return ErrBadConfirmationTag
	}
	return nil
}
