package crdt

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// encodingVersion is the first byte of every encoded event.
const encodingVersion = 1

// MarshalPayload encodes e without its author, for sending inside an MLS
// message whose sender is the author. See docs/crdt.md for the layout.
func (e *Event) MarshalPayload() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := []byte{encodingVersion}
	return appendBody(b, e), nil
}

// UnmarshalPayload decodes an event encoded by MarshalPayload, taking its
// author from the caller (the MLS sender). It returns ErrVersion,
// ErrMalformed, a *FieldError or an ErrInvalid error.
func UnmarshalPayload(author string, b []byte) (Event, error) {
	if err := checkIdentity("author", author); err != nil {
		return Event{}, err
	}
	d, err := newDecoder(b)
	if err != nil {
		return Event{}, err
	}
	return d.finish(ID{Author: author})
}

// MarshalBinary encodes e with its author, for snapshots, histories and
// sync, where the author is vouched for by whoever stored or sent it.
func (e *Event) MarshalBinary() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := appendString([]byte{encodingVersion}, e.ID.Author)
	return appendBody(b, e), nil
}

// UnmarshalBinary decodes an event encoded by MarshalBinary. On error e is
// unchanged.
func (e *Event) UnmarshalBinary(b []byte) error {
	d, err := newDecoder(b)
	if err != nil {
		return err
	}
	author := d.str("author", MaxAuthorLen)
	ev, err := d.finish(ID{Author: author})
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

func newDecoder(b []byte) (*decoder, error) {
	if len(b) > MaxEventSize {
		return nil, tooLarge("event", len(b), MaxEventSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != encodingVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, b[0])
	}
	return &decoder{b: b[1:]}, nil
}

// finish reads the body of an event whose author is id.Author and checks
// that nothing follows it.
func (d *decoder) finish(id ID) (Event, error) {
	e := Event{ID: id, Kind: Kind(d.byte())}
	e.ID.Seq = d.uvarint()
	e.Time = Time{Wall: d.int64(), Logical: d.uint32()}
	d.fields(&e)
	if hasCut(e.Kind) && d.err == nil && len(d.b) != 0 {
		d.cut(&e, false)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return Event{}, d.err
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// appendBody appends kind, counter, time and fields.
func appendBody(b []byte, e *Event) []byte {
	b = append(b, byte(e.Kind))
	b = binary.AppendUvarint(b, e.ID.Seq)
	b = binary.AppendUvarint(b, uint64(e.Time.Wall))
	b = binary.AppendUvarint(b, uint64(e.Time.Logical))
	b = appendFields(b, e)
	if hasCut(e.Kind) && !e.Target.IsZero() {
		// A cut is optional and last: events encoded before it existed
		// end after the epoch or the role (docs/crdt.md, "Cut").
		b = binary.AppendUvarint(b, e.Target.Seq)
	}
	return b
}

// appendFields appends the fields e.Kind uses, in kindFields order.
func appendFields(b []byte, e *Event) []byte {
	u := kindFields[e.Kind]
	if u&fTarget != 0 {
		b = appendTarget(b, e)
	}
	if u&fText != 0 {
		b = appendString(b, e.Text)
	}
	if u&fMember != 0 {
		b = appendString(b, e.Member)
	}
	if u&fRole != 0 {
		b = append(b, byte(e.Role))
	}
	if u&fEpoch != 0 {
		b = binary.AppendUvarint(b, e.Epoch)
	}
	if u&fInvite != 0 {
		b = appendInvite(b, e)
	}
	if u&fExpiry != 0 {
		b = binary.AppendUvarint(b, uint64(e.Expires))
		b = binary.AppendUvarint(b, uint64(e.MaxUses))
	}
	if u&fTags != 0 {
		b = appendTags(b, e.Tags)
	}
	return b
}

// appendTarget writes the target ID; a post's reply-to is optional and
// preceded by a presence byte.
func appendTarget(b []byte, e *Event) []byte {
	if e.Kind == KindPost {
		if e.Target.IsZero() {
			return append(b, 0)
		}
		b = append(b, 1)
	}
	return appendID(b, e.Target)
}

// appendInvite writes the invite hash; a join's is optional and preceded by
// a presence byte.
func appendInvite(b []byte, e *Event) []byte {
	if e.Kind == KindJoined {
		if e.Invite.IsZero() {
			return append(b, 0)
		}
		b = append(b, 1)
	}
	return append(b, e.Invite[:]...)
}

func appendTags(b []byte, tags []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, t := range tags {
		b = binary.AppendUvarint(b, t)
	}
	return b
}

func appendID(b []byte, id ID) []byte {
	b = appendString(b, id.Author)
	return binary.AppendUvarint(b, id.Seq)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the encoding; the first error sticks and later reads return
// zero values, so callers check d.err once.
type decoder struct {
	b   []byte
	err error
	// snapshot is the version of the snapshot being read (snapshotCut
	// says after which events it writes a cut); 0 outside snapshots.
	snapshot byte
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (d *decoder) failWith(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// uvarint reads a minimally encoded unsigned varint.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("non-minimal varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (d *decoder) int64() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail("integer out of range")
		return 0
	}
	return int64(v)
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("integer out of range")
		return 0
	}
	return uint32(v)
}

// str reads a length-prefixed UTF-8 string of at most max bytes.
func (d *decoder) str(field string, max int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(max) {
		d.failWith(tooLarge(field, int(min(n, math.MaxInt32)), max))
		return ""
	}
	if uint64(len(d.b)) < n {
		d.fail("truncated " + field)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	if !utf8.ValidString(s) {
		d.failWith(invalid("%s is not UTF-8", field))
		return ""
	}
	return s
}

func (d *decoder) flag() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad presence byte")
	return false
}

func (d *decoder) id() ID {
	return ID{Author: d.str("target author", MaxAuthorLen), Seq: d.uvarint()}
}

func (d *decoder) hash() (h InviteHash) {
	if d.err != nil || len(d.b) < len(h) {
		d.fail("truncated invite")
		return h
	}
	copy(h[:], d.b)
	d.b = d.b[len(h):]
	return h
}

// fields reads the fields e.Kind uses; an unknown kind is left for Validate.
func (d *decoder) fields(e *Event) {
	if e.Kind == 0 || e.Kind >= kindEnd {
		d.fail("unknown kind")
		return
	}
	u := kindFields[e.Kind]
	if u&fTarget != 0 && (e.Kind != KindPost || d.flag()) {
		if e.Target = d.id(); e.Target.IsZero() {
			d.fail("empty reply-to")
		}
	}
	if u&fText != 0 {
		e.Text = d.str(textField(e.Kind))
	}
	if u&fMember != 0 {
		e.Member = d.str("member", MaxAuthorLen)
	}
	if u&fRole != 0 {
		e.Role = Role(d.byte())
	}
	if u&fEpoch != 0 {
		e.Epoch = d.uvarint()
	}
	if u&fInvite != 0 && (e.Kind != KindJoined || d.flag()) {
		if e.Invite = d.hash(); e.Invite.IsZero() && e.Kind == KindJoined {
			d.fail("empty invite")
		}
	}
	if u&fExpiry != 0 {
		e.Expires, e.MaxUses = d.int64(), d.uint32()
	}
	if u&fTags != 0 {
		e.Tags = d.tags()
	}
}

// cut reads a departure's or a demotion's cut: a counter of the subject
// member, where 0 (in a snapshot, which always writes one) means none.
func (d *decoder) cut(e *Event, zeroOK bool) {
	seq := d.uvarint()
	switch {
	case d.err != nil:
	case seq != 0:
		e.Target = ID{Author: e.Member, Seq: seq}
	case !zeroOK:
		d.fail("empty cut")
	}
}

// textField names the text field of kind k and its bound.
func textField(k Kind) (string, int) {
	switch k {
	case KindCreate, KindRename, KindProfile:
		return "name", MaxNameLen
	case KindTopic:
		return "topic", MaxTopicLen
	case KindReact, KindUnreact:
		return "emoji", MaxEmojiLen
	}
	return "text", MaxTextLen
}

func (d *decoder) tags() []uint64 {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > MaxTags {
		d.failWith(tooLarge("tags", int(min(n, math.MaxInt32)), MaxTags))
		return nil
	}
	tags := make([]uint64, 0, n)
	for range n {
		tags = append(tags, d.uvarint())
	}
	return tags
}
