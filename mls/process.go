package mls

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/framing"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/transcript"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// Result is what ProcessMessage returns for an accepted message: an
// *ApplicationMessage, a *ProposalReceived or a *CommitApplied.
type Result interface{ result() }

// ApplicationMessage is decrypted application data (RFC 9420 §6.3). Sender
// is the member as it was in the message's epoch, which may be a past one.
type ApplicationMessage struct {
	Epoch             uint64
	Sender            Member
	Data              []byte
	AuthenticatedData []byte
}

// ProposalReceived reports a proposal stored for a later commit (§12.1).
// Ref is its ProposalRef (§5.2); Sender is the member's leaf for member
// senders, and SenderType says who sent it otherwise.
type ProposalReceived struct {
	Ref        []byte
	Type       uint16
	SenderType uint8
	Sender     LeafIndex
	// Removed is the leaf a Remove proposal (§12.1.3) removes; zero for
	// other types.
	Removed LeafIndex
}

// Leave reports whether the proposal is a member's Remove of its own leaf:
// a request to leave the group (§12.1.3).
func (p *ProposalReceived) Leave() bool {
	return p.Type == uint16(wire.ProposalTypeRemove) && p.SenderType == SenderMember && p.Removed == p.Sender
}

// The sender types of RFC 9420 §6.1, as ProposalReceived.SenderType reports
// them.
const (
	SenderMember            = uint8(wire.SenderTypeMember)
	SenderExternal          = uint8(wire.SenderTypeExternal)
	SenderNewMemberProposal = uint8(wire.SenderTypeNewMemberProposal)
	SenderNewMemberCommit   = uint8(wire.SenderTypeNewMemberCommit)
)

// CommitApplied reports a commit that took the group to a new epoch
// (§12.4.2). Removed holds the members as they were before removal.
// SelfRemoved means this member was removed: the group is now inactive.
// Own means it was this member's pending commit, confirmed.
type CommitApplied struct {
	Epoch       uint64
	Committer   LeafIndex
	External    bool
	Added       []Member
	Updated     []LeafIndex
	Removed     []Member
	SelfRemoved bool
	ReInit      bool
	Own         bool
}

func (*ApplicationMessage) result() {}
func (*ProposalReceived) result()   {}
func (*CommitApplied) result()      {}

// ProcessMessage processes an MLSMessage carrying a PublicMessage or
// PrivateMessage (RFC 9420 §6, §12.4.2). now is used for lifetime checks of
// added key packages (the zero time skips them).
//
// On failure it returns a *ProcessError with a verdict, and the group is
// unchanged, with one exception: a PrivateMessage that decrypted has used
// up its ratchet key (§9.2) even if a later check rejects it. A commit by
// this member is accepted only if it is the pending commit (which is then
// merged); another commit for the epoch discards the pending one.
func (g *Group) ProcessMessage(data []byte, now time.Time) (Result, error) {
	return g.ProcessMessageWith(data, now, ProcessOptions{})
}

// ProcessOptions change how ProcessMessageWith processes a message.
type ProcessOptions struct {
	// KeepSkipped refuses a PrivateMessage whose generation is so far
	// ahead of its sender's ratchet that processing it would delete the
	// keys of generations not received yet: those skipped beyond
	// Config.MaxSkipped, or older skipped keys pushed out of that window
	// (§9.2). The error matches ErrGenerationGap, its verdict is Ignore,
	// and the group is unchanged. A member that can fetch the messages it
	// missed (catching up after being offline) does so first and then
	// processes this one, losing none; the window stays bounded.
	KeepSkipped bool
}

