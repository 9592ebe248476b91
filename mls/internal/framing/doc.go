// Package framing protects and unprotects MLS messages, RFC 9420 §6:
// signing and verifying FramedContent (§6.1), PublicMessage with its
// membership tag (§6.2), and PrivateMessage content and sender-data
// encryption with the reuse guard and padding (§6.3).
//
// The functions are steps, not policy: the group state machine chooses the
// signature key for the sender (§6.1), checks group ID and epoch, checks that
// a decrypted sender's leaf is non-blank (§6.3.2), and computes confirmation
// tags (package transcript). Unprotecting never changes state on failure:
// DecryptPrivate consumes a ratchet generation only when the message
// decrypts and decodes.
//
// The functions are safe for concurrent use except that a
// schedule.SecretTree passed to them is not. Errors wrap this package's
// sentinels, or those of packages cipher, schedule, tls and wire, with %w;
// they never contain keys or plaintext.
package framing

import "errors"

// Errors of this package.
var (
	// ErrMembershipTag: a member's PublicMessage has a membership tag that
	// is not MAC(membership_key, AuthenticatedContentTBM) (§6.2).
	ErrMembershipTag = errors.New("mls: invalid membership tag")
	// ErrPublicApplication: application data must be sent as a
	// PrivateMessage (§6).
	ErrPublicApplication = errors.New("mls: application data in a PublicMessage")
	// ErrNotMember: only members send PrivateMessages (§6.3.2).
	ErrNotMember = errors.New("mls: PrivateMessage sender is not a member")
	// ErrWireFormat: the content was signed for another wire format than
	// the one it is protected as (§6.1).
	ErrWireFormat = errors.New("mls: content signed for another wire format")
	// ErrContentType: a content type other than application, proposal or
	// commit.
	ErrContentType = errors.New("mls: invalid content type")
	// ErrSenderLeaf: the sender data names a leaf outside the secret tree.
	ErrSenderLeaf = errors.New("mls: sender leaf outside the tree")
)
