package mls

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// Group is one member's view of an MLS group (RFC 9420 §8, §11, §12): the
// GroupContext, the ratchet tree with this member's private keys, the
// epoch's secrets and sender ratchets, the secrets of a few past epochs for
// late messages, the proposals received in the epoch, and this member's
// pending commit, if any.
//
// A Group is a value owned by one goroutine: it is not safe for concurrent
// use. Every method that fails leaves it unchanged (see ProcessMessage for
// the one exception). It serializes with MarshalBinary and comes back with
// UnmarshalGroup.
type Group struct {
	cfg     Config
	suite   *cipher.Suite
	gc      wire.GroupContext
	gcRaw   []byte
	tree    *tree.Tree
	keys    *tree.PrivateKeys
	sigPriv []byte
	signer  *cipher.Signer
	interim []byte
	ep      epochSecrets
	st      *schedule.SecretTree

	past       []*pastEpoch    // oldest first
	resumption []resumptionPSK // oldest first, this epoch's last
	proposals  []*cachedProposal
	updates    []updateKey // private keys of this member's Update proposals
	pending    *pendingCommit
	active     bool
	// reinit is the committed ReInit proposal that ended the group, if any.
	reinit *wire.ReInit

	index *keyIndex
	// linked is the predecessor's PSK while NewReInitGroup commits.
	linked *linkedPSK
	// treeRaw caches the encoding of tree for MarshalBinary: the tree
	// changes once per epoch, the state is saved after every message.
	treeRaw []byte
	// stateSize is the length of the last MarshalBinary, to size the next.
	stateSize int
}

// epochSecrets are the secrets of the current epoch that a member keeps
// (§8): init_secret for the next epoch and the derived secrets. The epoch
// secret and joiner secret are not kept.
type epochSecrets struct {
	init, senderData, exporter, external, confirmation, membership, resumption, authenticator []byte
}

func secretsFrom(s *schedule.Secrets) epochSecrets {
	return epochSecrets{init: s.Init, senderData: s.SenderData, exporter: s.Exporter, external: s.External,
		confirmation: s.Confirmation, membership: s.Membership, resumption: s.Resumption,
		authenticator: s.EpochAuthenticator}
}

// pastEpoch keeps what decrypting a late application message of an old
// epoch needs (§14): the sender-data secret, the secret tree, the
// GroupContext, and the leaves the following commit changed as they were
// (nil: blank), so that the sender's leaf at that epoch can be found
// without a copy of the old tree.
type pastEpoch struct {
	epoch      uint64
	senderData []byte
	st         *schedule.SecretTree
	gc         wire.GroupContext
	changed    map[LeafIndex]*wire.LeafNode
	// enc caches the epoch's encoding (marshal) at version encVer of st:
	// nothing else of it changes once it is past, and a group state is
	// written after every batch of received messages.
	enc    []byte
	encVer uint64
}

// dropEnc zeroes and drops the cached encoding: st is about to change, and
// the secrets it consumes must not outlive it in a copy (§9.2).
func (p *pastEpoch) dropEnc() {
	clear(p.enc)
	p.enc = nil
}

// resumptionPSK is the resumption_psk of one epoch (§8.6).
type resumptionPSK struct {
	epoch uint64
	psk   []byte
}

// updateKey is the private key of an Update this member proposed.
type updateKey struct {
	pub, priv []byte
}

// CreateGroup creates a one-member group with the given random group ID
// (RFC 9420 §11): epoch 0, a tree holding the creator's leaf, an empty
// transcript, and the key schedule run from a random init_secret.
// extensions become the GroupContext extensions.
func CreateGroup(random io.Reader, groupID []byte, id Identity, extensions []Extension, cfg Config) (*Group, error) {
	suite, sg, err := id.signer()
	if err != nil {
		return nil, err
	}
	if cfg.AuthenticationService == nil {
		return nil, fmt.Errorf("%w: no authentication service", ErrCredential)
	}
	encPriv, encPub, err := suite.GenerateHPKEKey(random)
	if err != nil {
		return nil, err
	}
	gext := extensionsToWire(extensions)
	ln := &wire.LeafNode{
		EncryptionKey: encPub, SignatureKey: sg.PublicKey(), Credential: credentialToWire(id.Credential),
		Capabilities:   defaultCapabilities(id.CipherSuite, id.Credential.Type, nil),
		LeafNodeSource: wire.LeafNodeSourceKeyPackage, Lifetime: wire.Lifetime{NotAfter: ^uint64(0)},
	}
	for _, e := range gext {
		if !defaultExtension(e.ExtensionType) {
			ln.Capabilities.Extensions = append(ln.Capabilities.Extensions, e.ExtensionType)
		}
	}
	if err := tree.SignLeafNode(sg, ln, nil, 0); err != nil {
		return nil, err
	}
	v := leafCheck{suite: suite, as: cfg.AuthenticationService, groupExt: gext}
	if err := v.check(ln, nil, 0); err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, suite: suite, sigPriv: slices.Clone(id.SignaturePrivateKey), signer: sg, active: true}
	g.tree = tree.New(suite, ln)
	if g.keys, err = tree.NewPrivateKeys(suite, 0, encPriv); err != nil {
		return nil, err
	}
	g.gc = wire.GroupContext{Version: wire.MLS10, CipherSuite: wire.CipherSuite(id.CipherSuite),
		GroupID: slices.Clone(groupID), TreeHash: g.tree.TreeHash(), ConfirmedTranscriptHash: []byte{}, Extensions: gext}
	initSecret := make([]byte, suite.Nh())
	if _, err := io.ReadFull(random, initSecret); err != nil {
		return nil, fmt.Errorf("mls: init secret: %w", err)
	}
	if _, err := g.startEpoch(initSecret, nil, nil); err != nil {
		return nil, err
	}
	g.index = newKeyIndex(g.tree)
	return g, nil
}

