package wire

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestUnmarshalCopiesInput(t *testing.T) {
	in := []byte{0x03, 'a', 'b', 'c'}
	var e ExternalInit
	if err := Unmarshal(in, &e); err != nil {
		t.Fatal(err)
	}
	in[1] = 'X'
	if string(e.KEMOutput) != "abc" {
		t.Fatalf("decoded value aliases the caller's buffer: %q", e.KEMOutput)
	}
}

func TestUnmarshalTrailing(t *testing.T) {
	wantMalformed(t, Unmarshal([]byte{0, 0, 0, 1, 0}, new(Remove)), tls.ErrTrailing)
}

// TestUnsupportedErrorIs checks that Unmarshal strips the DecodeError around
// an UnsupportedError, while a direct tls.Unmarshal keeps both matches.
func TestUnsupportedErrorIs(t *testing.T) {
	in := []byte{0x0a, 0x0a}
	wantUnsupported(t, Unmarshal(in, new(Proposal)), "proposal_type", 0x0a0a, 0)
	err := tls.Unmarshal(in, new(Proposal))
	var ue *UnsupportedError
	if !errors.Is(err, tls.ErrMalformed) || !errors.As(err, &ue) {
		t.Fatalf("tls.Unmarshal: err = %v", err)
	}
	if msg := ue.Error(); msg != "mls: unsupported proposal_type 0xa0a at byte 0" {
		t.Fatalf("message %q", msg)
	}
}
