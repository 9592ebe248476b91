package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestPrivateMessageContentPadding(t *testing.T) {
	pc := PrivateMessageContent{ApplicationData: []byte("hello"), Auth: FramedContentAuthData{Signature: []byte{1}}, Padding: 4}
	var w tls.Writer
	pc.MarshalFor(&w, ContentTypeApplication)
	want := []byte{5, 'h', 'e', 'l', 'l', 'o', 1, 1, 0, 0, 0, 0}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("encoding %x, want %x", w.Bytes(), want)
	}
	got, err := UnmarshalPrivateMessageContent(want, ContentTypeApplication)
	if err != nil || got.Padding != 4 || string(got.ApplicationData) != "hello" {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	bad := append([]byte{}, want...)
	bad[10] = 1
	_, err = UnmarshalPrivateMessageContent(bad, ContentTypeApplication)
	wantMalformed(t, err, tls.ErrInvalidValue)
	var de *tls.DecodeError
	if !errors.As(err, &de) || de.Offset != 10 || de.Field != "padding" {
		t.Fatalf("non-zero padding reported at %d (%s), want 10 (padding)", de.Offset, de.Field)
	}
	_, err = UnmarshalPrivateMessageContent(want, 0)
	wantMalformed(t, err, tls.ErrInvalidValue)
}

func TestPrivateMessageContentCommit(t *testing.T) {
	pc := PrivateMessageContent{Commit: &Commit{}, Auth: FramedContentAuthData{Signature: []byte{1}, ConfirmationTag: []byte{2, 3}}}
	var w tls.Writer
	pc.MarshalFor(&w, ContentTypeCommit)
	got, err := UnmarshalPrivateMessageContent(w.Bytes(), ContentTypeCommit)
	if err != nil || got.Commit == nil || !bytes.Equal(got.Auth.ConfirmationTag, []byte{2, 3}) || got.Padding != 0 {
		t.Fatalf("decode %x: %+v, %v", w.Bytes(), got, err)
	}
}

func TestPrivateStructs(t *testing.T) {
	m := PrivateMessage{GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeApplication, EncryptedSenderData: []byte{1}, Ciphertext: []byte{2}}
	roundTrip(t, &m, new(PrivateMessage))
	sd := SenderData{LeafIndex: 1, Generation: 2, ReuseGuard: [4]byte{3, 4, 5, 6}}
	if b := roundTrip(t, &sd, new(SenderData)); !bytes.Equal(b, []byte{0, 0, 0, 1, 0, 0, 0, 2, 3, 4, 5, 6}) {
		t.Fatalf("SenderData %x", b)
	}
	aad := SenderDataAAD{GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeCommit}
	if b := roundTrip(t, &aad, new(SenderDataAAD)); !bytes.Equal(b, []byte{1, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 3}) {
		t.Fatalf("SenderDataAAD %x", b)
	}
	caad := PrivateContentAAD{GroupID: []byte("g"), Epoch: 1, ContentType: ContentTypeCommit, AuthenticatedData: []byte{9}}
	if b := roundTrip(t, &caad, new(PrivateContentAAD)); !bytes.Equal(b, []byte{1, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 3, 1, 9}) {
		t.Fatalf("PrivateContentAAD %x", b)
	}
}
