package mls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/transcript"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/welcome"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// groupInfo builds and signs the GroupInfo of g's epoch (§12.4.3) with the
// given confirmation tag.
func (g *Group) groupInfo(tag []byte, withTree, externalPub bool) (*wire.GroupInfo, error) {
	gi := &wire.GroupInfo{GroupContext: g.gc, ConfirmationTag: tag, Signer: uint32(g.OwnLeaf())}
	if withTree {
		rt, err := g.tree.Encode()
		if err != nil {
			return nil, err
		}
		gi.Extensions = append(gi.Extensions, wire.Extension{ExtensionType: wire.ExtensionTypeRatchetTree, ExtensionData: rt})
	}
	if externalPub {
		_, pub, err := schedule.ExternalKeyPair(g.suite, g.ep.external)
		if err != nil {
			return nil, err
		}
		ep := tls.MustMarshal(&wire.ExternalPub{ExternalPub: pub})
		gi.Extensions = append(gi.Extensions, wire.Extension{ExtensionType: wire.ExtensionTypeExternalPub, ExtensionData: ep})
	}
	if err := welcome.SignGroupInfo(g.signer, gi); err != nil {
		return nil, err
	}
	return gi, nil
}

// GroupInfo returns a signed GroupInfo of the current epoch as an
// MLSMessage (§12.4.3), with the external_pub extension so that a new
// member can join by external commit (§12.4.3.2), and the ratchet tree if
// withTree.
func (g *Group) GroupInfo(withTree bool) ([]byte, error) {
	if !g.active {
		return nil, ErrInactive
	}
	tag := transcript.ConfirmationTag(g.suite, g.ep.confirmation, g.gc.ConfirmedTranscriptHash)
	gi, err := g.groupInfo(tag, withTree, true)
	if err != nil {
		return nil, err
	}
	return tls.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatGroupInfo, GroupInfo: gi})
}

func encryptGroupInfo(suite *cipher.Suite, joiner, pskSecret []byte, gi *wire.GroupInfo) ([]byte, error) {
	return welcome.EncryptGroupInfo(suite, welcome.Secret(suite, joiner, pskSecret), gi)
}

// groupSecretsFor encrypts the GroupSecrets of one new member (§12.4.3.1).
func (g *Group) groupSecretsFor(random io.Reader, pv *provisional, path *tree.Path, joiner []byte, leaf LeafIndex, kp *wire.KeyPackage, encGI []byte) (*wire.EncryptedGroupSecrets, error) {
	gs := wire.GroupSecrets{JoinerSecret: joiner, PSKs: pv.psks}
	if path != nil {
		if ps, ok := path.PathSecret(tree.LeafIndex(leaf)); ok {
			gs.PathSecret = &wire.PathSecret{PathSecret: ps}
		}
	}
	initKey, err := g.suite.ParseHPKEPublicKey(kp.InitKey)
	if err != nil {
		return nil, err
	}
	ct, err := welcome.EncryptGroupSecrets(random, initKey, encGI, &gs)
	if err != nil {
		return nil, err
	}
	return &wire.EncryptedGroupSecrets{NewMember: g.suite.MakeKeyPackageRef(tls.MustMarshal(kp)), EncryptedGroupSecrets: *ct}, nil
}

