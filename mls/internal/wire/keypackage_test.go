package wire

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestKeyPackageTBS(t *testing.T) {
	kp := KeyPackage{Version: MLS10, CipherSuite: 1, InitKey: []byte{1}, LeafNode: testLeaf(LeafNodeSourceKeyPackage),
		Extensions: Extensions{{ExtensionType: 0x1a1a}}, Signature: []byte{5, 6}}
	full := roundTrip(t, &kp, new(KeyPackage))
	tbs := tls.MustMarshal((*KeyPackageTBS)(&kp))
	if !bytes.Equal(append(tbs, 2, 5, 6), full) {
		t.Fatalf("KeyPackageTBS %x is not KeyPackage %x without its signature", tbs, full)
	}
	// An unsupported credential inside a KeyPackage is reported with the
	// absolute offset of its code point.
	kp.LeafNode.Credential = Credential{CredentialType: 0x0a0a}
	var w tls.Writer
	(*KeyPackageTBS)(&kp).MarshalTLS(&w) // records ErrNoBody after writing the type
	b := w.Bytes()
	off := bytes.Index(b, []byte{0x0a, 0x0a})
	b = append(b, make([]byte, 8)...)
	wantUnsupported(t, Unmarshal(b, new(KeyPackage)), "credential_type", 0x0a0a, off)
}
