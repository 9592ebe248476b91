package node

import (
	"errors"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls"
)

// TestCheckHeader runs the validator's framing check on real MLS messages
// (a commit and an application message) and on altered copies.
func TestCheckHeader(t *testing.T) {
	a, _, id := offlinePair(t)
	ctx := ctxT(t)
	envs := commitAndPost(t, a, id, "hello")
	commitEnv, appEnv := mustEnv(t, envs[0]), mustEnv(t, envs[1])
	var gid []byte
	a.channel(id).do(ctx, func(s *chanState) error { gid = s.groupID(); return nil }) //nolint:errcheck
	for name, env := range map[string]envelope{"commit": commitEnv, "application": appEnv} {
		if err := checkHeader(env.msg, gid, env.epoch); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	mod := func(f func(b []byte)) []byte {
		c := append([]byte(nil), appEnv.msg...)
		f(c)
		return c
	}
	tests := map[string]struct {
		msg   []byte
		epoch uint64
	}{
		"other epoch":      {appEnv.msg, appEnv.epoch + 1},
		"other group":      {mod(func(b []byte) { b[5] ^= 1 }), appEnv.epoch},
		"version 2":        {mod(func(b []byte) { b[1] = 2 }), appEnv.epoch},
		"welcome":          {mod(func(b []byte) { b[3] = 3 }), appEnv.epoch},
		"truncated":        {appEnv.msg[:12], appEnv.epoch},
		"8-byte length":    {mod(func(b []byte) { b[4] = 0xc0 }), appEnv.epoch},
		"huge group id":    {mod(func(b []byte) { b[4], b[5] = 0x7f, 0xff }), appEnv.epoch},
		"empty":            {nil, 0},
		"wrong epoch byte": {mod(func(b []byte) { b[len(gid)+5+7] ^= 1 }), appEnv.epoch},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if err := checkHeader(tt.msg, gid, tt.epoch); !errors.Is(err, errHeader) {
				t.Fatalf("checkHeader: %v, want errHeader", err)
			}
		})
	}
}

func FuzzCheckHeader(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 7, 0, 0, 0, 0, 0, 0, 0, 1}, uint64(1))
	f.Fuzz(func(t *testing.T, msg []byte, epoch uint64) {
		if err := checkHeader(msg, []byte{7}, epoch); err != nil && !errors.Is(err, errHeader) {
			t.Fatalf("error %v does not match errHeader", err)
		}
	})
}

// TestPrivateContentType: the content type read from a PrivateMessage's
// framing alone is mls.PeekMessage's, for genuine messages and for every
// truncation, extension and one-byte change of them.
func TestPrivateContentType(t *testing.T) {
	a, _, id := offlinePair(t)
	var msgs [][]byte
	for _, env := range liveEnvelopes(t, a, id, 3) {
		msgs = append(msgs, env.msg)
	}
	for _, raw := range commitAndPost(t, a, id, "hello") { // a commit, and a post of the next epoch
		msgs = append(msgs, mustEnv(t, raw).msg)
	}
	check := func(msg []byte) {
		t.Helper()
		ct, ok := privateContentType(msg)
		h, err := mls.PeekMessage(msg)
		private := len(msg) >= 4 && msg[3] == wireFormatPrivate && msg[2] == 0
		switch {
		case ok && (err != nil || h.ContentType != ct):
			t.Fatalf("%x: framing says content type %d, PeekMessage %v, %v", msg, ct, h, err)
		case !ok && err == nil && private && h.WireFormat == wireFormatPrivate:
			t.Fatalf("%x: PeekMessage reads a private message of content type %d, the framing nothing", msg, h.ContentType)
		}
	}
	for _, m := range msgs {
		check(m)
		for n := range len(m) {
			check(m[:n])
		}
		check(append(slices.Clone(m), 0))
		for i := range min(len(m), 80) {
			for _, x := range []byte{0x01, 0x40, 0x80, 0xff} {
				c := slices.Clone(m)
				c[i] ^= x
				check(c)
			}
		}
	}
}
