package node

import (
	"errors"
	"fmt"
	"sort"
)

// Sentinel errors. Functions wrap them with %w; match with errors.Is. Each has
// a stable code (see codes) that the control API carries, so that a command
// going through a daemon gets the same error as one that opens the store.
var (
	// ErrNotInitialized: the home has no identity; run `spacepanda init`.
	ErrNotInitialized = errors.New("node: home not initialized (run spacepanda init)")
	// ErrInitialized: init was run on a home that already has an identity.
	ErrInitialized = errors.New("node: home already initialized")
	// ErrNoChannel: no channel matches the given ID, prefix or name.
	ErrNoChannel = errors.New("node: no such channel")
	// ErrAmbiguous: a prefix or name matches more than one channel, member or
	// message.
	ErrAmbiguous = errors.New("node: ambiguous reference")
	// ErrNoMember: no member matches the given peer ID, prefix or name.
	ErrNoMember = errors.New("node: no such member")
	// ErrNoMessage: no message matches the given ID.
	ErrNoMessage = errors.New("node: no such message")
	// ErrInvalidInput: a name, text or option the user gave is not acceptable.
	ErrInvalidInput = errors.New("node: invalid input")
	// ErrForbidden: the member's role does not allow the action.
	ErrForbidden = errors.New("node: forbidden")
	// ErrBadInvite: an invite code is malformed or its signature is forged.
	ErrBadInvite = errors.New("node: invalid invite code")
	// ErrInviteExpired: the invite's expiry has passed.
	ErrInviteExpired = errors.New("node: invite expired")
	// ErrInviteRevoked: a member revoked the invite.
	ErrInviteRevoked = errors.New("node: invite revoked")
	// ErrInviteUsedUp: the invite's use limit is reached.
	ErrInviteUsedUp = errors.New("node: invite used up")
	// ErrInviteUnknown: the channel never recorded this invite.
	ErrInviteUnknown = errors.New("node: invite unknown to the channel")
	// ErrAlreadyMember: join was asked for a channel this node is in.
	ErrAlreadyMember = errors.New("node: already a member of the channel")
	// ErrUnreachable: no member of the channel could be reached.
	ErrUnreachable = errors.New("node: no member reachable")
	// ErrOffline: the operation needs the network and the node runs without it.
	ErrOffline = errors.New("node: network not running")
	// ErrMLSUnavailable: the operation needs the MLS group state machine
	// (package mls, issue 3), which this build does not have yet. Nothing was
	// changed and nothing was sent in the clear.
	ErrMLSUnavailable = errors.New("node: MLS group state machine not available in this build (package mls, issue 3); nothing was sent")
	// ErrHomeInUse: another process holds the home (a daemon, or a command
	// running without one).
	ErrHomeInUse = errors.New("node: home in use")
	// ErrStoreDamaged: the home's store cannot be read (corrupt files).
	ErrStoreDamaged = errors.New("node: store damaged")
	// ErrClosed: the node was used after Close.
	ErrClosed = errors.New("node: closed")
	// ErrFollowBehind: a Follow stream fell more than 65,536 messages
	// behind the channel; it ended rather than skip any. Follow again.
	ErrFollowBehind = errors.New("node: follower fell too far behind; follow again")
	// ErrProtocol: a peer or the control API sent something that does not
	// decode or breaks the protocol.
	ErrProtocol = errors.New("node: protocol error")
	// ErrRemote: a peer answered with an error of its own (text untrusted).
	ErrRemote = errors.New("node: peer refused")
)

// codes maps the sentinels to the codes the control API carries.
var codes = map[string]error{
	"not_initialized": ErrNotInitialized,
	"initialized":     ErrInitialized,
	"no_channel":      ErrNoChannel,
	"ambiguous":       ErrAmbiguous,
	"no_member":       ErrNoMember,
	"no_message":      ErrNoMessage,
	"invalid_input":   ErrInvalidInput,
	"forbidden":       ErrForbidden,
	"bad_invite":      ErrBadInvite,
	"invite_expired":  ErrInviteExpired,
	"invite_revoked":  ErrInviteRevoked,
	"invite_used_up":  ErrInviteUsedUp,
	"invite_unknown":  ErrInviteUnknown,
	"already_member":  ErrAlreadyMember,
	"unreachable":     ErrUnreachable,
	"offline":         ErrOffline,
	"mls_unavailable": ErrMLSUnavailable,
	"closed":          ErrClosed,
	"follow_behind":   ErrFollowBehind,
	"home_in_use":     ErrHomeInUse,
	"protocol":        ErrProtocol,
	"remote":          ErrRemote,
	"removed":         ErrRemoved,
	"damaged":         ErrDamaged,
	"port_in_use":     ErrPortInUse,
	"store_damaged":   ErrStoreDamaged,
}

// codeOrder lists the codes from the most specific: an error that matches
// several sentinels (ErrRemoved is an ErrForbidden) gets the first.
var codeOrder = func() []string {
	out := make([]string, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		pi, pj := out[i] == "removed", out[j] == "removed"
		if pi != pj {
			return pi
		}
		return out[i] < out[j]
	})
	return out
}()

// codeOf returns the code of the first sentinel err matches, or "internal".
func codeOf(err error) string {
	for _, code := range codeOrder {
		if errors.Is(err, codes[code]) {
			return code
		}
	}
	return "internal"
}

// CodeOf returns the stable code of err's sentinel (as the control API and
// `--json` errors carry it), or "internal".
func CodeOf(err error) string { return codeOf(err) }

// codedError is an error received over the control API or a stream: the
// sentinel its code names, with the remote message.
type codedError struct {
	sentinel error
	msg      string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.sentinel }

// fromCode rebuilds an error from a code and a message.
func fromCode(code, msg string) error {
	if s, ok := codes[code]; ok {
		return &codedError{sentinel: s, msg: msg}
	}
	return fmt.Errorf("%s", msg)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

// errMLS wraps what the channel's MLS group refused; errPanic, a panic
// while processing remote input. Both are internal: peers and users see
// the wrapped error's text.
var (
	errMLS   = errors.New("node: mls")
	errPanic = errors.New("node: internal error (recovered panic)")
)

// recoverRemote, deferred in a goroutine that handles remote input, turns a
// panic (a bug reached by what a peer sent) into a log line: the input is
// dropped and the node keeps running.
func recoverRemote(n *Node, what, channel string) {
	if r := recover(); r != nil {
		n.log.Error("recovered from a panic on remote input; input dropped", "in", what, "channel", channel, "panic", fmt.Sprint(r))
	}
}
