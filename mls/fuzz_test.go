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

// FuzzJoinGroup feeds attacker-built Welcomes and ratchet trees to a
// joiner holding a real key package (issue 11): JoinGroup must refuse
// with a typed error, never panic, and a group it accepts must serialize.
func FuzzJoinGroup(f *testing.F) {
	tg := newTestGroup(f, X25519_AES128GCM_SHA256_Ed25519, 3)
	bs := tg.newBundles(1)
	out := tg.commit(0, CommitOptions{Adds: []*KeyPackage{bs[0].KeyPackage()}})
	f.Add(out.Welcome, out.RatchetTree)
	f.Add(out.Welcome, []byte{})
	f.Add([]byte{}, out.RatchetTree)
	f.Fuzz(func(t *testing.T, welcome, tree []byte) {
		g, err := JoinGroup(welcome, bs[0], tree, tg.cfg, time.Time{})
		if err != nil {
			var pe *ProcessError
			if !errors.As(err, &pe) && !isSentinel(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if _, err := g.MarshalBinary(); err != nil {
			t.Fatalf("joined group does not serialize: %v", err)
		}
	})
}

// isSentinel reports whether err wraps one of the package's sentinels.
func isSentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrUnsupported, ErrWrongGroup, ErrStaleEpoch, ErrFutureEpoch,
		ErrDuplicate, ErrUnknownSender, ErrInvalidSignature, ErrInvalidMembershipTag,
		ErrInvalidConfirmationTag, ErrDecryption, ErrInvalidProposal, ErrInvalidCommit,
		ErrUnknownProposal, ErrUnknownPSK, ErrInvalidKeyPackage, ErrInvalidLeafNode, ErrInvalidTree,
		ErrInvalidPath, ErrCredential, ErrExpired, ErrCapabilities, ErrNotForUs, ErrState} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
