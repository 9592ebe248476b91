package wire

import (
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// ErrNoBody is recorded by MarshalTLS when a value's type selects a variant
// whose field is nil (for example a Proposal of type add with no Add).
var ErrNoBody = errors.New("mls: wire: selected variant is missing")

// UnsupportedError reports a well-formed code point that selects a body this
// implementation cannot parse (RFC 9420 §17: wire formats, protocol versions,
// credential types and proposal types are extensible registries). It matches
// tls.ErrUnsupported and not tls.ErrMalformed.
type UnsupportedError struct {
	Offset int    // byte offset of the code point in the input
	Field  string // what the code point names, e.g. "proposal_type"
	Value  uint64 // the code point
}

// Error implements error; it names the field and code point, never secrets.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("mls: unsupported %s %#x at byte %d", e.Field, e.Value, e.Offset)
}

// Is makes UnsupportedError match tls.ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == tls.ErrUnsupported }

// failUnsupported records an UnsupportedError for a code point just read
// (width bytes before the reader's current offset).
func failUnsupported(r *tls.Reader, field string, v uint64, width int) {
	r.FailField(field, &UnsupportedError{Offset: r.Offset() - width, Field: field, Value: v})
}

// failInvalid records a malformed enum value a select depends on.
func failInvalid(r *tls.Reader, field string) {
	r.FailField(field, tls.ErrInvalidValue)
}

// Unmarshal decodes b into v, which must consume all of b. It copies b first,
// so v never aliases the caller's buffer. Errors match tls.ErrMalformed
// (a *tls.DecodeError) or tls.ErrUnsupported (an *UnsupportedError).
func Unmarshal(b []byte, v tls.Unmarshaler) error {
	own := make([]byte, len(b))
	copy(own, b)
	return unsupported(tls.Unmarshal(own, v))
}

// unsupported strips the DecodeError wrapper from an UnsupportedError, which
// reports valid input and so must not match tls.ErrMalformed.
func unsupported(err error) error {
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		return ue
	}
	return err
}

// Marshal returns the encoding of v, or the error a MarshalTLS recorded
// (ErrNoBody, or a length beyond its field's bound).
func Marshal(v tls.Marshaler) ([]byte, error) { return tls.Marshal(v) }
