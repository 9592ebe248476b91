package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// roundTrip encodes v, decodes the bytes into fresh (a zero value of v's
// type) and checks that re-encoding gives the same bytes.
func roundTrip(t *testing.T, v, fresh interface {
	tls.Marshaler
	tls.Unmarshaler
}) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if err := Unmarshal(b, fresh); err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	if out := tls.MustMarshal(fresh); !bytes.Equal(out, b) {
		t.Fatalf("round trip differs\n got %x\nwant %x", out, b)
	}
	return b
}

// wantMalformed asserts err is a DecodeError whose reason is reason.
func wantMalformed(t *testing.T, err, reason error) {
	t.Helper()
	var de *tls.DecodeError
	if !errors.As(err, &de) || !errors.Is(err, reason) || errors.Is(err, tls.ErrUnsupported) {
		t.Fatalf("err = %v (%T), want malformed: %v", err, err, reason)
	}
}

// wantUnsupported asserts err is an UnsupportedError for field at offset.
func wantUnsupported(t *testing.T, err error, field string, value uint64, offset int) {
	t.Helper()
	var ue *UnsupportedError
	if !errors.As(err, &ue) || errors.Is(err, tls.ErrMalformed) || !errors.Is(err, tls.ErrUnsupported) {
		t.Fatalf("err = %v (%T), want unsupported %s", err, err, field)
	}
	if ue.Field != field || ue.Value != value || ue.Offset != offset {
		t.Fatalf("unsupported %s %#x at %d, want %s %#x at %d", ue.Field, ue.Value, ue.Offset, field, value, offset)
	}
}

// testLeaf returns a LeafNode with the given source.
func testLeaf(src LeafNodeSource) LeafNode {
	return LeafNode{
		EncryptionKey:  []byte{1, 2, 3},
		SignatureKey:   []byte{4, 5},
		Credential:     Credential{CredentialType: CredentialTypeBasic, Identity: []byte("alice")},
		Capabilities:   Capabilities{Versions: []ProtocolVersion{MLS10}, CipherSuites: []CipherSuite{1, 0x0a0a}},
		LeafNodeSource: src,
		Lifetime:       Lifetime{NotBefore: 1, NotAfter: 2},
		ParentHash:     []byte{9},
		Extensions:     Extensions{{ExtensionType: 0x0a0a, ExtensionData: []byte{7}}},
		Signature:      []byte{0xaa},
	}
}
