package wire

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestCredential(t *testing.T) {
	x509 := Credential{CredentialType: CredentialTypeX509, Certificates: [][]byte{{1}, {2, 3}}}
	b := roundTrip(t, &x509, new(Credential))
	want := []byte{0, 2, 5, 1, 1, 2, 2, 3}
	if string(b) != string(want) {
		t.Fatalf("x509 encoding %x, want %x", b, want)
	}
	// An unknown credential type has a body of unknown length: unsupported.
	err := Unmarshal([]byte{0x0a, 0x0a, 0x01, 0x00}, new(Credential))
	wantUnsupported(t, err, "credential_type", 0x0a0a, 0)
	if _, err := Marshal(&Credential{CredentialType: 9}); !errors.Is(err, ErrNoBody) {
		t.Fatalf("encode unknown credential: err = %v", err)
	}
}

func TestCapabilitiesKeepUnknown(t *testing.T) {
	c := Capabilities{Proposals: []ProposalType{0x0a0a, 0xf001}, Credentials: []CredentialType{1, 0x2a2a}}
	var got Capabilities
	roundTrip(t, &c, &got)
	if len(got.Proposals) != 2 || got.Proposals[1] != 0xf001 || got.Credentials[1] != 0x2a2a {
		t.Fatalf("unknown values lost: %+v", got)
	}
	// A vector of 16-bit values with an odd length is malformed.
	wantMalformed(t, Unmarshal([]byte{1, 0, 0, 0, 0, 0}, new(Capabilities)), tls.ErrTruncated)
}

func TestExtensions(t *testing.T) {
	es := Extensions{{ExtensionType: ExtensionTypeExternalPub, ExtensionData: []byte{1}}, {ExtensionType: 0x0a0a}}
	var got Extensions
	roundTrip(t, &es, &got)
	if e := got.Find(ExtensionTypeExternalPub); e == nil || e.ExtensionData[0] != 1 {
		t.Fatalf("Find(external_pub) = %v", e)
	}
	if got.Find(ExtensionTypeRatchetTree) != nil {
		t.Fatal("Find(ratchet_tree) found an absent extension")
	}
	if _, dup := got.Duplicate(); dup {
		t.Fatal("Duplicate reported one in a list without")
	}
	got = append(got, Extension{ExtensionType: 0x0a0a})
	if typ, dup := got.Duplicate(); !dup || typ != 0x0a0a {
		t.Fatalf("Duplicate = %#x, %v", typ, dup)
	}
}

func TestExtensionBodies(t *testing.T) {
	senders := ExternalSenders{{SignatureKey: []byte{1}, Credential: Credential{CredentialType: CredentialTypeBasic, Identity: []byte("ds")}}}
	var gotSenders ExternalSenders
	roundTrip(t, &senders, &gotSenders)
	if len(gotSenders) != 1 || string(gotSenders[0].Credential.Identity) != "ds" {
		t.Fatalf("external senders: %+v", gotSenders)
	}
	rc := RequiredCapabilities{ExtensionTypes: []ExtensionType{5}, ProposalTypes: []ProposalType{0xf000}}
	roundTrip(t, &rc, new(RequiredCapabilities))
	pub := ExternalPub{ExternalPub: []byte{1, 2}}
	if b := roundTrip(t, &pub, new(ExternalPub)); string(b) != "\x02\x01\x02" {
		t.Fatalf("external_pub encoding %x", b)
	}
}
