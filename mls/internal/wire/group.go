package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// GroupContext is RFC 9420 §8.1.
type GroupContext struct {
	Version                 ProtocolVersion
	CipherSuite             CipherSuite
	GroupID                 []byte
	Epoch                   uint64
	TreeHash                []byte
	ConfirmedTranscriptHash []byte
	Extensions              Extensions
}

// MarshalTLS implements tls.Marshaler.
func (g *GroupContext) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(g.Version))
	w.Uint16(uint16(g.CipherSuite))
	w.Opaque(g.GroupID)
	w.Uint64(g.Epoch)
	w.Opaque(g.TreeHash)
	w.Opaque(g.ConfirmedTranscriptHash)
	g.Extensions.MarshalTLS(w)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (g *GroupContext) UnmarshalTLS(r *tls.Reader) {
	g.Version = ProtocolVersion(r.Uint16())
	g.CipherSuite = CipherSuite(r.Uint16())
	g.GroupID = r.Opaque()
	g.Epoch = r.Uint64()
	g.TreeHash = r.Opaque()
	g.ConfirmedTranscriptHash = r.Opaque()
	g.Extensions.UnmarshalTLS(r)
}

// GroupInfo is RFC 9420 §12.4.3.
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      Extensions
	ConfirmationTag []byte
	Signer          uint32 // leaf index
	Signature       []byte // SignWithLabel(., "GroupInfoTBS", GroupInfoTBS)
}

// MarshalTLS implements tls.Marshaler.
func (gi *GroupInfo) MarshalTLS(w *tls.Writer) {
	(*GroupInfoTBS)(gi).MarshalTLS(w)
	w.Opaque(gi.Signature)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (gi *GroupInfo) UnmarshalTLS(r *tls.Reader) {
	gi.GroupContext.UnmarshalTLS(r)
	gi.Extensions.UnmarshalTLS(r)
	gi.ConfirmationTag = r.Opaque()
	gi.Signer = r.Uint32()
	gi.Signature = r.Opaque()
}

// GroupInfoTBS is RFC 9420 §12.4.3: a GroupInfo without its signature.
// Convert with (*GroupInfoTBS)(gi). It is encode-only.
type GroupInfoTBS GroupInfo

// MarshalTLS implements tls.Marshaler.
func (t *GroupInfoTBS) MarshalTLS(w *tls.Writer) {
	t.GroupContext.MarshalTLS(w)
	t.Extensions.MarshalTLS(w)
	w.Opaque(t.ConfirmationTag)
	w.Uint32(t.Signer)
}
