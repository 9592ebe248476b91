package tree

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// updatePathNodeLabel is the EncryptWithLabel label of path secrets (§7.6).
const updatePathNodeLabel = "UpdatePathNode"

// Path is the private outcome of GeneratePath: the path secrets of the
// committer's filtered direct path, its new private keys and the commit
// secret. It holds secrets; drop it once the commit is confirmed or
// abandoned. It is not safe for concurrent use.
type Path struct {
	leaf         LeafIndex
	leafNode     *wire.LeafNode
	fdp          []NodeIndex
	secrets      [][]byte // path_secret of fdp[i]
	commitSecret []byte
	keys         *PrivateKeys
}

// CommitSecret returns the commit_secret of §8: the path secret one step
// past the last node of the filtered direct path.
func (p *Path) CommitSecret() []byte { return p.commitSecret }

// PrivateKeys returns the committer's private view after the path.
func (p *Path) PrivateKeys() *PrivateKeys { return p.keys }

// LeafNode returns the committer's new, signed leaf node.
func (p *Path) LeafNode() *wire.LeafNode { return p.leafNode }

// PathSecret returns the path secret a new member at leaf joiner receives in
// its Welcome (§12.4.3.1): that of the lowest common ancestor of the joiner
// and the committer. ok is false if that node is not on the filtered direct
// path (the joiner is the committer, or outside the tree).
func (p *Path) PathSecret(joiner LeafIndex) (secret []byte, ok bool) {
	if joiner == p.leaf {
		return nil, false
	}
	k := slices.Index(p.fdp, treemath.CommonAncestor(joiner.Node(), p.leaf.Node()))
	if k < 0 {
		return nil, false
	}
	return p.secrets[k], true
}

// GeneratePath refreshes the direct path of the member at leaf (§7.4, §7.5):
// it blanks the direct path, draws a fresh leaf key pair and a first path
// secret from random, derives the key pairs of the filtered direct path,
// computes the parent hashes (§7.9) and sets the new leaf node: a copy of
// template with a new encryption key, leaf_node_source commit, its parent
// hash, and a signature by signer with groupID as context. template's other
// fields (signature key, credential, capabilities, extensions) are the
// caller's; its signature key must be signer's.
//
// leaf may be the first leaf beyond the tree (an external joiner into a full
// tree, §12.4.3.2): the tree is extended first; a leaf further out gives
// ErrBlankLeaf. Call after applying the commit's proposals;
// then compute TreeHash for the provisional GroupContext and call
// EncryptPath. On error t is unchanged.
func (t *Tree) GeneratePath(random io.Reader, leaf LeafIndex, template *wire.LeafNode, groupID []byte, signer *cipher.Signer) (*Path, error) {
	if !t.pathLeaf(leaf) {
		return nil, nodeErr(leaf.Node(), ErrBlankLeaf)
	}
	leafPriv, leafPub, err := t.suite.GenerateHPKEKey(random)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, t.suite.Nh())
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("tree: path secret: %w", err)
	}
	width := t.Width()
	t.ensureWidth(leaf)
	p, err := t.derivePathFromLeaf(leaf, secret, template, groupID, signer, keyPair{leafPriv, leafPub})
	if err != nil {
		t.shrink(width)
		return nil, err
	}
	t.mergePath(leaf, p.leafNode, p.fdp, pathPublicKeys(p))
	return p, nil
}

// pathLeaf reports whether a path may start at leaf: inside the tree, or the
// first leaf of its extension (an external joiner when the tree is full).
func (t *Tree) pathLeaf(leaf LeafIndex) bool {
	return uint64(leaf) <= uint64(t.Width()) && uint64(leaf) < MaxLeaves
}

// derivePathFromLeaf computes everything GeneratePath needs without
// changing t.
func (t *Tree) derivePathFromLeaf(leaf LeafIndex, secret []byte, template *wire.LeafNode, groupID []byte, signer *cipher.Signer, leafKey keyPair) (*Path, error) {
	p := &Path{leaf: leaf, fdp: t.FilteredDirectPath(leaf), keys: &PrivateKeys{leaf: leaf, keys: map[NodeIndex]keyPair{leaf.Node(): leafKey}}}
	pubs := make([][]byte, len(p.fdp))
	for i, x := range p.fdp {
		kp, err := nodeKeyPair(t.suite, secret)
		if err != nil {
			return nil, err
		}
		p.secrets = append(p.secrets, secret)
		p.keys.keys[x], pubs[i] = kp, kp.pub
		secret = t.suite.DeriveSecret(secret, "path")
	}
	p.commitSecret = secret
	_, leafPH := t.pathParentHashes(leaf.Node(), p.fdp, pubs)
	ln := *template
	ln.EncryptionKey = leafKey.pub
	ln.LeafNodeSource = wire.LeafNodeSourceCommit
	ln.ParentHash = leafPH
	if err := SignLeafNode(signer, &ln, groupID, leaf); err != nil {
		return nil, err
	}
	p.leafNode = &ln
	return p, nil
}

