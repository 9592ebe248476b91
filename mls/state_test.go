package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestUnmarshalGroupErrors(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	data, err := tg.members[1].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	step := max(1, len(data)/300)
	for n := 0; n < len(data); n += step {
		if _, err := UnmarshalGroup(data[:n], tg.cfg); err == nil {
			t.Fatalf("truncated at %d accepted", n)
		}
	}
	for i := 0; i < len(data); i += step {
		bad := bytes.Clone(data)
		bad[i] ^= 0x41
		g, err := UnmarshalGroup(bad, tg.cfg)
		if err == nil {
			// Flipping a secret's byte gives a consistent but different state.
			if _, err := g.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
	}
	v := bytes.Clone(data)
	v[1] = 2
	if _, err := UnmarshalGroup(v, tg.cfg); !errors.Is(err, ErrState) {
		t.Fatalf("version 2: %v", err)
	}
	if _, err := UnmarshalGroup(data, Config{}); !errors.Is(err, ErrCredential) {
		t.Fatalf("no authentication service: %v", err)
	}
}

// TestForwardSecrecyAcrossRestore checks that a used message key is not in
// the bytes: a group restored after reading a message cannot read it again,
// and a sender restored after sending never reuses its generation.
func TestForwardSecrecyAcrossRestore(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	a, b := tg.members[0], tg.members[1]
	m1, err := a.EncryptApplication(tg.rnd, []byte("one"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ProcessMessage(m1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	b = roundTrip(t, b, tg.cfg)
	if _, err := b.ProcessMessage(m1, time.Time{}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("restored receiver read a consumed message: %v", err)
	}
	a = roundTrip(t, a, tg.cfg)
	m2, err := a.EncryptApplication(tg.rnd, []byte("two"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.ProcessMessage(m2, time.Time{})
	if err != nil || string(res.(*ApplicationMessage).Data) != "two" {
		t.Fatalf("second message: %v", err)
	}
}

// TestPastEpochEncodingFollowsChanges checks the cached encoding of past
// epochs: a late message read after a state was written consumes its key
// in the next state too (a stale cached encoding would let a restored
// group read it again), and a late message not read yet stays readable.
func TestPastEpochEncodingFollowsChanges(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	late1, err := tg.members[0].EncryptApplication(tg.rnd, []byte("late one"), nil)
	if err != nil {
		t.Fatal(err)
	}
	late2, err := tg.members[0].EncryptApplication(tg.rnd, []byte("late two"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.commit(0, CommitOptions{ForcePath: true})
	b := tg.members[1]
	first, err := b.MarshalBinary() // encodes (and caches) the past epoch
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.MarshalBinary(); !bytes.Equal(first, again) {
		t.Fatal("two encodings of an unchanged group differ")
	}
	if _, err := b.ProcessMessage(late1, time.Time{}); err != nil {
		t.Fatalf("late message: %v", err)
	}
	after, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, after) {
		t.Fatal("the state did not change when a past epoch's key was consumed")
	}
	r, err := UnmarshalGroup(after, tg.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ProcessMessage(late1, time.Time{}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("restored group read a consumed past-epoch message again: %v", err)
	}
	res, err := r.ProcessMessage(late2, time.Time{})
	if err != nil || string(res.(*ApplicationMessage).Data) != "late two" {
		t.Fatalf("restored group, the other late message: %v", err)
	}
}
