package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// Sender is RFC 9420 §6. LeafIndex is meaningful for member senders,
// SenderIndex (an index into external_senders) for external senders.
type Sender struct {
	SenderType  SenderType
	LeafIndex   uint32 // member
	SenderIndex uint32 // external
}

// MarshalTLS implements tls.Marshaler.
func (s *Sender) MarshalTLS(w *tls.Writer) {
	w.Uint8(uint8(s.SenderType))
	switch s.SenderType {
	case SenderTypeMember:
		w.Uint32(s.LeafIndex)
	case SenderTypeExternal:
		w.Uint32(s.SenderIndex)
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		w.Fail(ErrNoBody)
	}
}

// UnmarshalTLS implements tls.Unmarshaler.
func (s *Sender) UnmarshalTLS(r *tls.Reader) {
	*s = Sender{SenderType: SenderType(r.Uint8())}
	switch s.SenderType {
	case SenderTypeMember:
		s.LeafIndex = r.Uint32()
	case SenderTypeExternal:
		s.SenderIndex = r.Uint32()
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		failInvalid(r, "sender_type")
	}
}

// FramedContent is RFC 9420 §6. Exactly the body ContentType selects is
// used: ApplicationData, Proposal or Commit.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte    // application
	Proposal          *Proposal // proposal
	Commit            *Commit   // commit
}

// MarshalTLS implements tls.Marshaler.
func (c *FramedContent) MarshalTLS(w *tls.Writer) {
	w.Opaque(c.GroupID)
	w.Uint64(c.Epoch)
	c.Sender.MarshalTLS(w)
	w.Opaque(c.AuthenticatedData)
	w.Uint8(uint8(c.ContentType))
	marshalContentBody(w, c.ContentType, c.ApplicationData, c.Proposal, c.Commit)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (c *FramedContent) UnmarshalTLS(r *tls.Reader) {
	*c = FramedContent{GroupID: r.Opaque(), Epoch: r.Uint64()}
	c.Sender.UnmarshalTLS(r)
	c.AuthenticatedData = r.Opaque()
	c.ContentType = ContentType(r.Uint8())
	c.ApplicationData, c.Proposal, c.Commit = unmarshalContentBody(r, c.ContentType)
}

// marshalContentBody writes the select on content_type shared by
// FramedContent and PrivateMessageContent.
func marshalContentBody(w *tls.Writer, ct ContentType, app []byte, p *Proposal, c *Commit) {
	switch {
	case ct == ContentTypeApplication:
		w.Opaque(app)
	case ct == ContentTypeProposal && p != nil:
		p.MarshalTLS(w)
	case ct == ContentTypeCommit && c != nil:
		c.MarshalTLS(w)
	default:
		w.Fail(ErrNoBody)
	}
}

// unmarshalContentBody reads the select on content_type.
func unmarshalContentBody(r *tls.Reader, ct ContentType) (app []byte, p *Proposal, c *Commit) {
	switch ct {
	case ContentTypeApplication:
		app = r.Opaque()
	case ContentTypeProposal:
		p = new(Proposal)
		p.UnmarshalTLS(r)
	case ContentTypeCommit:
		c = new(Commit)
		c.UnmarshalTLS(r)
	default:
		failInvalid(r, "content_type")
	}
	return app, p, c
}

// FramedContentAuthData is RFC 9420 §6.1. Its encoding depends on the
// content type of the enclosing message (ConfirmationTag is present for
// commits only), so it has MarshalFor and UnmarshalFor instead of the
// tls interfaces.
type FramedContentAuthData struct {
	Signature       []byte // SignWithLabel(., "FramedContentTBS", FramedContentTBS)
	ConfirmationTag []byte // commit: MAC(confirmation_key, confirmed_transcript_hash)
}

// MarshalFor writes a for content of type ct.
func (a *FramedContentAuthData) MarshalFor(w *tls.Writer, ct ContentType) {
	w.Opaque(a.Signature)
	if ct == ContentTypeCommit {
		w.Opaque(a.ConfirmationTag)
	}
}

// UnmarshalFor reads a for content of type ct.
func (a *FramedContentAuthData) UnmarshalFor(r *tls.Reader, ct ContentType) {
	*a = FramedContentAuthData{Signature: r.Opaque()}
	if ct == ContentTypeCommit {
		a.ConfirmationTag = r.Opaque()
	}
}

// senderHasContext reports whether FramedContentTBS covers the
// GroupContext for this sender type (§6.1).
func senderHasContext(t SenderType) bool {
	return t == SenderTypeMember || t == SenderTypeNewMemberCommit
}

// FramedContentTBS is RFC 9420 §6.1, the content a FramedContent signature
// covers. Context is required for member and new_member_commit senders and
// ignored otherwise. Content must be non-nil. It is encode-only; Version is
// normally MLS10.
type FramedContentTBS struct {
	Version    ProtocolVersion
	WireFormat WireFormat
	Content    *FramedContent
	Context    *GroupContext
}

// MarshalTLS implements tls.Marshaler.
func (t *FramedContentTBS) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(t.Version))
	w.Uint16(uint16(t.WireFormat))
	t.Content.MarshalTLS(w)
	if senderHasContext(t.Content.Sender.SenderType) {
		if t.Context == nil {
			w.Fail(ErrNoBody)
			return
		}
		t.Context.MarshalTLS(w)
	}
}