// pathPublicKeys returns the public keys of p's filtered direct path.
func pathPublicKeys(p *Path) [][]byte {
	pubs := make([][]byte, len(p.fdp))
	for i, x := range p.fdp {
		pubs[i] = p.keys.keys[x].pub
	}
	return pubs
}

// shrink undoes ensureWidth: it cuts the tree back to width leaves.
func (t *Tree) shrink(width uint32) {
	t.resize(int(treemath.NodeWidth(width)))
}

// mergePath merges a path into t (§7.5): it blanks the direct path of leaf,
// sets each node of fdp to keys[i] with its parent hash and no unmerged
// leaves, and sets the leaf node.
func (t *Tree) mergePath(leaf LeafIndex, ln *wire.LeafNode, fdp []NodeIndex, keys [][]byte) {
	phs, _ := t.pathParentHashes(leaf.Node(), fdp, keys)
	t.blankDirectPath(leaf)
	for i, x := range fdp {
		t.set(x, node{parent: &wire.ParentNode{EncryptionKey: keys[i], ParentHash: phs[i]}})
	}
	t.set(leaf.Node(), node{leaf: ln})
}

// EncryptPath encrypts each path secret of p to the resolution of the
// copath child of its node (§7.6), excluding the leaves in exclude (the
// members added by the same commit, §12.4.2), with EncryptWithLabel(.,
// "UpdatePathNode", groupContext, path_secret). groupContext is the encoded
// provisional GroupContext, whose tree hash is TreeHash after GeneratePath.
// The HPKE ephemeral keys come from random. t is not changed.
func (t *Tree) EncryptPath(random io.Reader, p *Path, groupContext []byte, exclude []LeafIndex) (*wire.UpdatePath, error) {
	up := &wire.UpdatePath{LeafNode: *p.leafNode, Nodes: make([]wire.UpdatePathNode, len(p.fdp))}
	for i, x := range p.fdp {
		up.Nodes[i].EncryptionKey = p.keys.keys[x].pub
		for _, r := range t.copathResolution(x, p.leaf, exclude) {
			kem, ct, err := t.suite.EncryptWithLabel(random, t.EncryptionKey(r), updatePathNodeLabel, groupContext, p.secrets[i])
			if err != nil {
				return nil, nodeErr(r, err)
			}
			up.Nodes[i].EncryptedPathSecret = append(up.Nodes[i].EncryptedPathSecret, wire.HPKECiphertext{KEMOutput: kem, Ciphertext: ct})
		}
	}
	return up, nil
}

// copathResolution returns the resolution of the child of x on the copath
// of leaf, without the leaves in exclude.
func (t *Tree) copathResolution(x NodeIndex, leaf LeafIndex, exclude []LeafIndex) []NodeIndex {
	res := t.Resolution(copathChild(x, leaf.Node()))
	if len(exclude) == 0 {
		return res
	}
	return slices.DeleteFunc(res, func(r NodeIndex) bool {
		l, isLeaf := r.Leaf()
		return isLeaf && slices.Contains(exclude, l)
	})
}

// MergePath checks a received UpdatePath from the member at sender and
// merges its public part into t (§7.5, §12.4.2): leaf_node_source commit,
// one node per node of the sender's filtered direct path, one ciphertext
// per member of each copath resolution without exclude (the leaves added by
// the same commit), public keys that parse and appear nowhere in t, and the
// leaf's parent hash (§7.9.2). sender must be inside the tree, or the first
// leaf beyond it (an external commit into a full tree), which extends it;
// that a member's sender leaf is non-blank, or an external joiner's the one
// FreeLeaf names, is the caller's check (ErrBlankLeaf otherwise).
//
// It does not verify the leaf node (§7.3: signature, credential,
// capabilities, a new encryption key); the caller does, with
// VerifyLeafNode. On error t is unchanged. Errors are *NodeErrors matching
// ErrLeafSource, ErrPathLength, ErrPublicKey, ErrDuplicateKey or
// ErrParentHash.
func (t *Tree) MergePath(sender LeafIndex, up *wire.UpdatePath, exclude []LeafIndex) error {
	if !t.pathLeaf(sender) {
		return nodeErr(sender.Node(), ErrBlankLeaf)
	}
	width := t.Width()
	t.ensureWidth(sender)
	keys, err := t.checkPath(sender, up, exclude)
	if err != nil {
		t.shrink(width)
		return err
	}
	ln := up.LeafNode
	t.mergePath(sender, &ln, t.FilteredDirectPath(sender), keys)
	return nil
}

