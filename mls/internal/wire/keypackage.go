package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// KeyPackage is RFC 9420 §10.
type KeyPackage struct {
	Version     ProtocolVersion
	CipherSuite CipherSuite
	InitKey     HPKEPublicKey
	LeafNode    LeafNode
	Extensions  Extensions
	Signature   []byte // SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)
}

// MarshalTLS implements tls.Marshaler.
func (kp *KeyPackage) MarshalTLS(w *tls.Writer) {
	(*KeyPackageTBS)(kp).MarshalTLS(w)
	w.Opaque(kp.Signature)
}

// UnmarshalTLS implements tls.Unmarshaler. The version is not checked: a
// KeyPackage of another version is well-formed here and rejected by
// validation (§10.1).
func (kp *KeyPackage) UnmarshalTLS(r *tls.Reader) {
	kp.Version = ProtocolVersion(r.Uint16())
	kp.CipherSuite = CipherSuite(r.Uint16())
	kp.InitKey = r.Opaque()
	kp.LeafNode.UnmarshalTLS(r)
	kp.Extensions.UnmarshalTLS(r)
	kp.Signature = r.Opaque()
}

// KeyPackageTBS is RFC 9420 §10: a KeyPackage without its signature, the
// content the signature covers. Convert with (*KeyPackageTBS)(kp). It is
// encode-only.
type KeyPackageTBS KeyPackage

// MarshalTLS implements tls.Marshaler.
func (t *KeyPackageTBS) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(t.Version))
	w.Uint16(uint16(t.CipherSuite))
	w.Opaque(t.InitKey)
	t.LeafNode.MarshalTLS(w)
	t.Extensions.MarshalTLS(w)
}
