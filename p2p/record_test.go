package p2p

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/routing"
)

func mustKey(t testing.TB, kind string, sk ed25519.PrivateKey) string {
	t.Helper()
	id, err := PeerIDFromPublicKey(sk.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	key, err := recordKey(kind, id)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func mustSign(t testing.TB, sk ed25519.PrivateKey, key string, version uint64, payload []byte) []byte {
	t.Helper()
	v, err := signRecord(sk, key, version, payload)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRecordValidate(t *testing.T) {
	owner, other := newKey(t), newKey(t)
	key := mustKey(t, KindKeyPackage, owner)
	good := mustSign(t, owner, key, 7, []byte("kp"))
	tampered := bytes.Clone(good)
	tampered[recordHeaderLen] ^= 1
	tests := []struct {
		name  string
		key   string
		value []byte
		ok    bool
	}{
		{"genuine", key, good, true},
		{"empty payload", key, mustSign(t, owner, key, 1, nil), true},
		{"signed by another key", key, mustSign(t, other, key, 8, []byte("kp")), false},
		{"payload tampered", key, tampered, false},
		{"replayed under another kind", mustKey(t, "other", owner), good, false},
		{"replayed under another peer", mustKey(t, KindKeyPackage, other), good, false},
		{"truncated", key, good[:len(good)-1], false},
		{"empty", key, nil, false},
		{"bad magic", key, append([]byte("XXXX"), good[4:]...), false},
		{"bad namespace", "/pk/" + key[len("/spacepanda/"):], good, false},
		{"bad kind", "/spacepanda/Key Package/" + key[len("/spacepanda/keypackage/"):], good, false},
		{"bad peer id", "/spacepanda/keypackage/notapeer", good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := recordValidator{}.Validate(tt.key, tt.value)
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrBadRecord) && !errors.Is(err, ErrBadPeerID) {
				t.Fatalf("Validate: got %v, want ErrBadRecord", err)
			}
		})
	}
}

func TestRecordSelectNewest(t *testing.T) {
	owner, forger := newKey(t), newKey(t)
	key := mustKey(t, KindKeyPackage, owner)
	v1 := mustSign(t, owner, key, 1, []byte("old"))
	v2 := mustSign(t, owner, key, 2, []byte("new"))
	forged := mustSign(t, forger, key, 99, []byte("forged"))
	tests := []struct {
		values [][]byte
		want   int
	}{
		{[][]byte{v1, v2}, 1},
		{[][]byte{v2, v1}, 0},
		{[][]byte{forged, v1}, 1},
		{[][]byte{v1, forged, v2}, 2},
	}
	for i, tt := range tests {
		got, err := recordValidator{}.Select(key, tt.values)
		if err != nil || got != tt.want {
			t.Errorf("case %d: Select = %d, %v; want %d", i, got, err, tt.want)
		}
	}
	if _, err := (recordValidator{}).Select(key, [][]byte{forged}); !errors.Is(err, ErrBadRecord) {
		t.Errorf("Select of only forged records: %v", err)
	}
	// Equal versions: the choice does not depend on the order.
	a := mustSign(t, owner, key, 5, []byte("a"))
	b := mustSign(t, owner, key, 5, []byte("b"))
	i1, _ := recordValidator{}.Select(key, [][]byte{a, b})
	i2, _ := recordValidator{}.Select(key, [][]byte{b, a})
	if [][]byte{a, b}[i1] == nil || !bytes.Equal([][]byte{a, b}[i1], [][]byte{b, a}[i2]) {
		t.Error("Select is not stable for equal versions")
	}
}

func TestRecordLimits(t *testing.T) {
	owner := newKey(t)
	key := mustKey(t, KindKeyPackage, owner)
	if _, err := signRecord(owner, key, 1, make([]byte, MaxRecordPayload+1)); !errors.Is(err, ErrBadRecord) {
		t.Errorf("oversized payload: %v", err)
	}
	if _, err := recordKey("", "x"); !errors.Is(err, ErrBadRecord) {
		t.Errorf("empty kind: %v", err)
	}
}

func FuzzRecordDecode(f *testing.F) {
	owner := newKey(f)
	key := mustKey(f, KindKeyPackage, owner)
	f.Add(mustSign(f, owner, key, 3, []byte("payload")))
	f.Add([]byte("SPR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, value []byte) {
		version, payload, err := verifyRecord(key, value)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error not ErrBadRecord: %v", err)
			}
			return
		}
		// Anything that verifies must re-encode to the same bytes.
		again, err := signRecord(owner, key, version, payload)
		if err != nil || !bytes.Equal(again, value) {
			t.Fatalf("valid record does not round-trip: %v", err)
		}
	})
}

