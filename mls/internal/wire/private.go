package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// PrivateMessage is RFC 9420 §6.3.
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

// MarshalTLS implements tls.Marshaler.
func (m *PrivateMessage) MarshalTLS(w *tls.Writer) {
	w.Opaque(m.GroupID)
	w.Uint64(m.Epoch)
	w.Uint8(uint8(m.ContentType))
	w.Opaque(m.AuthenticatedData)
	w.Opaque(m.EncryptedSenderData)
	w.Opaque(m.Ciphertext)
}

// UnmarshalTLS implements tls.Unmarshaler. The content type is not checked
// here (no select depends on it); decryption rejects unknown ones.
func (m *PrivateMessage) UnmarshalTLS(r *tls.Reader) {
	m.GroupID = r.Opaque()
	m.Epoch = r.Uint64()
	m.ContentType = ContentType(r.Uint8())
	m.AuthenticatedData = r.Opaque()
	m.EncryptedSenderData = r.Opaque()
	m.Ciphertext = r.Opaque()
}

// PrivateMessageContent is RFC 9420 §6.3.1, the plaintext of a
// PrivateMessage's ciphertext. Padding is the number of zero bytes after
// Auth. Its encoding depends on PrivateMessage.content_type, so it has
// MarshalFor and UnmarshalPrivateMessageContent.
type PrivateMessageContent struct {
	ApplicationData []byte    // application
	Proposal        *Proposal // proposal
	Commit          *Commit   // commit
	Auth            FramedContentAuthData
	Padding         int
}

// MarshalFor writes c for content type ct, then Padding zero bytes.
func (c *PrivateMessageContent) MarshalFor(w *tls.Writer, ct ContentType) {
	marshalContentBody(w, ct, c.ApplicationData, c.Proposal, c.Commit)
	c.Auth.MarshalFor(w, ct)
	if c.Padding > 0 {
		w.Raw(make([]byte, c.Padding))
	}
}

// UnmarshalFor reads c for content type ct from the rest of r: the bytes
// after the auth data are padding, and a non-zero padding byte is malformed
// (§6.3.1).
func (c *PrivateMessageContent) UnmarshalFor(r *tls.Reader, ct ContentType) {
	*c = PrivateMessageContent{}
	c.ApplicationData, c.Proposal, c.Commit = unmarshalContentBody(r, ct)
	c.Auth.UnmarshalFor(r, ct)
	pad := r.Raw(r.Len())
	for i, b := range pad {
		if b != 0 {
			r.FailField("padding", &tls.DecodeError{Offset: r.Offset() - len(pad) + i, Field: "padding", Err: tls.ErrInvalidValue})
			return
		}
	}
	c.Padding = len(pad)
}

// UnmarshalPrivateMessageContent decodes a PrivateMessageContent of type ct
// from b (aliasing b). Errors match tls.ErrMalformed or tls.ErrUnsupported.
func UnmarshalPrivateMessageContent(b []byte, ct ContentType) (*PrivateMessageContent, error) {
	var c PrivateMessageContent
	r := tls.NewReader(b)
	c.UnmarshalFor(r, ct)
	if err := r.Finish(); err != nil {
		return nil, unsupported(err)
	}
	return &c, nil
}

// PrivateContentAAD is RFC 9420 §6.3.1, the AAD of content encryption.
type PrivateContentAAD struct {
	GroupID           []byte
	Epoch             uint64
	ContentType       ContentType
	AuthenticatedData []byte
}

// MarshalTLS implements tls.Marshaler.
func (a *PrivateContentAAD) MarshalTLS(w *tls.Writer) {
	w.Opaque(a.GroupID)
	w.Uint64(a.Epoch)
	w.Uint8(uint8(a.ContentType))
	w.Opaque(a.AuthenticatedData)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (a *PrivateContentAAD) UnmarshalTLS(r *tls.Reader) {
	a.GroupID = r.Opaque()
	a.Epoch = r.Uint64()
	a.ContentType = ContentType(r.Uint8())
	a.AuthenticatedData = r.Opaque()
}

// SenderData is RFC 9420 §6.3.2.
type SenderData struct {
	LeafIndex  uint32
	Generation uint32
	ReuseGuard [4]byte
}

// MarshalTLS implements tls.Marshaler.
func (s *SenderData) MarshalTLS(w *tls.Writer) {
	w.Uint32(s.LeafIndex)
	w.Uint32(s.Generation)
	w.Raw(s.ReuseGuard[:])
}

// UnmarshalTLS implements tls.Unmarshaler.
func (s *SenderData) UnmarshalTLS(r *tls.Reader) {
	s.LeafIndex = r.Uint32()
	s.Generation = r.Uint32()
	copy(s.ReuseGuard[:], r.Raw(4))
}

// SenderDataAAD is RFC 9420 §6.3.2, the AAD of sender-data encryption.
type SenderDataAAD struct {
	GroupID     []byte
	Epoch       uint64
	ContentType ContentType
}

// MarshalTLS implements tls.Marshaler.
func (a *SenderDataAAD) MarshalTLS(w *tls.Writer) {
	w.Opaque(a.GroupID)
	w.Uint64(a.Epoch)
	w.Uint8(uint8(a.ContentType))
}

// UnmarshalTLS implements tls.Unmarshaler.
func (a *SenderDataAAD) UnmarshalTLS(r *tls.Reader) {
	a.GroupID = r.Opaque()
	a.Epoch = r.Uint64()
	a.ContentType = ContentType(r.Uint8())
}
