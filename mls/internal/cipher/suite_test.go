package cipher

import (
	"crypto/sha256"
	"errors"
	"strconv"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// detReader is a deterministic byte stream for tests: SHA-256 in counter mode
// over a seed.
type detReader struct {
	seed string
	n    int
	buf  []byte
}

func newDetReader(seed string) *detReader { return &detReader{seed: seed} }

func (r *detReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.Sum256([]byte(r.seed + strconv.Itoa(r.n)))
		r.n++
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func allSuites(t testing.TB) []*Suite {
	t.Helper()
	var out []*Suite
	for _, id := range IDs() {
		s, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestLookupUnsupported(t *testing.T) {
	for _, id := range []uint16{0, 8, 0x0a0a, 0xf000, 0xffff} {
		s, err := Lookup(id)
		if s != nil || !errors.Is(err, tls.ErrUnsupported) {
			t.Errorf("Lookup(0x%04x) = %v, %v; want ErrUnsupported", id, s, err)
		}
	}
	if len(IDs()) != 7 {
		t.Fatalf("IDs() = %v", IDs())
	}
}
