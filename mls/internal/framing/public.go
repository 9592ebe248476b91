package framing

import (
	"crypto/hmac"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// signLabel is the SignWithLabel label of FramedContent (§6.1).
const signLabel = "FramedContentTBS"

// tbs encodes the FramedContentTBS of content as sent in wire format wf
// (§6.1). gc is the group context of the epoch; it is covered for member
// and new_member_commit senders and may be nil for the others.
func tbs(wf wire.WireFormat, content *wire.FramedContent, gc *wire.GroupContext) ([]byte, error) {
	b, err := wire.Marshal(&wire.FramedContentTBS{Version: wire.MLS10, WireFormat: wf, Content: content, Context: gc})
	if err != nil {
		return nil, fmt.Errorf("mls: framing: encoding FramedContentTBS: %w", err)
	}
	return b, nil
}

// Sign signs content for wire format wf (§6.1) and returns the
// AuthenticatedContent with its signature. For a commit the caller then sets
// Auth.ConfirmationTag (it depends on the signature through the transcript
// hash, §8.2).
func Sign(signer *cipher.Signer, wf wire.WireFormat, content *wire.FramedContent, gc *wire.GroupContext) (*wire.AuthenticatedContent, error) {
	b, err := tbs(wf, content, gc)
	if err != nil {
		return nil, err
	}
	sig, err := signer.SignWithLabel(signLabel, b)
	if err != nil {
		return nil, fmt.Errorf("mls: framing: signing content: %w", err)
	}
	return &wire.AuthenticatedContent{WireFormat: wf, Content: *content, Auth: wire.FramedContentAuthData{Signature: sig}}, nil
}

// Verify checks the signature of ac with the sender's key, chosen by the
// caller by sender type (§6.1). A bad signature gives an error matching
// cipher.ErrInvalidSignature. The confirmation tag is not checked here.
func Verify(verifier *cipher.Verifier, ac *wire.AuthenticatedContent, gc *wire.GroupContext) error {
	b, err := tbs(ac.WireFormat, &ac.Content, gc)
	if err != nil {
		return err
	}
	if err := verifier.VerifyWithLabel(signLabel, b, ac.Auth.Signature); err != nil {
		return fmt.Errorf("mls: framing: content signature: %w", err)
	}
	return nil
}

// membershipTag returns MAC(membership_key, AuthenticatedContentTBM) (§6.2).
func membershipTag(s *cipher.Suite, membershipKey []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) ([]byte, error) {
	b, err := wire.Marshal(&wire.AuthenticatedContentTBM{
		ContentTBS: wire.FramedContentTBS{Version: wire.MLS10, WireFormat: ac.WireFormat, Content: &ac.Content, Context: gc},
		Auth:       &ac.Auth,
	})
	if err != nil {
		return nil, fmt.Errorf("mls: framing: encoding AuthenticatedContentTBM: %w", err)
	}
	return s.MAC(membershipKey, b), nil
}

// EncodePublic turns ac into a PublicMessage (§6.2), adding the membership
// tag for member senders. ac must have been signed for the PublicMessage
// wire format and must not hold application data.
func EncodePublic(s *cipher.Suite, membershipKey []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) (*wire.PublicMessage, error) {
	if ac.WireFormat != wire.WireFormatPublicMessage {
		return nil, ErrWireFormat
	}
	if ac.Content.ContentType == wire.ContentTypeApplication {
		return nil, ErrPublicApplication
	}
	pm := &wire.PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.SenderType == wire.SenderTypeMember {
		tag, err := membershipTag(s, membershipKey, ac, gc)
		if err != nil {
			return nil, err
		}
		pm.MembershipTag = tag
	}
	return pm, nil
}

// DecodePublic turns a PublicMessage into its AuthenticatedContent (§6.2),
// checking the membership tag of member senders in constant time. It
// rejects application data. The caller then verifies the signature with
// Verify and, for commits, the confirmation tag.
func DecodePublic(s *cipher.Suite, membershipKey []byte, pm *wire.PublicMessage, gc *wire.GroupContext) (*wire.AuthenticatedContent, error) {
	if pm.Content.ContentType == wire.ContentTypeApplication {
		return nil, ErrPublicApplication
	}
	ac := &wire.AuthenticatedContent{WireFormat: wire.WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}
	if pm.Content.Sender.SenderType != wire.SenderTypeMember {
		return ac, nil
	}
	want, err := membershipTag(s, membershipKey, ac, gc)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(want, pm.MembershipTag) {
		return nil, ErrMembershipTag
	}
	return ac, nil
}
