package wire

import (
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// typicalPrivateMessage is an MLSMessage carrying a PrivateMessage the size
// of a 100-byte application message under suite 1: a 32-byte group ID, 12
// bytes of sender data plus a 16-byte tag, and a ciphertext holding the
// content, a 64-byte Ed25519 signature and the AEAD tag.
func typicalPrivateMessage() []byte {
	m := MLSMessage{Version: MLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: &PrivateMessage{
		GroupID: make([]byte, 32), Epoch: 42, ContentType: ContentTypeApplication,
		EncryptedSenderData: make([]byte, 12+16), Ciphertext: make([]byte, 1+100+1+64+16),
	}}
	return tls.MustMarshal(&m)
}

// vectorCommit returns the PublicMessage commit of messages.json case 0.
func vectorCommit(b *testing.B) []byte {
	var cases []messagesVector
	vectortest.Load(b, "messages", &cases)
	return cases[0].PublicMessageCommit
}

func benchDecode(b *testing.B, in []byte) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var m MLSMessage
		if err := Unmarshal(in, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, in []byte) {
	var m MLSMessage
	if err := Unmarshal(in, &m); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(&m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePrivateMessage(b *testing.B) { benchDecode(b, typicalPrivateMessage()) }
func BenchmarkEncodePrivateMessage(b *testing.B) { benchEncode(b, typicalPrivateMessage()) }
func BenchmarkDecodeCommit(b *testing.B)         { benchDecode(b, vectorCommit(b)) }
func BenchmarkEncodeCommit(b *testing.B)         { benchEncode(b, vectorCommit(b)) }
