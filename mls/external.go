package mls

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/framing"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/transcript"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ExternalJoinOptions are the optional parts of an external commit.
type ExternalJoinOptions struct {
	// Resync removes this leaf, an old appearance of the joiner
	// (§12.4.3.2), in the same commit.
	Resync  bool
	OldLeaf LeafIndex
	// RatchetTree is the ratchet_tree contents when the GroupInfo does
	// not carry it.
	RatchetTree []byte
	// PSKs are external PSKs (§8.4) to inject with PreSharedKey proposals
	// in the commit (§12.4.3.2 allows them); Config.PSKs must hold them.
	// A joiner holds no resumption PSK, so every ref needs an ExternalID.
	PSKs []PSKRef
	// Now is the time for the lifetime checks of the commit's proposals;
	// zero skips them. The joined tree's lifetimes are not checked.
	Now time.Time
}

// JoinExternal joins a group by external commit (RFC 9420 §12.4.3.2) from
// a GroupInfo MLSMessage with the external_pub extension (Group.GroupInfo
// makes one). It validates the GroupInfo and tree as JoinGroup does, and
// returns the group, already in the new epoch, and the commit to send to
// the members. If another commit for the same epoch wins, the joiner is
// not in the group and must join again from a newer GroupInfo.
func JoinExternal(random io.Reader, groupInfo []byte, id Identity, cfg Config, opts ExternalJoinOptions) (*Group, []byte, error) {
	g0, kemOutput, initSecret, err := externalBase(random, groupInfo, id, cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	list := []wire.Proposal{{ProposalType: wire.ProposalTypeExternalInit, ExternalInit: &wire.ExternalInit{KEMOutput: kemOutput}}}
	if opts.Resync {
		list = append(list, wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: uint32(opts.OldLeaf)}})
	}
	for _, r := range opts.PSKs {
		if r.ExternalID == nil {
			return nil, nil, fmt.Errorf("%w: an external joiner holds no resumption PSK", ErrInvalidProposal)
		}
		id, err := g0.pskID(random, r)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, wire.Proposal{ProposalType: wire.ProposalTypePSK, PreSharedKey: &wire.PreSharedKey{PSK: *id}})
	}
	entries := make([]proposalEntry, len(list))
	pors := make([]wire.ProposalOrRef, len(list))
	sender := wire.Sender{SenderType: wire.SenderTypeNewMemberCommit}
	for i := range list {
		entries[i] = proposalEntry{p: &list[i], sender: sender}
		pors[i] = wire.ProposalOrRef{Type: wire.ProposalOrRefTypeProposal, Proposal: &list[i]}
	}
	pv := newProvisional(g0, g0.externalJoinerLeaf(entries), true, opts.Now)
	pv.initOverride = initSecret
	pv.template = externalLeafTemplate(g0, id)
	if err := pv.apply(entries); err != nil {
		return nil, nil, err
	}
	out, err := g0.finishCommit(random, pv, pors, CommitOptions{}, sender)
	if err != nil {
		return nil, nil, err
	}
	if _, err := g0.MergePendingCommit(); err != nil {
		return nil, nil, err
	}
	g0.past, g0.resumption = nil, g0.resumption[len(g0.resumption)-1:]
	return g0, out.Commit, nil
}

