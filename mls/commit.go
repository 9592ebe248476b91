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

// PSKRef names a pre-shared key to inject into the next epoch (RFC 9420
// §8.4): an external PSK by its psk_id, or (ExternalID nil) the resumption
// PSK of an epoch of this group that is still kept.
type PSKRef struct {
	ExternalID []byte
	Epoch      uint64
}

// CommitOptions say what a commit contains besides the proposals received
// in the epoch, which it always includes by reference when they are valid
// (§12.4: Updates and Removes of the same leaf keep the Remove; this
// member's own Updates and its own removal are left out; if the stored
// proposals still conflict, each one that keeps the list valid is kept, in
// order, so that a member can always commit).
type CommitOptions struct {
	// Adds, Removes, PSKs are proposals by value (§12.1.1, §12.1.3,
	// §12.1.4).
	Adds    []*KeyPackage
	Removes []LeafIndex
	PSKs    []PSKRef
	// GroupContextExtensions, when SetExtensions is true, replaces the
	// GroupContext extensions (§12.1.7).
	GroupContextExtensions []Extension
	SetExtensions          bool
	// ReInit, when set, is a ReInit proposal by value (§12.1.5); a commit
	// with a ReInit holds no other proposal.
	ReInit *ReInitParams
	// ForcePath includes an UpdatePath even when no proposal requires one
	// (§12.4), refreshing this member's keys.
	ForcePath bool
	// RatchetTreeInWelcome puts the ratchet_tree extension in the
	// Welcome's GroupInfo (§12.4.3.3); otherwise joiners need
	// CommitOutput.RatchetTree.
	RatchetTreeInWelcome bool
	// ExternalPub puts the external_pub extension in the Welcome's
	// GroupInfo (§12.4.3.2).
	ExternalPub bool
	// AuthenticatedData is carried in the clear with the commit (§6).
	AuthenticatedData []byte
	// Now is the time for key package lifetime checks; zero skips them.
	Now time.Time
}

// ReInitParams are the parameters of the group a ReInit proposal asks for
// (§12.1.5).
type ReInitParams struct {
	GroupID     []byte
	CipherSuite CipherSuite
	Extensions  []Extension
}

// CommitOutput is what Commit produces: the commit to send to the group,
// and for new members the Welcome and the ratchet tree (§12.4, §12.4.3).
type CommitOutput struct {
	Commit      []byte // MLSMessage (PublicMessage)
	Welcome     []byte // MLSMessage (Welcome); nil if nobody is added
	RatchetTree []byte // ratchet_tree contents of the new epoch, if Welcome is set
	Result      *CommitApplied
}

// pendingCommit is this member's commit awaiting confirmation: the message,
// the group of the new epoch (without past epochs, which are computed when
// it is merged so that keys used meanwhile stay used), and the signature
// keys the commit changed.
type pendingCommit struct {
	message []byte
	next    *Group
	changed map[LeafIndex]*wire.LeafNode
	result  *CommitApplied
}

// Commit creates a commit (RFC 9420 §12.4) with the valid proposals received
// in the epoch and those of opts, and with an UpdatePath when a proposal
// requires one or opts.ForcePath. The commit stays pending: the group stays
// in its epoch until MergePendingCommit (or ProcessMessage of the commit
// echoed back) confirms it, or DiscardPendingCommit or another member's
// commit for the epoch drops it.
func (g *Group) Commit(random io.Reader, opts CommitOptions) (*CommitOutput, error) {
	if err := g.canCommit(); err != nil {
		return nil, err
	}
	list, pors, nRef, err := g.commitList(random, opts)
	if err != nil {
		return nil, err
	}
	pv := newProvisional(g, g.OwnLeaf(), false, opts.Now)
	if err := pv.apply(list); err != nil {
		if list, pors, pv, err = g.greedyList(list, pors, nRef, opts.Now); err != nil {
			return nil, err
		}
	}
	if err := g.checkPolicy(g.OwnLeaf(), false, nil, list); err != nil {
		return nil, err
	}
	return g.finishCommit(random, pv, pors, opts, wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(g.OwnLeaf())})
}

