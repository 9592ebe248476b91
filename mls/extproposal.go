package mls

import (
	"fmt"
	"io"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ExternalProposalContent is the proposal an external sender makes
// (§12.1.8.1): exactly one of its parts is set.
type ExternalProposalContent struct {
	Add    *KeyPackage // Add (§12.1.1)
	Remove *LeafIndex  // Remove (§12.1.3)
	// PSK is a PreSharedKey (§12.1.4): an external PSK by ID, or the
	// resumption PSK of an epoch of the group (usage application).
	PSK *PSKRef
	// GroupContextExtensions, with SetExtensions, is a
	// GroupContextExtensions proposal (§12.1.7).
	GroupContextExtensions []Extension
	SetExtensions          bool
	// ReInit is a ReInit proposal (§12.1.5).
	ReInit *ReInitContent
}

// ReInitContent is the content of a ReInit proposal (§12.1.5).
type ReInitContent struct {
	GroupID     []byte
	CipherSuite CipherSuite
	Extensions  []Extension
}

// NewExternalProposal signs c as a proposal by the external sender at
// senderIndex of the group's external_senders extension (§12.1.8.1), for
// the given group and epoch, and returns the PublicMessage as an
// MLSMessage. random supplies a PSK proposal's nonce. Errors match
// ErrInvalidProposal (not exactly one part set) or ErrUnsupported.
func NewExternalProposal(random io.Reader, id Identity, senderIndex uint32, groupID []byte, epoch uint64, c ExternalProposalContent) ([]byte, error) {
	p, err := c.proposal(random, id.CipherSuite, groupID)
	if err != nil {
		return nil, err
	}
	return signedProposal(id, wire.Sender{SenderType: wire.SenderTypeExternal, SenderIndex: senderIndex}, groupID, epoch, p)
}

// proposal builds the wire proposal of c.
func (c *ExternalProposalContent) proposal(random io.Reader, cs CipherSuite, groupID []byte) (*wire.Proposal, error) {
	var ps []*wire.Proposal
	if c.Add != nil {
		ps = append(ps, &wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: c.Add.kp}})
	}
	if c.Remove != nil {
		ps = append(ps, &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: uint32(*c.Remove)}})
	}
	if c.PSK != nil {
		id, err := externalPSKID(random, cs, groupID, *c.PSK)
		if err != nil {
			return nil, err
		}
		ps = append(ps, &wire.Proposal{ProposalType: wire.ProposalTypePSK, PreSharedKey: &wire.PreSharedKey{PSK: *id}})
	}
	if c.SetExtensions {
		ps = append(ps, &wire.Proposal{ProposalType: wire.ProposalTypeGroupContextExtensions,
			GroupContextExtensions: &wire.GroupContextExtensions{Extensions: extensionsToWire(c.GroupContextExtensions)}})
	}
	if r := c.ReInit; r != nil {
		ps = append(ps, &wire.Proposal{ProposalType: wire.ProposalTypeReInit, ReInit: &wire.ReInit{GroupID: slices.Clone(r.GroupID),
			Version: wire.MLS10, CipherSuite: wire.CipherSuite(r.CipherSuite), Extensions: extensionsToWire(r.Extensions)}})
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("%w: an external proposal has exactly one part, got %d", ErrInvalidProposal, len(ps))
	}
	return ps[0], nil
}

// externalPSKID names a PSK for a proposal by a non-member: the nonce is
// drawn with the length of the suite's hash (§8.4).
func externalPSKID(random io.Reader, cs CipherSuite, groupID []byte, r PSKRef) (*wire.PreSharedKeyID, error) {
	suite, err := cipherSuite(cs)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, suite.Nh())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("mls: psk nonce: %w", err)
	}
	if r.ExternalID != nil {
		return &wire.PreSharedKeyID{PSKType: wire.PSKTypeExternal, PSKID: slices.Clone(r.ExternalID), PSKNonce: nonce}, nil
	}
	return &wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageApplication,
		PSKGroupID: slices.Clone(groupID), PSKEpoch: r.Epoch, PSKNonce: nonce}, nil
}
