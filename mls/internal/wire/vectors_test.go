package wire

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// messagesVector is one case of messages.json.
type messagesVector struct {
	MLSWelcome                     vectortest.Hex `json:"mls_welcome"`
	MLSGroupInfo                   vectortest.Hex `json:"mls_group_info"`
	MLSKeyPackage                  vectortest.Hex `json:"mls_key_package"`
	RatchetTree                    vectortest.Hex `json:"ratchet_tree"`
	GroupSecrets                   vectortest.Hex `json:"group_secrets"`
	AddProposal                    vectortest.Hex `json:"add_proposal"`
	UpdateProposal                 vectortest.Hex `json:"update_proposal"`
	RemoveProposal                 vectortest.Hex `json:"remove_proposal"`
	PreSharedKeyProposal           vectortest.Hex `json:"pre_shared_key_proposal"`
	ReInitProposal                 vectortest.Hex `json:"re_init_proposal"`
	ExternalInitProposal           vectortest.Hex `json:"external_init_proposal"`
	GroupContextExtensionsProposal vectortest.Hex `json:"group_context_extensions_proposal"`
	Commit                         vectortest.Hex `json:"commit"`
	PublicMessageApplication       vectortest.Hex `json:"public_message_application"`
	PublicMessageProposal          vectortest.Hex `json:"public_message_proposal"`
	PublicMessageCommit            vectortest.Hex `json:"public_message_commit"`
	PrivateMessage                 vectortest.Hex `json:"private_message"`
}

// field pairs a vector's bytes with the value that decodes them.
type field struct {
	name string
	in   []byte
	v    interface {
		tls.Marshaler
		tls.Unmarshaler
	}
	check func(t *testing.T) // optional: what the decoded value must be
}

func (c *messagesVector) fields() []field {
	var welcome, groupInfo, keyPackage, pubApp, pubProp, pubCommit, priv MLSMessage
	wf := func(m *MLSMessage, want WireFormat) func(t *testing.T) {
		return func(t *testing.T) {
			if m.WireFormat != want || m.body() == nil {
				t.Fatalf("wire format %d, want %d", m.WireFormat, want)
			}
		}
	}
	ct := func(m *MLSMessage, want ContentType) func(t *testing.T) {
		return func(t *testing.T) {
			wf(m, WireFormatPublicMessage)(t)
			if got := m.PublicMessage.Content.ContentType; got != want {
				t.Fatalf("content type %d, want %d", got, want)
			}
		}
	}
	return []field{
		{"mls_welcome", c.MLSWelcome, &welcome, wf(&welcome, WireFormatWelcome)},
		{"mls_group_info", c.MLSGroupInfo, &groupInfo, wf(&groupInfo, WireFormatGroupInfo)},
		{"mls_key_package", c.MLSKeyPackage, &keyPackage, wf(&keyPackage, WireFormatKeyPackage)},
		{"ratchet_tree", c.RatchetTree, new(RatchetTree), nil},
		{"group_secrets", c.GroupSecrets, new(GroupSecrets), nil},
		{"add_proposal", c.AddProposal, new(Add), nil},
		{"update_proposal", c.UpdateProposal, new(Update), nil},
		{"remove_proposal", c.RemoveProposal, new(Remove), nil},
		{"pre_shared_key_proposal", c.PreSharedKeyProposal, new(PreSharedKey), nil},
		{"re_init_proposal", c.ReInitProposal, new(ReInit), nil},
		{"external_init_proposal", c.ExternalInitProposal, new(ExternalInit), nil},
		{"group_context_extensions_proposal", c.GroupContextExtensionsProposal, new(GroupContextExtensions), nil},
		{"commit", c.Commit, new(Commit), nil},
		{"public_message_application", c.PublicMessageApplication, &pubApp, ct(&pubApp, ContentTypeApplication)},
		{"public_message_proposal", c.PublicMessageProposal, &pubProp, ct(&pubProp, ContentTypeProposal)},
		{"public_message_commit", c.PublicMessageCommit, &pubCommit, ct(&pubCommit, ContentTypeCommit)},
		{"private_message", c.PrivateMessage, &priv, wf(&priv, WireFormatPrivateMessage)},
	}
}

// TestVectors runs messages.json: every structure decodes and re-encodes
// byte for byte.
func TestVectors(t *testing.T) {
	vectortest.Run(t, "messages", func(t *testing.T, c *messagesVector) {
		for _, f := range c.fields() {
			if len(f.in) == 0 {
				t.Fatalf("%s: empty in vector", f.name)
			}
			if err := Unmarshal(f.in, f.v); err != nil {
				t.Fatalf("%s: decode: %v", f.name, err)
			}
			if f.check != nil {
				f.check(t)
			}
			out, err := Marshal(f.v)
			if err != nil {
				t.Fatalf("%s: encode: %v", f.name, err)
			}
			if !bytes.Equal(out, f.in) {
				t.Fatalf("%s: re-encoding differs\n got %x\nwant %x", f.name, out, f.in)
			}
		}
	})
}
