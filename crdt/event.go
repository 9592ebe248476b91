package crdt

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ID identifies an event: its author (as authenticated by MLS, never read
// from a payload) and the author's counter, which starts at 1.
type ID struct {
	Author string
	Seq    uint64
}

// IsZero reports whether id is the zero ID (no event).
func (id ID) IsZero() bool { return id.Author == "" && id.Seq == 0 }

// String returns "author/seq", the form ParseID reads.
func (id ID) String() string { return fmt.Sprintf("%s/%d", id.Author, id.Seq) }

// ParseID parses the "author/seq" form of an ID (the last slash separates
// them). It returns an error wrapping ErrInvalid.
func ParseID(s string) (ID, error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return ID{}, invalid("ID %q: want author/seq", s)
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	id := ID{Author: s[:i], Seq: seq}
	if err != nil || checkTarget(id) != nil {
		return ID{}, invalid("ID %q: want author/seq", s)
	}
	return id, nil
}

// Compare orders IDs by author, then counter.
func (id ID) Compare(o ID) int {
	if c := strings.Compare(id.Author, o.Author); c != 0 {
		return c
	}
	switch {
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Kind is the kind of an event. The numbering is part of the encoding.
type Kind uint8

// Event kinds. The fields each kind uses are listed in Event.
const (
	KindCreate       Kind = 1 + iota // the author created the channel (MLS epoch 0)
	KindPost                         // a message
	KindEdit                         // new text for a message (author only)
	KindDelete                       // tombstone a message (author, admin, owner)
	KindReact                        // add a reaction
	KindUnreact                      // remove the author's own observed reactions
	KindRename                       // set the channel name
	KindTopic                        // set the channel topic
	KindJoined                       // MLS commit added Member
	KindLeft                         // MLS commit removed Member at its request
	KindRemoved                      // MLS commit removed Member
	KindSetRole                      // set Member's role
	KindInviteCreate                 // record an invite
	KindInviteRevoke                 // revoke an invite
	KindProfile                      // set the author's display name
	KindRead                         // the author read the channel up to Target (a read receipt)
	kindEnd
)

var kindNames = [...]string{"", "create", "post", "edit", "delete", "react", "unreact",
	"rename", "topic", "joined", "left", "removed", "set-role", "invite-create", "invite-revoke", "profile", "read"}

// String returns the kind's name, as in docs/crdt.md.
func (k Kind) String() string {
	if k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// isContent reports whether events of kind k concern messages; the others
// are control events (membership, roles, metadata, invites).
func (k Kind) isContent() bool { return k >= KindPost && k <= KindUnreact }

// Role is a member's role. Roles are ordered: a higher role may do all that a
// lower one may.
type Role uint8

// Roles. RoleNone means "not a member".
const (
	RoleNone Role = iota
	RoleMember
	RoleAdmin
	RoleOwner
)

var roleNames = [...]string{"none", "member", "admin", "owner"}

// String returns "none", "member", "admin" or "owner".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// InviteHash is the SHA-256 of an invite secret. The channel stores only the
// hash, never the secret.
type InviteHash [32]byte

// HashInvite returns the InviteHash of an invite secret.
func HashInvite(secret []byte) InviteHash { return sha256.Sum256(secret) }

// IsZero reports whether h is all zeros (no invite).
func (h InviteHash) IsZero() bool { return h == InviteHash{} }

// Bounds on event fields, enforced by Validate and by every decoder.
const (
	MaxAuthorLen = 128       // bytes in an author or member identity
	MaxTextLen   = 16 << 10  // bytes in a message text
	MaxNameLen   = 128       // bytes in a channel name
	MaxTopicLen  = 1024      // bytes in a channel topic
	MaxEmojiLen  = 64        // bytes in a reaction
	MaxTags      = 256       // reactions one Unreact may remove
	MaxEventSize = 32 << 10  // bytes in one encoded event
	MaxWall      = 1 << 53   // largest Time.Wall accepted (year 285,000)
	maxEventSeq  = 1<<63 - 1 // keeps counters clear of overflow
	maxExpires   = MaxWall   // largest invite expiry
)

// Event is one change to a channel. Which fields a kind uses:
//
//	Create        Text (channel name)
//	Post          Text, Target (reply-to; zero for none)
//	Edit          Target, Text
//	Delete        Target
//	React         Target, Text (emoji)
//	Unreact       Target, Text (emoji), Tags
//	Rename        Text (name)
//	Topic         Text (topic; may be empty)
//	Joined        Member, Epoch, Invite (zero when admitted without one)
//	Left, Removed Member, Epoch, Target (the cut: the member's first event
//	              the departure voids; zero for none)
//	SetRole       Member, Role, Target (a demotion's cut: the member's first
//	              event the demotion caps when placed before it; zero for none)
//	InviteCreate  Invite, Expires, MaxUses
//	InviteRevoke  Invite
//	Profile       Text (the author's display name)
//	Read          Target (the latest post the author has read)
//
// Other fields must be zero. Events are values; the package never keeps a
// reference to a caller's Tags slice.
type Event struct {
	// The fields are in this order, not the kinds' order, so that the
	// struct has no padding between them: 176 bytes, not 192. A channel
	// holds every event in memory.
	ID      ID
	Time    Time
	Target  ID         // the message an edit, delete or reaction concerns; a post's reply-to; a departure's or demotion's cut
	Text    string     // message text, emoji, channel name or topic
	Member  string     // the subject of a membership or role event
	Epoch   uint64     // the MLS epoch of a membership commit
	Invite  InviteHash // the invite a join used, or the one created or revoked
	Expires int64      // invite expiry, Unix ms; 0 for none
	Tags    []uint64   // Unreact: counters of the author's React events removed, ascending
	MaxUses uint32     // invite use limit; 0 for none
	Kind    Kind
	Role    Role // the role SetRole grants
}

// Validate checks e against the rules of its kind and the field bounds. It
// returns a *FieldError (ErrTooLarge) or an error wrapping ErrInvalid.
func (e *Event) Validate() error {
	if err := e.validateHeader(); err != nil {
		return err
	}
	if err := e.validateFields(); err != nil {
		return err
	}
	if !e.unusedZero() {
		return invalid("%s event sets a field its kind does not use", e.Kind)
	}
	return nil
}

func (e *Event) validateHeader() error {
	if err := checkIdentity("author", e.ID.Author); err != nil {
		return err
	}
	if e.ID.Seq == 0 || e.ID.Seq > maxEventSeq {
		return invalid("sequence number %d out of range", e.ID.Seq)
	}
	if e.Time.Wall < 0 || e.Time.Wall > MaxWall {
		return invalid("time %d out of range", e.Time.Wall)
	}
	if e.Kind == 0 || e.Kind >= kindEnd {
		return invalid("unknown kind %d", e.Kind)
	}
	return nil
}

// validateFields checks the fields kind e.Kind uses.
func (e *Event) validateFields() error {
	switch e.Kind {
	case KindCreate, KindRename, KindProfile:
		return checkText("name", e.Text, MaxNameLen, false)
	case KindTopic:
		return checkText("topic", e.Text, MaxTopicLen, true)
	case KindPost:
		if !e.Target.IsZero() {
			if err := checkTarget(e.Target); err != nil {
				return err
			}
		}
		return checkText("text", e.Text, MaxTextLen, true)
	case KindEdit:
		return firstErr(checkTarget(e.Target), checkText("text", e.Text, MaxTextLen, true))
	case KindDelete, KindRead:
		return checkTarget(e.Target)
	case KindReact:
		return firstErr(checkTarget(e.Target), checkText("emoji", e.Text, MaxEmojiLen, false))
	case KindUnreact:
		return firstErr(checkTarget(e.Target), checkText("emoji", e.Text, MaxEmojiLen, false), checkTags(e.Tags))
	case KindJoined:
		return checkIdentity("member", e.Member)
	case KindLeft, KindRemoved:
		return firstErr(checkIdentity("member", e.Member), checkCut(e))
	case KindSetRole:
		if e.Role < RoleMember || e.Role > RoleOwner {
			return invalid("role %d out of range", e.Role)
		}
		return firstErr(checkIdentity("member", e.Member), checkCut(e))
	case KindInviteCreate:
		return checkInvite(e)
	case KindInviteRevoke:
		if e.Invite.IsZero() {
			return invalid("revoke without an invite")
		}
	}
	return nil
}

// unusedZero reports whether the fields e.Kind does not use are zero.
func (e *Event) unusedZero() bool {
	u := kindFields[e.Kind]
	return (u&fTarget != 0 || e.Target.IsZero() || hasCut(e.Kind)) &&
		(u&fText != 0 || e.Text == "") &&
		(u&fMember != 0 || e.Member == "") &&
		(u&fRole != 0 || e.Role == RoleNone) &&
		(u&fEpoch != 0 || e.Epoch == 0) &&
		(u&fInvite != 0 || e.Invite.IsZero()) &&
		(u&fExpiry != 0 || (e.Expires == 0 && e.MaxUses == 0)) &&
		(u&fTags != 0 || len(e.Tags) == 0)
}

// hasCut reports whether events of kind k may carry a cut in Target: the
// first event of the subject member that the departure voids, or that the
// demotion caps at the new role, when it is placed before it (docs/crdt.md,
// "Cut"). The codec writes it last, only when set, so that events encoded
// before it existed still decode.
func hasCut(k Kind) bool { return k == KindLeft || k == KindRemoved || k == KindSetRole }

// isDeparture reports whether k is a membership event that ends a
// membership.
func isDeparture(k Kind) bool { return k == KindLeft || k == KindRemoved }

// checkCut checks that a cut, if set, names a counter of e's subject.
func checkCut(e *Event) error {
	if !e.Target.IsZero() && (e.Target.Author != e.Member || e.Target.Seq == 0 || e.Target.Seq > maxEventSeq) {
		return invalid("cut %s is not an event of member %s", e.Target, e.Member)
	}
	return nil
}

// Field sets per kind; the codec writes exactly these, in this order.
const (
	fTarget = 1 << iota
	fText
	fMember
	fRole
	fEpoch
	fInvite
	fExpiry // Expires and MaxUses
	fTags
)

var kindFields = [kindEnd]uint8{
	KindCreate:       fText,
	KindPost:         fTarget | fText,
	KindEdit:         fTarget | fText,
	KindDelete:       fTarget,
	KindReact:        fTarget | fText,
	KindUnreact:      fTarget | fText | fTags,
	KindRename:       fText,
	KindTopic:        fText,
	KindJoined:       fMember | fEpoch | fInvite,
	KindLeft:         fMember | fEpoch,
	KindRemoved:      fMember | fEpoch,
	KindSetRole:      fMember | fRole,
	KindInviteCreate: fInvite | fExpiry,
	KindInviteRevoke: fInvite,
	KindProfile:      fText,
	KindRead:         fTarget,
}

func checkIdentity(field, s string) error {
	if len(s) > MaxAuthorLen {
		return tooLarge(field, len(s), MaxAuthorLen)
	}
	if s == "" {
		return invalid("empty %s", field)
	}
	return nil
}

func checkText(field, s string, max int, emptyOK bool) error {
	if len(s) > max {
		return tooLarge(field, len(s), max)
	}
	if s == "" && !emptyOK {
		return invalid("empty %s", field)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not UTF-8", field)
	}
	return nil
}

func checkTarget(id ID) error {
	if err := checkIdentity("target author", id.Author); err != nil {
		return err
	}
	if id.Seq == 0 || id.Seq > maxEventSeq {
		return invalid("target sequence number %d out of range", id.Seq)
	}
	return nil
}

func checkTags(tags []uint64) error {
	if len(tags) > MaxTags {
		return tooLarge("tags", len(tags), MaxTags)
	}
	if len(tags) == 0 {
		return invalid("unreact without tags")
	}
	for i, t := range tags {
		if t == 0 || t > maxEventSeq || (i > 0 && t <= tags[i-1]) {
			return invalid("tags must be ascending counters")
		}
	}
	return nil
}

func checkInvite(e *Event) error {
	if e.Invite.IsZero() {
		return invalid("invite without a hash")
	}
	if e.Expires < 0 || e.Expires > maxExpires {
		return invalid("invite expiry %d out of range", e.Expires)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// before reports whether a is ordered before b in the channel's total order:
// by HLC, ties broken by event ID.
func before(a, b *Event) bool {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c < 0
	}
	return a.ID.Compare(b.ID) < 0
}