// ProcessMessageWith is ProcessMessage with options.
func (g *Group) ProcessMessageWith(data []byte, now time.Time, opts ProcessOptions) (Result, error) {
	if !g.active {
		return nil, ignore(ErrInactive)
	}
	if g.pending != nil && bytes.Equal(g.pending.message, data) {
		// This member's commit, echoed back: as a PrivateMessage its key
		// is already used, so it is recognised before decryption.
		return g.MergePendingCommit()
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(data, &m); err != nil {
		return nil, reject(fmt.Errorf("mls: message: %w", err))
	}
	if m.Version != wire.MLS10 {
		return nil, rejectf(ErrUnsupported, "protocol version %d", m.Version)
	}
	var ac *wire.AuthenticatedContent
	var err error
	switch m.WireFormat {
	case wire.WireFormatPublicMessage:
		ac, err = g.openPublic(m.PublicMessage)
	case wire.WireFormatPrivateMessage:
		ac, err = g.openPrivate(m.PrivateMessage, opts.KeepSkipped)
	default:
		return nil, rejectf(ErrWrongContentType, "wire format %d", m.WireFormat)
	}
	if err != nil {
		return nil, err
	}
	switch ac.Content.ContentType {
	case wire.ContentTypeApplication:
		return g.application(ac)
	case wire.ContentTypeProposal:
		return g.receiveProposal(ac)
	default:
		return g.receiveCommit(ac, data, now)
	}
}

// checkEpoch classifies a message's group and epoch (§6): other groups are
// rejected, other epochs ignored.
func (g *Group) checkEpoch(groupID []byte, epoch uint64) error {
	if !bytes.Equal(groupID, g.gc.GroupID) {
		return reject(ErrWrongGroup)
	}
	switch {
	case epoch < g.gc.Epoch:
		return ignoref(ErrStaleEpoch, "epoch %d, current %d", epoch, g.gc.Epoch)
	case epoch > g.gc.Epoch:
		return ignoref(ErrFutureEpoch, "epoch %d, current %d", epoch, g.gc.Epoch)
	}
	return nil
}

// openPublic verifies a PublicMessage (§6.2): group and epoch, sender,
// membership tag and signature.
func (g *Group) openPublic(pm *wire.PublicMessage) (*wire.AuthenticatedContent, error) {
	if err := g.checkEpoch(pm.Content.GroupID, pm.Content.Epoch); err != nil {
		return nil, err
	}
	ac, err := framing.DecodePublic(g.suite, g.ep.membership, pm, &g.gc)
	switch {
	case errors.Is(err, framing.ErrMembershipTag):
		return nil, reject(fmt.Errorf("%w: %w", ErrInvalidMembershipTag, err))
	case err != nil:
		return nil, reject(err)
	}
	key, err := g.publicSenderKey(ac)
	if err != nil {
		return nil, err
	}
	if err := g.verify(key, ac, &g.gc); err != nil {
		return nil, err
	}
	return ac, nil
}

// publicSenderKey returns the signature key of a PublicMessage's sender
// (§6.1).
func (g *Group) publicSenderKey(ac *wire.AuthenticatedContent) ([]byte, error) {
	s := ac.Content.Sender
	switch s.SenderType {
	case wire.SenderTypeMember:
		if k := g.senderKey(g.gc.Epoch, LeafIndex(s.LeafIndex)); k != nil {
			return k, nil
		}
		return nil, rejectf(ErrUnknownSender, "leaf %d", s.LeafIndex)
	case wire.SenderTypeExternal:
		es, err := externalSenders(g.gc.Extensions)
		if err != nil || uint64(s.SenderIndex) >= uint64(len(es)) {
			return nil, rejectf(ErrUnknownSender, "external sender %d", s.SenderIndex)
		}
		if ac.Content.ContentType != wire.ContentTypeProposal {
			return nil, rejectf(ErrWrongContentType, "external sender of content type %d", ac.Content.ContentType)
		}
		return es[s.SenderIndex].SignatureKey, nil
	case wire.SenderTypeNewMemberProposal:
		p := ac.Content.Proposal
		if ac.Content.ContentType != wire.ContentTypeProposal || p.ProposalType != wire.ProposalTypeAdd {
			return nil, rejectf(ErrWrongContentType, "new_member_proposal must be an Add")
		}
		return p.Add.KeyPackage.LeafNode.SignatureKey, nil
	default:
		c := ac.Content.Commit
		if ac.Content.ContentType != wire.ContentTypeCommit || c.Path == nil {
			return nil, rejectf(ErrInvalidCommit, "new_member_commit without a path")
		}
		return c.Path.LeafNode.SignatureKey, nil
	}
}

// verify checks a signature with a sender's key (§6.1).
func (g *Group) verify(key []byte, ac *wire.AuthenticatedContent, gc *wire.GroupContext) error {
	v, err := g.suite.NewVerifier(key)
	if err != nil {
		return reject(fmt.Errorf("%w: %w", ErrInvalidSignature, err))
	}
	if err := framing.Verify(v, ac, gc); err != nil {
		return reject(fmt.Errorf("%w: %w", ErrInvalidSignature, err))
	}
	return nil
}

// openPrivate decrypts and verifies a PrivateMessage (§6.3) of the current
// epoch or, for application data, of a kept past epoch.
func (g *Group) openPrivate(pm *wire.PrivateMessage, keepSkipped bool) (*wire.AuthenticatedContent, error) {
	if !bytes.Equal(pm.GroupID, g.gc.GroupID) {
		return nil, reject(ErrWrongGroup)
	}
	st, senderData, gc, err := g.epochKeys(pm.Epoch, pm.ContentType)
	if err != nil {
		return nil, err
	}
	decrypt := framing.DecryptPrivate
	if keepSkipped {
		decrypt = framing.DecryptPrivateKeepSkipped
	}
	ac, err := decrypt(g.suite, st, senderData, pm)
	switch {
	case errors.Is(err, schedule.ErrGap):
		return nil, ignore(fmt.Errorf("%w: %w", ErrGenerationGap, err))
	case errors.Is(err, schedule.ErrConsumed):
		return nil, ignore(fmt.Errorf("%w: %w", ErrDuplicate, err))
	case errors.Is(err, cipher.ErrDecryption):
		return nil, reject(fmt.Errorf("%w: %w", ErrDecryption, err))
	case err != nil:
		return nil, reject(err)
	}
	key := g.senderKey(pm.Epoch, LeafIndex(ac.Content.Sender.LeafIndex))
	if key == nil {
		return nil, rejectf(ErrUnknownSender, "leaf %d", ac.Content.Sender.LeafIndex)
	}
	if err := g.verify(key, ac, gc); err != nil {
		return nil, err
	}
	return ac, nil
}

// epochKeys returns the secret tree, sender-data secret and GroupContext of
// epoch e: the current one, or for application data a kept past one.
func (g *Group) epochKeys(e uint64, ct wire.ContentType) (*schedule.SecretTree, []byte, *wire.GroupContext, error) {
	if e == g.gc.Epoch {
		return g.st, g.ep.senderData, &g.gc, nil
	}
	if e > g.gc.Epoch {
		return nil, nil, nil, ignoref(ErrFutureEpoch, "epoch %d, current %d", e, g.gc.Epoch)
	}
	if ct == wire.ContentTypeApplication {
		for _, p := range g.past {
			if p.epoch == e {
				p.dropEnc() // its secret tree may change
				return p.st, p.senderData, &p.gc, nil
			}
		}
	}
	return nil, nil, nil, ignoref(ErrStaleEpoch, "epoch %d, current %d", e, g.gc.Epoch)
}

// application returns decrypted application data (§6.3).
func (g *Group) application(ac *wire.AuthenticatedContent) (Result, error) {
	if ac.WireFormat != wire.WireFormatPrivateMessage {
		return nil, rejectf(ErrWrongContentType, "application data in a PublicMessage")
	}
	i := LeafIndex(ac.Content.Sender.LeafIndex)
	ln := g.senderLeaf(ac.Content.Epoch, i) // non-nil: openPrivate checked
	return &ApplicationMessage{Epoch: ac.Content.Epoch, Sender: memberOf(i, ln),
		Data: ac.Content.ApplicationData, AuthenticatedData: ac.Content.AuthenticatedData}, nil
}

// receiveProposal validates and stores a proposal for a later commit
// (§12.1, §12.4).
func (g *Group) receiveProposal(ac *wire.AuthenticatedContent) (Result, error) {
	if ac.Content.Epoch != g.gc.Epoch {
		return nil, ignoref(ErrStaleEpoch, "proposal of epoch %d", ac.Content.Epoch)
	}
	ref := g.suite.MakeProposalRef(tls.MustMarshal(ac))
	for _, c := range g.proposals {
		if bytes.Equal(c.ref, ref) {
			return nil, ignore(ErrDuplicate)
		}
	}
	if len(g.proposals) >= MaxProposals {
		return nil, ignoref(ErrTooManyProposals, "%d stored", len(g.proposals))
	}
	if err := g.checkProposal(ac.Content.Proposal, ac.Content.Sender); err != nil {
		return nil, verdictFor(err)
	}
	g.proposals = append(g.proposals, &cachedProposal{ref: ref, proposal: *ac.Content.Proposal, sender: ac.Content.Sender})
	s := ac.Content.Sender
	pr := &ProposalReceived{Ref: ref, Type: uint16(ac.Content.Proposal.ProposalType), SenderType: uint8(s.SenderType),
		Sender: LeafIndex(s.LeafIndex)}
	if r := ac.Content.Proposal.Remove; r != nil {
		pr.Removed = LeafIndex(r.Removed)
	}
	return pr, nil
}

// checkProposal validates a proposal on its own, as a receiver does before
// storing it: by applying it to a scratch copy of the state (§12.1).
func (g *Group) checkProposal(p *wire.Proposal, sender wire.Sender) error {
	committer := ^LeafIndex(0)
	pv := newProvisional(g, committer, false, time.Time{})
	if p.ProposalType == wire.ProposalTypeExternalInit {
		return fmt.Errorf("%w: ExternalInit by reference", ErrInvalidProposal)
	}
	if p.ProposalType == wire.ProposalTypeUpdate && sender.SenderType == wire.SenderTypeMember && LeafIndex(sender.LeafIndex) == g.OwnLeaf() {
		return nil // this member's own Update, echoed back
	}
	return pv.apply([]proposalEntry{{p: p, sender: sender}})
}

// verdictFor classifies a proposal or commit failure: what this member
// lacks (a proposal it has not received, a PSK it does not hold) is not
// the sender's fault and is ignored; the rest is rejected.
func verdictFor(err error) error {
	if errors.Is(err, ErrUnknownProposal) || errors.Is(err, ErrUnknownPSK) {
		return ignore(err)
	}
	return reject(err)
}

// receiveCommit processes a commit (§12.4.2).
func (g *Group) receiveCommit(ac *wire.AuthenticatedContent, raw []byte, now time.Time) (Result, error) {
	if ac.Content.Epoch != g.gc.Epoch {
		return nil, ignoref(ErrStaleEpoch, "commit of epoch %d", ac.Content.Epoch)
	}
	s := ac.Content.Sender
	if s.SenderType == wire.SenderTypeMember && LeafIndex(s.LeafIndex) == g.OwnLeaf() {
		if g.pending != nil && bytes.Equal(g.pending.message, raw) {
			return g.MergePendingCommit()
		}
		return nil, ignoref(ErrDuplicate, "own commit that is not the pending one")
	}
	next, res, err := g.processCommit(ac, now)
	if err != nil {
		return nil, verdictFor(err)
	}
	*g = *next
	return res, nil
}

// processCommit computes the state after a received commit without
// changing g.
func (g *Group) processCommit(ac *wire.AuthenticatedContent, now time.Time) (*Group, *CommitApplied, error) {
	c := ac.Content.Commit
	external := ac.Content.Sender.SenderType == wire.SenderTypeNewMemberCommit
	if !external && ac.Content.Sender.SenderType != wire.SenderTypeMember {
		return nil, nil, fmt.Errorf("%w: commit from sender type %d", ErrInvalidCommit, ac.Content.Sender.SenderType)
	}
	list, err := g.resolveProposals(c.Proposals, ac.Content.Sender)
	if err != nil {
		return nil, nil, err
	}
	committer := LeafIndex(ac.Content.Sender.LeafIndex)
	if external {
		committer = g.externalJoinerLeaf(list)
	}
	if err := g.checkPolicy(committer, external, c.Path, list); err != nil {
		return nil, nil, err
	}
	pv := newProvisional(g, committer, external, now)
	if err := pv.apply(list); err != nil {
		return nil, nil, err
	}
	if pv.needPath && c.Path == nil {
		return nil, nil, fmt.Errorf("%w: path required", ErrInvalidCommit)
	}
	keys, commitSecret, err := pv.mergePath(c.Path)
	if err != nil {
		return nil, nil, err
	}
	next, err := pv.finish(ac, keys, commitSecret)
	if err != nil {
		return nil, nil, err
	}
	return next, pv.result(next, ac), nil
}

// resolveProposals turns a commit's ProposalOrRefs into proposals with
// their senders (§12.4).
func (g *Group) resolveProposals(pors []wire.ProposalOrRef, committer wire.Sender) ([]proposalEntry, error) {
	list := make([]proposalEntry, 0, len(pors))
	for _, por := range pors {
		if por.Type == wire.ProposalOrRefTypeProposal {
			list = append(list, proposalEntry{p: por.Proposal, sender: committer})
			continue
		}
		c := g.findProposal(por.Reference)
		if c == nil {
			return nil, ErrUnknownProposal
		}
		for _, e := range list {
			if bytes.Equal(e.ref, c.ref) {
				return nil, fmt.Errorf("%w: proposal referenced twice", ErrInvalidCommit)
			}
		}
		list = append(list, proposalEntry{p: &c.proposal, sender: c.sender, ref: c.ref})
	}
	return list, nil
}

func (g *Group) findProposal(ref []byte) *cachedProposal {
	for _, c := range g.proposals {
		if bytes.Equal(c.ref, ref) {
			return c
		}
	}
	return nil
}

// externalJoinerLeaf returns the leaf an external committer takes
// (§12.4.3.2): the leftmost blank leaf after its Remove, if any.
func (g *Group) externalJoinerLeaf(list []proposalEntry) LeafIndex {
	t := g.tree.Clone()
	for _, e := range list {
		if e.p.ProposalType == wire.ProposalTypeRemove {
			_ = t.RemoveLeaf(tree.LeafIndex(e.p.Remove.Removed))
		}
	}
	i, _ := t.FreeLeaf()
	return LeafIndex(i)
}

// mergePath validates a received UpdatePath and merges it (§12.4.2), and
// decrypts it for this member. Without a path the commit secret is zero
// (nil) and the private keys lose only the blanked nodes.
func (pv *provisional) mergePath(up *wire.UpdatePath) (*tree.PrivateKeys, []byte, error) {
	g := pv.g
	keys := g.keys
	if pv.selfUpdate != nil {
		k, err := tree.NewPrivateKeys(g.suite, g.keys.Leaf(), pv.selfUpdate.priv)
		if err != nil {
			return nil, nil, err
		}
		keys = k
	}
	if up == nil {
		k, err := pruneKeys(pv.tree, keys)
		return k, nil, err
	}
	if err := pv.checkPathLeaf(&up.LeafNode); err != nil {
		return nil, nil, err
	}
	if err := pv.tree.MergePath(tree.LeafIndex(pv.committer), up, pv.excluded()); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	pv.noteChange(pv.committer)
	g.index.add(pv.committer, &up.LeafNode)
	if pv.selfRemoved {
		return keys, nil, nil
	}
	gcRaw, err := pv.provisionalContext()
	if err != nil {
		return nil, nil, err
	}
	k, secret, err := pv.tree.DecryptPath(keys, tree.LeafIndex(pv.committer), up, gcRaw, pv.excluded())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	return k, secret, nil
}

// checkPathLeaf validates the committer's new leaf node (§7.3, §12.4.2).
func (pv *provisional) checkPathLeaf(ln *wire.LeafNode) error {
	v := pv.leafCheck(wire.LeafNodeSourceCommit)
	if err := v.check(ln, pv.g.gc.GroupID, pv.committer); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	if old := pv.tree.Leaf(tree.LeafIndex(pv.committer)); old != nil {
		if bytes.Equal(old.EncryptionKey, ln.EncryptionKey) {
			return fmt.Errorf("%w: the committer's encryption key is unchanged", ErrInvalidPath)
		}
		if !pv.external && !sameIdentity(&old.Credential, &ln.Credential) {
			return fmt.Errorf("%w: the committer's new leaf changes its identity: %w", ErrInvalidPath, ErrCredential)
		}
	}
	if pv.external && len(pv.removed) == 1 {
		// An external commit that removes a leaf is a resync (§12.4.3.2):
		// only the same member may take its place.
		old := credentialToWire(pv.removed[0].Credential)
		if !sameIdentity(&old, &ln.Credential) {
			return fmt.Errorf("%w: an external commit removes another member's leaf: %w", ErrInvalidPath, ErrCredential)
		}
	}
	if err := pv.checkUniqueKeys(ln, pv.committer); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	return nil
}

func (pv *provisional) excluded() []tree.LeafIndex {
	out := make([]tree.LeafIndex, len(pv.added))
	for i, l := range pv.added {
		out[i] = tree.LeafIndex(l)
	}
	return out
}

// provisionalContext encodes the provisional GroupContext (§12.4.2): new
// epoch, tree hash and extensions, old confirmed transcript hash.
func (pv *provisional) provisionalContext() ([]byte, error) {
	gc := pv.g.gc
	gc.Epoch++
	gc.TreeHash = pv.tree.TreeHash()
	gc.Extensions = pv.ext
	return tls.Marshal(&gc)
}

// initSecret returns the init_secret the new epoch derives from: the old
// one, or the ExternalInit's (§8.3).
func (pv *provisional) initSecret() ([]byte, error) {
	if pv.initOverride != nil {
		return pv.initOverride, nil
	}
	if pv.extInit == nil {
		return pv.g.ep.init, nil
	}
	priv, _, err := schedule.ExternalKeyPair(pv.g.suite, pv.g.ep.external)
	if err != nil {
		return nil, err
	}
	s, err := schedule.ExternalInitSecret(pv.g.suite, priv, pv.extInit.KEMOutput)
	if err != nil {
		return nil, fmt.Errorf("%w: ExternalInit: %w", ErrInvalidProposal, err)
	}
	return s, nil
}

// finish derives the new epoch (§8, §8.2) and checks the confirmation tag.
func (pv *provisional) finish(ac *wire.AuthenticatedContent, keys *tree.PrivateKeys, commitSecret []byte) (*Group, error) {
	next, _, err := pv.nextGroup(ac, keys, commitSecret)
	if err != nil {
		return nil, err
	}
	if pv.selfRemoved {
		return next, nil
	}
	if err := transcript.VerifyConfirmationTag(pv.g.suite, next.ep.confirmation, next.gc.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfirmationTag, err)
	}
	next.interim, err = transcript.Interim(pv.g.suite, next.gc.ConfirmedTranscriptHash, ac.Auth.ConfirmationTag)
	if err != nil {
		return nil, err
	}
	next.past = pv.g.retire(pv.changed)
	return next, nil
}