// JoinGroup joins a group from a Welcome (RFC 9420 §12.4.3.1) with the key
// package bundle it was made for. ratchetTree is the ratchet_tree contents
// (§12.4.3.3) when the Welcome's GroupInfo does not carry it, else nil.
// now is the time of the join. It is currently unused: the lifetimes of
// the tree's leaves are deliberately not checked (§7.3 recommends but does
// not require it, and members stay members after their key packages'
// lifetimes end); it is kept for lifetime policy.
//
// It checks everything §12.4.3.1 lists: the group secrets decrypt, the
// PSKs are known, the GroupInfo decrypts and is signed by its signer leaf,
// the tree matches the GroupContext's tree hash and is valid (unmerged
// leaves, unique keys, parent hashes, leaf signatures, credentials through
// the authentication service, capabilities), the member's own leaf is in
// the tree, the path secret fits, and the confirmation tag verifies.
func JoinGroup(welcomeMsg []byte, bundle *KeyPackageBundle, ratchetTree []byte, cfg Config, now time.Time) (*Group, error) {
	if cfg.AuthenticationService == nil {
		return nil, fmt.Errorf("%w: no authentication service", ErrCredential)
	}
	var m wire.MLSMessage
	if err := wire.Unmarshal(welcomeMsg, &m); err != nil {
		return nil, fmt.Errorf("mls: welcome: %w", err)
	}
	if m.WireFormat != wire.WireFormatWelcome || m.Welcome == nil {
		return nil, fmt.Errorf("%w: mls: not a welcome (wire format %d)", ErrMalformed, m.WireFormat)
	}
	j := &joiner{cfg: cfg, bundle: bundle, w: m.Welcome}
	return j.join(ratchetTree)
}

// joiner carries a join from a Welcome through its steps.
type joiner struct {
	cfg    Config
	bundle *KeyPackageBundle
	w      *wire.Welcome
	suite  *cipher.Suite
	gs     *wire.GroupSecrets
	psk    []byte
	gi     *wire.GroupInfo
	// linked is the predecessor's reinit PSK (JoinReInitGroup), and
	// usedLinked whether the Welcome named it.
	linked     *linkedPSK
	usedLinked bool
}

func (j *joiner) join(ratchetTree []byte) (*Group, error) {
	if err := j.openSecrets(); err != nil {
		return nil, err
	}
	gi, err := welcome.DecryptGroupInfo(j.suite, welcome.Secret(j.suite, j.gs.JoinerSecret, j.psk), j.w.EncryptedGroupInfo)
	if err != nil {
		return nil, fmt.Errorf("%w: group info: %w", ErrDecryption, err)
	}
	j.gi = gi
	if gi.GroupContext.CipherSuite != j.w.CipherSuite || gi.GroupContext.Version != wire.MLS10 {
		return nil, fmt.Errorf("%w: group info suite or version", ErrInvalidTree)
	}
	t, err := groupTree(j.suite, gi, ratchetTree)
	if err != nil {
		return nil, err
	}
	if err := validateJoinTree(t, &gi.GroupContext, j.cfg.AuthenticationService); err != nil {
		return nil, err
	}
	if err := verifyGroupInfo(j.suite, t, gi); err != nil {
		return nil, err
	}
	return j.build(t)
}

// openSecrets decrypts the GroupSecrets and resolves the PSKs.
func (j *joiner) openSecrets() error {
	kp := &j.bundle.kp.kp
	suite, err := cipher.Lookup(uint16(j.w.CipherSuite))
	if err != nil {
		return err
	}
	if j.w.CipherSuite != kp.CipherSuite {
		return fmt.Errorf("%w: welcome suite %d, key package suite %d", ErrNotForUs, j.w.CipherSuite, kp.CipherSuite)
	}
	j.suite = suite
	initPriv, err := suite.ParseHPKEPrivateKey(j.bundle.initPriv)
	if err != nil {
		return err
	}
	gs, err := welcome.DecryptGroupSecrets(suite, initPriv, j.w, kp)
	switch {
	case errors.Is(err, welcome.ErrNotForUs):
		return fmt.Errorf("%w: %w", ErrNotForUs, err)
	case err != nil:
		return fmt.Errorf("%w: group secrets: %w", ErrDecryption, err)
	}
	j.gs = gs
	return j.resolvePSKs()
}

// resolvePSKs computes the psk_secret of the Welcome's PSKs (§8.4). A
// joiner holds external PSKs, and for JoinReInitGroup the predecessor's
// reinit PSK.
func (j *joiner) resolvePSKs() error {
	if len(j.gs.PSKs) == 0 {
		return nil
	}
	psks := make([]schedule.PSK, len(j.gs.PSKs))
	for i := range j.gs.PSKs {
		id := &j.gs.PSKs[i]
		s, ok := j.cfg.psk(id.PSKID)
		if j.linked.matches(id) {
			s, ok, j.usedLinked = j.linked.psk, true, true
		} else if id.PSKType != wire.PSKTypeExternal {
			ok = false
		}
		if !ok {
			return ErrUnknownPSK
		}
		psks[i] = schedule.PSK{ID: tls.MustMarshal(id), Secret: s}
	}
	s, err := schedule.PSKSecret(j.suite, psks)
	j.psk = s
	return err
}