func (g *Group) canCommit() error {
	switch {
	case !g.active:
		return ErrInactive
	case g.pending != nil:
		return ErrPendingCommit
	}
	return nil
}

// finishCommit runs the path, transcript and key schedule steps of §12.4
// for a provisional state and makes the commit pending.
func (g *Group) finishCommit(random io.Reader, pv *provisional, pors []wire.ProposalOrRef, opts CommitOptions, sender wire.Sender) (*CommitOutput, error) {
	path, up, keys, err := pv.createPath(random, opts.ForcePath || pv.needPath)
	if err != nil {
		return nil, err
	}
	var commitSecret []byte
	if path != nil {
		commitSecret = path.CommitSecret()
	}
	content := wire.FramedContent{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, Sender: sender,
		AuthenticatedData: opts.AuthenticatedData, ContentType: wire.ContentTypeCommit,
		Commit: &wire.Commit{Proposals: pors, Path: up}}
	ac, err := framing.Sign(g.signer, g.handshakeFormat(sender), &content, &g.gc)
	if err != nil {
		return nil, err
	}
	next, secrets, err := pv.nextGroup(ac, keys, commitSecret)
	if err != nil {
		return nil, err
	}
	ac.Auth.ConfirmationTag = transcript.ConfirmationTag(g.suite, next.ep.confirmation, next.gc.ConfirmedTranscriptHash)
	if next.interim, err = transcript.Interim(g.suite, next.gc.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag); err != nil {
		return nil, err
	}
	msg, err := g.protect(random, ac)
	if err != nil {
		return nil, err
	}
	out := &CommitOutput{Commit: msg, Result: pv.result(next, ac)}
	out.Result.Own = true
	if len(pv.added) > 0 {
		if out.RatchetTree, err = next.tree.Encode(); err != nil {
			return nil, err
		}
		if out.Welcome, err = next.welcome(random, pv, path, secrets, ac.Auth.ConfirmationTag, opts); err != nil {
			return nil, err
		}
	}
	g.pending = &pendingCommit{message: msg, next: next, changed: pv.changed, result: out.Result}
	return out, nil
}

// handshakeFormat is the wire format of this member's handshake messages.
func (g *Group) handshakeFormat(sender wire.Sender) wire.WireFormat {
	if g.cfg.PrivateHandshake && sender.SenderType == wire.SenderTypeMember {
		return wire.WireFormatPrivateMessage
	}
	return wire.WireFormatPublicMessage
}

// protect encodes a handshake message as signed for: a PublicMessage, or a
// PrivateMessage that consumes a generation of the handshake ratchet.
func (g *Group) protect(random io.Reader, ac *wire.AuthenticatedContent) ([]byte, error) {
	if ac.WireFormat == wire.WireFormatPublicMessage {
		return g.publicMessage(ac)
	}
	pm, err := framing.EncryptPrivate(g.suite, random, g.st, g.ep.senderData, ac, 0)
	if err != nil {
		return nil, err
	}
	return tls.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
}

// publicMessage protects ac as a PublicMessage of the current epoch (§6.2)
// and wraps it in an MLSMessage.
func (g *Group) publicMessage(ac *wire.AuthenticatedContent) ([]byte, error) {
	pm, err := framing.EncodePublic(g.suite, g.ep.membership, ac, &g.gc)
	if err != nil {
		return nil, err
	}
	return tls.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm})
}

// createPath generates and encrypts the committer's UpdatePath (§7.4–7.6)
// when want is set; otherwise it prunes the committer's keys.
func (pv *provisional) createPath(random io.Reader, want bool) (*tree.Path, *wire.UpdatePath, *tree.PrivateKeys, error) {
	g := pv.g
	if !want {
		k, err := pruneKeys(pv.tree, g.keys)
		return nil, nil, k, err
	}
	var tmpl wire.LeafNode
	if pv.template != nil {
		tmpl = *pv.template
	} else {
		tmpl = *g.tree.Leaf(tree.LeafIndex(pv.committer))
	}
	pv.noteChange(pv.committer)
	p, err := pv.tree.GeneratePath(random, tree.LeafIndex(pv.committer), &tmpl, g.gc.GroupID, g.signer)
	if err != nil {
		return nil, nil, nil, err
	}
	gcRaw, err := pv.provisionalContext()
	if err != nil {
		return nil, nil, nil, err
	}
	up, err := pv.tree.EncryptPath(random, p, gcRaw, pv.excluded())
	if err != nil {
		return nil, nil, nil, err
	}
	g.index.add(pv.committer, p.LeafNode())
	return p, up, p.PrivateKeys(), nil
}