// nextGroup builds the group of the new epoch, without its interim
// transcript hash and past epochs, and returns the epoch's secrets (for the
// joiner secret a Welcome needs).
func (pv *provisional) nextGroup(ac *wire.AuthenticatedContent, keys *tree.PrivateKeys, commitSecret []byte) (*Group, *schedule.Secrets, error) {
	g := pv.g
	confirmed, err := transcript.Confirmed(g.suite, g.interim, ac)
	if err != nil {
		return nil, nil, err
	}
	next := *g
	next.tree, next.keys, next.interim, next.treeRaw = pv.tree, keys, nil, nil
	next.gc.Epoch++
	next.gc.TreeHash = pv.tree.TreeHash()
	next.gc.ConfirmedTranscriptHash = confirmed
	next.gc.Extensions = pv.ext
	next.proposals, next.updates, next.pending, next.past = nil, nil, nil, nil
	next.index = g.index.maybeRebuild(pv.tree)
	if pv.selfRemoved {
		// No key schedule for a removed member, but its stored state must
		// stay consistent: the encoded context follows the new tree.
		next.active = false
		if err := next.encodeContext(); err != nil {
			return nil, nil, err
		}
		return &next, nil, nil
	}
	initSecret, err := pv.initSecret()
	if err != nil {
		return nil, nil, err
	}
	pskSecret, err := pv.pskSecret()
	if err != nil {
		return nil, nil, err
	}
	s, err := next.startEpoch(initSecret, commitSecret, pskSecret)
	if err != nil {
		return nil, nil, err
	}
	if pv.reinit != nil {
		next.active, next.reinit = false, pv.reinit
	}
	return &next, s, nil
}