// startEpoch runs the key schedule for the GroupContext in g.gc (§8) from
// the previous init_secret, and sets the secrets, secret tree and interim
// transcript hash. For epoch 0 the confirmation tag is over the empty
// confirmed transcript hash (§8.2, §11).
func (g *Group) startEpoch(initSecret, commitSecret, pskSecret []byte) (*schedule.Secrets, error) {
	if err := g.encodeContext(); err != nil {
		return nil, err
	}
	s := schedule.Derive(g.suite, initSecret, commitSecret, pskSecret, g.gcRaw)
	return &s, g.setSecrets(&s)
}

// setSecrets installs the secrets of a new epoch and its secret tree.
func (g *Group) setSecrets(s *schedule.Secrets) error {
	g.ep = secretsFrom(s)
	st, err := schedule.NewSecretTree(g.suite, s.Encryption, g.tree.Width(), g.cfg.window())
	if err != nil {
		return err
	}
	g.st = st
	if g.gc.Epoch == 0 && len(g.gc.ConfirmedTranscriptHash) == 0 {
		tag := g.suite.MAC(g.ep.confirmation, g.gc.ConfirmedTranscriptHash)
		g.interim = g.suite.Hash(tls.MustMarshal(&wire.InterimTranscriptHashInput{ConfirmationTag: tag}))
	}
	g.resumption = appendResumption(g.resumption, g.gc.Epoch, s.Resumption)
	return nil
}

func appendResumption(rs []resumptionPSK, epoch uint64, psk []byte) []resumptionPSK {
	rs = append(slices.Clone(rs), resumptionPSK{epoch: epoch, psk: psk})
	if len(rs) > resumptionEpochs {
		rs = rs[len(rs)-resumptionEpochs:]
	}
	return rs
}

// encodeContext caches the encoding of g.gc.
func (g *Group) encodeContext() error {
	raw, err := tls.Marshal(&g.gc)
	if err != nil {
		return err
	}
	g.gcRaw = raw
	return nil
}

// GroupID returns the group ID (§8.1).
func (g *Group) GroupID() []byte { return slices.Clone(g.gc.GroupID) }

// Epoch returns the current epoch number (§8.1).
func (g *Group) Epoch() uint64 { return g.gc.Epoch }

// CipherSuite returns the group's cipher suite.
func (g *Group) CipherSuite() CipherSuite { return CipherSuite(g.gc.CipherSuite) }

// OwnLeaf returns this member's leaf index.
func (g *Group) OwnLeaf() LeafIndex { return LeafIndex(g.keys.Leaf()) }

// Active reports whether this member is still in the group: false after a
// commit removed it, or after a ReInit was committed (§12.1.5).
func (g *Group) Active() bool { return g.active }

// EpochAuthenticator returns the epoch authenticator (§8.7): members that
// agree on it agree on the epoch's state.
func (g *Group) EpochAuthenticator() []byte { return slices.Clone(g.ep.authenticator) }

// Export returns MLS-Exporter(label, context, length) of the current epoch
// (§8.5).
func (g *Group) Export(label string, context []byte, length int) ([]byte, error) {
	return schedule.Export(g.suite, g.ep.exporter, label, context, length)
}

// Extensions returns the GroupContext extensions (§8.1).
func (g *Group) Extensions() []Extension { return extensionsFromWire(g.gc.Extensions) }

