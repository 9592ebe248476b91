// Package tls is the TLS presentation language codec of RFC 9420 §2.1, with the
// variable-length integers of §2.1.2.
//
// A Writer appends encodings to a byte slice and cannot fail, except that
// MarshalTLS implementations may record an error (a value too large for its
// field) with Writer.Fail. A Reader decodes from a byte slice with a sticky
// error: after the first failure every read returns zero values, so decoders
// read a whole struct and check Err once. Readers never allocate more than the
// input they are given and never loop without consuming input.
//
// Neither type is safe for concurrent use.
package tls

import "encoding/binary"

// MaxVarint is the largest value a variable-length integer can hold (§2.1.2).
const MaxVarint = 1<<30 - 1

// Marshaler is implemented by every wire struct.
type Marshaler interface {
	MarshalTLS(w *Writer)
}

// Unmarshaler is implemented by every wire struct.
type Unmarshaler interface {
	UnmarshalTLS(r *Reader)
}

// Marshal returns the encoding of v, or the error v recorded with Writer.Fail.
func Marshal(v Marshaler) ([]byte, error) {
	var w Writer
	v.MarshalTLS(&w)
	return w.Bytes(), w.Err()
}

// MustMarshal is Marshal for values that cannot fail to encode (every value
// whose vectors are below 2^30 bytes); it panics otherwise.
func MustMarshal(v Marshaler) []byte {
	b, err := Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Unmarshal decodes b into v and requires that v consume all of b.
func Unmarshal(b []byte, v Unmarshaler) error {
	r := NewReader(b)
	v.UnmarshalTLS(r)
	return r.Finish()
}

// Writer accumulates an encoding. The zero value is ready to use.
type Writer struct {
	buf []byte
	err error
}

// Grow makes room for n more bytes without another allocation.
func (w *Writer) Grow(n int) {
	if cap(w.buf)-len(w.buf) < n {
		nb := make([]byte, len(w.buf), len(w.buf)+n)
		copy(nb, w.buf)
		w.buf = nb
	}
}

// Reset empties the Writer, keeping its buffer for reuse; the slice Bytes
// returned before is overwritten by later writes.
func (w *Writer) Reset() {
	w.buf = w.buf[:0]
	w.err = nil
}

// Bytes returns the encoding written so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Err returns the first error recorded with Fail.
func (w *Writer) Err() error { return w.err }

// Fail records err; the first error wins.
func (w *Writer) Fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Uint8 appends v.
func (w *Writer) Uint8(v uint8) { w.buf = append(w.buf, v) }

// Uint16 appends v in network byte order.
func (w *Writer) Uint16(v uint16) { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }

// Uint32 appends v in network byte order.
func (w *Writer) Uint32(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }

// Uint64 appends v in network byte order.
func (w *Writer) Uint64(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }

// Bool appends v as one byte, 0 or 1.
func (w *Writer) Bool(v bool) {
	if v {
		w.Uint8(1)
	} else {
		w.Uint8(0)
	}
}

// Varint appends v as a minimal variable-length integer (§2.1.2). A value
// above MaxVarint records ErrTooLong.
func (w *Writer) Varint(v uint64) {
	switch {
	case v < 1<<6:
		w.buf = append(w.buf, byte(v))
	case v < 1<<14:
		w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(v)|0x4000)
	case v <= MaxVarint:
		w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v)|0x80000000)
	default:
		w.Fail(&DecodeError{Offset: len(w.buf), Err: ErrTooLong})
	}
}

// Raw appends b with no length prefix (a fixed-size array).
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Opaque appends b as opaque<V>: a varint length, then the bytes.
func (w *Writer) Opaque(b []byte) {
	w.Varint(uint64(len(b)))
	w.buf = append(w.buf, b...)
}

// Opaque8 appends b as opaque<0..255>: a one-byte length, then the bytes.
func (w *Writer) Opaque8(b []byte) {
	if len(b) > 0xff {
		w.Fail(&DecodeError{Offset: len(w.buf), Err: ErrTooLong})
		return
	}
	w.Uint8(uint8(len(b)))
	w.buf = append(w.buf, b...)
}

// Opaque16 appends b as opaque<0..2^16-1>: a two-byte length, then the bytes.
func (w *Writer) Opaque16(b []byte) {
	if len(b) > 0xffff {
		w.Fail(&DecodeError{Offset: len(w.buf), Err: ErrTooLong})
		return
	}
	w.Uint16(uint16(len(b)))
	w.buf = append(w.buf, b...)
}

// Vector appends a <V> vector whose content f writes: f's output is prefixed
// with its varint length.
func (w *Writer) Vector(f func(w *Writer)) {
	// Reserve the longest prefix, write, then move the content if a shorter
	// prefix suffices; this keeps one buffer and allocates nothing of its own.
	start := len(w.buf)
	w.buf = append(w.buf, 0, 0, 0, 0)
	f(w)
	n := len(w.buf) - start - 4
	var h int
	switch {
	case n < 1<<6:
		w.buf[start] = byte(n)
		h = 1
	case n < 1<<14:
		binary.BigEndian.PutUint16(w.buf[start:], uint16(n)|0x4000)
		h = 2
	case n <= MaxVarint:
		binary.BigEndian.PutUint32(w.buf[start:], uint32(n)|0x80000000)
		return
	default:
		w.Fail(&DecodeError{Offset: start, Err: ErrTooLong})
		return
	}
	copy(w.buf[start+h:], w.buf[start+4:])
	w.buf = w.buf[:start+h+n]
}

