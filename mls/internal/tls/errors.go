package tls

import (
	"errors"
	"fmt"
)

// ErrMalformed is matched (errors.Is) by every decoding error of this package:
// the input does not follow the TLS presentation language rules of RFC 9420
// §2.1. Callers that need the detail unwrap to one of the sentinels below.
var ErrMalformed = errors.New("mls: malformed encoding")

// ErrUnsupported is matched by errors for well-formed input that uses
// something this implementation does not support: a cipher suite, protocol
// version, credential type or extension it does not know. It is not a
// DecodeError: the input was valid, the feature is missing. Packages that
// report it wrap it with %w.
var ErrUnsupported = errors.New("mls: unsupported")

// The reasons a decoder gives, each wrapped in a *DecodeError.
var (
	// ErrTruncated: the input ends inside a value.
	ErrTruncated = errors.New("tls: truncated input")
	// ErrNonMinimal: a variable-length integer does not use its shortest
	// encoding (§2.1.2 says it MUST be treated as malformed).
	ErrNonMinimal = errors.New("tls: non-minimal variable-length integer")
	// ErrInvalidPrefix: a variable-length integer starts with the bits 11.
	ErrInvalidPrefix = errors.New("tls: invalid variable-length integer prefix")
	// ErrTrailing: bytes remain after a value that must fill its input.
	ErrTrailing = errors.New("tls: trailing bytes")
	// ErrTooLong: a length or count is beyond the bound of its field.
	ErrTooLong = errors.New("tls: length beyond bound")
	// ErrInvalidValue: a field holds a value its type does not allow (an
	// optional presence byte other than 0 or 1, an unknown enum where the
	// type is closed, a vector element that consumes no bytes).
	ErrInvalidValue = errors.New("tls: invalid value")
)

// DecodeError says where and why decoding failed. It matches ErrMalformed
// and unwraps to its reason.
type DecodeError struct {
	Offset int    // byte offset in the outermost input
	Field  string // what was being read, when known
	Err    error  // the reason: one of the sentinels above, or a caller's
}

// Error says where decoding failed and why; it never quotes the input.
func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("mls: malformed encoding at byte %d (%s): %v", e.Offset, e.Field, e.Err)
	}
	return fmt.Sprintf("mls: malformed encoding at byte %d: %v", e.Offset, e.Err)
}

// Unwrap returns the reason.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes every DecodeError match ErrMalformed.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }
