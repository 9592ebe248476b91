package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// Proposal is RFC 9420 §12.1. Exactly the field ProposalType selects is
// non-nil. A proposal type this package does not know cannot be decoded (its
// body has no length prefix) and gives an UnsupportedError.
type Proposal struct {
	ProposalType           ProposalType
	Add                    *Add
	Update                 *Update
	Remove                 *Remove
	PreSharedKey           *PreSharedKey
	ReInit                 *ReInit
	ExternalInit           *ExternalInit
	GroupContextExtensions *GroupContextExtensions
}

// body returns the variant ProposalType selects, or nil.
func (p *Proposal) body() tls.Marshaler {
	switch p.ProposalType {
	case ProposalTypeAdd:
		return nilIf(p.Add)
	case ProposalTypeUpdate:
		return nilIf(p.Update)
	case ProposalTypeRemove:
		return nilIf(p.Remove)
	case ProposalTypePSK:
		return nilIf(p.PreSharedKey)
	case ProposalTypeReInit:
		return nilIf(p.ReInit)
	case ProposalTypeExternalInit:
		return nilIf(p.ExternalInit)
	case ProposalTypeGroupContextExtensions:
		return nilIf(p.GroupContextExtensions)
	}
	return nil
}

// nilIf turns a nil pointer into a nil interface.
func nilIf[T any, P interface {
	*T
	tls.Marshaler
}](p P) tls.Marshaler {
	if p == nil {
		return nil
	}
	return p
}

// MarshalTLS implements tls.Marshaler.
func (p *Proposal) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(p.ProposalType))
	if b := p.body(); b != nil {
		b.MarshalTLS(w)
	} else {
		w.Fail(ErrNoBody)
	}
}

// UnmarshalTLS implements tls.Unmarshaler.
func (p *Proposal) UnmarshalTLS(r *tls.Reader) {
	*p = Proposal{ProposalType: ProposalType(r.Uint16())}
	var b tls.Unmarshaler
	switch p.ProposalType {
	case ProposalTypeAdd:
		p.Add = new(Add)
		b = p.Add
	case ProposalTypeUpdate:
		p.Update = new(Update)
		b = p.Update
	case ProposalTypeRemove:
		p.Remove = new(Remove)
		b = p.Remove
	case ProposalTypePSK:
		p.PreSharedKey = new(PreSharedKey)
		b = p.PreSharedKey
	case ProposalTypeReInit:
		p.ReInit = new(ReInit)
		b = p.ReInit
	case ProposalTypeExternalInit:
		p.ExternalInit = new(ExternalInit)
		b = p.ExternalInit
	case ProposalTypeGroupContextExtensions:
		p.GroupContextExtensions = new(GroupContextExtensions)
		b = p.GroupContextExtensions
	default:
		if r.Err() == nil {
			failUnsupported(r, "proposal_type", uint64(p.ProposalType), 2)
		}
		return
	}
	b.UnmarshalTLS(r)
}

// Add is RFC 9420 §12.1.1.
type Add struct {
	KeyPackage KeyPackage
}

// MarshalTLS implements tls.Marshaler.
func (a *Add) MarshalTLS(w *tls.Writer) { a.KeyPackage.MarshalTLS(w) }

// UnmarshalTLS implements tls.Unmarshaler.
func (a *Add) UnmarshalTLS(r *tls.Reader) { a.KeyPackage.UnmarshalTLS(r) }

// Update is RFC 9420 §12.1.2.
type Update struct {
	LeafNode LeafNode
}

// MarshalTLS implements tls.Marshaler.
func (u *Update) MarshalTLS(w *tls.Writer) { u.LeafNode.MarshalTLS(w) }

// UnmarshalTLS implements tls.Unmarshaler.
func (u *Update) UnmarshalTLS(r *tls.Reader) { u.LeafNode.UnmarshalTLS(r) }

// Remove is RFC 9420 §12.1.3.
type Remove struct {
	Removed uint32 // leaf index
}

// MarshalTLS implements tls.Marshaler.
func (rm *Remove) MarshalTLS(w *tls.Writer) { w.Uint32(rm.Removed) }

// UnmarshalTLS implements tls.Unmarshaler.
func (rm *Remove) UnmarshalTLS(r *tls.Reader) { rm.Removed = r.Uint32() }

// PreSharedKeyID is RFC 9420 §8.4. PSKID is meaningful for external PSKs;
// Usage, PSKGroupID and PSKEpoch for resumption PSKs.
type PreSharedKeyID struct {
	PSKType    PSKType
	PSKID      []byte             // external
	Usage      ResumptionPSKUsage // resumption
	PSKGroupID []byte             // resumption
	PSKEpoch   uint64             // resumption
	PSKNonce   []byte
}

// MarshalTLS implements tls.Marshaler.
func (id *PreSharedKeyID) MarshalTLS(w *tls.Writer) {
	w.Uint8(uint8(id.PSKType))
	switch id.PSKType {
	case PSKTypeExternal:
		w.Opaque(id.PSKID)
	case PSKTypeResumption:
		w.Uint8(uint8(id.Usage))
		w.Opaque(id.PSKGroupID)
		w.Uint64(id.PSKEpoch)
	default:
		w.Fail(ErrNoBody)
	}
	w.Opaque(id.PSKNonce)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (id *PreSharedKeyID) UnmarshalTLS(r *tls.Reader) {
	*id = PreSharedKeyID{PSKType: PSKType(r.Uint8())}
	switch id.PSKType {
	case PSKTypeExternal:
		id.PSKID = r.Opaque()
	case PSKTypeResumption:
		id.Usage = ResumptionPSKUsage(r.Uint8())
		id.PSKGroupID = r.Opaque()
		id.PSKEpoch = r.Uint64()
	default:
		failInvalid(r, "psktype")
	}
	id.PSKNonce = r.Opaque()
}

// PSKLabel is RFC 9420 §8.4, the context of a PSK's "derived psk"
// expansion. It is encode-only.
type PSKLabel struct {
	ID    PreSharedKeyID
	Index uint16
	Count uint16
}

// MarshalTLS implements tls.Marshaler.
func (l *PSKLabel) MarshalTLS(w *tls.Writer) {
	l.ID.MarshalTLS(w)
	w.Uint16(l.Index)
	w.Uint16(l.Count)
}

// PreSharedKey is RFC 9420 §12.1.4.
type PreSharedKey struct {
	PSK PreSharedKeyID
}

// MarshalTLS implements tls.Marshaler.
func (p *PreSharedKey) MarshalTLS(w *tls.Writer) { p.PSK.MarshalTLS(w) }

// UnmarshalTLS implements tls.Unmarshaler.
func (p *PreSharedKey) UnmarshalTLS(r *tls.Reader) { p.PSK.UnmarshalTLS(r) }

// ReInit is RFC 9420 §12.1.5.
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuite
	Extensions  Extensions
}

// MarshalTLS implements tls.Marshaler.
func (ri *ReInit) MarshalTLS(w *tls.Writer) {
	w.Opaque(ri.GroupID)
	w.Uint16(uint16(ri.Version))
	w.Uint16(uint16(ri.CipherSuite))
	ri.Extensions.MarshalTLS(w)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (ri *ReInit) UnmarshalTLS(r *tls.Reader) {
	ri.GroupID = r.Opaque()
	ri.Version = ProtocolVersion(r.Uint16())
	ri.CipherSuite = CipherSuite(r.Uint16())
	ri.Extensions.UnmarshalTLS(r)
}

// ExternalInit is RFC 9420 §12.1.6.
type ExternalInit struct {
	KEMOutput []byte
}

// MarshalTLS implements tls.Marshaler.
func (e *ExternalInit) MarshalTLS(w *tls.Writer) { w.Opaque(e.KEMOutput) }

// UnmarshalTLS implements tls.Unmarshaler.
func (e *ExternalInit) UnmarshalTLS(r *tls.Reader) { e.KEMOutput = r.Opaque() }

// GroupContextExtensions is RFC 9420 §12.1.7.
type GroupContextExtensions struct {
	Extensions Extensions
}

// MarshalTLS implements tls.Marshaler.
func (g *GroupContextExtensions) MarshalTLS(w *tls.Writer) { g.Extensions.MarshalTLS(w) }

// UnmarshalTLS implements tls.Unmarshaler.
func (g *GroupContextExtensions) UnmarshalTLS(r *tls.Reader) { g.Extensions.UnmarshalTLS(r) }

// ProposalOrRef is RFC 9420 §12.4: a proposal by value or a ProposalRef.
type ProposalOrRef struct {
	Type      ProposalOrRefType
	Proposal  *Proposal // proposal
	Reference []byte    // reference: a ProposalRef (§5.2)
}

// MarshalTLS implements tls.Marshaler.
func (p *ProposalOrRef) MarshalTLS(w *tls.Writer) {
	w.Uint8(uint8(p.Type))
	switch {
	case p.Type == ProposalOrRefTypeProposal && p.Proposal != nil:
		p.Proposal.MarshalTLS(w)
	case p.Type == ProposalOrRefTypeReference:
		w.Opaque(p.Reference)
	default:
		w.Fail(ErrNoBody)
	}
}

// UnmarshalTLS implements tls.Unmarshaler.
func (p *ProposalOrRef) UnmarshalTLS(r *tls.Reader) {
	*p = ProposalOrRef{Type: ProposalOrRefType(r.Uint8())}
	switch p.Type {
	case ProposalOrRefTypeProposal:
		p.Proposal = new(Proposal)
		p.Proposal.UnmarshalTLS(r)
	case ProposalOrRefTypeReference:
		p.Reference = r.Opaque()
	default:
		failInvalid(r, "proposal_or_ref_type")
	}
}

// Commit is RFC 9420 §12.4. Path is nil when absent.
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

// MarshalTLS implements tls.Marshaler.
func (c *Commit) MarshalTLS(w *tls.Writer) {
	writeList(w, c.Proposals)
	w.Optional(c.Path != nil, func(w *tls.Writer) { c.Path.MarshalTLS(w) })
}

// UnmarshalTLS implements tls.Unmarshaler.
func (c *Commit) UnmarshalTLS(r *tls.Reader) {
	c.Proposals = readList[ProposalOrRef](r)
	c.Path = nil
	if r.Optional() {
		c.Path = new(UpdatePath)
		c.Path.UnmarshalTLS(r)
	}
}
