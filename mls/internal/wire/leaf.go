package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// HPKEPublicKey is RFC 9420 §5.1.1: `opaque HPKEPublicKey<V>`, in the KEM's
// serialization.
type HPKEPublicKey = []byte

// SignaturePublicKey is RFC 9420 §5.1.1: `opaque SignaturePublicKey<V>`.
type SignaturePublicKey = []byte

// LeafNode is RFC 9420 §7.2. Lifetime is meaningful when LeafNodeSource is
// key_package, ParentHash when it is commit; the other is ignored.
type LeafNode struct {
	EncryptionKey  HPKEPublicKey
	SignatureKey   SignaturePublicKey
	Credential     Credential
	Capabilities   Capabilities
	LeafNodeSource LeafNodeSource
	Lifetime       Lifetime // key_package
	ParentHash     []byte   // commit
	Extensions     Extensions
	Signature      []byte // SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)
}

// MarshalTLS implements tls.Marshaler.
func (ln *LeafNode) MarshalTLS(w *tls.Writer) {
	ln.marshalContent(w)
	w.Opaque(ln.Signature)
}

// marshalContent writes the fields shared by LeafNode and LeafNodeTBS.
func (ln *LeafNode) marshalContent(w *tls.Writer) {
	w.Opaque(ln.EncryptionKey)
	w.Opaque(ln.SignatureKey)
	ln.Credential.MarshalTLS(w)
	ln.Capabilities.MarshalTLS(w)
	w.Uint8(uint8(ln.LeafNodeSource))
	switch ln.LeafNodeSource {
	case LeafNodeSourceKeyPackage:
		ln.Lifetime.MarshalTLS(w)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		w.Opaque(ln.ParentHash)
	default:
		w.Fail(ErrNoBody)
	}
	ln.Extensions.MarshalTLS(w)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (ln *LeafNode) UnmarshalTLS(r *tls.Reader) {
	*ln = LeafNode{} // no stale Lifetime or ParentHash from another source
	ln.EncryptionKey = r.Opaque()
	ln.SignatureKey = r.Opaque()
	ln.Credential.UnmarshalTLS(r)
	ln.Capabilities.UnmarshalTLS(r)
	ln.LeafNodeSource = LeafNodeSource(r.Uint8())
	switch ln.LeafNodeSource {
	case LeafNodeSourceKeyPackage:
		ln.Lifetime.UnmarshalTLS(r)
	case LeafNodeSourceUpdate:
	case LeafNodeSourceCommit:
		ln.ParentHash = r.Opaque()
	default:
		failInvalid(r, "leaf_node_source")
	}
	ln.Extensions.UnmarshalTLS(r)
	ln.Signature = r.Opaque()
}

// LeafNodeTBS is RFC 9420 §7.2: the content a LeafNode's signature covers.
// GroupID and LeafIndex are written only for the update and commit sources.
// LeafNode must be non-nil. It is encode-only.
type LeafNodeTBS struct {
	LeafNode  *LeafNode
	GroupID   []byte
	LeafIndex uint32
}

// MarshalTLS implements tls.Marshaler.
func (t *LeafNodeTBS) MarshalTLS(w *tls.Writer) {
	t.LeafNode.marshalContent(w)
	switch t.LeafNode.LeafNodeSource {
	case LeafNodeSourceUpdate, LeafNodeSourceCommit:
		w.Opaque(t.GroupID)
		w.Uint32(t.LeafIndex)
	}
}
