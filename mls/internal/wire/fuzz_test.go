package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// codec is a pointer to a wire struct.
type codec[T any] interface {
	*T
	tls.Marshaler
	tls.Unmarshaler
}

// checkRoundTrip asserts the decoder contract on b: accepted input
// re-encodes to itself; rejected input gives exactly one of ErrMalformed (as
// a *tls.DecodeError) or ErrUnsupported (as an *UnsupportedError).
func checkRoundTrip[T any, P codec[T]](t *testing.T, b []byte) {
	v := P(new(T))
	err := Unmarshal(b, v)
	if err != nil {
		checkDecodeError(t, err)
		return
	}
	out, err := Marshal(v)
	if err != nil {
		t.Fatalf("accepted %x but cannot re-encode: %v", b, err)
	}
	if !bytes.Equal(out, b) {
		t.Fatalf("re-encoding differs\n got %x\nwant %x", out, b)
	}
}

// checkDecodeError asserts that err is typed and is malformed or
// unsupported, never both.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	malformed, unsup := errors.Is(err, tls.ErrMalformed), errors.Is(err, tls.ErrUnsupported)
	var de *tls.DecodeError
	var ue *UnsupportedError
	switch {
	case malformed && !unsup && errors.As(err, &de):
	case unsup && !malformed && errors.As(err, &ue):
	default:
		t.Fatalf("error %v (%T): malformed=%v unsupported=%v", err, err, malformed, unsup)
	}
}

// seeds loads messages.json and returns the byte strings pick chooses.
func seeds(f *testing.F, pick func(c *messagesVector) [][]byte) {
	var cases []messagesVector
	vectortest.Load(f, "messages", &cases)
	for i := range cases {
		for _, b := range pick(&cases[i]) {
			f.Add([]byte(b))
		}
	}
}

// body strips the MLSMessage header (version, wire format).
func body(m []byte) []byte { return m[4:] }

func FuzzMLSMessage(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte {
		return [][]byte{c.MLSWelcome, c.MLSGroupInfo, c.MLSKeyPackage, c.PublicMessageApplication,
			c.PublicMessageProposal, c.PublicMessageCommit, c.PrivateMessage}
	})
	f.Fuzz(checkRoundTrip[MLSMessage])
}

func FuzzKeyPackage(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{body(c.MLSKeyPackage), c.AddProposal} })
	f.Fuzz(checkRoundTrip[KeyPackage])
}

func FuzzLeafNode(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{c.UpdateProposal} })
	f.Fuzz(checkRoundTrip[LeafNode])
}

func FuzzWelcome(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{body(c.MLSWelcome)} })
	f.Fuzz(checkRoundTrip[Welcome])
}

func FuzzGroupInfo(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{body(c.MLSGroupInfo)} })
	f.Fuzz(checkRoundTrip[GroupInfo])
}

func FuzzGroupSecrets(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{c.GroupSecrets} })
	f.Fuzz(checkRoundTrip[GroupSecrets])
}

func FuzzCommit(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{c.Commit} })
	f.Fuzz(checkRoundTrip[Commit])
}

// proposalSeeds prefixes each proposal body of a case with its type.
func proposalSeeds(c *messagesVector) [][]byte {
	bodies := []struct {
		t ProposalType
		b []byte
	}{
		{ProposalTypeAdd, c.AddProposal}, {ProposalTypeUpdate, c.UpdateProposal},
		{ProposalTypeRemove, c.RemoveProposal}, {ProposalTypePSK, c.PreSharedKeyProposal},
		{ProposalTypeReInit, c.ReInitProposal}, {ProposalTypeExternalInit, c.ExternalInitProposal},
		{ProposalTypeGroupContextExtensions, c.GroupContextExtensionsProposal},
	}
	var out [][]byte
	for _, p := range bodies {
		out = append(out, append([]byte{byte(p.t >> 8), byte(p.t)}, p.b...))
	}
	return out
}

func FuzzProposal(f *testing.F) {
	seeds(f, proposalSeeds)
	f.Fuzz(checkRoundTrip[Proposal])
}

func FuzzRatchetTree(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte { return [][]byte{c.RatchetTree} })
	f.Fuzz(checkRoundTrip[RatchetTree])
}

// publicContents decodes the three PublicMessages of a case.
func publicContents(c *messagesVector) []*PublicMessage {
	var out []*PublicMessage
	for _, b := range [][]byte{c.PublicMessageApplication, c.PublicMessageProposal, c.PublicMessageCommit} {
		var m MLSMessage
		if Unmarshal(b, &m) == nil && m.PublicMessage != nil {
			out = append(out, m.PublicMessage)
		}
	}
	return out
}

func FuzzAuthenticatedContent(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte {
		var out [][]byte
		for _, pm := range publicContents(c) {
			ac := AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}
			out = append(out, tls.MustMarshal(&ac))
		}
		return out
	})
	f.Fuzz(checkRoundTrip[AuthenticatedContent])
}

// FuzzPrivateMessageContent takes the content type from the first byte.
func FuzzPrivateMessageContent(f *testing.F) {
	seeds(f, func(c *messagesVector) [][]byte {
		var out [][]byte
		for _, pm := range publicContents(c) {
			pc := PrivateMessageContent{ApplicationData: pm.Content.ApplicationData, Proposal: pm.Content.Proposal,
				Commit: pm.Content.Commit, Auth: pm.Auth, Padding: 3}
			w := tls.Writer{}
			w.Uint8(uint8(pm.Content.ContentType))
			pc.MarshalFor(&w, pm.Content.ContentType)
			out = append(out, w.Bytes())
		}
		return out
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		ct := ContentType(b[0])
		pc, err := UnmarshalPrivateMessageContent(b[1:], ct)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		var w tls.Writer
		w.Uint8(b[0])
		pc.MarshalFor(&w, ct)
		if w.Err() != nil || !bytes.Equal(w.Bytes(), b) {
			t.Fatalf("re-encoding differs (%v)\n got %x\nwant %x", w.Err(), w.Bytes(), b)
		}
	})
}

// FuzzSmallStructs covers the decoders of extension bodies and of the
// structs decoded from decrypted or derived data; the first byte picks the
// type.
func FuzzSmallStructs(f *testing.F) {
	checks := []func(*testing.T, []byte){
		checkRoundTrip[GroupContext], checkRoundTrip[ExternalSenders], checkRoundTrip[RequiredCapabilities],
		checkRoundTrip[ExternalPub], checkRoundTrip[SenderData], checkRoundTrip[Extensions],
		checkRoundTrip[PreSharedKeyID], checkRoundTrip[PrivateMessage],
	}
	seeds(f, func(c *messagesVector) [][]byte {
		var gi MLSMessage
		if Unmarshal(c.MLSGroupInfo, &gi) != nil {
			return nil
		}
		out := [][]byte{append([]byte{0}, tls.MustMarshal(&gi.GroupInfo.GroupContext)...)}
		for _, e := range gi.GroupInfo.GroupContext.Extensions {
			out = append(out, append([]byte{byte(e.ExtensionType % 8)}, e.ExtensionData...))
		}
		out = append(out, append([]byte{5}, tls.MustMarshal(&gi.GroupInfo.Extensions)...))
		return append(out, append([]byte{6}, c.PreSharedKeyProposal...), append([]byte{7}, body(c.PrivateMessage)...))
	})
	f.Add([]byte{4, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		checks[int(b[0])%len(checks)](t, b[1:])
	})
}