// externalBase decodes and validates the GroupInfo and builds the joiner's
// view of the group's current epoch (with no secrets but the external
// init's), from which the commit is made.
func externalBase(random io.Reader, groupInfo []byte, id Identity, cfg Config, opts ExternalJoinOptions) (*Group, []byte, []byte, error) {
	if cfg.AuthenticationService == nil {
		return nil, nil, nil, fmt.Errorf("%w: no authentication service", ErrCredential)
	}
	suite, sg, err := id.signer()
	if err != nil {
		return nil, nil, nil, err
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(groupInfo, &m); err != nil {
		return nil, nil, nil, fmt.Errorf("mls: group info: %w", err)
	}
	if m.WireFormat != wire.WireFormatGroupInfo || m.GroupInfo == nil {
		return nil, nil, nil, fmt.Errorf("%w: mls: not a group info", ErrMalformed)
	}
	gi := m.GroupInfo
	if uint16(gi.GroupContext.CipherSuite) != uint16(id.CipherSuite) || gi.GroupContext.Version != wire.MLS10 {
		return nil, nil, nil, fmt.Errorf("%w: group info suite or version", ErrUnsupported)
	}
	t, err := groupTree(suite, gi, opts.RatchetTree)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := validateJoinTree(t, &gi.GroupContext, cfg.AuthenticationService); err != nil {
		return nil, nil, nil, err
	}
	if err := verifyGroupInfo(suite, t, gi); err != nil {
		return nil, nil, nil, err
	}
	e := gi.Extensions.Find(wire.ExtensionTypeExternalPub)
	var ep wire.ExternalPub
	if e == nil || tls.Unmarshal(e.ExtensionData, &ep) != nil {
		return nil, nil, nil, fmt.Errorf("%w: group info without a valid external_pub", ErrInvalidTree)
	}
	kemOutput, initSecret, err := schedule.ExternalInit(suite, random, ep.ExternalPub)
	if err != nil {
		return nil, nil, nil, err
	}
	g := &Group{cfg: cfg, suite: suite, gc: gi.GroupContext, tree: t, sigPriv: slices.Clone(id.SignaturePrivateKey), signer: sg, active: true}
	g.index = newKeyIndex(t)
	if g.interim, err = transcript.Interim(suite, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag); err != nil {
		return nil, nil, nil, err
	}
	if err := g.encodeContext(); err != nil {
		return nil, nil, nil, err
	}
	return g, kemOutput, initSecret, nil
}

// externalLeafTemplate is the joiner's leaf node before GeneratePath sets
// its key, source, parent hash and signature.
func externalLeafTemplate(g *Group, id Identity) *wire.LeafNode {
	caps := defaultCapabilities(id.CipherSuite, id.Credential.Type, nil)
	for _, e := range g.gc.Extensions {
		if !defaultExtension(e.ExtensionType) {
			caps.Extensions = append(caps.Extensions, e.ExtensionType)
		}
	}
	return &wire.LeafNode{SignatureKey: g.signer.PublicKey(), Credential: credentialToWire(id.Credential), Capabilities: caps}
}

// ExternalProposal signs a proposal by an external sender listed at
// senderIndex in the group's external_senders extension (§12.1.8.1): Add,
// Remove, PreSharedKey, ReInit or GroupContextExtensions, for the given
// group and epoch. It returns the PublicMessage as an MLSMessage. Exactly
// one of add and remove is used: add if non-nil.
func ExternalProposal(id Identity, senderIndex uint32, groupID []byte, epoch uint64, add *KeyPackage, remove LeafIndex) ([]byte, error) {
	p := &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: uint32(remove)}}
	if add != nil {
		p = &wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: add.kp}}
	}
	return signedProposal(id, wire.Sender{SenderType: wire.SenderTypeExternal, SenderIndex: senderIndex}, groupID, epoch, p)
}

// NewMemberProposal signs an Add of the bundle's key package by the
// would-be member itself (a new_member_proposal, §12.1.8), for the given
// group and epoch.
func NewMemberProposal(b *KeyPackageBundle, groupID []byte, epoch uint64) ([]byte, error) {
	p := &wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: b.kp.kp}}
	return signedProposal(b.Identity(), wire.Sender{SenderType: wire.SenderTypeNewMemberProposal}, groupID, epoch, p)
}

// signedProposal signs p as a PublicMessage from a non-member sender,
// which carries no membership tag (§6.2).
func signedProposal(id Identity, sender wire.Sender, groupID []byte, epoch uint64, p *wire.Proposal) ([]byte, error) {
	suite, sg, err := id.signer()
	if err != nil {
		return nil, err
	}
	content := wire.FramedContent{GroupID: slices.Clone(groupID), Epoch: epoch, Sender: sender, ContentType: wire.ContentTypeProposal, Proposal: p}
	ac, err := framing.Sign(sg, wire.WireFormatPublicMessage, &content, nil)
	if err != nil {
		return nil, err
	}
	pm, err := framing.EncodePublic(suite, nil, ac, nil)
	if err != nil {
		return nil, err
	}
	return tls.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
}

var _ = tree.LeafIndex(0)
