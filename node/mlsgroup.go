package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

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
		cfg: mls.Config{AuthenticationService: peerAuth{}},
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
	g, err := mls.CreateGroup(rand.Reader, id, e.id, nil, e.cfg)
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
	b, err := mls.NewKeyPackage(rand.Reader, e.id, mls.KeyPackageOptions{})
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
}

func (m *mlsGroup) GroupID() []byte { return m.g.GroupID() }
func (m *mlsGroup) Epoch() uint64   { return m.g.Epoch() }
func (m *mlsGroup) Active() bool    { return m.g.Active() }

func (m *mlsGroup) EpochAuthenticator() []byte { return m.g.EpochAuthenticator() }

func (m *mlsGroup) Members() []string {
	var out []string
	for _, mb := range m.g.Members() {
		out = append(out, string(mb.Credential.Identity))
	}
	return out
}

func (m *mlsGroup) Encrypt(pt []byte) ([]byte, error) {
	return m.g.EncryptApplication(rand.Reader, pt, nil)
}

func (m *mlsGroup) Marshal() ([]byte, error) { return m.g.MarshalBinary() }

func (m *mlsGroup) Process(msg []byte) (processed, error) {
	res, err := m.g.ProcessMessage(msg, m.e.now())
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
		return p, nil
	}
	return processed{}, fmt.Errorf("%w: unexpected MLS result %T", ErrProtocol, res)
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
			out, err := m.commit(mls.CommitOptions{Removes: []mls.LeafIndex{mb.Index}, Now: m.e.now()})
			if err != nil {
				return nil, err
			}
			return out.Commit, nil
		}
	}
	return nil, fmt.Errorf("%w: %s is not in the MLS group", ErrNoMember, member)
}

func (m *mlsGroup) Leave() ([]byte, error) { return m.g.Leave() }

func (m *mlsGroup) CommitPending() ([]byte, error) {
	out, err := m.commit(mls.CommitOptions{Now: m.e.now()})
	if err != nil {
		return nil, err
	}
	return out.Commit, nil
}

// commit creates a commit and merges it at once.
func (m *mlsGroup) commit(opts mls.CommitOptions) (*mls.CommitOutput, error) {
	out, err := m.g.Commit(rand.Reader, opts)
	if err != nil {
		return nil, err
	}
	if _, err := m.g.MergePendingCommit(); err != nil {
		return nil, err
	}
	return out, nil
}

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