// TreeHash returns the tree hash of the ratchet tree (§7.8).
func (g *Group) TreeHash() []byte { return slices.Clone(g.gc.TreeHash) }

// MemberCount returns the number of members.
func (g *Group) MemberCount() int { return g.tree.MemberCount() }

// Members returns the members in leaf order.
func (g *Group) Members() []Member {
	var ms []Member
	for i, ln := range g.tree.Leaves() {
		ms = append(ms, memberOf(LeafIndex(i), ln))
	}
	return ms
}

// Member returns the member at leaf i, and false if the leaf is blank.
func (g *Group) Member(i LeafIndex) (Member, bool) {
	ln := g.tree.Leaf(tree.LeafIndex(i))
	if ln == nil {
		return Member{}, false
	}
	return memberOf(i, ln), true
}

// FindMember returns the leaf of the member with the given signature key.
func (g *Group) FindMember(signatureKey []byte) (LeafIndex, bool) {
	i, ok := g.index.leafWithSignatureKey(g.tree, signatureKey)
	return i, ok
}

func memberOf(i LeafIndex, ln *wire.LeafNode) Member {
	return Member{Index: i, Credential: credentialFromWire(&ln.Credential), SignatureKey: slices.Clone(ln.SignatureKey)}
}

// RatchetTree returns the ratchet tree as the contents of a ratchet_tree
// extension (§12.4.3.3), for a joiner whose Welcome does not carry it.
func (g *Group) RatchetTree() ([]byte, error) { return g.tree.Encode() }

// ownLeafNode returns this member's current leaf node.
func (g *Group) ownLeafNode() *wire.LeafNode { return g.tree.Leaf(g.keys.Leaf()) }

// senderLeaf returns the leaf node of leaf i in epoch e, or nil if the
// leaf was blank then or e is no longer kept.
func (g *Group) senderLeaf(e uint64, i LeafIndex) *wire.LeafNode {
	if e == g.gc.Epoch {
		return g.tree.Leaf(tree.LeafIndex(i))
	}
	found := false
	for _, p := range g.past {
		found = found || p.epoch == e
		if !found {
			continue
		}
		if ln, ok := p.changed[i]; ok {
			return ln
		}
	}
	if !found {
		return nil
	}
	return g.tree.Leaf(tree.LeafIndex(i))
}

// senderKey returns the signature key of leaf i in epoch e, or nil.
func (g *Group) senderKey(e uint64, i LeafIndex) []byte {
	if ln := g.senderLeaf(e, i); ln != nil {
		return ln.SignatureKey
	}
	return nil
}

// keyIndex finds leaves by signature or encryption key without scanning
// the tree. Entries are only added; a lookup confirms each candidate
// against the tree it is asked about, so one index serves a group and its
// pending successor and stale entries are harmless.
type keyIndex struct {
	sig, enc map[string][]LeafIndex
	n        int
}

func newKeyIndex(t *tree.Tree) *keyIndex {
	k := &keyIndex{sig: map[string][]LeafIndex{}, enc: map[string][]LeafIndex{}}
	for i, ln := range t.Leaves() {
		k.add(LeafIndex(i), ln)
	}
	return k
}

func (k *keyIndex) add(i LeafIndex, ln *wire.LeafNode) {
	k.sig[string(ln.SignatureKey)] = appendLeaf(k.sig[string(ln.SignatureKey)], i)
	k.enc[string(ln.EncryptionKey)] = appendLeaf(k.enc[string(ln.EncryptionKey)], i)
	k.n++
}

func appendLeaf(xs []LeafIndex, i LeafIndex) []LeafIndex {
	if slices.Contains(xs, i) {
		return xs
	}
	return append(xs, i)
}

// maybeRebuild rebuilds the index when stale entries dominate. It compares
// with the tree's width (O(1)) rather than its member count (a scan).
func (k *keyIndex) maybeRebuild(t *tree.Tree) *keyIndex {
	if k.n > 3*int(t.Width())+64 {
		return newKeyIndex(t)
	}
	return k
}

func (k *keyIndex) leafWithSignatureKey(t *tree.Tree, key []byte) (LeafIndex, bool) {
	for _, i := range k.sig[string(key)] {
		if ln := t.Leaf(tree.LeafIndex(i)); ln != nil && bytes.Equal(ln.SignatureKey, key) {
			return i, true
		}
	}
	return 0, false
}

func (k *keyIndex) leafWithEncryptionKey(t *tree.Tree, key []byte) (LeafIndex, bool) {
	for _, i := range k.enc[string(key)] {
		if ln := t.Leaf(tree.LeafIndex(i)); ln != nil && bytes.Equal(ln.EncryptionKey, key) {
			return i, true
		}
	}
	return 0, false
}
