package framing

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestPublicRoundTrip(t *testing.T) {
	g := newGroup(t)
	senders := []wire.Sender{member(2), {SenderType: wire.SenderTypeExternal, SenderIndex: 0},
		{SenderType: wire.SenderTypeNewMemberProposal}, {SenderType: wire.SenderTypeNewMemberCommit}}
	for _, s := range senders {
		ct := wire.ContentTypeProposal
		if s.SenderType == wire.SenderTypeNewMemberCommit {
			ct = wire.ContentTypeCommit
		}
		ac := g.signed(t, wire.WireFormatPublicMessage, s, ct)
		pm, err := EncodePublic(g.suite, g.membershipKey, ac, g.gc)
		if err != nil {
			t.Fatal(err)
		}
		if (pm.MembershipTag != nil) != (s.SenderType == wire.SenderTypeMember) {
			t.Fatalf("sender %d: membership tag %x", s.SenderType, pm.MembershipTag)
		}
		got, err := DecodePublic(g.suite, g.membershipKey, pm, g.gc)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(g.verifier, got, g.gc); err != nil {
			t.Fatalf("sender %d: %v", s.SenderType, err)
		}
	}
}

func TestPublicTampering(t *testing.T) {
	g := newGroup(t)
	ac := g.signed(t, wire.WireFormatPublicMessage, member(1), wire.ContentTypeCommit)
	pm, err := EncodePublic(g.suite, g.membershipKey, ac, g.gc)
	if err != nil {
		t.Fatal(err)
	}
	// The membership tag covers the confirmation tag and the group context.
	bad := *pm
	bad.Auth.ConfirmationTag = []byte{1}
	if _, err := DecodePublic(g.suite, g.membershipKey, &bad, g.gc); !errors.Is(err, ErrMembershipTag) {
		t.Fatalf("tampered confirmation tag: err = %v", err)
	}
	other := *g.gc
	other.Epoch++
	if _, err := DecodePublic(g.suite, g.membershipKey, pm, &other); !errors.Is(err, ErrMembershipTag) {
		t.Fatalf("other epoch's context: err = %v", err)
	}
	if _, err := DecodePublic(g.suite, []byte("other key"), pm, g.gc); !errors.Is(err, ErrMembershipTag) {
		t.Fatalf("other membership key: err = %v", err)
	}
	// The signature covers the content and the wire format.
	got, err := DecodePublic(g.suite, g.membershipKey, pm, g.gc)
	if err != nil {
		t.Fatal(err)
	}
	got.Content.AuthenticatedData = []byte("changed")
	if err := Verify(g.verifier, got, g.gc); !errors.Is(err, cipher.ErrInvalidSignature) {
		t.Fatalf("tampered content: err = %v", err)
	}
	priv := g.signed(t, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeProposal)
	if _, err := EncodePublic(g.suite, g.membershipKey, priv, g.gc); !errors.Is(err, ErrWireFormat) {
		t.Fatalf("content signed for PrivateMessage: err = %v", err)
	}
	priv.WireFormat = wire.WireFormatPublicMessage
	if err := Verify(g.verifier, priv, g.gc); !errors.Is(err, cipher.ErrInvalidSignature) {
		t.Fatalf("wire format swapped after signing: err = %v", err)
	}
}

func TestPublicApplicationRejected(t *testing.T) {
	g := newGroup(t)
	ac := g.signed(t, wire.WireFormatPublicMessage, member(0), wire.ContentTypeApplication)
	if _, err := EncodePublic(g.suite, g.membershipKey, ac, g.gc); !errors.Is(err, ErrPublicApplication) {
		t.Fatalf("encode: err = %v", err)
	}
	pm := &wire.PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if _, err := DecodePublic(g.suite, g.membershipKey, pm, g.gc); !errors.Is(err, ErrPublicApplication) {
		t.Fatalf("decode: err = %v", err)
	}
}
