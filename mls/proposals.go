package mls

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// cachedProposal is a proposal received (or sent) in the current epoch,
// kept until a commit references it (§12.4): its ProposalRef (§5.2), the
// proposal and its sender.
type cachedProposal struct {
	ref      []byte
	proposal wire.Proposal
	sender   wire.Sender
}

// proposalEntry is one proposal of a commit's list, with its sender (the
// committer for proposals by value).
type proposalEntry struct {
	p      *wire.Proposal
	sender wire.Sender
	ref    []byte // nil for a proposal by value
}

// provisional is a commit being created or processed: the old group and
// the new tree and GroupContext extensions the proposals produce (§12.3).
type provisional struct {
	g         *Group
	committer LeafIndex
	external  bool
	tree      *tree.Tree
	ext       wire.Extensions
	now       time.Time

	added   []LeafIndex
	addKPs  []*wire.KeyPackage
	updated []LeafIndex
	removed []Member
	changed map[LeafIndex]*wire.LeafNode // leaves before the commit (nil: blank)
	psks    []wire.PreSharedKeyID
	pskKeys []schedule.PSK
	extInit *wire.ExternalInit
	reinit  *wire.ReInit

	// initOverride is the init_secret of an external commit being
	// created (§8.3); template is the external joiner's leaf.
	initOverride []byte
	template     *wire.LeafNode

	selfRemoved bool
	selfUpdate  *updateKey // this member's Update, committed by another
	needPath    bool
}

func newProvisional(g *Group, committer LeafIndex, external bool, now time.Time) *provisional {
	return &provisional{g: g, committer: committer, external: external, tree: g.tree.Clone(),
		ext: g.gc.Extensions, now: now, changed: map[LeafIndex]*wire.LeafNode{}}
}