// checkPath runs MergePath's checks and returns the path's node keys.
func (t *Tree) checkPath(sender LeafIndex, up *wire.UpdatePath, exclude []LeafIndex) ([][]byte, error) {
	x := sender.Node()
	if up.LeafNode.LeafNodeSource != wire.LeafNodeSourceCommit {
		return nil, nodeErr(x, ErrLeafSource)
	}
	fdp := t.FilteredDirectPath(sender)
	if len(up.Nodes) != len(fdp) {
		return nil, nodeErr(x, fmt.Errorf("%w: %d nodes for a filtered direct path of %d", ErrPathLength, len(up.Nodes), len(fdp)))
	}
	keys := make([][]byte, len(fdp))
	for i, p := range fdp {
		if n, want := len(up.Nodes[i].EncryptedPathSecret), len(t.copathResolution(p, sender, exclude)); n != want {
			return nil, nodeErr(p, fmt.Errorf("%w: %d ciphertexts for a resolution of %d", ErrPathLength, n, want))
		}
		if _, err := t.suite.ParseHPKEPublicKey(up.Nodes[i].EncryptionKey); err != nil {
			return nil, nodeErr(p, fmt.Errorf("%w: %w", ErrPublicKey, err))
		}
		keys[i] = up.Nodes[i].EncryptionKey
	}
	if err := t.checkFreshKeys(append([][]byte{up.LeafNode.EncryptionKey}, keys...)); err != nil {
		return nil, err
	}
	if _, ph := t.pathParentHashes(x, fdp, keys); !bytes.Equal(ph, up.LeafNode.ParentHash) {
		return nil, nodeErr(x, ErrParentHash)
	}
	return keys, nil
}

// checkFreshKeys checks that keys are distinct and that none is the
// encryption key of a node of t (§12.4.2). It scans the key prefixes of
// every node and compares whole keys only on a prefix match.
func (t *Tree) checkFreshKeys(keys [][]byte) error {
	prefixes := make([]uint64, len(keys))
	for i, k := range keys {
		if slices.ContainsFunc(keys[:i], func(o []byte) bool { return bytes.Equal(o, k) }) {
			return nodeErr(t.Root(), fmt.Errorf("%w: repeated in the UpdatePath", ErrDuplicateKey))
		}
		prefixes[i] = keyPrefix(k)
	}
	for x, p := range t.prefix {
		for i, q := range prefixes {
			if p == q && !t.nodes[x].blank() && bytes.Equal(t.EncryptionKey(NodeIndex(x)), keys[i]) {
				return nodeErr(NodeIndex(x), fmt.Errorf("%w: UpdatePath key already in the tree", ErrDuplicateKey))
			}
		}
	}
	return nil
}

// keyPrefix returns the first 8 bytes of k (fewer, zero-padded, if short).
func keyPrefix(k []byte) uint64 {
	var b [8]byte
	copy(b[:], k)
	return binary.LittleEndian.Uint64(b[:])
}

// DecryptPath decrypts a received UpdatePath, already merged with
// MergePath, for the member whose private view is k (§7.5): it finds the
// lowest common ancestor of the member and the sender, decrypts its path
// secret with a key of the member's in the copath resolution (without
// exclude, as for MergePath), derives the secrets and key pairs of the
// nodes above it and checks them against the path's public keys. It
// returns the member's new private view (k is not changed) and the commit
// secret.
//
// Errors are *NodeErrors matching ErrDecrypt (no key, bad ciphertext),
// ErrPathLength or ErrPublicKey.
func (t *Tree) DecryptPath(k *PrivateKeys, sender LeafIndex, up *wire.UpdatePath, groupContext []byte, exclude []LeafIndex) (keys *PrivateKeys, commitSecret []byte, err error) {
	keys, _, commitSecret, err = t.decryptPath(k, sender, up, groupContext, exclude)
	return keys, commitSecret, err
}

