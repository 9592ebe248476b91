package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestKeyPackageAllSuites(t *testing.T) {
	for _, cs := range []CipherSuite{1, 2, 3, 4, 5, 6, 7} {
		rnd := testRand(uint64(cs))
		id := testIdentity(t, rnd, cs, "alice")
		b, err := NewKeyPackage(rnd, id, KeyPackageOptions{Lifetime: Lifetime{NotBefore: 100, NotAfter: 200}})
		if err != nil {
			t.Fatalf("suite %d: %v", cs, err)
		}
		kp, err := UnmarshalKeyPackage(b.KeyPackage().Marshal())
		if err != nil {
			t.Fatalf("suite %d: %v", cs, err)
		}
		if !bytes.Equal(kp.Ref(), b.KeyPackage().Ref()) || kp.CipherSuite() != cs || string(kp.Credential().Identity) != "alice" {
			t.Fatalf("suite %d: round trip differs", cs)
		}
		if err := kp.Validate(AcceptAllCredentials{}, time.Unix(150, 0)); err != nil {
			t.Fatalf("suite %d: validate: %v", cs, err)
		}
		if err := kp.Validate(AcceptAllCredentials{}, time.Unix(201, 0)); !errors.Is(err, ErrExpired) {
			t.Fatalf("suite %d: expired: %v", cs, err)
		}
		data, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b2, err := UnmarshalKeyPackageBundle(data)
		if err != nil {
			t.Fatalf("suite %d: bundle: %v", cs, err)
		}
		if data2, _ := b2.MarshalBinary(); !bytes.Equal(data, data2) {
			t.Fatalf("suite %d: bundle bytes differ", cs)
		}
	}
}

func TestKeyPackageValidateRejects(t *testing.T) {
	rnd := testRand(7)
	b, err := NewKeyPackage(rnd, testIdentity(t, rnd, 1, "evil"), KeyPackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kp := b.KeyPackage()
	if err := kp.Validate(refuseEvil{}, time.Time{}); !errors.Is(err, ErrCredential) {
		t.Fatalf("refused credential: %v", err)
	}
	if err := kp.Validate(nil, time.Time{}); !errors.Is(err, ErrCredential) {
		t.Fatalf("no authentication service: %v", err)
	}
	bad := *kp
	bad.kp.Signature = bytes.Clone(kp.kp.Signature)
	bad.kp.Signature[0] ^= 1
	if err := bad.Validate(AcceptAllCredentials{}, time.Time{}); !errors.Is(err, ErrInvalidKeyPackage) {
		t.Fatalf("bad signature: %v", err)
	}
	same := *kp
	same.kp.InitKey = kp.kp.LeafNode.EncryptionKey
	if err := same.Validate(AcceptAllCredentials{}, time.Time{}); !errors.Is(err, ErrInvalidKeyPackage) {
		t.Fatalf("init key = encryption key: %v", err)
	}
}

func TestUnmarshalKeyPackageErrors(t *testing.T) {
	rnd := testRand(8)
	b, _ := NewKeyPackage(rnd, testIdentity(t, rnd, 1, "a"), KeyPackageOptions{})
	data := b.KeyPackage().Marshal()
	for n := range len(data) {
		if _, err := UnmarshalKeyPackage(data[:n]); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
	bd, _ := b.MarshalBinary()
	bd[len(bd)-3] ^= 1 // the signature private key
	if _, err := UnmarshalKeyPackageBundle(bd); !errors.Is(err, ErrState) {
		t.Fatalf("mismatched private key: %v", err)
	}
	bd, _ = b.MarshalBinary()
	bd[1] = 9
	if _, err := UnmarshalKeyPackageBundle(bd); !errors.Is(err, ErrState) {
		t.Fatalf("version: %v", err)
	}
}
