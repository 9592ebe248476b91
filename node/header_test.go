package node

import (
	"errors"
	"testing"
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
