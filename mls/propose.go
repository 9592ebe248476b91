package mls

import (
	"bytes"
	"io"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/framing"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ProposeAdd sends an Add proposal (RFC 9420 §12.1.1) as a PublicMessage
// (a PrivateMessage with Config.PrivateHandshake).
// Like every Propose method, it stores the proposal so that this member's
// next commit includes it by reference, and returns the message for the
// group; any member may commit it.
func (g *Group) ProposeAdd(kp *KeyPackage) ([]byte, error) {
	return g.propose(nil, &wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: kp.kp}})
}

// ProposeRemove sends a Remove proposal for leaf i (§12.1.3).
func (g *Group) ProposeRemove(i LeafIndex) ([]byte, error) {
	return g.propose(nil, &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: uint32(i)}})
}

// Leave sends a Remove proposal for this member itself (§12.1.3): another
// member must commit it, since a member cannot commit its own removal. The
// group stays usable until that commit arrives.
func (g *Group) Leave() ([]byte, error) { return g.ProposeRemove(g.OwnLeaf()) }

// ProposePSK sends a PreSharedKey proposal (§12.1.4) with a fresh nonce.
func (g *Group) ProposePSK(random io.Reader, r PSKRef) ([]byte, error) {
	id, err := g.pskID(random, r)
	if err != nil {
		return nil, err
	}
	return g.propose(random, &wire.Proposal{ProposalType: wire.ProposalTypePSK, PreSharedKey: &wire.PreSharedKey{PSK: *id}})
}

// ProposeGroupContextExtensions sends a GroupContextExtensions proposal
// (§12.1.7).
func (g *Group) ProposeGroupContextExtensions(es []Extension) ([]byte, error) {
	return g.propose(nil, &wire.Proposal{ProposalType: wire.ProposalTypeGroupContextExtensions,
		GroupContextExtensions: &wire.GroupContextExtensions{Extensions: extensionsToWire(es)}})
}

// ProposeReInit sends a ReInit proposal (§12.1.5): once committed, the
// group is inactive and its members are expected to start the new group
// named here. Starting it is the application's job (see docs/mls.md).
func (g *Group) ProposeReInit(groupID []byte, suite CipherSuite, es []Extension) ([]byte, error) {
	return g.propose(nil, &wire.Proposal{ProposalType: wire.ProposalTypeReInit, ReInit: &wire.ReInit{
		GroupID: slices.Clone(groupID), Version: wire.MLS10, CipherSuite: wire.CipherSuite(suite), Extensions: extensionsToWire(es)}})
}

// ProposeUpdate sends an Update proposal (§12.1.2) with a fresh
// encryption key for this member's leaf; the private key is kept until a
// commit applies it or the epoch ends.
func (g *Group) ProposeUpdate(random io.Reader) ([]byte, error) {
	if err := g.canPropose(); err != nil {
		return nil, err
	}
	priv, pub, err := g.suite.GenerateHPKEKey(random)
	if err != nil {
		return nil, err
	}
	ln := *g.ownLeafNode()
	ln.EncryptionKey, ln.LeafNodeSource, ln.ParentHash, ln.Lifetime = pub, wire.LeafNodeSourceUpdate, nil, wire.Lifetime{}
	if err := tree.SignLeafNode(g.signer, &ln, g.gc.GroupID, g.keys.Leaf()); err != nil {
		return nil, err
	}
	msg, err := g.propose(random, &wire.Proposal{ProposalType: wire.ProposalTypeUpdate, Update: &wire.Update{LeafNode: ln}})
	if err != nil {
		return nil, err
	}
	g.updates = append(g.updates, updateKey{pub: pub, priv: priv})
	return msg, nil
}

func (g *Group) canPropose() error {
	if !g.active {
		return ErrInactive
	}
	return nil
}

// propose signs p as a handshake message of the epoch (see
// Config.PrivateHandshake), checks it as a receiver would, and stores it.
// With a nil random, a PrivateMessage's reuse guard (§6.3.1) is taken from
// the hash of the content's signature: it still differs between different
// proposals, which is what the guard protects against.
func (g *Group) propose(random io.Reader, p *wire.Proposal) ([]byte, error) {
	if err := g.canPropose(); err != nil {
		return nil, err
	}
	sender := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(g.OwnLeaf())}
	if err := g.checkProposal(p, sender); err != nil {
		return nil, err
	}
	content := wire.FramedContent{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, Sender: sender,
		ContentType: wire.ContentTypeProposal, Proposal: p}
	ac, err := framing.Sign(g.signer, g.handshakeFormat(sender), &content, &g.gc)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = bytes.NewReader(g.suite.Hash(ac.Auth.Signature))
	}
	msg, err := g.protect(random, ac)
	if err != nil {
		return nil, err
	}
	ref := g.suite.MakeProposalRef(tls.MustMarshal(ac))
	g.proposals = append(g.proposals, &cachedProposal{ref: ref, proposal: *p, sender: sender})
	return msg, nil
}
