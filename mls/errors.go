package mls

import (
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// ErrMalformed is matched by every error about input that does not follow
// the TLS presentation language encoding of RFC 9420 §2.1 (a message, key
// package, ratchet tree or serialized state that does not decode).
var ErrMalformed = tls.ErrMalformed

// ErrUnsupported is matched by errors about well-formed input that uses
// something this implementation does not support: a cipher suite, protocol
// version, credential, proposal or extension type (RFC 9420 §17).
var ErrUnsupported = tls.ErrUnsupported

// Errors of the group state machine. Functions wrap them with %w and context
// that never includes secrets; test with errors.Is.
var (
	// ErrWrongGroup: a message names another group (§6).
	ErrWrongGroup = errors.New("mls: message for another group")
	// ErrStaleEpoch: a message is for an epoch older than the ones kept
	// (§6, §14): an ignore verdict.
	ErrStaleEpoch = errors.New("mls: stale epoch")
	// ErrFutureEpoch: a message is for an epoch this member has not reached.
	ErrFutureEpoch = errors.New("mls: future epoch")
	// ErrDuplicate: a message was already processed (its key generation
	// was consumed, §9.2), or it is this member's own message.
	ErrDuplicate = errors.New("mls: duplicate message")
	// ErrGenerationGap: with ProcessOptions.KeepSkipped, a PrivateMessage
	// whose processing would delete the keys of messages not received yet
	// (§9.2): an ignore verdict, to process once those arrived.
	ErrGenerationGap = errors.New("mls: generation gap beyond the skipped-key window")
	// ErrUnknownSender: the sender is not a member of the epoch, or an
	// external sender index outside the external_senders extension (§6.1,
	// §12.1.8.1).
	ErrUnknownSender = errors.New("mls: unknown sender")
	// ErrInvalidSignature: a signature does not verify (§5.1.2).
	ErrInvalidSignature = errors.New("mls: invalid signature")
	// ErrInvalidMembershipTag: a PublicMessage's membership tag does not
	// verify (§6.2).
	ErrInvalidMembershipTag = errors.New("mls: invalid membership tag")
	// ErrInvalidConfirmationTag: a Commit's or GroupInfo's confirmation tag
	// does not verify (§6.1, §8.2).
	ErrInvalidConfirmationTag = errors.New("mls: invalid confirmation tag")
	// ErrDecryption: a PrivateMessage or Welcome does not decrypt (§6.3,
	// §12.4.3.1).
	ErrDecryption = errors.New("mls: decryption failed")
	// ErrInvalidProposal: a proposal is invalid on its own (§12.1).
	ErrInvalidProposal = errors.New("mls: invalid proposal")
	// ErrInvalidCommit: a Commit breaks a rule of §12.2 or §12.4.
	ErrInvalidCommit = errors.New("mls: invalid commit")
	// ErrUnknownProposal: a Commit references a proposal this member has
	// not received in the epoch (§12.4).
	ErrUnknownProposal = errors.New("mls: unknown proposal reference")
	// ErrUnknownPSK: a PreSharedKey proposal or Welcome names a PSK this
	// member does not hold (§8.4).
	ErrUnknownPSK = errors.New("mls: unknown pre-shared key")
	// ErrInvalidKeyPackage: a KeyPackage fails the checks of §10.1.
	ErrInvalidKeyPackage = errors.New("mls: invalid key package")
	// ErrInvalidLeafNode: a LeafNode fails the checks of §7.3.
	ErrInvalidLeafNode = errors.New("mls: invalid leaf node")
	// ErrInvalidTree: a ratchet tree fails the checks of §7.9.2, §12.4.3.1.
	ErrInvalidTree = errors.New("mls: invalid ratchet tree")
	// ErrInvalidPath: an UpdatePath does not fit the tree or does not
	// decrypt to matching keys (§7.5, §12.4.2).
	ErrInvalidPath = errors.New("mls: invalid update path")
	// ErrCredential: the authentication service refused a credential
	// (§5.3.1).
	ErrCredential = errors.New("mls: credential refused")
	// ErrExpired: a key package or leaf node lifetime does not cover the
	// time given (§7.2).
	ErrExpired = errors.New("mls: lifetime does not cover the current time")
	// ErrCapabilities: a member does not support a required capability or
	// the group's cipher suite (§7.2, §11.1).
	ErrCapabilities = errors.New("mls: capability not supported")
	// ErrNotForUs: a Welcome has no secrets for this key package
	// (§12.4.3.1).
	ErrNotForUs = errors.New("mls: welcome is not for this key package")
	// ErrPendingCommit: an operation needs the group without a pending
	// commit (merge or discard it first).
	ErrPendingCommit = errors.New("mls: a commit is pending")
	// ErrNoPendingCommit: there is no pending commit to merge or discard.
	ErrNoPendingCommit = errors.New("mls: no pending commit")
	// ErrInactive: the group can no longer send or commit: this member was
	// removed, or the group was reinitialized (§12.1.5).
	ErrInactive = errors.New("mls: group is inactive")
	// ErrWrongContentType: a message carries a content type that is not
	// allowed where it was received (§6).
	ErrWrongContentType = errors.New("mls: wrong content type")
	// ErrTooManyProposals: MaxProposals proposals are already stored for
	// the epoch; more are ignored until a commit.
	ErrTooManyProposals = errors.New("mls: too many proposals in the epoch")
	// ErrState: serialized state that decodes but is inconsistent, or of an
	// unknown version.
	ErrState = errors.New("mls: invalid group state")
)

// MaxProposals bounds the proposals a group stores per epoch (§12.1), so
// that a member cannot make another's state grow without bound.
const MaxProposals = 256

// Verdict tells the network layer what to do with a message that failed
// processing (the Accept/Reject/Ignore verdicts of a gossip validator).
type Verdict int

// The verdicts.
const (
	// Accept: the message was processed (VerdictOf(nil)).
	Accept Verdict = iota
	// Ignore: the message is stale, duplicate or for an epoch this member
	// does not have; the sender did not necessarily misbehave.
	Ignore
	// Reject: the message is invalid; its sender misbehaved.
	Reject
)

// String returns "accept", "ignore" or "reject".
func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Ignore:
		return "ignore"
	}
	return "reject"
}

// ProcessError is the error Group.ProcessMessage returns: a verdict and the
// reason. The group state is unchanged when it is returned (see the
// exceptions in docs/mls.md: a PrivateMessage that decrypted has consumed
// its key).
type ProcessError struct {
	Verdict Verdict
	Err     error
}

// Error returns the reason with the verdict.
func (e *ProcessError) Error() string {
	return fmt.Sprintf("%s: %v", e.Verdict, e.Err)
}

// Unwrap returns the reason.
func (e *ProcessError) Unwrap() error { return e.Err }

// VerdictOf returns the verdict an error carries: Accept for nil, the
// verdict of a ProcessError, and Reject for any other error.
func VerdictOf(err error) Verdict {
	if err == nil {
		return Accept
	}
	var pe *ProcessError
	if errors.As(err, &pe) {
		return pe.Verdict
	}
	return Reject
}

// reject and ignore wrap err in a ProcessError.
func reject(err error) error { return &ProcessError{Verdict: Reject, Err: err} }
func ignore(err error) error { return &ProcessError{Verdict: Ignore, Err: err} }

// rejectf wraps a sentinel with context as a reject verdict.
func rejectf(sentinel error, format string, args ...any) error {
	return reject(fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...))
}

// ignoref wraps a sentinel with context as an ignore verdict.
func ignoref(sentinel error, format string, args ...any) error {
	return ignore(fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...))
}
