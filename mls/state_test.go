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
