package mls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// SuccessorOptions shape the first commit of a group that succeeds another
// (ReInit, §11.2) or branches from it (§11.3).
type SuccessorOptions struct {
	// ForcePath includes an UpdatePath in the first commit (§12.4).
	ForcePath bool
	// RatchetTreeInWelcome puts the ratchet tree in the Welcome's
	// GroupInfo (§12.4.3.3); otherwise joiners need CommitOutput.RatchetTree.
	RatchetTreeInWelcome bool
	// Now is the time for the key packages' lifetime checks; zero skips them.
	Now time.Time
}

// branchPSK returns the resumption PSK with usage branch of g's epoch e
// (§8.6, §11.3), without its nonce, if g still keeps it.
func (g *Group) branchPSK(e uint64) (*wire.PreSharedKeyID, []byte, error) {
	for _, r := range g.resumption {
		if r.epoch == e {
			return &wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageBranch,
				PSKGroupID: g.gc.GroupID, PSKEpoch: r.epoch}, r.psk, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: no resumption secret kept for epoch %d", ErrUnknownPSK, e)
}

// Branch creates a subgroup of g (RFC 9420 §11.3): a new group with
// groupID, g's cipher suite and version, and the given extensions, created
// by this member under its credential and signature key, whose first
// commit adds keyPackages (fresh key packages of other members of g) and
// injects g's current resumption PSK with usage branch and a fresh nonce.
// Every key package's credential must name a member of g. It returns the
// new group (epoch 1, commit merged) and the commit output whose Welcome
// the other members pass to JoinBranch.
func (g *Group) Branch(random io.Reader, groupID []byte, extensions []Extension, keyPackages []*KeyPackage, cfg Config, opts SuccessorOptions) (*Group, *CommitOutput, error) {
	if !g.active {
		return nil, nil, ErrInactive
	}
	if bytes.Equal(groupID, g.gc.GroupID) {
		return nil, nil, fmt.Errorf("%w: a branch needs a new group ID", ErrInvalidProposal)
	}
	for i, kp := range keyPackages {
		if !g.hasIdentity(&kp.kp.LeafNode.Credential) {
			return nil, nil, fmt.Errorf("%w: key package %d: its credential names no member of the group", ErrInvalidProposal, i)
		}
	}
	pskID, psk, err := g.branchPSK(g.gc.Epoch)
	if err != nil {
		return nil, nil, err
	}
	own := g.ownLeafNode()
	id := Identity{CipherSuite: CipherSuite(g.gc.CipherSuite), SignaturePrivateKey: g.sigPriv, Credential: credentialFromWire(&own.Credential)}
	return successor(random, id, groupID, extensions, pskID, psk, keyPackages, cfg, opts)
}

// hasIdentity reports whether a member of g presents the same identity as
// c (§11.3: leaves "match" when their credentials name the same identity).
func (g *Group) hasIdentity(c *wire.Credential) bool {
	for _, ln := range g.tree.Leaves() {
		if sameIdentity(&ln.Credential, c) {
			return true
		}
	}
	return false
}

// successor creates a group linked to a predecessor by the resumption PSK
// pskID/psk (§11.2, §11.3): created by id, its first commit adds
// keyPackages and injects the PSK with a fresh nonce. The commit is merged.
func successor(random io.Reader, id Identity, groupID []byte, extensions []Extension, pskID *wire.PreSharedKeyID, psk []byte, keyPackages []*KeyPackage, cfg Config, sopts SuccessorOptions) (*Group, *CommitOutput, error) {
	ng, err := CreateGroup(random, groupID, id, extensions, cfg)
	if err != nil {
		return nil, nil, err
	}
	pskID.PSKNonce = make([]byte, ng.suite.Nh())
	if _, err := io.ReadFull(random, pskID.PSKNonce); err != nil {
		return nil, nil, err
	}
	ng.linked = &linkedPSK{id: pskID, psk: psk}
	defer func() { ng.linked = nil }()
	opts := CommitOptions{Adds: keyPackages, Now: sopts.Now, ForcePath: sopts.ForcePath, RatchetTreeInWelcome: sopts.RatchetTreeInWelcome}
	list, pors, _, err := ng.commitList(random, opts)
	if err != nil {
		return nil, nil, err
	}
	p := wire.Proposal{ProposalType: wire.ProposalTypePSK, PreSharedKey: &wire.PreSharedKey{PSK: *pskID}}
	self := wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 0}
	list = append(list, proposalEntry{p: &p, sender: self})
	pors = append(pors, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeProposal, Proposal: &p})
	pv := newProvisional(ng, 0, false, sopts.Now)
	if err := pv.apply(list); err != nil {
		return nil, nil, err
	}
	out, err := ng.finishCommit(random, pv, pors, opts, self)
	if err != nil {
		return nil, nil, err
	}
	if _, err := ng.MergePendingCommit(); err != nil {
		return nil, nil, err
	}
	return ng, out, nil
}

