package transcript

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

type vector struct {
	CipherSuite                  uint16         `json:"cipher_suite"`
	ConfirmationKey              vectortest.Hex `json:"confirmation_key"`
	AuthenticatedContent         vectortest.Hex `json:"authenticated_content"`
	InterimTranscriptHashBefore  vectortest.Hex `json:"interim_transcript_hash_before"`
	ConfirmedTranscriptHashAfter vectortest.Hex `json:"confirmed_transcript_hash_after"`
	InterimTranscriptHashAfter   vectortest.Hex `json:"interim_transcript_hash_after"`
}

// TestVectors runs transcript-hashes.json.
func TestVectors(t *testing.T) {
	vectortest.Run(t, "transcript-hashes", func(t *testing.T, c *vector) {
		s, err := cipher.Lookup(c.CipherSuite)
		if err != nil {
			t.Fatal(err)
		}
		var ac wire.AuthenticatedContent
		if err := wire.Unmarshal(c.AuthenticatedContent, &ac); err != nil {
			t.Fatalf("decode authenticated_content: %v", err)
		}
		if ac.Content.ContentType != wire.ContentTypeCommit {
			t.Fatalf("content type %d, want commit", ac.Content.ContentType)
		}
		tag := ac.Auth.ConfirmationTag
		if err := VerifyConfirmationTag(s, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, tag); err != nil {
			t.Fatalf("confirmation tag: %v", err)
		}
		if got := ConfirmationTag(s, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter); !bytes.Equal(got, tag) {
			t.Fatalf("ConfirmationTag = %x, want %x", got, tag)
		}
		confirmed, interim, err := Update(s, c.InterimTranscriptHashBefore, &ac)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(confirmed, c.ConfirmedTranscriptHashAfter) {
			t.Fatalf("confirmed = %x, want %x", confirmed, c.ConfirmedTranscriptHashAfter)
		}
		if !bytes.Equal(interim, c.InterimTranscriptHashAfter) {
			t.Fatalf("interim = %x, want %x", interim, c.InterimTranscriptHashAfter)
		}
	})
}

func TestErrors(t *testing.T) {
	s, err := cipher.Lookup(cipher.X25519_AES128GCM_SHA256_Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	app := wire.AuthenticatedContent{Content: wire.FramedContent{ContentType: wire.ContentTypeApplication}}
	if _, err := Confirmed(s, nil, &app); !errors.Is(err, ErrNotCommit) {
		t.Fatalf("application content: err = %v", err)
	}
	key, confirmed := []byte("key"), []byte("confirmed")
	tag := ConfirmationTag(s, key, confirmed)
	tag[0] ^= 1
	if err := VerifyConfirmationTag(s, key, confirmed, tag); !errors.Is(err, ErrBadConfirmationTag) {
		t.Fatalf("tampered tag: err = %v", err)
	}
	// Epoch 0 starts from an empty interim hash (§8.2).
	commit := wire.AuthenticatedContent{WireFormat: wire.WireFormatPublicMessage,
		Content: wire.FramedContent{ContentType: wire.ContentTypeCommit, Commit: &wire.Commit{}, Sender: wire.Sender{SenderType: wire.SenderTypeMember}}}
	c1, i1, err := Update(s, nil, &commit)
	if err != nil || len(c1) != s.Nh() || bytes.Equal(c1, i1) {
		t.Fatalf("Update from empty: %x %x %v", c1, i1, err)
	}
}
