package wire

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestGroupSecrets(t *testing.T) {
	gs := GroupSecrets{JoinerSecret: []byte{1}, PSKs: []PreSharedKeyID{{PSKType: PSKTypeExternal, PSKID: []byte{2}, PSKNonce: []byte{3}}}}
	var got GroupSecrets
	if b := roundTrip(t, &gs, &got); !bytes.Equal(b, []byte{1, 1, 0, 5, 1, 1, 2, 1, 3}) {
		t.Fatalf("GroupSecrets %x", b)
	}
	if got.PathSecret != nil {
		t.Fatal("absent path secret decoded as present")
	}
	gs.PathSecret = &PathSecret{PathSecret: []byte{9}}
	roundTrip(t, &gs, &got)
	if got.PathSecret == nil || got.PathSecret.PathSecret[0] != 9 {
		t.Fatalf("path secret %+v", got.PathSecret)
	}
	wantMalformed(t, Unmarshal([]byte{0, 2, 0}, new(GroupSecrets)), tls.ErrInvalidValue)
}

func TestWelcome(t *testing.T) {
	w := Welcome{CipherSuite: 5, Secrets: []EncryptedGroupSecrets{
		{NewMember: []byte{1}, EncryptedGroupSecrets: HPKECiphertext{KEMOutput: []byte{2}, Ciphertext: []byte{3}}},
	}, EncryptedGroupInfo: []byte{4}}
	var got Welcome
	if b := roundTrip(t, &w, &got); !bytes.Equal(b, []byte{0, 5, 6, 1, 1, 1, 2, 1, 3, 1, 4}) {
		t.Fatalf("Welcome %x", b)
	}
	if len(got.Secrets) != 1 || got.Secrets[0].NewMember[0] != 1 {
		t.Fatalf("decoded %+v", got)
	}
}
