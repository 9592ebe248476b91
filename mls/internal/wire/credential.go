package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// Credential is RFC 9420 §5.3: a basic identity or an X.509 chain.
// Certificates holds the cert_data of each Certificate, end entity first.
type Credential struct {
	CredentialType CredentialType
	Identity       []byte   // basic
	Certificates   [][]byte // x509
}

// MarshalTLS implements tls.Marshaler. An unknown credential type records
// ErrNoBody: there is no body to write.
func (c *Credential) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(c.CredentialType))
	switch c.CredentialType {
	case CredentialTypeBasic:
		w.Opaque(c.Identity)
	case CredentialTypeX509:
		w.Vector(func(w *tls.Writer) {
			for _, cert := range c.Certificates {
				w.Opaque(cert)
			}
		})
	default:
		w.Fail(ErrNoBody)
	}
}

// UnmarshalTLS implements tls.Unmarshaler. The body of an unknown credential
// type has no length prefix, so it is unsupported (§5.3).
func (c *Credential) UnmarshalTLS(r *tls.Reader) {
	c.CredentialType = CredentialType(r.Uint16())
	c.Identity, c.Certificates = nil, nil
	switch c.CredentialType {
	case CredentialTypeBasic:
		c.Identity = r.Opaque()
	case CredentialTypeX509:
		r.Vector(func(r *tls.Reader) { c.Certificates = append(c.Certificates, r.Opaque()) })
	default:
		failUnsupported(r, "credential_type", uint64(c.CredentialType), 2)
	}
}

// Capabilities is RFC 9420 §7.2. Unknown values are kept: §13 says they
// MUST be ignored, not rejected.
type Capabilities struct {
	Versions     []ProtocolVersion
	CipherSuites []CipherSuite
	Extensions   []ExtensionType
	Proposals    []ProposalType
	Credentials  []CredentialType
}

// MarshalTLS implements tls.Marshaler.
func (c *Capabilities) MarshalTLS(w *tls.Writer) {
	writeUint16s(w, c.Versions)
	writeUint16s(w, c.CipherSuites)
	writeUint16s(w, c.Extensions)
	writeUint16s(w, c.Proposals)
	writeUint16s(w, c.Credentials)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (c *Capabilities) UnmarshalTLS(r *tls.Reader) {
	c.Versions = readUint16s[ProtocolVersion](r)
	c.CipherSuites = readUint16s[CipherSuite](r)
	c.Extensions = readUint16s[ExtensionType](r)
	c.Proposals = readUint16s[ProposalType](r)
	c.Credentials = readUint16s[CredentialType](r)
}

// Lifetime is RFC 9420 §7.2: seconds since the Unix epoch.
type Lifetime struct {
	NotBefore uint64
	NotAfter  uint64
}

// MarshalTLS implements tls.Marshaler.
func (l *Lifetime) MarshalTLS(w *tls.Writer) {
	w.Uint64(l.NotBefore)
	w.Uint64(l.NotAfter)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (l *Lifetime) UnmarshalTLS(r *tls.Reader) {
	l.NotBefore = r.Uint64()
	l.NotAfter = r.Uint64()
}

// Extension is RFC 9420 §7.2. ExtensionData is the encoded extension body;
// decoders for known types are below (ExternalSenders, RequiredCapabilities,
// ExternalPub) and in package tree (ratchet_tree).
type Extension struct {
	ExtensionType ExtensionType
	ExtensionData []byte
}

// MarshalTLS implements tls.Marshaler.
func (e *Extension) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(e.ExtensionType))
	w.Opaque(e.ExtensionData)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (e *Extension) UnmarshalTLS(r *tls.Reader) {
	e.ExtensionType = ExtensionType(r.Uint16())
	e.ExtensionData = r.Opaque()
}

// Extensions is the `Extension extensions<V>` list of RFC 9420 §7.2,
// §10, §11 and §12.4.3. Decoding keeps duplicates; Duplicate finds them
// (§13.4: a list MUST NOT hold two extensions of one type).
type Extensions []Extension

// MarshalTLS implements tls.Marshaler.
func (es *Extensions) MarshalTLS(w *tls.Writer) { writeList(w, *es) }

// UnmarshalTLS implements tls.Unmarshaler.
func (es *Extensions) UnmarshalTLS(r *tls.Reader) { *es = readList[Extension](r) }

// Find returns the first extension of type t, or nil.
func (es Extensions) Find(t ExtensionType) *Extension {
	for i := range es {
		if es[i].ExtensionType == t {
			return &es[i]
		}
	}
	return nil
}

// Duplicate reports an extension type that occurs more than once, and
// whether there is one.
func (es Extensions) Duplicate() (ExtensionType, bool) {
	seen := make(map[ExtensionType]bool, len(es))
	for _, e := range es {
		if seen[e.ExtensionType] {
			return e.ExtensionType, true
		}
		seen[e.ExtensionType] = true
	}
	return 0, false
}

// ExternalSender is RFC 9420 §12.1.8.1, an entry of the external_senders
// group context extension.
type ExternalSender struct {
	SignatureKey SignaturePublicKey
	Credential   Credential
}

// MarshalTLS implements tls.Marshaler.
func (e *ExternalSender) MarshalTLS(w *tls.Writer) {
	w.Opaque(e.SignatureKey)
	e.Credential.MarshalTLS(w)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (e *ExternalSender) UnmarshalTLS(r *tls.Reader) {
	e.SignatureKey = r.Opaque()
	e.Credential.UnmarshalTLS(r)
}

// ExternalSenders is the body of the external_senders extension
// (RFC 9420 §12.1.8.1): `ExternalSender external_senders<V>`.
type ExternalSenders []ExternalSender

// MarshalTLS implements tls.Marshaler.
func (es *ExternalSenders) MarshalTLS(w *tls.Writer) { writeList(w, *es) }

// UnmarshalTLS implements tls.Unmarshaler.
func (es *ExternalSenders) UnmarshalTLS(r *tls.Reader) { *es = readList[ExternalSender](r) }

// RequiredCapabilities is the body of the required_capabilities extension
// (RFC 9420 §11.1).
type RequiredCapabilities struct {
	ExtensionTypes  []ExtensionType
	ProposalTypes   []ProposalType
	CredentialTypes []CredentialType
}

// MarshalTLS implements tls.Marshaler.
func (rc *RequiredCapabilities) MarshalTLS(w *tls.Writer) {
	writeUint16s(w, rc.ExtensionTypes)
	writeUint16s(w, rc.ProposalTypes)
	writeUint16s(w, rc.CredentialTypes)
}

// UnmarshalTLS implements tls.Unmarshaler.
func (rc *RequiredCapabilities) UnmarshalTLS(r *tls.Reader) {
	rc.ExtensionTypes = readUint16s[ExtensionType](r)
	rc.ProposalTypes = readUint16s[ProposalType](r)
	rc.CredentialTypes = readUint16s[CredentialType](r)
}

// ExternalPub is the body of the external_pub extension (RFC 9420 §12.4.3.2).
type ExternalPub struct {
	ExternalPub HPKEPublicKey
}

// MarshalTLS implements tls.Marshaler.
func (e *ExternalPub) MarshalTLS(w *tls.Writer) { w.Opaque(e.ExternalPub) }

// UnmarshalTLS implements tls.Unmarshaler.
func (e *ExternalPub) UnmarshalTLS(r *tls.Reader) { e.ExternalPub = r.Opaque() }