// greedyList is the fallback when the stored proposals together with opts'
// do not form a valid list (§12.2), for example two GroupContextExtensions
// or two Adds of one client: it keeps, in order, each stored proposal that
// still gives a valid list, and all of opts' proposals. An error means
// opts' own proposals are invalid.
func (g *Group) greedyList(list []proposalEntry, pors []wire.ProposalOrRef, nRef int, now time.Time) ([]proposalEntry, []wire.ProposalOrRef, *provisional, error) {
	var keptList []proposalEntry
	var keptPors []wire.ProposalOrRef
	byValue, byValuePors := list[nRef:], pors[nRef:]
	for i := range nRef {
		trial := append(append(slices.Clone(keptList), list[i]), byValue...)
		if newProvisional(g, g.OwnLeaf(), false, now).apply(trial) == nil {
			keptList, keptPors = append(keptList, list[i]), append(keptPors, pors[i])
		}
	}
	keptList, keptPors = append(keptList, byValue...), append(keptPors, byValuePors...)
	pv := newProvisional(g, g.OwnLeaf(), false, now)
	if err := pv.apply(keptList); err != nil {
		return nil, nil, nil, err
	}
	return keptList, keptPors, pv, nil
}

// commitList gathers the proposals of a new commit: the cached ones by
// reference (the first nRef), then opts' by value.
func (g *Group) commitList(random io.Reader, opts CommitOptions) (list []proposalEntry, pors []wire.ProposalOrRef, nRef int, err error) {
	self := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(g.OwnLeaf())}
	for _, c := range g.usableProposals() {
		list = append(list, proposalEntry{p: &c.proposal, sender: c.sender, ref: c.ref})
		pors = append(pors, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeReference, Reference: c.ref})
	}
	nRef = len(list)
	byValue, err := g.optionProposals(random, opts)
	if err != nil {
		return nil, nil, 0, err
	}
	for i := range byValue {
		list = append(list, proposalEntry{p: &byValue[i], sender: self})
		pors = append(pors, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeProposal, Proposal: &byValue[i]})
	}
	return list, pors, nRef, nil
}

// usableProposals returns the cached proposals a commit by this member can
// include (§12.2): not its own Updates or removal, one Remove per leaf, and
// no Update of a removed leaf.
func (g *Group) usableProposals() []*cachedProposal {
	removed := map[uint32]bool{}
	for _, c := range g.proposals {
		if c.proposal.ProposalType == wire.ProposalTypeRemove {
			removed[c.proposal.Remove.Removed] = true
		}
	}
	var out []*cachedProposal
	seen := map[uint32]bool{}
	updated := map[uint32]bool{}
	for _, c := range slices.Backward(g.proposals) {
		switch c.proposal.ProposalType {
		case wire.ProposalTypeUpdate:
			l := c.sender.LeafIndex
			if c.sender.SenderType != wire.SenderTypeMember || LeafIndex(l) == g.OwnLeaf() || removed[l] || updated[l] {
				continue
			}
			updated[l] = true
		case wire.ProposalTypeRemove:
			l := c.proposal.Remove.Removed
			if LeafIndex(l) == g.OwnLeaf() || seen[l] {
				continue
			}
			seen[l] = true
		case wire.ProposalTypeReInit:
			if len(g.proposals) > 1 {
				continue
			}
		}
		out = append(out, c)
	}
	slices.Reverse(out)
	return out
}