// decryptPath is DecryptPath, also returning the decrypted path secret.
func (t *Tree) decryptPath(k *PrivateKeys, sender LeafIndex, up *wire.UpdatePath, groupContext []byte, exclude []LeafIndex) (*PrivateKeys, []byte, []byte, error) {
	fdp := t.FilteredDirectPath(sender)
	if len(up.Nodes) != len(fdp) {
		return nil, nil, nil, nodeErr(sender.Node(), ErrPathLength)
	}
	lca := treemath.CommonAncestor(k.leaf.Node(), sender.Node())
	pos := slices.Index(fdp, lca)
	if k.leaf == sender || pos < 0 {
		return nil, nil, nil, nodeErr(lca, fmt.Errorf("%w: leaf %d is not below the path of leaf %d", ErrDecrypt, k.leaf, sender))
	}
	secret, err := t.decryptPathSecret(k, lca, sender, up.Nodes[pos].EncryptedPathSecret, groupContext, exclude)
	if err != nil {
		return nil, nil, nil, err
	}
	pubs := make([][]byte, len(fdp))
	for i := range fdp {
		pubs[i] = up.Nodes[i].EncryptionKey
	}
	next, commitSecret, err := t.derivePath(k, sender, fdp, pubs, pos, secret)
	return next, secret, commitSecret, err
}

// decryptPathSecret decrypts the path secret of node lca from cts, the
// ciphertexts to the copath resolution, with the key k holds for one of its
// members.
func (t *Tree) decryptPathSecret(k *PrivateKeys, lca NodeIndex, sender LeafIndex, cts []wire.HPKECiphertext, groupContext []byte, exclude []LeafIndex) ([]byte, error) {
	res := t.copathResolution(lca, sender, exclude)
	if len(cts) != len(res) {
		return nil, nodeErr(lca, ErrPathLength)
	}
	for j, r := range res {
		kp, ok := k.keys[r]
		if !ok || !bytes.Equal(kp.pub, t.EncryptionKey(r)) {
			continue
		}
		secret, err := t.suite.DecryptWithLabel(kp.priv, updatePathNodeLabel, groupContext, cts[j].KEMOutput, cts[j].Ciphertext)
		if err != nil {
			return nil, nodeErr(r, fmt.Errorf("%w: %w", ErrDecrypt, err))
		}
		return secret, nil
	}
	return nil, nodeErr(lca, fmt.Errorf("%w: no private key for the copath resolution", ErrDecrypt))
}

// derivePath derives, from the path secret of fdp[pos], the key pairs of
// fdp[pos:] and the commit secret (§7.4), checks each public key against
// pubs, and returns k updated: keys on the sender's direct path replaced,
// outdated keys dropped (§7.5).
func (t *Tree) derivePath(k *PrivateKeys, sender LeafIndex, fdp []NodeIndex, pubs [][]byte, pos int, secret []byte) (*PrivateKeys, []byte, error) {
	next := k.clone()
	for _, x := range t.directPath(sender) {
		delete(next.keys, x)
	}
	for i := pos; i < len(fdp); i++ {
		kp, err := nodeKeyPair(t.suite, secret)
		if err != nil {
			return nil, nil, nodeErr(fdp[i], err)
		}
		if !bytes.Equal(kp.pub, pubs[i]) {
			return nil, nil, nodeErr(fdp[i], ErrPublicKey)
		}
		next.keys[fdp[i]] = kp
		secret = t.suite.DeriveSecret(secret, "path")
	}
	next.prune(t)
	return next, secret, nil
}

// ImportPathSecret gives a new member the keys a Welcome's path_secret
// conveys (§12.4.3.1): pathSecret is the secret of the lowest common
// ancestor of k's leaf and committer's, which must be on committer's
// filtered direct path; the key pairs of it and the nodes above it on that
// path are derived and checked against t. It returns the new private view;
// k is not changed. Errors match ErrDecrypt (no such node) or ErrPublicKey.
func (t *Tree) ImportPathSecret(k *PrivateKeys, committer LeafIndex, pathSecret []byte) (*PrivateKeys, error) {
	fdp := t.FilteredDirectPath(committer)
	lca := treemath.CommonAncestor(k.leaf.Node(), committer.Node())
	pos := slices.Index(fdp, lca)
	if k.leaf == committer || pos < 0 {
		return nil, nodeErr(lca, fmt.Errorf("%w: leaf %d is not below the path of leaf %d", ErrDecrypt, k.leaf, committer))
	}
	pubs := make([][]byte, len(fdp))
	for i, x := range fdp {
		pubs[i] = t.EncryptionKey(x)
	}
	next, _, err := t.derivePath(k, committer, fdp, pubs, pos, pathSecret)
	return next, err
}
