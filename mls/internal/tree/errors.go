package tree

import (
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

// Reasons a ratchet_tree encoding is malformed (§12.4.3.3). Decode wraps them
// in a *tls.DecodeError, so they also match tls.ErrMalformed.
var (
	// ErrTrailingBlank: the last entry of ratchet_tree is blank, which the
	// sender MUST NOT do and the receiver MUST check (§12.4.3.3).
	ErrTrailingBlank = errors.New("tree: ratchet_tree ends with a blank node")
	// ErrNodeType: a leaf node at an odd (parent) position, or a parent node
	// at an even (leaf) position.
	ErrNodeType = errors.New("tree: node type does not match its position")
	// ErrTooManyNodes: ratchet_tree holds more nodes than MaxLeaves allows.
	ErrTooManyNodes = errors.New("tree: ratchet_tree too large")
	// ErrEmptyTree: ratchet_tree has no entries.
	ErrEmptyTree = errors.New("tree: ratchet_tree is empty")
)

// Reasons a well-formed tree or UpdatePath is invalid. They are reported in a
// *NodeError naming the node, so callers can match the reason with errors.Is
// and read the node with errors.As. All of them mean the peer that sent the
// tree or path misbehaved (a "reject" verdict), except where noted.
var (
	// ErrUnmergedLeaves: a parent node's unmerged_leaves are not sorted, not
	// below the node, name a blank leaf, or are missing from the parent
	// node's own parent (§7.1, §4.2).
	ErrUnmergedLeaves = errors.New("tree: invalid unmerged leaves")
	// ErrParentHash: a parent hash does not verify (§7.9.2).
	ErrParentHash = errors.New("tree: parent hash mismatch")
	// ErrSignature: a leaf node's signature over LeafNodeTBS does not verify
	// (§7.3).
	ErrSignature = errors.New("tree: bad leaf node signature")
	// ErrDuplicateKey: an encryption or signature key appears twice (§7.3).
	ErrDuplicateKey = errors.New("tree: duplicate public key")
	// ErrBlankLeaf: an operation names a blank leaf (a Remove or Update of
	// nobody, an UpdatePath from a blank leaf) or a leaf outside the tree.
	ErrBlankLeaf = errors.New("tree: leaf is blank or outside the tree")
	// ErrLeafSource: a leaf node's leaf_node_source is wrong for its use.
	ErrLeafSource = errors.New("tree: wrong leaf_node_source")
	// ErrPathLength: an UpdatePath has a different number of nodes than the
	// sender's filtered direct path, or a node has a different number of
	// ciphertexts than its copath resolution (§7.6, §12.4.2).
	ErrPathLength = errors.New("tree: UpdatePath does not fit the tree")
	// ErrPublicKey: a public key derived from a decrypted path secret differs
	// from the one in the UpdatePath (§7.5), or a private key does not match
	// the tree.
	ErrPublicKey = errors.New("tree: public key mismatch")
	// ErrDecrypt: no path secret could be decrypted: the ciphertext is bad or
	// the receiver holds no private key for its copath resolution (§7.5).
	ErrDecrypt = errors.New("tree: cannot decrypt path secret")
	// ErrTreeFull: the tree cannot grow beyond MaxLeaves (a local limit).
	ErrTreeFull = errors.New("tree: too many leaves")
	// ErrHashCache: a saved hash cache has the wrong size for the tree (a
	// local storage error, not a peer's).
	ErrHashCache = errors.New("tree: hash cache does not fit the tree")
)

// NodeError reports which node of the tree failed a check and why. Err is
// one of the sentinels above, possibly wrapping a lower-level error; it never
// holds secret material.
type NodeError struct {
	Node treemath.NodeIndex
	Err  error
}

// Error names the node and the reason.
func (e *NodeError) Error() string {
	return fmt.Sprintf("mls: ratchet tree node %d: %v", e.Node, e.Err)
}

// Unwrap returns the reason.
func (e *NodeError) Unwrap() error { return e.Err }

func nodeErr(x treemath.NodeIndex, err error) error {
	return &NodeError{Node: x, Err: err}
}
