package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/p2p"
)

// suite is the cipher suite of every SpacePanda group: Ed25519 signatures,
// so that the node's libp2p key is its MLS signature key.
const suite = mls.X25519_AES128GCM_SHA256_Ed25519

// newEngine returns the MLS engine of the identity: its credential is a
// basic credential naming its peer ID, signed with its Ed25519 key.
func newEngine(key ed25519.PrivateKey, peerID string, now func() time.Time) engine {
	return &mlsEngine{
		id: mls.Identity{CipherSuite: suite, SignaturePrivateKey: key.Seed(),
			Credential: mls.BasicCredential([]byte(peerID))},
		cfg: mls.Config{AuthenticationService: peerAuth{}, CommitPolicy: commitPolicy},
		now: now,
	}
}

// peerAuth is the authentication service (RFC 9420 §5.3.1): a member's
// credential must be a basic credential naming the libp2p peer ID of its
// signature key. It is deterministic, as every member must agree.
type peerAuth struct{}

func (peerAuth) ValidateCredential(c mls.Credential, sigKey []byte) error {
	if c.Type != mls.CredentialBasic {
		return fmt.Errorf("credential type %d, want basic", c.Type)
	}
	if len(sigKey) != ed25519.PublicKeySize {
		return fmt.Errorf("signature key of %d bytes, want Ed25519", len(sigKey))
	}
	pid, err := p2p.PeerIDFromPublicKey(ed25519.PublicKey(sigKey))
	if err != nil {
		return err
	}
	if string(c.Identity) != pid.String() {
		return fmt.Errorf("credential names %q, signature key is peer %s", c.Identity, pid)
	}
	return nil
}

type mlsEngine struct {
	id  mls.Identity
	cfg mls.Config
	now func() time.Time
}

func (e *mlsEngine) NewGroup(id []byte) (group, error) {
	// The creator is the channel's first owner.
	owner := roleSet{string(e.id.Credential.Identity): crdt.RoleOwner}
	g, err := mls.CreateGroup(rand.Reader, id, e.id, withRoles(nil, owner), e.cfg)
	if err != nil {
		return nil, err
	}
	return &mlsGroup{g: g, e: e}, nil
}

func (e *mlsEngine) Load(state []byte) (group, error) {
	g, err := mls.UnmarshalGroup(state, e.cfg)
	if err != nil {
		return nil, err
	}
	return &mlsGroup{g: g, e: e}, nil
}

func (e *mlsEngine) NewKeyPackage() (kp, ref, bundle []byte, err error) {
	b, err := mls.NewKeyPackage(rand.Reader, e.id, mls.KeyPackageOptions{SupportedExtensions: []uint16{rolesExtension}})
	if err != nil {
		return nil, nil, nil, err
	}
	bundle, err = b.MarshalBinary()
	if err != nil {
		return nil, nil, nil, err
	}
	return b.KeyPackage().Marshal(), b.KeyPackage().Ref(), bundle, nil
}

func (e *mlsEngine) Join(welcome, tree, bundle []byte) (group, error) {
	b, err := mls.UnmarshalKeyPackageBundle(bundle)
	if err != nil {
		return nil, err
	}
	g, err := mls.JoinGroup(welcome, b, tree, e.cfg, e.now())
	if err != nil {
		return nil, err
	}
	return &mlsGroup{g: g, e: e}, nil
}

// mlsGroup adapts *mls.Group. Own commits are merged as soon as they are
// made: the node stores and publishes them in the same step (see
// docs/protocol.md, "Commit conflicts").
type mlsGroup struct {
	g *mls.Group
	e *mlsEngine
	// roles caches the decoded roles extension of epoch rolesEpoch.
	roles      roleSet
	rolesEpoch uint64
	// members caches the member list of epoch membersEpoch (the tree
	// changes only with the epoch): the delivery stream and the validator
	// ask for it several times per message.
	members      []string
	membersEpoch uint64
	last         processed // what the last own commit did
}

func (m *mlsGroup) GroupID() []byte { return m.g.GroupID() }
func (m *mlsGroup) Epoch() uint64   { return m.g.Epoch() }
func (m *mlsGroup) Active() bool    { return m.g.Active() }

