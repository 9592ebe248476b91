package framing

import (
	"fmt"
	"io"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ratchetFor returns the ratchet that keys content of type ct (§9):
// application data uses the application ratchet, proposals and commits the
// handshake ratchet.
func ratchetFor(ct wire.ContentType) (schedule.RatchetType, error) {
	switch ct {
	case wire.ContentTypeApplication:
		return schedule.Application, nil
	case wire.ContentTypeProposal, wire.ContentTypeCommit:
		return schedule.Handshake, nil
	}
	return 0, ErrContentType
}

// guardNonce returns nonce with its first four bytes XORed with the reuse
// guard (§6.3.1), in a new slice.
func guardNonce(nonce []byte, guard [4]byte) []byte {
	out := append([]byte(nil), nonce...)
	for i := range guard {
		out[i] ^= guard[i]
	}
	return out
}

// contentAAD encodes the PrivateContentAAD of pm (§6.3.1).
func contentAAD(pm *wire.PrivateMessage) ([]byte, error) {
	return encode("PrivateContentAAD", &wire.PrivateContentAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType, AuthenticatedData: pm.AuthenticatedData})
}

// senderDataAAD encodes the SenderDataAAD of pm (§6.3.2).
func senderDataAAD(pm *wire.PrivateMessage) ([]byte, error) {
	return encode("SenderDataAAD", &wire.SenderDataAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType})
}

// encode is wire.Marshal with the error naming what was encoded (a field
// beyond its length bound, 2^30 bytes).
func encode(what string, v tls.Marshaler) ([]byte, error) {
	b, err := wire.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("mls: framing: encoding %s: %w", what, err)
	}
	return b, nil
}

// EncryptPrivate protects ac as a PrivateMessage (§6.3): it takes the next
// generation of the sender's ratchet from tree, draws a reuse guard from
// random, encrypts the content with padding zero bytes, then encrypts the
// sender data under sender_data_secret. ac must come from a member and
// have been signed for the PrivateMessage wire format.
func EncryptPrivate(s *cipher.Suite, random io.Reader, tree *schedule.SecretTree, senderDataSecret []byte, ac *wire.AuthenticatedContent, padding int) (*wire.PrivateMessage, error) {
	if ac.WireFormat != wire.WireFormatPrivateMessage {
		return nil, ErrWireFormat
	}
	if ac.Content.Sender.SenderType != wire.SenderTypeMember {
		return nil, ErrNotMember
	}
	typ, err := ratchetFor(ac.Content.ContentType)
	if err != nil {
		return nil, err
	}
	if padding < 0 {
		return nil, fmt.Errorf("mls: framing: negative padding: %w", cipher.ErrInvalidLength)
	}
	sd := wire.SenderData{LeafIndex: ac.Content.Sender.LeafIndex}
	if _, err := io.ReadFull(random, sd.ReuseGuard[:]); err != nil {
		return nil, fmt.Errorf("mls: framing: reading reuse guard: %w", err)
	}
	pm := &wire.PrivateMessage{GroupID: ac.Content.GroupID, Epoch: ac.Content.Epoch, ContentType: ac.Content.ContentType, AuthenticatedData: ac.Content.AuthenticatedData}
	gen, kn, err := tree.Next(treemath.LeafIndex(sd.LeafIndex), typ)
	if err != nil {
		return nil, fmt.Errorf("mls: framing: %w", err)
	}
	sd.Generation = gen
	if pm.Ciphertext, err = sealContent(s, kn, sd.ReuseGuard, pm, ac, padding); err != nil {
		return nil, err
	}
	if pm.EncryptedSenderData, err = sealSenderData(s, senderDataSecret, pm, &sd); err != nil {
		return nil, err
	}
	return pm, nil
}

// sealContent encrypts the PrivateMessageContent of ac (§6.3.1).
func sealContent(s *cipher.Suite, kn schedule.KeyNonce, guard [4]byte, pm *wire.PrivateMessage, ac *wire.AuthenticatedContent, padding int) ([]byte, error) {
	c := wire.PrivateMessageContent{ApplicationData: ac.Content.ApplicationData, Proposal: ac.Content.Proposal,
		Commit: ac.Content.Commit, Auth: ac.Auth, Padding: padding}
	var w tls.Writer
	c.MarshalFor(&w, ac.Content.ContentType)
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("mls: framing: encoding PrivateMessageContent: %w", err)
	}
	aad, err := contentAAD(pm)
	if err != nil {
		return nil, err
	}
	ct, err := s.Seal(kn.Key, guardNonce(kn.Nonce, guard), aad, w.Bytes())
	if err != nil {
		return nil, fmt.Errorf("mls: framing: sealing content: %w", err)
	}
	return ct, nil
}

