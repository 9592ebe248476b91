// Package mls implements the Messaging Layer Security protocol, RFC 9420.
//
// The package is pure: it performs no I/O, starts no goroutines and reads no
// clock; randomness comes from an io.Reader supplied by the caller. Its
// building blocks live in internal sub-packages:
//
//   - internal/tls: the TLS presentation language codec (RFC 9420 §2.1).
//   - internal/cipher: the cipher suites and labeled operations (§5).
//   - internal/treemath: array-based tree arithmetic (Appendix C).
//
// See docs/architecture.md for where it sits in the node.
package mls
