package schedule

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

type hexb = vectortest.Hex

func suite(t testing.TB, id uint16) *cipher.Suite {
	t.Helper()
	s, err := cipher.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eq(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", name, got, want)
	}
}

// TestVectors runs secret-tree.json, key-schedule.json and psk_secret.json.
func TestVectors(t *testing.T) {
	vectortest.Run(t, "secret-tree", testSecretTree)
	vectortest.Run(t, "key-schedule", testKeySchedule)
	vectortest.Run(t, "psk_secret", testPSKSecret)
}

type secretTreeVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	SenderData  struct {
		Secret     hexb `json:"sender_data_secret"`
		Ciphertext hexb `json:"ciphertext"`
		Key        hexb `json:"key"`
		Nonce      hexb `json:"nonce"`
	} `json:"sender_data"`
	EncryptionSecret hexb `json:"encryption_secret"`
	Leaves           [][]struct {
		Generation       uint32 `json:"generation"`
		HandshakeKey     hexb   `json:"handshake_key"`
		HandshakeNonce   hexb   `json:"handshake_nonce"`
		ApplicationKey   hexb   `json:"application_key"`
		ApplicationNonce hexb   `json:"application_nonce"`
	} `json:"leaves"`
}

func testSecretTree(t *testing.T, c *secretTreeVector) {
	s := suite(t, c.CipherSuite)
	key, nonce := SenderDataKeyNonce(s, c.SenderData.Secret, c.SenderData.Ciphertext)
	eq(t, "sender data key", key, c.SenderData.Key)
	eq(t, "sender data nonce", nonce, c.SenderData.Nonce)

	tree, err := NewSecretTree(s, c.EncryptionSecret, uint32(len(c.Leaves)), DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	for i, gens := range c.Leaves {
		leaf := treemath.LeafIndex(i)
		for _, g := range gens {
			openAndCheck(t, tree, leaf, Handshake, g.Generation, g.HandshakeKey, g.HandshakeNonce)
			openAndCheck(t, tree, leaf, Application, g.Generation, g.ApplicationKey, g.ApplicationNonce)
		}
	}
}

func openAndCheck(t *testing.T, tree *SecretTree, leaf treemath.LeafIndex, typ RatchetType, gen uint32, key, nonce []byte) {
	t.Helper()
	called := false
	err := tree.Open(leaf, typ, gen, func(kn KeyNonce) error {
		called = true
		eq(t, "key", kn.Key, key)
		eq(t, "nonce", kn.Nonce, nonce)
		return nil
	})
	if err != nil || !called {
		t.Fatalf("Open(leaf %d, %v, %d): %v (called %v)", leaf, typ, gen, err, called)
	}
}

type keyScheduleVector struct {
	CipherSuite       uint16 `json:"cipher_suite"`
	GroupID           hexb   `json:"group_id"`
	InitialInitSecret hexb   `json:"initial_init_secret"`
	Epochs            []struct {
		TreeHash                hexb `json:"tree_hash"`
		CommitSecret            hexb `json:"commit_secret"`
		PSKSecret               hexb `json:"psk_secret"`
		ConfirmedTranscriptHash hexb `json:"confirmed_transcript_hash"`
		GroupContext            hexb `json:"group_context"`
		JoinerSecret            hexb `json:"joiner_secret"`
		WelcomeSecret           hexb `json:"welcome_secret"`
		InitSecret              hexb `json:"init_secret"`
		SenderDataSecret        hexb `json:"sender_data_secret"`
		EncryptionSecret        hexb `json:"encryption_secret"`
		ExporterSecret          hexb `json:"exporter_secret"`
		EpochAuthenticator      hexb `json:"epoch_authenticator"`
		ExternalSecret          hexb `json:"external_secret"`
		ConfirmationKey         hexb `json:"confirmation_key"`
		MembershipKey           hexb `json:"membership_key"`
		ResumptionPSK           hexb `json:"resumption_psk"`
		ExternalPub             hexb `json:"external_pub"`
		Exporter                struct {
			Label   string `json:"label"` // used as the ASCII string itself
			Context hexb   `json:"context"`
			Length  int    `json:"length"`
			Secret  hexb   `json:"secret"`
		} `json:"exporter"`
	} `json:"epochs"`
}

// groupContext encodes a GroupContext (RFC 9420 §8.1) with no extensions.
func groupContext(suite uint16, groupID []byte, epoch uint64, treeHash, cth []byte) []byte {
	var w tls.Writer
	w.Uint16(1) // mls10
	w.Uint16(suite)
	w.Opaque(groupID)
	w.Uint64(epoch)
	w.Opaque(treeHash)
	w.Opaque(cth)
	w.Opaque(nil)
	return w.Bytes()
}

func testKeySchedule(t *testing.T, c *keyScheduleVector) {
	s := suite(t, c.CipherSuite)
	init := c.InitialInitSecret
	for i, e := range c.Epochs {
		gc := groupContext(c.CipherSuite, c.GroupID, uint64(i), e.TreeHash, e.ConfirmedTranscriptHash)
		eq(t, "group_context", gc, e.GroupContext)
		sec := Derive(s, init, e.CommitSecret, e.PSKSecret, gc)
		for _, f := range []struct {
			name      string
			got, want []byte
		}{
			{"joiner", sec.Joiner, e.JoinerSecret},
			{"welcome", sec.Welcome, e.WelcomeSecret},
			{"init", sec.Init, e.InitSecret},
			{"sender data", sec.SenderData, e.SenderDataSecret},
			{"encryption", sec.Encryption, e.EncryptionSecret},
			{"exporter", sec.Exporter, e.ExporterSecret},
			{"epoch authenticator", sec.EpochAuthenticator, e.EpochAuthenticator},
			{"external", sec.External, e.ExternalSecret},
			{"confirmation", sec.Confirmation, e.ConfirmationKey},
			{"membership", sec.Membership, e.MembershipKey},
			{"resumption", sec.Resumption, e.ResumptionPSK},
		} {
			eq(t, f.name, f.got, f.want)
		}
		_, pub, err := ExternalKeyPair(s, sec.External)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "external_pub", pub, e.ExternalPub)
		x := e.Exporter
		got, err := Export(s, sec.Exporter, x.Label, x.Context, x.Length)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "exporter", got, x.Secret)
		init = sec.Init
	}
}

type pskVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	PSKs        []struct {
		ID    hexb `json:"psk_id"`
		PSK   hexb `json:"psk"`
		Nonce hexb `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret hexb `json:"psk_secret"`
}

func testPSKSecret(t *testing.T, c *pskVector) {
	s := suite(t, c.CipherSuite)
	var psks []PSK
	for _, p := range c.PSKs {
		psks = append(psks, PSK{ID: ExternalPSKID(p.ID, p.Nonce), Secret: p.PSK})
	}
	got, err := PSKSecret(s, psks)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "psk_secret", got, c.PSKSecret)
}
