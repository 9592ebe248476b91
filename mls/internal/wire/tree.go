package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// ParentNode is RFC 9420 §7.1.
type ParentNode struct {
	EncryptionKey  HPKEPublicKey
	ParentHash     []byte
	UnmergedLeaves []uint32
}

// MarshalTLS implements tls.Marshaler.
func (p *ParentNode) MarshalTLS(w *tls.Writer) {
	w.Opaque(p.EncryptionKey)
	w.Opaque(p.ParentHash)
	w.Vector(func(w *tls.Writer) {
		for _, l := range p.UnmergedLeaves {
			w.Uint32(l)
		}
	})
}

// UnmarshalTLS implements tls.Unmarshaler. It does not check that
// UnmergedLeaves is sorted; tree validation does.
func (p *ParentNode) UnmarshalTLS(r *tls.Reader) {
	p.EncryptionKey = r.Opaque()
	p.ParentHash = r.Opaque()
	p.UnmergedLeaves = nil
	r.Vector(func(r *tls.Reader) { p.UnmergedLeaves = append(p.UnmergedLeaves, r.Uint32()) })
}

// Node is RFC 9420 §12.4.3.3: a leaf or a parent. Exactly the field
// NodeType selects is non-nil.
type Node struct {
	NodeType NodeType
	Leaf     *LeafNode
	Parent   *ParentNode
}

// MarshalTLS implements tls.Marshaler.
func (n *Node) MarshalTLS(w *tls.Writer) {
	w.Uint8(uint8(n.NodeType))
	switch {
	case n.NodeType == NodeTypeLeaf && n.Leaf != nil:
		n.Leaf.MarshalTLS(w)
	case n.NodeType == NodeTypeParent && n.Parent != nil:
		n.Parent.MarshalTLS(w)
	default:
		w.Fail(ErrNoBody)
	}
}

// UnmarshalTLS implements tls.Unmarshaler.
func (n *Node) UnmarshalTLS(r *tls.Reader) {
	n.NodeType = NodeType(r.Uint8())
	n.Leaf, n.Parent = nil, nil
	switch n.NodeType {
	case NodeTypeLeaf:
		n.Leaf = new(LeafNode)
		n.Leaf.UnmarshalTLS(r)
	case NodeTypeParent:
		n.Parent = new(ParentNode)
		n.Parent.UnmarshalTLS(r)
	default:
		failInvalid(r, "node_type")
	}
}

// RatchetTree is RFC 9420 §12.4.3.3: `optional<Node> ratchet_tree<V>`, the
// nodes in array order, nil for a blank node. Decoding keeps the list as
// sent; the rule that the last node is non-blank is checked by package tree.
type RatchetTree []*Node

// MarshalTLS implements tls.Marshaler.
func (t *RatchetTree) MarshalTLS(w *tls.Writer) {
	w.Vector(func(w *tls.Writer) {
		for _, n := range *t {
			w.Optional(n != nil, func(w *tls.Writer) { n.MarshalTLS(w) })
		}
	})
}

// UnmarshalTLS implements tls.Unmarshaler.
func (t *RatchetTree) UnmarshalTLS(r *tls.Reader) {
	*t = nil
	r.Vector(func(r *tls.Reader) {
		var n *Node
		if r.Optional() {
			n = new(Node)
			n.UnmarshalTLS(r)
		}
		*t = append(*t, n)
	})
}

// HPKECiphertext is RFC 9420 §7.6.
type HPKECiphertext struct {
	KEMOutput  []byte
	Ciphertext []byte
}

// MarshalTLS implements tls.Marshaler.
func (c *HPKECiphertext) MarshalTLS(w *tls.Writer) {
	w.Opaque(c.KEMOutput)
	w.Opaque(c.Ciphertext)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (c *HPKECiphertext) UnmarshalTLS(r *tls.Reader) {
	c.KEMOutput = r.Opaque()
	c.Ciphertext = r.Opaque()
}

// UpdatePathNode is RFC 9420 §7.6.
type UpdatePathNode struct {
	EncryptionKey       HPKEPublicKey
	EncryptedPathSecret []HPKECiphertext
}

// MarshalTLS implements tls.Marshaler.
func (n *UpdatePathNode) MarshalTLS(w *tls.Writer) {
	w.Opaque(n.EncryptionKey)
	writeList(w, n.EncryptedPathSecret)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (n *UpdatePathNode) UnmarshalTLS(r *tls.Reader) {
	n.EncryptionKey = r.Opaque()
	n.EncryptedPathSecret = readList[HPKECiphertext](r)
}

// UpdatePath is RFC 9420 §7.6.
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

// MarshalTLS implements tls.Marshaler.
func (p *UpdatePath) MarshalTLS(w *tls.Writer) {
	p.LeafNode.MarshalTLS(w)
	writeList(w, p.Nodes)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (p *UpdatePath) UnmarshalTLS(r *tls.Reader) {
	p.LeafNode.UnmarshalTLS(r)
	p.Nodes = readList[UpdatePathNode](r)
}