// JoinBranch joins a subgroup branched from old (§11.3) from the Welcome
// Branch produced, with the key package bundle it was made for: the
// Welcome must carry old's resumption PSK with usage branch of an epoch
// whose resumption secret old still keeps (the current one and the 7
// before it), which this member takes from old. It checks what §11.3
// lists: same version and cipher suite as old, epoch 1, and every member
// of the subgroup presents the identity of a member of old. Otherwise it
// is JoinGroup (now is likewise unused).
func JoinBranch(welcomeMsg []byte, bundle *KeyPackageBundle, ratchetTree []byte, old *Group, cfg Config, now time.Time) (*Group, error) {
	err := fmt.Errorf("%w: no resumption secret kept", ErrUnknownPSK)
	// The Welcome's PSK list is encrypted to the joiner: try the kept
	// epochs, newest first (at most 8 HPKE decryptions, only when the
	// branch is older than the joiner's epoch).
	for i := len(old.resumption) - 1; i >= 0; i-- {
		id, psk, perr := old.branchPSK(old.resumption[i].epoch)
		if perr != nil {
			return nil, perr
		}
		var g *Group
		g, err = joinLinked(welcomeMsg, bundle, ratchetTree, &linkedPSK{id: id, psk: psk}, cfg)
		if errors.Is(err, ErrUnknownPSK) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return g, checkBranch(g, old)
	}
	return nil, err
}

// checkBranch checks a joined branch against the old group (§11.3).
func checkBranch(g, old *Group) error {
	if g.gc.CipherSuite != old.gc.CipherSuite || g.gc.Version != old.gc.Version || g.gc.Epoch != 1 {
		return fmt.Errorf("%w: branch of suite %d, version %d, epoch %d; want suite %d, version %d, epoch 1",
			ErrInvalidTree, g.gc.CipherSuite, g.gc.Version, g.gc.Epoch, old.gc.CipherSuite, old.gc.Version)
	}
	for i, ln := range g.tree.Leaves() {
		if !old.hasIdentity(&ln.Credential) {
			return fmt.Errorf("%w: branch member at leaf %d is no member of the old group", ErrInvalidTree, i)
		}
	}
	return nil
}

// joinLinked joins from a Welcome that must carry the linked PSK.
func joinLinked(welcomeMsg []byte, bundle *KeyPackageBundle, ratchetTree []byte, linked *linkedPSK, cfg Config) (*Group, error) {
	if cfg.AuthenticationService == nil {
		return nil, fmt.Errorf("%w: no authentication service", ErrCredential)
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(welcomeMsg, &m); err != nil {
		return nil, fmt.Errorf("mls: welcome: %w", err)
	}
	if m.WireFormat != wire.WireFormatWelcome || m.Welcome == nil {
		return nil, fmt.Errorf("%w: mls: not a welcome", ErrMalformed)
	}
	j := &joiner{cfg: cfg, bundle: bundle, w: m.Welcome, linked: linked}
	g, err := j.join(ratchetTree)
	if err != nil {
		return nil, err
	}
	if !j.usedLinked {
		return nil, fmt.Errorf("%w: the welcome does not carry the predecessor's PSK", ErrUnknownPSK)
	}
	return g, nil
}
