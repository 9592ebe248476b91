package wire

import (
	"errors"
	"runtime"
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

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBoundedAllocation checks that length prefixes do not drive
// allocation: a message claiming a 1 GiB vector in a few bytes is rejected
// without allocating it, and a tree of many blank nodes costs memory linear
// in its encoding.
func TestBoundedAllocation(t *testing.T) {
	huge := []byte{0, 1, 0, 3, 0, 1, 0xbf, 0xff, 0xff, 0xff, 0}
	n := allocated(func() {
		if err := Unmarshal(huge, new(MLSMessage)); !errors.Is(err, tls.ErrTruncated) {
			t.Errorf("1 GiB claim: err = %v", err)
		}
	})
	if n > 1<<16 {
		t.Fatalf("rejecting a 1 GiB claim allocated %d bytes", n)
	}
	const blanks = 1 << 16
	in := append([]byte{0x80, 1, 0, 0}, make([]byte, blanks)...) // varint 65536, then absent nodes
	var tree RatchetTree
	n = allocated(func() {
		if err := Unmarshal(in, &tree); err != nil {
			t.Errorf("blank tree: %v", err)
		}
	})
	if len(tree) != blanks {
		t.Fatalf("decoded %d nodes, want %d", len(tree), blanks)
	}
	// One 8-byte pointer per one-byte node, times the sum of append's
	// regrowths (about 5 for growth by 1.25): linear, under 64 bytes of
	// memory per input byte.
	if n > 64*uint64(len(in)) {
		t.Fatalf("decoding %d bytes allocated %d", len(in), n)
	}
}