// Optional appends optional<T>: a presence byte and, when present, f's output.
func (w *Writer) Optional(present bool, f func(w *Writer)) {
	w.Bool(present)
	if present {
		f(w)
	}
}

// Reader decodes from a byte slice. Slices it returns alias the input; callers
// that keep them beyond the input's lifetime copy them.
type Reader struct {
	b    []byte
	off  int // offset into b
	base int // offset of b in the outermost input, for error messages
	err  error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Empty reports whether all input has been read (or an error occurred).
func (r *Reader) Empty() bool { return r.err != nil || r.off == len(r.b) }

// Offset returns the position of the next byte in the outermost input.
func (r *Reader) Offset() int { return r.base + r.off }

// Fail records a decoding error at the current offset; the first error wins.
// Decoders use it for semantic checks (an unknown enum value, say). An err
// that is already a *DecodeError is kept as it is.
func (r *Reader) Fail(err error) {
	r.FailField("", err)
}

// FailField is Fail naming the field being read.
func (r *Reader) FailField(field string, err error) {
	if r.err != nil {
		return
	}
	if de, ok := err.(*DecodeError); ok {
		r.err = de
		return
	}
	r.err = &DecodeError{Offset: r.Offset(), Field: field, Err: err}
}

// Finish returns Err, or ErrTrailing if input remains.
func (r *Reader) Finish() error {
	if r.err == nil && r.off != len(r.b) {
		r.Fail(ErrTrailing)
	}
	return r.err
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(ErrTruncated)
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

// Uint8 reads one byte.
func (r *Reader) Uint8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

// Uint16 reads a big-endian uint16.
func (r *Reader) Uint16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// Uint64 reads a big-endian uint64.
func (r *Reader) Uint64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// Bool reads one byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	switch r.Uint8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.Fail(ErrInvalidValue)
	return false
}

// Varint reads a variable-length integer, rejecting the 11 prefix and
// non-minimal encodings (§2.1.2).
func (r *Reader) Varint() uint64 {
	if r.err != nil {
		return 0
	}
	if r.Len() < 1 {
		r.Fail(ErrTruncated)
		return 0
	}
	prefix := r.b[r.off] >> 6
	if prefix == 3 {
		r.Fail(ErrInvalidPrefix)
		return 0
	}
	b := r.take(1 << prefix)
	if b == nil {
		return 0
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:] {
		v = v<<8 | uint64(c)
	}
	if (prefix == 1 && v < 1<<6) || (prefix == 2 && v < 1<<14) {
		r.off -= len(b)
		r.Fail(ErrNonMinimal)
		return 0
	}
	return v
}

// Raw reads n bytes (a fixed-size array).
func (r *Reader) Raw(n int) []byte { return r.take(n) }

// Opaque reads opaque<V>. The result is never nil on success, so an empty
// vector and an error can be told apart by Err alone.
func (r *Reader) Opaque() []byte {
	n := r.Varint()
	if r.err != nil {
		return nil
	}
	return r.take(int(n))
}

// Opaque8 reads opaque<0..255>.
func (r *Reader) Opaque8() []byte { return r.take(int(r.Uint8())) }

// Opaque16 reads opaque<0..2^16-1>.
func (r *Reader) Opaque16() []byte { return r.take(int(r.Uint16())) }

// Vector reads a <V> vector and calls f once per element until the vector's
// bytes are used up. f must consume at least one byte per call; an element
// that consumes none, or one that overruns the vector, is malformed.
func (r *Reader) Vector(f func(r *Reader)) {
	sub := r.Sub()
	for r.err == nil && !sub.Empty() {
		before := sub.off
		f(sub)
		if sub.err == nil && sub.off == before {
			sub.Fail(ErrInvalidValue)
		}
	}
	if sub.err != nil && r.err == nil {
		r.err = sub.err
	}
}

// Nested reads a <V>-prefixed byte string and decodes it with f, which must
// consume all of it (for example opaque content<V> holding one struct).
func (r *Reader) Nested(f func(r *Reader)) {
	sub := r.Sub()
	if sub.err == nil {
		f(sub)
		sub.Finish()
	}
	if sub.err != nil && r.err == nil {
		r.err = sub.err
	}
}

// Sub reads a varint length and returns a Reader over that many bytes. Errors
// in the sub-reader are not carried back: callers use Vector or Nested, or
// check the sub-reader's Err themselves.
func (r *Reader) Sub() *Reader {
	n := r.Varint()
	start := r.Offset()
	b := r.take(int(n))
	sub := &Reader{b: b, base: start, err: r.err}
	return sub
}

// Optional reads the presence byte of optional<T>.
func (r *Reader) Optional() bool { return r.Bool() }
