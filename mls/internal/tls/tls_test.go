package tls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// TestVectors runs deserialization.json: decode each vlbytes header.
func TestVectors(t *testing.T) {
	type vector struct {
		Header vectortest.Hex `json:"vlbytes_header"`
		Length uint64         `json:"length"`
	}
	vectortest.Run(t, "deserialization", func(t *testing.T, c *vector) {
		r := NewReader(c.Header)
		got := r.Varint()
		if err := r.Finish(); err != nil {
			t.Fatalf("decode %x: %v", c.Header, err)
		}
		if got != c.Length {
			t.Fatalf("decode %x = %d, want %d", c.Header, got, c.Length)
		}
		var w Writer
		w.Varint(got)
		if !bytes.Equal(w.Bytes(), c.Header) {
			t.Fatalf("encode %d = %x, want %x", got, w.Bytes(), c.Header)
		}
	})
}

func TestVarintErrors(t *testing.T) {
	tests := []struct {
		in   []byte
		want error
	}{
		{[]byte{}, ErrTruncated},
		{[]byte{0x40}, ErrTruncated},
		{[]byte{0x80, 0, 0}, ErrTruncated},
		{[]byte{0xc0, 0, 0, 0, 0, 0, 0, 0}, ErrInvalidPrefix},
		{[]byte{0x40, 0x3f}, ErrNonMinimal},
		{[]byte{0x80, 0x00, 0x3f, 0xff}, ErrNonMinimal},
		{[]byte{0x05, 0x00}, ErrTrailing},
	}
	for _, tt := range tests {
		r := NewReader(tt.in)
		r.Varint()
		err := r.Finish()
		if !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: err = %v, want %v (and ErrMalformed)", tt.in, err, tt.want)
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%x: err %T is not a *DecodeError", tt.in, err)
		}
	}
}

func TestVarintRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 16383, 16384, MaxVarint} {
		var w Writer
		w.Varint(v)
		r := NewReader(w.Bytes())
		if got := r.Varint(); got != v || r.Finish() != nil {
			t.Errorf("round trip %d: got %d, err %v", v, got, r.Err())
		}
	}
	var w Writer
	w.Varint(MaxVarint + 1)
	if !errors.Is(w.Err(), ErrTooLong) {
		t.Errorf("Varint(2^30): err = %v, want ErrTooLong", w.Err())
	}
}

func TestVector(t *testing.T) {
	var w Writer
	w.Vector(func(w *Writer) {
		for i := 0; i < 100; i++ {
			w.Opaque([]byte{byte(i)})
		}
	})
	enc := w.Bytes()
	if enc[0] != 0x40 || enc[1] != 200 || len(enc) != 202 {
		t.Fatalf("vector header %x, len %d", enc[:2], len(enc))
	}
	var got []byte
	r := NewReader(enc)
	r.Vector(func(r *Reader) { got = append(got, r.Opaque()...) })
	if err := r.Finish(); err != nil || len(got) != 100 || got[99] != 99 {
		t.Fatalf("decode: %v, %d elements", err, len(got))
	}
	// An element overrunning its vector is malformed, not read from outside.
	r = NewReader([]byte{0x02, 0x05, 0xaa, 0xbb, 0xcc, 0xdd, 0xee})
	r.Vector(func(r *Reader) { r.Opaque() })
	if !errors.Is(r.Err(), ErrTruncated) {
		t.Fatalf("overrun: err = %v", r.Err())
	}
	// An element decoder that consumes nothing cannot loop forever.
	r = NewReader([]byte{0x01, 0x00})
	r.Vector(func(r *Reader) {})
	if !errors.Is(r.Err(), ErrInvalidValue) {
		t.Fatalf("zero-progress element: err = %v", r.Err())
	}
}

func TestOptionalAndBool(t *testing.T) {
	r := NewReader([]byte{2})
	r.Optional()
	if !errors.Is(r.Err(), ErrInvalidValue) {
		t.Fatalf("presence byte 2: err = %v", r.Err())
	}
}

func TestNested(t *testing.T) {
	r := NewReader([]byte{0x03, 0x01, 0x02, 0x03})
	r.Nested(func(r *Reader) { r.Uint16() })
	if !errors.Is(r.Err(), ErrTrailing) {
		t.Fatalf("nested with trailing byte: err = %v", r.Err())
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{0x40, 0x40})
	f.Add([]byte{0x03, 0x01, 0x02, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		var items [][]byte
		r.Vector(func(r *Reader) { items = append(items, r.Opaque()) })
		if err := r.Finish(); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		var w Writer
		w.Vector(func(w *Writer) {
			for _, it := range items {
				w.Opaque(it)
			}
		})
		if !bytes.Equal(w.Bytes(), b) {
			t.Fatalf("re-encoding %x gives %x", b, w.Bytes())
		}
	})
}

// TestVectorHeaderSizes checks each varint header width of Vector at its
// boundaries, and that Vector allocates nothing once the buffer has room.
func TestVectorHeaderSizes(t *testing.T) {
	for _, n := range []int{0, 63, 64, 16383, 16384} {
		var w Writer
		w.Vector(func(w *Writer) { w.Raw(make([]byte, n)) })
		r := NewReader(w.Bytes())
		got := r.Opaque()
		if err := r.Finish(); err != nil || len(got) != n {
			t.Fatalf("vector of %d bytes: decoded %d, err %v", n, len(got), err)
		}
		var hdr Writer
		hdr.Varint(uint64(n))
		if !bytes.Equal(w.Bytes()[:len(hdr.Bytes())], hdr.Bytes()) {
			t.Fatalf("vector of %d bytes: header %x, want %x", n, w.Bytes()[:4], hdr.Bytes())
		}
	}
	var w Writer
	w.Grow(1024)
	allocs := testing.AllocsPerRun(100, func() {
		w.Reset()
		w.Vector(func(w *Writer) { w.Opaque([]byte("content")) })
	})
	if allocs != 0 {
		t.Fatalf("Vector allocates %.0f times per call", allocs)
	}
}
