package schedule

import (
	"bytes"
	"testing"
)

func TestPSKIDEncoding(t *testing.T) {
	got := ResumptionPSKID(UsageBranch, []byte{0xaa}, 258, []byte{0xbb, 0xcc})
	want := []byte{2, 3, 1, 0xaa, 0, 0, 0, 0, 0, 0, 1, 2, 2, 0xbb, 0xcc}
	if !bytes.Equal(got, want) {
		t.Fatalf("ResumptionPSKID = %x, want %x", got, want)
	}
	if got := ExternalPSKID([]byte{1}, nil); !bytes.Equal(got, []byte{1, 1, 1, 0}) {
		t.Fatalf("ExternalPSKID = %x", got)
	}
	s := suite(t, 1)
	a, _ := PSKSecret(s, []PSK{{ID: got, Secret: []byte("k")}})
	b, _ := PSKSecret(s, []PSK{{ID: ExternalPSKID([]byte{2}, nil), Secret: []byte("k")}})
	if bytes.Equal(a, b) {
		t.Fatalf("the PSK ID does not reach psk_secret")
	}
}
