package tree

import (
	"fmt"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// leafNodeTBSLabel is the SignWithLabel label of LeafNodeTBS (§7.2).
const leafNodeTBSLabel = "LeafNodeTBS"

// leafTBS encodes LeafNodeTBS for ln at leaf i of group groupID (§7.2); the
// group ID and index are part of it only for the update and commit sources.
func leafTBS(ln *wire.LeafNode, groupID []byte, i LeafIndex) ([]byte, error) {
	return tls.Marshal(&wire.LeafNodeTBS{LeafNode: ln, GroupID: groupID, LeafIndex: uint32(i)})
}

// SignLeafNode sets ln.Signature to SignWithLabel(., "LeafNodeTBS",
// LeafNodeTBS) (§7.2) with the signature key of signer; groupID and i are
// used for the update and commit sources and ignored for key_package.
func SignLeafNode(signer *cipher.Signer, ln *wire.LeafNode, groupID []byte, i LeafIndex) error {
	tbs, err := leafTBS(ln, groupID, i)
	if err != nil {
		return err
	}
	sig, err := signer.SignWithLabel(leafNodeTBSLabel, tbs)
	if err != nil {
		return err
	}
	ln.Signature = sig
	return nil
}

// VerifyLeafNode checks the signature of ln over LeafNodeTBS with its own
// signature_key (§7.3), ln being (or about to be) the leaf at index i of
// group groupID. A bad signature or key gives an error matching
// ErrSignature (and the cipher package's reason).
func VerifyLeafNode(suite *cipher.Suite, ln *wire.LeafNode, groupID []byte, i LeafIndex) error {
	tbs, err := leafTBS(ln, groupID, i)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if err := suite.VerifyWithLabel(ln.SignatureKey, leafNodeTBSLabel, tbs, ln.Signature); err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return nil
}

// VerifyLeafSignatures checks the signature of every non-blank leaf
// (§7.3) with groupID as context: the check a new member makes on the tree
// it joins. The first failure is a *NodeError matching ErrSignature. It
// costs one signature verification per member; VerifyLeafNode lets a caller
// split the work.
func (t *Tree) VerifyLeafSignatures(groupID []byte) error {
	for i, ln := range t.Leaves() {
		if err := VerifyLeafNode(t.suite, ln, groupID, i); err != nil {
			return nodeErr(i.Node(), err)
		}
	}
	return nil
}

// VerifyUnmergedLeaves checks every parent node's unmerged_leaves (§7.1,
// §4.2): strictly increasing, each a non-blank leaf below the node, and
// listed as unmerged at every non-blank parent between that leaf and the
// node (a node set after the leaf joined would have reset the nodes above
// it too). The first failure is a *NodeError matching ErrUnmergedLeaves.
func (t *Tree) VerifyUnmergedLeaves() error {
	for x := 1; x < len(t.nodes); x += 2 {
		if pn := t.nodes[x].parent; pn != nil {
			if err := t.checkUnmerged(NodeIndex(x), pn.UnmergedLeaves); err != nil {
				return nodeErr(NodeIndex(x), err)
			}
		}
	}
	return nil
}

// checkUnmerged checks the unmerged_leaves of parent node x.
func (t *Tree) checkUnmerged(x NodeIndex, unmerged []uint32) error {
	lo, hi := subtreeLeaves(x)
	for k, l := range unmerged {
		switch {
		case k > 0 && l <= unmerged[k-1]:
			return fmt.Errorf("%w: not sorted", ErrUnmergedLeaves)
		case l < lo || l >= hi:
			return fmt.Errorf("%w: leaf %d not below the node", ErrUnmergedLeaves, l)
		case t.nodes[LeafIndex(l).Node()].leaf == nil:
			return fmt.Errorf("%w: leaf %d is blank", ErrUnmergedLeaves, l)
		case !t.unmergedBelow(LeafIndex(l), x):
			return fmt.Errorf("%w: leaf %d merged below the node", ErrUnmergedLeaves, l)
		}
	}
	return nil
}

// unmergedBelow reports whether leaf l is in the unmerged_leaves of every
// non-blank parent strictly between l and its ancestor x.
func (t *Tree) unmergedBelow(l LeafIndex, x NodeIndex) bool {
	w := t.Width()
	for p, _ := treemath.Parent(l.Node(), w); p != x; p, _ = treemath.Parent(p, w) {
		if pn := t.nodes[p].parent; pn != nil {
			if _, found := slices.BinarySearch(pn.UnmergedLeaves, uint32(l)); !found {
				return false
			}
		}
	}
	return true
}

// VerifyUniqueKeys checks that no HPKE encryption key appears in two
// non-blank nodes and no signature key in two leaves (§7.3). The failure is
// a *NodeError naming the second node, matching ErrDuplicateKey.
func (t *Tree) VerifyUniqueKeys() error {
	enc := make(map[string]struct{}, len(t.nodes))
	sig := make(map[string]struct{}, len(t.nodes)/2+1)
	for x := range t.nodes {
		if t.nodes[x].blank() {
			continue
		}
		k := t.EncryptionKey(NodeIndex(x))
		if _, dup := enc[string(k)]; dup {
			return nodeErr(NodeIndex(x), fmt.Errorf("%w: encryption key", ErrDuplicateKey))
		}
		enc[string(k)] = struct{}{}
		if ln := t.nodes[x].leaf; ln != nil {
			if _, dup := sig[string(ln.SignatureKey)]; dup {
				return nodeErr(NodeIndex(x), fmt.Errorf("%w: signature key", ErrDuplicateKey))
			}
			sig[string(ln.SignatureKey)] = struct{}{}
		}
	}
	return nil
}

// Validate runs the checks a new member makes on the tree of the group it
// joins, beyond the tree hash: unmerged leaves, key uniqueness, parent
// hashes (§7.9.2) and leaf signatures (§7.3) with groupID as context. The
// checks that need the group's policy (credentials, capabilities,
// lifetimes, §7.3) are the caller's.
func (t *Tree) Validate(groupID []byte) error {
	for _, check := range []func() error{
		t.VerifyUnmergedLeaves,
		t.VerifyUniqueKeys,
		t.VerifyParentHashes,
		func() error { return t.VerifyLeafSignatures(groupID) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}
