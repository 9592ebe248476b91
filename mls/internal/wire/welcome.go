package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// PathSecret is RFC 9420 §12.4.3.1.
type PathSecret struct {
	PathSecret []byte
}

// MarshalTLS implements tls.Marshaler.
func (p *PathSecret) MarshalTLS(w *tls.Writer) { w.Opaque(p.PathSecret) }

// UnmarshalTLS implements tls.Unmarshaler.
func (p *PathSecret) UnmarshalTLS(r *tls.Reader) { p.PathSecret = r.Opaque() }

// GroupSecrets is RFC 9420 §12.4.3.1, the plaintext of an
// EncryptedGroupSecrets. PathSecret is nil when absent.
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   *PathSecret
	PSKs         []PreSharedKeyID
}

// MarshalTLS implements tls.Marshaler.
func (g *GroupSecrets) MarshalTLS(w *tls.Writer) {
	w.Opaque(g.JoinerSecret)
	w.Optional(g.PathSecret != nil, func(w *tls.Writer) { g.PathSecret.MarshalTLS(w) })
	writeList(w, g.PSKs)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (g *GroupSecrets) UnmarshalTLS(r *tls.Reader) {
	g.JoinerSecret = r.Opaque()
	g.PathSecret = nil
	if r.Optional() {
		g.PathSecret = new(PathSecret)
		g.PathSecret.UnmarshalTLS(r)
	}
	g.PSKs = readList[PreSharedKeyID](r)
}

// EncryptedGroupSecrets is RFC 9420 §12.4.3.1.
type EncryptedGroupSecrets struct {
	NewMember             []byte // KeyPackageRef (§5.2)
	EncryptedGroupSecrets HPKECiphertext
}

// MarshalTLS implements tls.Marshaler.
func (e *EncryptedGroupSecrets) MarshalTLS(w *tls.Writer) {
	w.Opaque(e.NewMember)
	e.EncryptedGroupSecrets.MarshalTLS(w)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (e *EncryptedGroupSecrets) UnmarshalTLS(r *tls.Reader) {
	e.NewMember = r.Opaque()
	e.EncryptedGroupSecrets.UnmarshalTLS(r)
}

// Welcome is RFC 9420 §12.4.3.1.
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

// MarshalTLS implements tls.Marshaler.
func (wm *Welcome) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(wm.CipherSuite))
	writeList(w, wm.Secrets)
	w.Opaque(wm.EncryptedGroupInfo)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (wm *Welcome) UnmarshalTLS(r *tls.Reader) {
	wm.CipherSuite = CipherSuite(r.Uint16())
	wm.Secrets = readList[EncryptedGroupSecrets](r)
	wm.EncryptedGroupInfo = r.Opaque()
}