// apply validates the proposal list (§12.2) and applies it in the order of
// §12.3. Errors are reject verdicts' reasons.
func (p *provisional) apply(list []proposalEntry) error {
	if err := p.checkList(list); err != nil {
		return err
	}
	p.needPath = len(list) == 0
	for _, t := range []wire.ProposalType{wire.ProposalTypeGroupContextExtensions, wire.ProposalTypeUpdate,
		wire.ProposalTypeRemove, wire.ProposalTypeAdd, wire.ProposalTypePSK, wire.ProposalTypeExternalInit, wire.ProposalTypeReInit} {
		for _, e := range list {
			if e.p.ProposalType != t {
				continue
			}
			if err := p.applyOne(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyOne applies one proposal.
func (p *provisional) applyOne(e proposalEntry) error {
	switch e.p.ProposalType {
	case wire.ProposalTypeGroupContextExtensions:
		p.needPath = true
		return p.applyGCE(e.p.GroupContextExtensions.Extensions)
	case wire.ProposalTypeUpdate:
		p.needPath = true
		return p.applyUpdate(LeafIndex(e.sender.LeafIndex), &e.p.Update.LeafNode)
	case wire.ProposalTypeRemove:
		p.needPath = true
		return p.applyRemove(LeafIndex(e.p.Remove.Removed))
	case wire.ProposalTypeAdd:
		return p.applyAdd(&e.p.Add.KeyPackage)
	case wire.ProposalTypePSK:
		return p.applyPSK(&e.p.PreSharedKey.PSK)
	case wire.ProposalTypeExternalInit:
		p.needPath = true
		p.extInit = e.p.ExternalInit
	case wire.ProposalTypeReInit:
		p.reinit = e.p.ReInit
	}
	return nil
}

// checkList enforces the list rules of §12.2 that involve more than one
// proposal, and the senders each proposal type allows (§12.1.8).
func (p *provisional) checkList(list []proposalEntry) error {
	count := map[wire.ProposalType]int{}
	leaves := map[uint32]bool{}
	for _, e := range list {
		t := e.p.ProposalType
		count[t]++
		if err := p.checkSender(e); err != nil {
			return err
		}
		var leaf uint32
		switch t {
		case wire.ProposalTypeUpdate:
			leaf = e.sender.LeafIndex
		case wire.ProposalTypeRemove:
			leaf = e.p.Remove.Removed
		default:
			continue
		}
		if leaves[leaf] {
			return fmt.Errorf("%w: two updates or removes of leaf %d", ErrInvalidCommit, leaf)
		}
		leaves[leaf] = true
	}
	if count[wire.ProposalTypeGroupContextExtensions] > 1 {
		return fmt.Errorf("%w: more than one GroupContextExtensions", ErrInvalidCommit)
	}
	if count[wire.ProposalTypeReInit] > 0 && len(list) > 1 {
		return fmt.Errorf("%w: ReInit with other proposals", ErrInvalidCommit)
	}
	if p.external {
		return p.checkExternalList(list, count)
	}
	if count[wire.ProposalTypeExternalInit] > 0 {
		return fmt.Errorf("%w: ExternalInit in a member's commit", ErrInvalidCommit)
	}
	return nil
}

// checkExternalList enforces §12.2's rules for external commits.
func (p *provisional) checkExternalList(list []proposalEntry, count map[wire.ProposalType]int) error {
	if count[wire.ProposalTypeExternalInit] != 1 || count[wire.ProposalTypeRemove] > 1 ||
		count[wire.ProposalTypeExternalInit]+count[wire.ProposalTypeRemove]+count[wire.ProposalTypePSK] != len(list) {
		return fmt.Errorf("%w: external commit proposals", ErrInvalidCommit)
	}
	for _, e := range list {
		if e.ref != nil {
			return fmt.Errorf("%w: external commit with a proposal by reference", ErrInvalidCommit)
		}
	}
	return nil
}

// checkSender checks that the proposal's sender may send it (§12.1,
// §12.1.8) and that the committer does not update or remove itself.
func (p *provisional) checkSender(e proposalEntry) error {
	t := e.p.ProposalType
	switch e.sender.SenderType {
	case wire.SenderTypeMember:
		if t == wire.ProposalTypeUpdate && !p.external && LeafIndex(e.sender.LeafIndex) == p.committer {
			return fmt.Errorf("%w: the committer's own Update", ErrInvalidCommit)
		}
	case wire.SenderTypeExternal:
		if t == wire.ProposalTypeUpdate || t == wire.ProposalTypeExternalInit {
			return fmt.Errorf("%w: proposal type %d from an external sender", ErrInvalidProposal, t)
		}
	case wire.SenderTypeNewMemberProposal:
		if t != wire.ProposalTypeAdd {
			return fmt.Errorf("%w: new_member_proposal of type %d", ErrInvalidProposal, t)
		}
	case wire.SenderTypeNewMemberCommit:
		if !p.external {
			return fmt.Errorf("%w: new_member_commit sender in a member's commit", ErrInvalidCommit)
		}
	}
	if t == wire.ProposalTypeRemove && !p.external && LeafIndex(e.p.Remove.Removed) == p.committer {
		return fmt.Errorf("%w: the committer removes itself", ErrInvalidCommit)
	}
	return nil
}

// applyGCE replaces the GroupContext extensions after checking that every
// member supports them (§12.1.7).
func (p *provisional) applyGCE(ext wire.Extensions) error {
	if t, dup := ext.Duplicate(); dup {
		return fmt.Errorf("%w: duplicate extension %d", ErrInvalidProposal, t)
	}
	es, err := externalSenders(ext)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := p.g.cfg.AuthenticationService.ValidateCredential(credentialFromWire(&e.Credential), e.SignatureKey); err != nil {
			return fmt.Errorf("%w: external sender: %w", ErrCredential, err)
		}
	}
	for _, ln := range p.tree.Leaves() {
		if err := supportsGroup(&ln.Capabilities, ext); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidProposal, err)
		}
	}
	p.ext = ext
	return nil
}

func (p *provisional) leafCheck(source wire.LeafNodeSource) leafCheck {
	return leafCheck{suite: p.g.suite, as: p.g.cfg.AuthenticationService, now: p.now, maxLT: p.g.cfg.MaxLifetime,
		source: source, groupExt: p.ext}
}

// applyUpdate replaces the sender's leaf (§12.1.2).
func (p *provisional) applyUpdate(sender LeafIndex, ln *wire.LeafNode) error {
	old := p.tree.Leaf(tree.LeafIndex(sender))
	if old == nil {
		return fmt.Errorf("%w: Update from blank leaf %d", ErrInvalidProposal, sender)
	}
	v := p.leafCheck(wire.LeafNodeSourceUpdate)
	if err := v.check(ln, p.g.gc.GroupID, sender); err != nil {
		return fmt.Errorf("%w: Update: %w", ErrInvalidProposal, err)
	}
	if bytes.Equal(ln.EncryptionKey, old.EncryptionKey) {
		return fmt.Errorf("%w: Update keeps the encryption key", ErrInvalidProposal)
	}
	if !sameIdentity(&old.Credential, &ln.Credential) {
		return fmt.Errorf("%w: Update changes the member's identity: %w", ErrInvalidProposal, ErrCredential)
	}
	if err := p.checkUniqueKeys(ln, sender); err != nil {
		return err
	}
	if !p.external && sender == p.g.OwnLeaf() {
		i := slices.IndexFunc(p.g.updates, func(u updateKey) bool { return bytes.Equal(u.pub, ln.EncryptionKey) })
		if i < 0 {
			return fmt.Errorf("%w: an Update of this member that it did not send", ErrInvalidProposal)
		}
		p.selfUpdate = &p.g.updates[i]
	}
	p.noteChange(sender)
	p.updated = append(p.updated, sender)
	p.g.index.add(sender, ln)
	return p.tree.UpdateLeaf(tree.LeafIndex(sender), ln)
}

// checkUniqueKeys checks that ln's keys are in no other leaf (§7.3).
func (p *provisional) checkUniqueKeys(ln *wire.LeafNode, self LeafIndex) error {
	if i, ok := p.g.index.leafWithSignatureKey(p.tree, ln.SignatureKey); ok && i != self {
		return fmt.Errorf("%w: signature key of leaf %d", ErrInvalidLeafNode, i)
	}
	if i, ok := p.g.index.leafWithEncryptionKey(p.tree, ln.EncryptionKey); ok && i != self {
		return fmt.Errorf("%w: encryption key of leaf %d", ErrInvalidLeafNode, i)
	}
	return nil
}

// noteChange records leaf i before its first change.
func (p *provisional) noteChange(i LeafIndex) {
	if _, ok := p.changed[i]; ok {
		return
	}
	p.changed[i] = p.g.tree.Leaf(tree.LeafIndex(i))
}

// applyRemove blanks a member's leaf (§12.1.3).
func (p *provisional) applyRemove(i LeafIndex) error {
	ln := p.tree.Leaf(tree.LeafIndex(i))
	if ln == nil {
		return fmt.Errorf("%w: Remove of blank leaf %d", ErrInvalidProposal, i)
	}
	p.removed = append(p.removed, memberOf(i, ln))
	if !p.external && i == p.g.OwnLeaf() {
		p.selfRemoved = true
	}
	p.noteChange(i)
	return p.tree.RemoveLeaf(tree.LeafIndex(i))
}

// applyAdd validates a KeyPackage (§10.1, §12.1.1) and adds its leaf.
func (p *provisional) applyAdd(kp *wire.KeyPackage) error {
	if kp.CipherSuite != p.g.gc.CipherSuite {
		return fmt.Errorf("%w: cipher suite %d in a group of %d", ErrInvalidKeyPackage, kp.CipherSuite, p.g.gc.CipherSuite)
	}
	if _, err := validateKeyPackageSyntax(kp); err != nil {
		return fmt.Errorf("%w: Add: %w", ErrInvalidProposal, err)
	}
	v := p.leafCheck(wire.LeafNodeSourceKeyPackage)
	if err := v.check(&kp.LeafNode, nil, 0); err != nil {
		return fmt.Errorf("%w: Add: %w", ErrInvalidProposal, err)
	}
	if err := p.checkUniqueKeys(&kp.LeafNode, ^LeafIndex(0)); err != nil {
		return fmt.Errorf("%w: Add: %w", ErrInvalidProposal, err)
	}
	i, err := p.tree.AddLeaf(&kp.LeafNode)
	if err != nil {
		return fmt.Errorf("%w: Add: %w", ErrInvalidProposal, err)
	}
	p.noteChange(LeafIndex(i))
	p.added = append(p.added, LeafIndex(i))
	p.addKPs = append(p.addKPs, kp)
	p.g.index.add(LeafIndex(i), &kp.LeafNode)
	return nil
}

// applyPSK looks up a PSK (§8.4, §12.1.4).
func (p *provisional) applyPSK(id *wire.PreSharedKeyID) error {
	if len(id.PSKNonce) != p.g.suite.Nh() {
		return fmt.Errorf("%w: PSK nonce of %d bytes", ErrInvalidProposal, len(id.PSKNonce))
	}
	enc := tls.MustMarshal(id)
	for _, q := range p.pskKeys {
		if bytes.Equal(q.ID, enc) {
			return fmt.Errorf("%w: PSK listed twice", ErrInvalidCommit)
		}
	}
	linked := p.g.linked.matches(id) && p.g.gc.Epoch == 0
	if id.PSKType == wire.PSKTypeResumption && id.Usage != wire.ResumptionPSKUsageApplication && !linked {
		return fmt.Errorf("%w: resumption PSK usage %d in a commit", ErrInvalidProposal, id.Usage)
	}
	secret, err := p.g.lookupPSK(id)
	if linked {
		secret, err = p.g.linked.psk, nil
	}
	if err != nil {
		return err
	}
	p.psks = append(p.psks, *id)
	p.pskKeys = append(p.pskKeys, schedule.PSK{ID: enc, Secret: secret})
	return nil
}

// lookupPSK returns the secret of a PSK this member holds (§8.4): an
// external PSK from the PSKStore, or the resumption PSK of a kept epoch of
// this group.
func (g *Group) lookupPSK(id *wire.PreSharedKeyID) ([]byte, error) {
	switch id.PSKType {
	case wire.PSKTypeExternal:
		if s, ok := g.cfg.psk(id.PSKID); ok {
			return s, nil
		}
	case wire.PSKTypeResumption:
		if bytes.Equal(id.PSKGroupID, g.gc.GroupID) {
			for _, r := range g.resumption {
				if r.epoch == id.PSKEpoch {
					return r.psk, nil
				}
			}
		}
	}
	return nil, ErrUnknownPSK
}

// sameIdentity is the credential-continuity rule applied where a member
// replaces its own leaf (an Update, a committer's new leaf, an external
// resync): §5.3.1 says the new credential must be a valid successor of the
// old. Here a basic credential must keep its identity exactly; X.509 chains
// may renew, so only the credential type must match and the
// AuthenticationService judges the chain.
func sameIdentity(old, new *wire.Credential) bool {
	if old.CredentialType != new.CredentialType {
		return false
	}
	return old.CredentialType != wire.CredentialTypeBasic || bytes.Equal(old.Identity, new.Identity)
}
