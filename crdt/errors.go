package crdt

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with %w; test with errors.Is.
var (
	// ErrMalformed reports an encoding that cannot be decoded: truncated,
	// trailing bytes, a non-minimal varint or an out-of-range value.
	ErrMalformed = errors.New("crdt: malformed encoding")
	// ErrVersion reports an encoding version this package does not know.
	ErrVersion = errors.New("crdt: unsupported encoding version")
	// ErrTooLarge reports a field over its bound; the concrete error is a
	// *FieldError naming the field.
	ErrTooLarge = errors.New("crdt: field too large")
	// ErrInvalid reports an event that is well formed but breaks a rule of its
	// kind (a missing target, a zero sequence number, invalid UTF-8...).
	ErrInvalid = errors.New("crdt: invalid event")
	// ErrDuplicate reports an event that is already applied. It is harmless:
	// the state did not change. A node treats it as "ignore".
	ErrDuplicate = errors.New("crdt: duplicate event")
	// ErrConflict reports two different events with the same ID (an author
	// equivocating). Every replica keeps the same one of the two (see
	// docs/crdt.md), so the state may change; a node treats it as "reject".
	ErrConflict = errors.New("crdt: conflicting events with one ID")
	// ErrUnknownMessage reports a message ID (or cursor) not in the timeline.
	ErrUnknownMessage = errors.New("crdt: unknown message")
	// ErrForbidden reports an action the actor's role does not allow.
	ErrForbidden = errors.New("crdt: forbidden")
	// ErrInviteUnknown reports an invite hash the channel never recorded.
	ErrInviteUnknown = errors.New("crdt: unknown invite")
	// ErrInviteExpired reports an invite past its expiry.
	ErrInviteExpired = errors.New("crdt: invite expired")
	// ErrInviteRevoked reports a revoked invite.
	ErrInviteRevoked = errors.New("crdt: invite revoked")
	// ErrInviteUsedUp reports an invite whose use limit is reached.
	ErrInviteUsedUp = errors.New("crdt: invite used up")
	// ErrFarFuture reports a remote timestamp further ahead of the local
	// physical clock than Clock.MaxDrift; the clock did not move.
	ErrFarFuture = errors.New("crdt: timestamp too far in the future")
)

// FieldError reports a field longer than its bound. It unwraps to ErrTooLarge.
type FieldError struct {
	Field string // the field, for example "text" or "author"
	Size  int    // the size found (bytes or elements); -1 when unknown
	Max   int    // the bound
}

// Error names the field and the sizes.
func (e *FieldError) Error() string {
	return fmt.Sprintf("crdt: field %s too large: %d > %d", e.Field, e.Size, e.Max)
}

// Unwrap returns ErrTooLarge.
func (e *FieldError) Unwrap() error { return ErrTooLarge }

func tooLarge(field string, size, max int) error {
	return &FieldError{Field: field, Size: size, Max: max}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