// permissive accepts every record: a forger's host uses it so that its own
// DHT does not stop it from sending forged records.
type permissive struct{}

func (permissive) Validate(string, []byte) error        { return nil }
func (permissive) Select(string, [][]byte) (int, error) { return 0, nil }
func asForger(c *Config) {
	c.recordValidator = record.NamespacedValidator{recordNamespace: permissive{}}
}

// TestRecordThroughDHT stores a key package record in a small DHT, reads it
// back from another host, and checks that a forger's record for the same
// key is refused by the honest hosts.
func TestRecordThroughDHT(t *testing.T) {
	boot := newTestHost(t)
	hosts := []*Host{boot}
	for range 5 {
		hosts = append(hosts, newTestHost(t, bootstrapTo(boot)))
	}
	forger := newTestHost(t, bootstrapTo(boot), asForger)
	for i, h := range append(hosts, forger) {
		waitFor(t, 20*time.Second, fmt.Sprintf("host %d routing table", i), func() bool {
			return h.dht.RoutingTable().Size() >= 2
		})
	}
	owner, reader := hosts[1], hosts[4]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := owner.PutRecord(ctx, KindKeyPackage, []byte("kp-v1")); err != nil {
		t.Fatal(err)
	}
	if err := owner.PutRecord(ctx, KindKeyPackage, []byte("kp-v2")); err != nil {
		t.Fatal(err)
	}
	rec, err := reader.GetRecord(ctx, KindKeyPackage, owner.ID())
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Payload) != "kp-v2" || rec.Owner != owner.ID() || rec.Kind != KindKeyPackage {
		t.Fatalf("GetRecord = %+v, want the newest kp-v2", rec)
	}

	// The forger signs a newer record for the owner's key with its own key.
	// Its DHT lets it through; honest hosts must refuse to store it.
	key, _ := recordKey(KindKeyPackage, owner.ID())
	fsk, _ := forger.h.Peerstore().PrivKey(forger.h.ID()).Raw()
	forged := mustSign(t, ed25519.PrivateKey(fsk), key, rec.Version+1000, []byte("forged"))
	if err := forger.dht.PutValue(ctx, key, forged); err != nil {
		t.Fatalf("forger's put: %v", err)
	}
	// An honest host's own put of the forged value fails validation.
	if err := reader.dht.PutValue(ctx, key, forged); !errors.Is(err, ErrBadRecord) {
		t.Errorf("honest put of a forged record: %v", err)
	}
	for i, h := range hosts {
		v, err := h.dht.GetValue(ctx, key, routing.Offline)
		if err == nil && bytes.Equal(v, forged) {
			t.Errorf("host %d stored the forged record", i)
		}
	}
	for i, h := range hosts[2:] {
		rec, err := h.GetRecord(ctx, KindKeyPackage, owner.ID())
		if err != nil || string(rec.Payload) != "kp-v2" {
			t.Errorf("host %d: GetRecord after forgery = %q, %v", i+2, rec.Payload, err)
		}
	}
	if _, err := reader.GetRecord(ctx, KindKeyPackage, forger.ID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRecord of an unpublished record: %v", err)
	}
}