// sealSenderData encrypts sd under keys derived from the content
// ciphertext (§6.3.2).
func sealSenderData(s *cipher.Suite, senderDataSecret []byte, pm *wire.PrivateMessage, sd *wire.SenderData) ([]byte, error) {
	aad, err := senderDataAAD(pm)
	if err != nil {
		return nil, err
	}
	key, nonce := schedule.SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	ct, err := s.Seal(key, nonce, aad, tls.MustMarshal(sd)) // SenderData is fixed-size
	if err != nil {
		return nil, fmt.Errorf("mls: framing: sealing sender data: %w", err)
	}
	return ct, nil
}

// DecryptPrivate unprotects a PrivateMessage (§6.3): it decrypts the sender
// data, then the content with the sender's ratchet key of that generation,
// and returns the AuthenticatedContent with a member sender. The tree's
// generation is consumed only on success. The caller checks that the
// sender's leaf is non-blank (§6.3.2) and verifies the signature with
// Verify. Errors match cipher.ErrDecryption, tls.ErrMalformed (including
// non-zero padding), ErrContentType, ErrSenderLeaf, or the ratchet errors
// of package schedule (schedule.ErrConsumed for a replay).
func DecryptPrivate(s *cipher.Suite, tree *schedule.SecretTree, senderDataSecret []byte, pm *wire.PrivateMessage) (*wire.AuthenticatedContent, error) {
	return decryptPrivate(s, tree.Open, senderDataSecret, tree.LeafCount(), pm)
}

// DecryptPrivateKeepSkipped is DecryptPrivate with the sender's ratchet
// opened by SecretTree.OpenKeepSkipped: a generation that would delete
// keys of generations not received yet gives schedule.ErrGap and changes
// nothing.
func DecryptPrivateKeepSkipped(s *cipher.Suite, tree *schedule.SecretTree, senderDataSecret []byte, pm *wire.PrivateMessage) (*wire.AuthenticatedContent, error) {
	return decryptPrivate(s, tree.OpenKeepSkipped, senderDataSecret, tree.LeafCount(), pm)
}

type openFunc func(treemath.LeafIndex, schedule.RatchetType, uint32, func(schedule.KeyNonce) error) error

func decryptPrivate(s *cipher.Suite, open openFunc, senderDataSecret []byte, leaves uint32, pm *wire.PrivateMessage) (*wire.AuthenticatedContent, error) {
	typ, err := ratchetFor(pm.ContentType)
	if err != nil {
		return nil, err
	}
	sd, err := openSenderData(s, senderDataSecret, pm)
	if err != nil {
		return nil, err
	}
	if sd.LeafIndex >= leaves {
		return nil, ErrSenderLeaf
	}
	var c *wire.PrivateMessageContent
	err = open(treemath.LeafIndex(sd.LeafIndex), typ, sd.Generation, func(kn schedule.KeyNonce) error {
		var openErr error
		c, openErr = openContent(s, kn, sd.ReuseGuard, pm)
		return openErr
	})
	if err != nil {
		return nil, fmt.Errorf("mls: framing: %w", err)
	}
	return &wire.AuthenticatedContent{
		WireFormat: wire.WireFormatPrivateMessage,
		Content: wire.FramedContent{GroupID: pm.GroupID, Epoch: pm.Epoch, AuthenticatedData: pm.AuthenticatedData,
			Sender:      wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: sd.LeafIndex},
			ContentType: pm.ContentType, ApplicationData: c.ApplicationData, Proposal: c.Proposal, Commit: c.Commit},
		Auth: c.Auth,
	}, nil
}

// openSenderData decrypts and decodes the SenderData of pm (§6.3.2).
func openSenderData(s *cipher.Suite, senderDataSecret []byte, pm *wire.PrivateMessage) (*wire.SenderData, error) {
	aad, err := senderDataAAD(pm)
	if err != nil {
		return nil, err
	}
	key, nonce := schedule.SenderDataKeyNonce(s, senderDataSecret, pm.Ciphertext)
	pt, err := s.Open(key, nonce, aad, pm.EncryptedSenderData)
	if err != nil {
		return nil, fmt.Errorf("mls: framing: sender data: %w", err)
	}
	var sd wire.SenderData
	if err := wire.Unmarshal(pt, &sd); err != nil {
		return nil, fmt.Errorf("mls: framing: sender data: %w", err)
	}
	return &sd, nil
}

// openContent decrypts and decodes the PrivateMessageContent of pm.
func openContent(s *cipher.Suite, kn schedule.KeyNonce, guard [4]byte, pm *wire.PrivateMessage) (*wire.PrivateMessageContent, error) {
	aad, err := contentAAD(pm)
	if err != nil {
		return nil, err
	}
	pt, err := s.Open(kn.Key, guardNonce(kn.Nonce, guard), aad, pm.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	c, err := wire.UnmarshalPrivateMessageContent(pt, pm.ContentType)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	return c, nil
}
