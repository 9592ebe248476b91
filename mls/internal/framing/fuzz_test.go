package framing

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// unprotectErrors are the errors unprotecting may return.
var unprotectErrors = []error{
	tls.ErrMalformed, tls.ErrUnsupported, cipher.ErrDecryption, cipher.ErrInvalidSignature,
	ErrContentType, ErrSenderLeaf, ErrMembershipTag, ErrPublicApplication,
	schedule.ErrConsumed, schedule.ErrTooFarAhead,
}

func checkUnprotectError(t *testing.T, err error) {
	t.Helper()
	for _, want := range unprotectErrors {
		if errors.Is(err, want) {
			return
		}
	}
	t.Fatalf("untyped error %v (%T)", err, err)
}

// FuzzUnprotect feeds MLSMessages to the receive path of a suite-1 group of
// two: DecodePublic then Verify, or DecryptPrivate then Verify. Nothing may
// panic; every error is typed; a rejected PrivateMessage leaves the
// receiver's ratchet able to open the valid message of generation 0.
func FuzzUnprotect(f *testing.F) {
	g := newGroup(f)
	valid := func(ct wire.ContentType) *wire.PrivateMessage {
		pm, err := EncryptPrivate(g.suite, guardReader(7), g.tree(f, 2), g.senderDataSecret, g.signed(f, wire.WireFormatPrivateMessage, member(1), ct), 3)
		if err != nil {
			f.Fatal(err)
		}
		return pm
	}
	probe := valid(wire.ContentTypeApplication)
	for _, ct := range []wire.ContentType{wire.ContentTypeApplication, wire.ContentTypeProposal, wire.ContentTypeCommit} {
		f.Add(tls.MustMarshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: valid(ct)}))
		if ct != wire.ContentTypeApplication {
			pm, err := EncodePublic(g.suite, g.membershipKey, g.signed(f, wire.WireFormatPublicMessage, member(0), ct), g.gc)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tls.MustMarshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm}))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m wire.MLSMessage
		if wire.Unmarshal(b, &m) != nil {
			return
		}
		switch {
		case m.PublicMessage != nil:
			ac, err := DecodePublic(g.suite, g.membershipKey, m.PublicMessage, g.gc)
			if err == nil {
				err = Verify(g.verifier, ac, g.gc)
			}
			if err != nil {
				checkUnprotectError(t, err)
			}
		case m.PrivateMessage != nil:
			tree := g.tree(t, 2)
			ac, err := DecryptPrivate(g.suite, tree, g.senderDataSecret, m.PrivateMessage)
			if err == nil {
				// AEAD covers everything but the signature: what decrypts
				// is what was signed.
				if err := Verify(g.verifier, ac, g.gc); err != nil {
					t.Fatalf("decrypted message does not verify: %v", err)
				}
				return
			}
			checkUnprotectError(t, err)
			if _, err := DecryptPrivate(g.suite, tree, g.senderDataSecret, probe); err != nil {
				t.Fatalf("ratchet changed by a rejected message: %v", err)
			}
		}
	})
}