// groupTree returns the tree from the GroupInfo's ratchet_tree extension
// or, failing that, the one supplied (§12.4.3.3).
func groupTree(suite *cipher.Suite, gi *wire.GroupInfo, supplied []byte) (*tree.Tree, error) {
	data := supplied
	if e := gi.Extensions.Find(wire.ExtensionTypeRatchetTree); e != nil {
		data = e.ExtensionData
	}
	if data == nil {
		return nil, fmt.Errorf("%w: no ratchet tree in the welcome and none supplied", ErrInvalidTree)
	}
	t, err := tree.Decode(suite, data)
	if err != nil {
		return nil, fmt.Errorf("mls: ratchet tree: %w", err)
	}
	return t, nil
}

// verifyGroupInfo checks the GroupInfo signature with its signer's key
// (§12.4.3.1).
func verifyGroupInfo(suite *cipher.Suite, t *tree.Tree, gi *wire.GroupInfo) error {
	ln := t.Leaf(tree.LeafIndex(gi.Signer))
	if ln == nil {
		return fmt.Errorf("%w: group info signer %d is blank", ErrInvalidTree, gi.Signer)
	}
	v, err := suite.NewVerifier(ln.SignatureKey)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	if err := welcome.VerifyGroupInfo(v, gi); err != nil {
		return fmt.Errorf("%w: group info: %w", ErrInvalidSignature, err)
	}
	return nil
}

// build assembles the joined group: own leaf, private keys, key schedule
// from the joiner secret, confirmation tag.
func (j *joiner) build(t *tree.Tree) (*Group, error) {
	g := &Group{cfg: j.cfg, suite: j.suite, gc: j.gi.GroupContext, tree: t, sigPriv: slices.Clone(j.bundle.sigPriv), active: true}
	g.index = newKeyIndex(t)
	own, ok := g.index.leafWithEncryptionKey(t, j.bundle.kp.kp.LeafNode.EncryptionKey)
	if !ok || !bytes.Equal(t.Leaf(tree.LeafIndex(own)).SignatureKey, j.bundle.kp.kp.LeafNode.SignatureKey) {
		return nil, fmt.Errorf("%w: own leaf not in the tree", ErrInvalidTree)
	}
	var err error
	if g.signer, err = j.suite.NewSigner(g.sigPriv); err != nil {
		return nil, err
	}
	if g.keys, err = j.privateKeys(t, tree.LeafIndex(own)); err != nil {
		return nil, err
	}
	if err := g.encodeContext(); err != nil {
		return nil, err
	}
	s := schedule.DeriveFromJoiner(j.suite, j.gs.JoinerSecret, j.psk, g.gcRaw)
	if err := welcome.VerifyConfirmationTag(j.suite, s.Confirmation, j.gi); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfirmationTag, err)
	}
	if g.interim, err = transcript.Interim(j.suite, g.gc.ConfirmedTranscriptHash, j.gi.ConfirmationTag); err != nil {
		return nil, err
	}
	if err := g.setSecrets(&s); err != nil {
		return nil, err
	}
	return g, nil
}

// privateKeys returns the joiner's private view: its leaf key and the
// path secret's keys (§12.4.3.1).
func (j *joiner) privateKeys(t *tree.Tree, own tree.LeafIndex) (*tree.PrivateKeys, error) {
	k, err := tree.NewPrivateKeys(j.suite, own, j.bundle.encPriv)
	if err != nil || j.gs.PathSecret == nil {
		return k, err
	}
	k, err = t.ImportPathSecret(k, tree.LeafIndex(j.gi.Signer), j.gs.PathSecret.PathSecret)
	if err != nil {
		return nil, fmt.Errorf("%w: path secret: %w", ErrInvalidTree, err)
	}
	return k, nil
}
