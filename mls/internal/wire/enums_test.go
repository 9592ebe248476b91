package wire

import (
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestUint16Lists(t *testing.T) {
	var w tls.Writer
	writeUint16s(&w, []CipherSuite{MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, MLS_256_DHKEMP384_AES256GCM_SHA384_P384, 0xfafa})
	if got, want := w.Bytes(), []byte{6, 0, 1, 0, 7, 0xfa, 0xfa}; string(got) != string(want) {
		t.Fatalf("encoding %x, want %x", got, want)
	}
	r := tls.NewReader(w.Bytes())
	got := readUint16s[CipherSuite](r)
	if r.Finish() != nil || len(got) != 3 || got[2] != 0xfafa {
		t.Fatalf("decoded %v, %v", got, r.Err())
	}
	// An empty vector decodes to nil, so decoded values compare equal to
	// values built with empty fields.
	r = tls.NewReader([]byte{0})
	if got := readUint16s[CipherSuite](r); got != nil || r.Finish() != nil {
		t.Fatalf("empty vector: %v, %v", got, r.Err())
	}
}

func TestStructLists(t *testing.T) {
	in := []HPKECiphertext{{KEMOutput: []byte{1}}, {Ciphertext: []byte{2, 3}}}
	var w tls.Writer
	writeList(&w, in)
	if got, want := w.Bytes(), []byte{7, 1, 1, 0, 0, 2, 2, 3}; string(got) != string(want) {
		t.Fatalf("encoding %x, want %x", got, want)
	}
	r := tls.NewReader(w.Bytes())
	out := readList[HPKECiphertext](r)
	if r.Finish() != nil || len(out) != 2 || out[1].Ciphertext[1] != 3 {
		t.Fatalf("decoded %+v, %v", out, r.Err())
	}
	// A vector that ends inside an element is malformed.
	r = tls.NewReader([]byte{3, 1, 1, 1})
	readList[HPKECiphertext](r)
	if r.Finish() == nil {
		t.Fatal("element overrunning its vector accepted")
	}
}