// optionProposals builds the by-value proposals of opts.
func (g *Group) optionProposals(random io.Reader, opts CommitOptions) ([]wire.Proposal, error) {
	var ps []wire.Proposal
	if opts.SetExtensions {
		ps = append(ps, wire.Proposal{ProposalType: wire.ProposalTypeGroupContextExtensions,
			GroupContextExtensions: &wire.GroupContextExtensions{Extensions: extensionsToWire(opts.GroupContextExtensions)}})
	}
	for _, r := range opts.Removes {
		ps = append(ps, wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: uint32(r)}})
	}
	for _, kp := range opts.Adds {
		ps = append(ps, wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: kp.kp}})
	}
	if r := opts.ReInit; r != nil {
		ps = append(ps, wire.Proposal{ProposalType: wire.ProposalTypeReInit, ReInit: &wire.ReInit{GroupID: r.GroupID,
			Version: wire.MLS10, CipherSuite: wire.CipherSuite(r.CipherSuite), Extensions: extensionsToWire(r.Extensions)}})
	}
	for _, r := range opts.PSKs {
		id, err := g.pskID(random, r)
		if err != nil {
			return nil, err
		}
		ps = append(ps, wire.Proposal{ProposalType: wire.ProposalTypePSK, PreSharedKey: &wire.PreSharedKey{PSK: *id}})
	}
	return ps, nil
}

// pskID builds a PreSharedKeyID with a fresh nonce (§8.4).
func (g *Group) pskID(random io.Reader, r PSKRef) (*wire.PreSharedKeyID, error) {
	nonce := make([]byte, g.suite.Nh())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("mls: psk nonce: %w", err)
	}
	if r.ExternalID != nil {
		return &wire.PreSharedKeyID{PSKType: wire.PSKTypeExternal, PSKID: slices.Clone(r.ExternalID), PSKNonce: nonce}, nil
	}
	return &wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageApplication,
		PSKGroupID: g.gc.GroupID, PSKEpoch: r.Epoch, PSKNonce: nonce}, nil
}

// MergePendingCommit makes this member's pending commit take effect: the
// group moves to the new epoch (§12.4). Call it once the commit is known to
// be accepted (for example, delivered in order by the network); processing
// the commit echoed back does the same.
func (g *Group) MergePendingCommit() (*CommitApplied, error) {
	if g.pending == nil {
		return nil, ErrNoPendingCommit
	}
	p := g.pending
	next := *p.next
	next.past = g.retire(p.changed)
	*g = next
	return p.result, nil
}

// DiscardPendingCommit drops the pending commit; the group stays in its
// epoch. Its path secrets are forgotten.
func (g *Group) DiscardPendingCommit() error {
	if g.pending == nil {
		return ErrNoPendingCommit
	}
	g.pending = nil
	return nil
}

// PendingCommit returns the pending commit message, or nil.
func (g *Group) PendingCommit() []byte {
	if g.pending == nil {
		return nil
	}
	return slices.Clone(g.pending.message)
}

// welcome builds the Welcome for the members a commit adds (§12.4.3.1).
// g is the group of the new epoch.
func (g *Group) welcome(random io.Reader, pv *provisional, path *tree.Path, s *schedule.Secrets, tag []byte, opts CommitOptions) ([]byte, error) {
	gi, err := g.groupInfo(tag, opts.RatchetTreeInWelcome, opts.ExternalPub)
	if err != nil {
		return nil, err
	}
	pskSecret, err := pv.pskSecret()
	if err != nil {
		return nil, err
	}
	encGI, err := encryptGroupInfo(g.suite, s.Joiner, pskSecret, gi)
	if err != nil {
		return nil, err
	}
	w := wire.Welcome{CipherSuite: g.gc.CipherSuite, EncryptedGroupInfo: encGI}
	for k, leaf := range pv.added {
		egs, err := g.groupSecretsFor(random, pv, path, s.Joiner, leaf, pv.addKPs[k], encGI)
		if err != nil {
			return nil, err
		}
		w.Secrets = append(w.Secrets, *egs)
	}
	return tls.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatWelcome, Welcome: &w})
}
