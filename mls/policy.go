package mls

import (
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// CommitPolicy is the application's authorization rule for commits: who may
// add, remove, change extensions, and which proposals it supports at all.
// RFC 9420 leaves this to the application (§12.1, §16.6: "the application
// must decide which members may perform which operations"). It is given the
// group in the epoch the commit was made for, unchanged, and a description
// of the commit; a non-nil error refuses the commit.
//
// A group calls it for every commit it processes (ProcessMessage) and for
// every commit it creates (Commit), before any cryptographic work on the
// commit's path, so that a refused commit costs little and changes nothing.
// It must be deterministic: every member evaluates it on the same inputs
// and must reach the same verdict.
type CommitPolicy func(g *Group, c *CommitView) error

// ErrPolicy: a commit was refused by Config.CommitPolicy. ProcessMessage
// returns it with a reject verdict.
var ErrPolicy = errors.New("mls: commit refused by policy")

// CommitView describes a commit to a CommitPolicy.
type CommitView struct {
	// Committer is the committer's leaf; for an external commit, the leaf
	// it takes.
	Committer LeafIndex
	// External is set for an external commit (§12.4.3.2); NewLeaf is then
	// the credential of the joiner's new leaf (nil if the commit has no
	// path, which MLS refuses anyway).
	External bool
	NewLeaf  *Credential
	// Proposals are the commit's proposals, in the commit's order.
	Proposals []ProposalView
}

// Proposal types of RFC 9420 §17.4, as ProposalView.Type reports them.
const (
	ProposalAdd                    = uint16(wire.ProposalTypeAdd)
	ProposalUpdate                 = uint16(wire.ProposalTypeUpdate)
	ProposalRemove                 = uint16(wire.ProposalTypeRemove)
	ProposalPSK                    = uint16(wire.ProposalTypePSK)
	ProposalReInit                 = uint16(wire.ProposalTypeReInit)
	ProposalExternalInit           = uint16(wire.ProposalTypeExternalInit)
	ProposalGroupContextExtensions = uint16(wire.ProposalTypeGroupContextExtensions)
)

// ProposalView is one proposal of a commit.
type ProposalView struct {
	Type uint16
	// ByReference is set for a proposal sent on its own earlier in the
	// epoch; SenderType and Sender say who sent it (for a proposal by
	// value, the committer).
	ByReference bool
	SenderType  uint8
	Sender      LeafIndex
	// Removed is the leaf a Remove removes.
	Removed LeafIndex
	// Added is the credential of an Add's key package.
	Added *Credential
	// Extensions are a GroupContextExtensions proposal's new extensions.
	Extensions []Extension
}

// checkPolicy runs the configured CommitPolicy, if any, on a commit's
// proposal list.
func (g *Group) checkPolicy(committer LeafIndex, external bool, path *wire.UpdatePath, list []proposalEntry) error {
	if g.cfg.CommitPolicy == nil {
		return nil
	}
	v := &CommitView{Committer: committer, External: external, Proposals: make([]ProposalView, len(list))}
	if external && path != nil {
		c := credentialFromWire(&path.LeafNode.Credential)
		v.NewLeaf = &c
	}
	for i, e := range list {
		p := ProposalView{Type: uint16(e.p.ProposalType), ByReference: e.ref != nil,
			SenderType: uint8(e.sender.SenderType), Sender: LeafIndex(e.sender.LeafIndex)}
		switch {
		case e.p.Remove != nil:
			p.Removed = LeafIndex(e.p.Remove.Removed)
		case e.p.Add != nil:
			c := credentialFromWire(&e.p.Add.KeyPackage.LeafNode.Credential)
			p.Added = &c
		case e.p.GroupContextExtensions != nil:
			p.Extensions = extensionsFromWire(e.p.GroupContextExtensions.Extensions)
		}
		v.Proposals[i] = p
	}
	if err := g.cfg.CommitPolicy(g, v); err != nil {
		return fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return nil
}

// Proposals returns the proposals received in the epoch that a commit by
// this member would include by reference (§12.2), as a CommitPolicy would
// see them: for a committer that must adjust its commit to the policy (for
// example, drop a leaver's role in the same commit).
func (g *Group) Proposals() []ProposalView {
	var out []ProposalView
	for _, c := range g.usableProposals() {
		p := ProposalView{Type: uint16(c.proposal.ProposalType), ByReference: true,
			SenderType: uint8(c.sender.SenderType), Sender: LeafIndex(c.sender.LeafIndex)}
		if c.proposal.Remove != nil {
			p.Removed = LeafIndex(c.proposal.Remove.Removed)
		}
		out = append(out, p)
	}
	return out
}