func (m *mlsGroup) EpochAuthenticator() []byte { return m.g.EpochAuthenticator() }

// Members returns the peer IDs of the members, in leaf order; the caller
// may change the slice.
func (m *mlsGroup) Members() []string {
	if m.members == nil || m.membersEpoch != m.g.Epoch() {
		ms := m.g.Members()
		out := make([]string, 0, len(ms))
		for _, mb := range ms {
			out = append(out, string(mb.Credential.Identity))
		}
		m.members, m.membersEpoch = out, m.g.Epoch()
	}
	return slices.Clone(m.members)
}

func (m *mlsGroup) Encrypt(pt []byte) ([]byte, error) {
	return m.g.EncryptApplication(rand.Reader, pt, nil)
}

func (m *mlsGroup) Marshal() ([]byte, error) { return m.g.MarshalBinary() }

func (m *mlsGroup) Process(msg []byte, keepSkipped bool) (processed, error) {
	before := m.Roles()
	res, err := m.g.ProcessMessageWith(msg, m.e.now(), mls.ProcessOptions{KeepSkipped: keepSkipped})
	if err != nil {
		return processed{}, err
	}
	switch r := res.(type) {
	case *mls.ApplicationMessage:
		return processed{Sender: string(r.Sender.Credential.Identity), Application: r.Data}, nil
	case *mls.ProposalReceived:
		p := processed{Proposal: true, Leave: r.Leave()}
		if mb, ok := m.g.Member(r.Sender); ok && r.SenderType == mls.SenderMember {
			p.Sender = string(mb.Credential.Identity)
		}
		return p, nil
	case *mls.CommitApplied:
		m.roles = nil
		p := processed{Commit: true, SelfRemoved: r.SelfRemoved}
		for _, a := range r.Added {
			p.Added = append(p.Added, string(a.Credential.Identity))
		}
		for _, a := range r.Removed {
			p.Removed = append(p.Removed, string(a.Credential.Identity))
		}
		if mb, ok := m.g.Member(r.Committer); ok {
			p.Sender = string(mb.Credential.Identity)
		}
		p.Rank = commitRank{Role: before.of(p.Sender), Leaf: uint32(r.Committer)}
		if r.External {
			p.Rank.Role = crdt.RoleNone
		}
		if !r.SelfRemoved {
			p.RolesChanged = !maps.Equal(before, m.Roles())
		}
		return p, nil
	}
	return processed{}, fmt.Errorf("%w: unexpected MLS result %T", ErrProtocol, res)
}

// Roles returns the roles of the current epoch.
func (m *mlsGroup) Roles() roleSet {
	if m.roles == nil || m.rolesEpoch != m.g.Epoch() {
		r, err := rolesIn(m.g.Extensions())
		if err != nil { // every commit that set it was checked: not reached
			r = roleSet{}
		}
		m.roles, m.rolesEpoch = r, m.g.Epoch()
	}
	return m.roles
}

// OwnRank is the rank a commit by this member has in the current epoch.
func (m *mlsGroup) OwnRank() commitRank {
	self, _ := identityOf(m.g, m.g.OwnLeaf())
	return commitRank{Role: m.Roles().of(self), Leaf: uint32(m.g.OwnLeaf())}
}

func (m *mlsGroup) SetRoles(r roleSet) ([]byte, error) {
	r = maps.Clone(r)
	for _, l := range m.pendingRemoves() { // leavers lose their roles in the same commit
		if id, ok := identityOf(m.g, l); ok {
			delete(r, id)
		}
	}
	out, err := m.commit(mls.CommitOptions{GroupContextExtensions: withRoles(m.g.Extensions(), r), SetExtensions: true, Now: m.e.now()})
	if err != nil {
		return nil, err
	}
	return out.Commit, nil
}

