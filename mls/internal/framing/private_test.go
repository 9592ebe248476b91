package framing

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func guardReader(b byte) *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 64)) }

func TestPrivateRoundTrip(t *testing.T) {
	g := newGroup(t)
	for _, ct := range []wire.ContentType{wire.ContentTypeApplication, wire.ContentTypeProposal, wire.ContentTypeCommit} {
		ac := g.signed(t, wire.WireFormatPrivateMessage, member(3), ct)
		pm, err := EncryptPrivate(g.suite, guardReader(1), g.tree(t, 4), g.senderDataSecret, ac, 16)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecryptPrivate(g.suite, g.tree(t, 4), g.senderDataSecret, pm)
		if err != nil {
			t.Fatalf("content type %d: %v", ct, err)
		}
		if err := Verify(g.verifier, got, g.gc); err != nil {
			t.Fatal(err)
		}
		a, _ := wire.Marshal(ac)
		b, _ := wire.Marshal(got)
		if !bytes.Equal(a, b) {
			t.Fatalf("content type %d: unprotected %x, want %x", ct, b, a)
		}
	}
}

// TestReuseGuard checks that the guard changes the nonce: the same
// generation with two guards gives two ciphertexts, and one guard gives one.
func TestReuseGuard(t *testing.T) {
	g := newGroup(t)
	ac := g.signed(t, wire.WireFormatPrivateMessage, member(0), wire.ContentTypeApplication)
	seal := func(guard byte) []byte {
		pm, err := EncryptPrivate(g.suite, guardReader(guard), g.tree(t, 2), g.senderDataSecret, ac, 0)
		if err != nil {
			t.Fatal(err)
		}
		return pm.Ciphertext
	}
	if bytes.Equal(seal(1), seal(2)) {
		t.Fatal("reuse guard does not change the ciphertext")
	}
	if !bytes.Equal(seal(1), seal(1)) {
		t.Fatal("same key, nonce and guard give different ciphertexts")
	}
	if _, err := EncryptPrivate(g.suite, bytes.NewReader(nil), g.tree(t, 2), g.senderDataSecret, ac, 0); err == nil {
		t.Fatal("no randomness for the reuse guard, no error")
	}
}

// TestPrivateReplayAndOrder checks out-of-order delivery, replay rejection
// and that a failed decryption leaves the generation usable.
func TestPrivateReplayAndOrder(t *testing.T) {
	g := newGroup(t)
	sender, receiver := g.tree(t, 2), g.tree(t, 2)
	var msgs []*wire.PrivateMessage
	for range 3 {
		pm, err := EncryptPrivate(g.suite, guardReader(5), sender, g.senderDataSecret, g.signed(t, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeApplication), 0)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, pm)
	}
	tampered := *msgs[2]
	tampered.Ciphertext = append([]byte{}, tampered.Ciphertext...)
	tampered.Ciphertext[len(tampered.Ciphertext)-1] ^= 1
	if _, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, &tampered); !errors.Is(err, cipher.ErrDecryption) {
		t.Fatalf("tampered: err = %v", err)
	}
	for _, i := range []int{2, 0, 1} {
		if _, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, msgs[i]); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, msgs[0]); !errors.Is(err, schedule.ErrConsumed) {
		t.Fatalf("replay: err = %v", err)
	}
}

func TestPrivateErrors(t *testing.T) {
	g := newGroup(t)
	ext := g.signed(t, wire.WireFormatPrivateMessage, wire.Sender{SenderType: wire.SenderTypeExternal}, wire.ContentTypeProposal)
	if _, err := EncryptPrivate(g.suite, guardReader(0), g.tree(t, 2), g.senderDataSecret, ext, 0); !errors.Is(err, ErrNotMember) {
		t.Fatalf("external sender: err = %v", err)
	}
	pub := g.signed(t, wire.WireFormatPublicMessage, member(0), wire.ContentTypeProposal)
	if _, err := EncryptPrivate(g.suite, guardReader(0), g.tree(t, 2), g.senderDataSecret, pub, 0); !errors.Is(err, ErrWireFormat) {
		t.Fatalf("signed for PublicMessage: err = %v", err)
	}
	ac := g.signed(t, wire.WireFormatPrivateMessage, member(3), wire.ContentTypeProposal)
	pm, err := EncryptPrivate(g.suite, guardReader(0), g.tree(t, 4), g.senderDataSecret, ac, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptPrivate(g.suite, g.tree(t, 2), g.senderDataSecret, pm); !errors.Is(err, ErrSenderLeaf) {
		t.Fatalf("leaf 3 in a tree of 2: err = %v", err)
	}
	if _, err := DecryptPrivate(g.suite, g.tree(t, 4), []byte("wrong"), pm); !errors.Is(err, cipher.ErrDecryption) {
		t.Fatalf("wrong sender data secret: err = %v", err)
	}
	bad := *pm
	bad.ContentType = 0
	if _, err := DecryptPrivate(g.suite, g.tree(t, 4), g.senderDataSecret, &bad); !errors.Is(err, ErrContentType) {
		t.Fatalf("content type 0: err = %v", err)
	}
	// Changing the authenticated data breaks the content AAD.
	bad = *pm
	bad.AuthenticatedData = []byte("other")
	if _, err := DecryptPrivate(g.suite, g.tree(t, 4), g.senderDataSecret, &bad); !errors.Is(err, cipher.ErrDecryption) {
		t.Fatalf("other authenticated data: err = %v", err)
	}
}

// TestNonZeroPadding seals a plaintext whose padding holds a non-zero byte
// under the right keys: the receiver must reject it as malformed (§6.3.1)
// and keep the generation.
func TestNonZeroPadding(t *testing.T) {
	g := newGroup(t)
	ac := g.signed(t, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeApplication)
	pm := &wire.PrivateMessage{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, ContentType: wire.ContentTypeApplication}
	c := wire.PrivateMessageContent{ApplicationData: ac.Content.ApplicationData, Auth: ac.Auth}
	var w tls.Writer
	c.MarshalFor(&w, wire.ContentTypeApplication)
	pt := append(w.Bytes(), 0, 0, 1)
	_, kn, err := g.tree(t, 2).Next(1, schedule.Application)
	if err != nil {
		t.Fatal(err)
	}
	aad, _ := contentAAD(pm)
	if pm.Ciphertext, err = g.suite.Seal(kn.Key, kn.Nonce, aad, pt); err != nil {
		t.Fatal(err)
	}
	if pm.EncryptedSenderData, err = sealSenderData(g.suite, g.senderDataSecret, pm, &wire.SenderData{LeafIndex: 1}); err != nil {
		t.Fatal(err)
	}
	receiver := g.tree(t, 2)
	if _, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, pm); !errors.Is(err, tls.ErrMalformed) {
		t.Fatalf("non-zero padding: err = %v", err)
	}
	// The generation was not consumed: a well-formed message for it opens.
	pm.Ciphertext, _ = g.suite.Seal(kn.Key, kn.Nonce, aad, pt[:len(pt)-1])
	pm.EncryptedSenderData, _ = sealSenderData(g.suite, g.senderDataSecret, pm, &wire.SenderData{LeafIndex: 1})
	if _, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, pm); err != nil {
		t.Fatalf("after a rejected message: %v", err)
	}
}
