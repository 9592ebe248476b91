package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// ProtocolVersion is RFC 9420 §6.
type ProtocolVersion uint16

// MLS10 is the only protocol version defined by RFC 9420 (§6).
const MLS10 ProtocolVersion = 1

// CipherSuite is RFC 9420 §5.1; the values are those of the IANA registry (§17.1).
type CipherSuite uint16

// The cipher suites of RFC 9420 §17.1.
const (
	MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519        CipherSuite = 1
	MLS_128_DHKEMP256_AES128GCM_SHA256_P256             CipherSuite = 2
	MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519 CipherSuite = 3
	MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448            CipherSuite = 4
	MLS_256_DHKEMP521_AES256GCM_SHA512_P521             CipherSuite = 5
	MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448     CipherSuite = 6
	MLS_256_DHKEMP384_AES256GCM_SHA384_P384             CipherSuite = 7
)

// ContentType is RFC 9420 §6. It is a closed enum: values other than those
// below are malformed where a select depends on them.
type ContentType uint8

// The content types of RFC 9420 §6.
const (
	ContentTypeApplication ContentType = 1
	ContentTypeProposal    ContentType = 2
	ContentTypeCommit      ContentType = 3
)

// WireFormat is RFC 9420 §6; the values are those of the IANA registry (§17.2).
type WireFormat uint16

// The wire formats of RFC 9420 §17.2.
const (
	WireFormatPublicMessage  WireFormat = 1
	WireFormatPrivateMessage WireFormat = 2
	WireFormatWelcome        WireFormat = 3
	WireFormatGroupInfo      WireFormat = 4
	WireFormatKeyPackage     WireFormat = 5
)

// SenderType is RFC 9420 §6, a closed enum.
type SenderType uint8

// The sender types of RFC 9420 §6.
const (
	SenderTypeMember            SenderType = 1
	SenderTypeExternal          SenderType = 2
	SenderTypeNewMemberProposal SenderType = 3
	SenderTypeNewMemberCommit   SenderType = 4
)

// CredentialType is RFC 9420 §5.3; the values are those of the IANA registry (§17.5).
type CredentialType uint16

// The credential types of RFC 9420 §17.5.
const (
	CredentialTypeBasic CredentialType = 1
	CredentialTypeX509  CredentialType = 2
)

// ExtensionType is RFC 9420 §7.2; the values are those of the IANA registry (§17.3).
type ExtensionType uint16

// The extension types of RFC 9420 §17.3.
const (
	ExtensionTypeApplicationID        ExtensionType = 1
	ExtensionTypeRatchetTree          ExtensionType = 2
	ExtensionTypeRequiredCapabilities ExtensionType = 3
	ExtensionTypeExternalPub          ExtensionType = 4
	ExtensionTypeExternalSenders      ExtensionType = 5
)

// ProposalType is RFC 9420 §12.1; the values are those of the IANA registry (§17.4).
type ProposalType uint16

// The proposal types of RFC 9420 §17.4.
const (
	ProposalTypeAdd                    ProposalType = 1
	ProposalTypeUpdate                 ProposalType = 2
	ProposalTypeRemove                 ProposalType = 3
	ProposalTypePSK                    ProposalType = 4
	ProposalTypeReInit                 ProposalType = 5
	ProposalTypeExternalInit           ProposalType = 6
	ProposalTypeGroupContextExtensions ProposalType = 7
)

// LeafNodeSource is RFC 9420 §7.2, a closed enum.
type LeafNodeSource uint8

// The leaf node sources of RFC 9420 §7.2.
const (
	LeafNodeSourceKeyPackage LeafNodeSource = 1
	LeafNodeSourceUpdate     LeafNodeSource = 2
	LeafNodeSourceCommit     LeafNodeSource = 3
)

// NodeType is RFC 9420 §7.8, a closed enum.
type NodeType uint8

// The node types of RFC 9420 §7.8.
const (
	NodeTypeLeaf   NodeType = 1
	NodeTypeParent NodeType = 2
)

// PSKType is RFC 9420 §8.4, a closed enum.
type PSKType uint8

// The PSK types of RFC 9420 §8.4.
const (
	PSKTypeExternal   PSKType = 1
	PSKTypeResumption PSKType = 2
)

// ResumptionPSKUsage is RFC 9420 §8.4. No select depends on it, so decoding
// accepts any value; the state machine checks it.
type ResumptionPSKUsage uint8

// The resumption PSK usages of RFC 9420 §8.4.
const (
	ResumptionPSKUsageApplication ResumptionPSKUsage = 1
	ResumptionPSKUsageReInit      ResumptionPSKUsage = 2
	ResumptionPSKUsageBranch      ResumptionPSKUsage = 3
)

// ProposalOrRefType is RFC 9420 §12.4, a closed enum.
type ProposalOrRefType uint8

// The ProposalOrRef types of RFC 9420 §12.4.
const (
	ProposalOrRefTypeProposal  ProposalOrRefType = 1
	ProposalOrRefTypeReference ProposalOrRefType = 2
)

// writeUint16s writes a <V> vector of 16-bit code points.
func writeUint16s[T ~uint16](w *tls.Writer, xs []T) {
	w.Vector(func(w *tls.Writer) {
		for _, x := range xs {
			w.Uint16(uint16(x))
		}
	})
}

// readUint16s reads a <V> vector of 16-bit code points.
func readUint16s[T ~uint16](r *tls.Reader) []T {
	var xs []T
	r.Vector(func(r *tls.Reader) { xs = append(xs, T(r.Uint16())) })
	return xs
}

// writeList writes a <V> vector of structs.
func writeList[T any, P interface {
	*T
	tls.Marshaler
}](w *tls.Writer, xs []T) {
	w.Vector(func(w *tls.Writer) {
		for i := range xs {
			P(&xs[i]).MarshalTLS(w)
		}
	})
}

// readList reads a <V> vector of structs.
func readList[T any, P interface {
	*T
	tls.Unmarshaler
}](r *tls.Reader) []T {
	var xs []T
	r.Vector(func(r *tls.Reader) {
		var x T
		P(&x).UnmarshalTLS(r)
		xs = append(xs, x)
	})
	return xs
}
