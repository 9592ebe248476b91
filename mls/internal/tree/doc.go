// Package tree is the ratchet tree of RFC 9420 §4 and §7 and TreeKEM
// (§7.4–7.6).
//
// A Tree holds the public state: an array of optional nodes indexed by
// treemath.NodeIndex (Appendix C), always 2^d leaves wide (§7.7), with a
// per-node cache of tree hashes (§7.8) so that a change along one direct path
// recomputes O(log n) hashes. On it the package computes resolutions and
// filtered direct paths (§4.1.2), tree hashes, parent hashes (§7.9) and
// verifies the parent-hash chains of a tree received when joining (§7.9.2);
// it applies the tree operations of §12.1 (Add, Update, Remove, truncation)
// and encodes and decodes the ratchet_tree extension (§12.4.3.3).
//
// TreeKEM: GeneratePath and EncryptPath create an UpdatePath from a member's
// leaf (§7.4–7.6); MergePath and DecryptPath process a received one;
// ImportPathSecret gives a new member the keys its Welcome's path secret
// conveys (§12.4.3.1). The private half of a member's view (its leaf key and
// the keys of the parent nodes it knows, §4.2) is a PrivateKeys value kept
// beside the Tree.
//
// Changes are made in place; a caller that must be able to abandon them (a
// commit that fails validation later, a pending commit of its own) works on
// a copy: Clone, or CloneInto a spare tree to avoid allocating. Every method
// that can fail leaves the tree unchanged when it does. HashCache and
// SetHashCache let a member store the hash cache with its own state, so that
// loading a large group costs no hashing.
//
// Leaf node validation (§7.3) is split: the checks that need only the tree
// (signatures over LeafNodeTBS with VerifyLeafNode and VerifyLeafSignatures,
// key uniqueness, unmerged leaves, parent hashes) are here; the checks that
// need the group's policy (credentials, capabilities, lifetimes,
// leaf_node_source for a given use) belong to the caller. MergePath checks
// the UpdatePath's structure, fresh keys and parent hash but not the
// signature of its leaf node: the caller verifies it with VerifyLeafNode.
//
// Errors: decoding errors match tls.ErrMalformed (a *tls.DecodeError) or
// tls.ErrUnsupported; a tree or UpdatePath that fails a check gives a
// *NodeError naming the node, whose reason is one of this package's
// sentinels (ErrParentHash, ErrSignature, ...); VerifyLeafNode's errors match
// ErrSignature; errors of the randomness source or the cipher suite are
// wrapped as they come. No error carries secret material.
//
// The package is pure: no I/O, no goroutines, no clock; randomness comes from
// the io.Reader the caller passes. A Tree is not safe for concurrent use;
// reading methods that fill the hash cache mutate it, so even concurrent
// readers need a lock or a Clone each.
package tree