// AuthenticatedContent is RFC 9420 §6.
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
}

// MarshalTLS implements tls.Marshaler.
func (a *AuthenticatedContent) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(a.WireFormat))
	a.Content.MarshalTLS(w)
	a.Auth.MarshalFor(w, a.Content.ContentType)
}

// UnmarshalTLS implements tls.Unmarshaler. The wire format is not checked:
// no select depends on it here.
func (a *AuthenticatedContent) UnmarshalTLS(r *tls.Reader) {
	a.WireFormat = WireFormat(r.Uint16())
	a.Content.UnmarshalTLS(r)
	a.Auth.UnmarshalFor(r, a.Content.ContentType)
}

// AuthenticatedContentTBM is RFC 9420 §6.2, the input of a PublicMessage's
// membership tag. Auth and ContentTBS.Content must be non-nil. It is
// encode-only.
type AuthenticatedContentTBM struct {
	ContentTBS FramedContentTBS
	Auth       *FramedContentAuthData
}

// MarshalTLS implements tls.Marshaler.
func (t *AuthenticatedContentTBM) MarshalTLS(w *tls.Writer) {
	t.ContentTBS.MarshalTLS(w)
	t.Auth.MarshalFor(w, t.ContentTBS.Content.ContentType)
}

// PublicMessage is RFC 9420 §6.2. MembershipTag is present for member
// senders only.
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte // member
}

// MarshalTLS implements tls.Marshaler.
func (m *PublicMessage) MarshalTLS(w *tls.Writer) {
	m.Content.MarshalTLS(w)
	m.Auth.MarshalFor(w, m.Content.ContentType)
	if m.Content.Sender.SenderType == SenderTypeMember {
		w.Opaque(m.MembershipTag)
	}
}

// UnmarshalTLS implements tls.Unmarshaler.
func (m *PublicMessage) UnmarshalTLS(r *tls.Reader) {
	m.Content.UnmarshalTLS(r)
	m.Auth.UnmarshalFor(r, m.Content.ContentType)
	m.MembershipTag = nil
	if m.Content.Sender.SenderType == SenderTypeMember {
		m.MembershipTag = r.Opaque()
	}
}

// ConfirmedTranscriptHashInput is RFC 9420 §8.2. Content must hold a
// Commit and be non-nil. It is encode-only.
type ConfirmedTranscriptHashInput struct {
	WireFormat WireFormat
	Content    *FramedContent
	Signature  []byte
}

// MarshalTLS implements tls.Marshaler.
func (in *ConfirmedTranscriptHashInput) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(in.WireFormat))
	in.Content.MarshalTLS(w)
	w.Opaque(in.Signature)
}

// InterimTranscriptHashInput is RFC 9420 §8.2. It is encode-only.
type InterimTranscriptHashInput struct {
	ConfirmationTag []byte
}

// MarshalTLS implements tls.Marshaler.
func (in *InterimTranscriptHashInput) MarshalTLS(w *tls.Writer) { w.Opaque(in.ConfirmationTag) }
