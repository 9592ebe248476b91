// Package wire holds the wire structs of RFC 9420 (Messaging Layer Security)
// as Go types, each with the TLS presentation-language encoding of §2.1:
// MarshalTLS writes it and UnmarshalTLS reads it (see package tls).
//
// Decoding checks syntax only: lengths, enum values a select depends on,
// optional presence bytes, and the zero padding of PrivateMessageContent
// (§6.3.1). It does not check semantics (signatures, sizes of keys, sorted
// unmerged leaves, duplicate extensions); that is the job of the packages that
// use these types. Every accepted input re-encodes to the same bytes.
//
// Decoding is bounded: no value is allocated that is not backed by input bytes,
// and every loop consumes input. Decoded byte slices alias the buffer they were
// read from; Unmarshal copies its input once so that callers may reuse theirs.
//
// Errors: malformed input gives an error matching tls.ErrMalformed (a
// *tls.DecodeError). Well-formed input that uses an unknown wire format,
// protocol version, credential type or proposal type, whose body therefore
// cannot be parsed, gives an *UnsupportedError matching tls.ErrUnsupported
// from Unmarshal. Values of these types are plain data and are not safe for
// concurrent mutation; concurrent reads are safe.
package wire
