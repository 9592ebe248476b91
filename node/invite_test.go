package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spacepanda/spacepanda/p2p"
)

func testInvite(t testing.TB) (invite, ed25519.PrivateKey) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pid, err := p2p.PeerIDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := newInvite([]byte("0123456789abcdef"), pid.String(), []string{"/ip4/127.0.0.1/tcp/9742"}, 1e12, 3)
	if err != nil {
		t.Fatal(err)
	}
	return inv, key
}

func TestInviteRoundTrip(t *testing.T) {
	inv, key := testInvite(t)
	code := inv.encode(key)
	got, err := parseInvite("  " + code + "\n")
	if err != nil {
		t.Fatal(err)
	}
	inv.sig = got.sig // set by parsing; checked by TestInviteRejects
	if diff := cmp.Diff(inv, got, cmp.AllowUnexported(invite{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestInviteRejects(t *testing.T) {
	inv, key := testInvite(t)
	code := inv.encode(key)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	flip := []byte(code)
	flip[20] ^= 1
	tests := map[string]string{
		"empty":        "",
		"not a code":   "hello",
		"bad base64":   "sp2!!!!",
		"version 1":    "sp1AAAA",
		"truncated":    code[:len(code)-10],
		"flipped":      string(flip),
		"other signer": inv.encode(other),
		"too long":     "sp2" + strings.Repeat("A", maxInviteCode),
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parseInvite(c); !errors.Is(err, ErrBadInvite) {
				t.Fatalf("parseInvite: %v, want ErrBadInvite", err)
			}
		})
	}
}

func FuzzParseInvite(f *testing.F) {
	inv, key := testInvite(f)
	f.Add(inv.encode(key))
	f.Add("sp2")
	f.Fuzz(func(t *testing.T, code string) {
		got, err := parseInvite(code)
		if err != nil {
			if !errors.Is(err, ErrBadInvite) {
				t.Fatalf("error %v does not match ErrBadInvite", err)
			}
			return
		}
		if _, err := decodeInviteBody(got.body()); err != nil {
			t.Fatalf("accepted invite does not re-encode: %v", err)
		}
	})
}