func (pv *provisional) pskSecret() ([]byte, error) {
	if len(pv.pskKeys) == 0 {
		return nil, nil
	}
	return schedule.PSKSecret(pv.g.suite, pv.pskKeys)
}

// retire moves the current epoch to the kept past epochs, dropping the
// oldest beyond Config.PastEpochs (§14: their secrets are deleted).
func (g *Group) retire(changed map[LeafIndex]*wire.LeafNode) []*pastEpoch {
	n := g.cfg.pastEpochs()
	if n == 0 {
		return nil
	}
	past := append(make([]*pastEpoch, 0, n+1), g.past...)
	past = append(past, &pastEpoch{epoch: g.gc.Epoch, senderData: g.ep.senderData, st: g.st, gc: g.gc, changed: changed})
	if len(past) > n {
		past = past[len(past)-n:]
	}
	return past
}

// result describes the applied commit.
func (pv *provisional) result(next *Group, ac *wire.AuthenticatedContent) *CommitApplied {
	r := &CommitApplied{Epoch: next.gc.Epoch, Committer: pv.committer, External: pv.external,
		Updated: pv.updated, Removed: pv.removed, SelfRemoved: pv.selfRemoved, ReInit: pv.reinit != nil}
	for _, i := range pv.added {
		if m, ok := next.Member(i); ok {
			r.Added = append(r.Added, m)
		}
	}
	return r
}