// pruned returns the current roles without those of the given leaves, and
// whether that changes them: a commit that removes a role holder must drop
// its role (commitPolicy).
func (m *mlsGroup) pruned(leaves []mls.LeafIndex) (roleSet, bool) {
	r := maps.Clone(m.Roles())
	changed := false
	for _, l := range leaves {
		if id, ok := identityOf(m.g, l); ok {
			if _, has := r[id]; has {
				delete(r, id)
				changed = true
			}
		}
	}
	return r, changed
}

func (m *mlsGroup) Add(kp []byte) (commit, welcome, tree []byte, err error) {
	k, err := mls.UnmarshalKeyPackage(kp)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := k.Validate(peerAuth{}, m.e.now()); err != nil {
		return nil, nil, nil, err
	}
	out, err := m.commit(mls.CommitOptions{Adds: []*mls.KeyPackage{k}, Now: m.e.now()})
	if err != nil {
		return nil, nil, nil, err
	}
	return out.Commit, out.Welcome, out.RatchetTree, nil
}

func (m *mlsGroup) Remove(member string) ([]byte, error) {
	for _, mb := range m.g.Members() {
		if string(mb.Credential.Identity) == member {
			opts := mls.CommitOptions{Removes: []mls.LeafIndex{mb.Index}, Now: m.e.now()}
			m.dropRoles(&opts, append(m.pendingRemoves(), mb.Index))
			out, err := m.commit(opts)
			if err != nil {
				return nil, err
			}
			return out.Commit, nil
		}
	}
	return nil, fmt.Errorf("%w: %s is not in the MLS group", ErrNoMember, member)
}

// pendingRemoves lists the leaves that the epoch's stored proposals (leaves)
// remove.
func (m *mlsGroup) pendingRemoves() []mls.LeafIndex {
	var out []mls.LeafIndex
	for _, p := range m.g.Proposals() {
		if p.Type == mls.ProposalRemove {
			out = append(out, p.Removed)
		}
	}
	return out
}

// dropRoles makes opts drop the roles of the removed leaves.
func (m *mlsGroup) dropRoles(opts *mls.CommitOptions, removed []mls.LeafIndex) {
	if r, changed := m.pruned(removed); changed {
		opts.GroupContextExtensions, opts.SetExtensions = withRoles(m.g.Extensions(), r), true
	}
}

func (m *mlsGroup) Leave() ([]byte, error) { return m.g.Leave() }

func (m *mlsGroup) CommitPending() ([]byte, error) {
	opts := mls.CommitOptions{Now: m.e.now()}
	m.dropRoles(&opts, m.pendingRemoves())
	out, err := m.commit(opts)
	if err != nil {
		return nil, err
	}
	return out.Commit, nil
}

// commit creates a commit and merges it at once, and records what it did
// (LastCommit).
func (m *mlsGroup) commit(opts mls.CommitOptions) (*mls.CommitOutput, error) {
	rank, before := m.OwnRank(), m.Roles()
	out, err := m.g.Commit(rand.Reader, opts)
	if err != nil {
		return nil, err
	}
	if _, err := m.g.MergePendingCommit(); err != nil {
		return nil, err
	}
	m.roles = nil
	self, _ := identityOf(m.g, m.g.OwnLeaf())
	m.last = processed{Commit: true, Sender: self, Rank: rank, RolesChanged: !maps.Equal(before, m.Roles())}
	for _, a := range out.Result.Added {
		m.last.Added = append(m.last.Added, string(a.Credential.Identity))
	}
	for _, a := range out.Result.Removed {
		m.last.Removed = append(m.last.Removed, string(a.Credential.Identity))
	}
	return out, nil
}

func (m *mlsGroup) LastCommit() processed { return m.last }

// Verdicts of a message the channel loop could not process.
const (
	verdictAccept = iota
	verdictIgnore
	verdictReject
)

// verdictOf maps an MLS processing error to what the network should do.
func verdictOf(err error) int {
	switch {
	case err == nil:
		return verdictAccept
	case errors.Is(err, mls.ErrFutureEpoch):
		return verdictIgnore
	}
	switch mls.VerdictOf(err) {
	case mls.Ignore:
		return verdictIgnore
	case mls.Accept:
		return verdictAccept
	}
	return verdictReject
}
