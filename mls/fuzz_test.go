package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzProcessMessage feeds arbitrary messages to a member: it must return
// a verdict, never panic, and change nothing when it refuses.
func FuzzProcessMessage(f *testing.F) {
	tg := newTestGroup(f, X25519_AES128GCM_SHA256_Ed25519, 3)
	app, _ := tg.members[0].EncryptApplication(tg.rnd, []byte("hello"), nil)
	prop, _ := tg.members[0].ProposeRemove(2)
	tg.members[0].proposals = nil
	out, _ := tg.members[0].Commit(tg.rnd, CommitOptions{ForcePath: true})
	for _, s := range [][]byte{app, prop, out.Commit} {
		f.Add(s)
	}
	base, err := tg.members[1].MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		g, err := UnmarshalGroup(base, tg.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.ProcessMessage(msg, time.Time{})
		var pe *ProcessError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzUnmarshalGroup checks that any accepted state re-encodes to itself.
func FuzzUnmarshalGroup(f *testing.F) {
	tg := newTestGroup(f, X25519_AES128GCM_SHA256_Ed25519, 3)
	data, _ := tg.members[1].MarshalBinary()
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := UnmarshalGroup(b, tg.cfg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrState) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		out, err := g.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("accepted state re-encodes differently")
		}
	})
}
