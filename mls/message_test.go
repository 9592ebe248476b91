package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// TestPastEpochs checks that late messages are read for PastEpochs epochs
// and ignored after.
func TestPastEpochs(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	tg.members[1].cfg.PastEpochs = 2
	late, err := tg.members[0].EncryptApplication(tg.rnd, []byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	later, _ := tg.members[0].EncryptApplication(tg.rnd, []byte("later"), nil)
	tg.commit(0, CommitOptions{ForcePath: true})
	tg.commit(0, CommitOptions{ForcePath: true})
	r := roundTrip(t, tg.members[1], tg.cfg)
	r.cfg.PastEpochs = 2
	if _, err := r.ProcessMessage(late, time.Time{}); err != nil {
		t.Fatalf("message two epochs late: %v", err)
	}
	tg.members[1] = r
	tg.commit(0, CommitOptions{ForcePath: true})
	if _, err := tg.members[1].ProcessMessage(later, time.Time{}); !errors.Is(err, ErrStaleEpoch) || VerdictOf(err) != Ignore {
		t.Fatalf("message three epochs late: %v", err)
	}
}

// TestOutOfOrder checks the skipped-key window.
func TestOutOfOrder(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	tg.members[1].cfg.MaxSkipped = 4 // applies from the next epoch's secret tree
	tg.commit(0, CommitOptions{ForcePath: true})
	var msgs [][]byte
	for range 8 {
		m, err := tg.members[0].EncryptApplication(tg.rnd, []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	r := tg.members[1]
	if _, err := r.ProcessMessage(msgs[7], time.Time{}); err != nil {
		t.Fatal(err)
	}
	for i := 6; i >= 0; i-- {
		_, err := r.ProcessMessage(msgs[i], time.Time{})
		if i >= 3 && err != nil {
			t.Fatalf("message %d within the window: %v", i, err)
		}
		if i < 3 && VerdictOf(err) != Ignore {
			t.Fatalf("message %d beyond the window: %v", i, err)
		}
	}
}

// TestKeepSkipped: with ProcessOptions.KeepSkipped, a message that would
// delete the keys of messages not received yet is ignored with
// ErrGenerationGap and changes nothing; once the missing ones are
// processed, it is read, and nothing was lost.
func TestKeepSkipped(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	var msgs [][]byte
	for range 40 { // beyond the default window of 32
		m, err := tg.members[0].EncryptApplication(tg.rnd, []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	r := tg.members[1]
	keep := ProcessOptions{KeepSkipped: true}
	before, _ := r.MarshalBinary()
	if _, err := r.ProcessMessageWith(msgs[39], time.Time{}, keep); !errors.Is(err, ErrGenerationGap) || VerdictOf(err) != Ignore {
		t.Fatalf("message 39 first: err = %v, want ErrGenerationGap with an ignore verdict", err)
	}
	if after, _ := r.MarshalBinary(); !bytes.Equal(before, after) {
		t.Fatal("a refused message changed the group")
	}
	if _, err := r.ProcessMessageWith(msgs[32], time.Time{}, keep); err != nil {
		t.Fatalf("message 32 (32 skipped keys: the window): %v", err)
	}
	for i := range 32 {
		if _, err := r.ProcessMessageWith(msgs[i], time.Time{}, keep); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for i := 33; i < 40; i++ {
		if _, err := r.ProcessMessageWith(msgs[i], time.Time{}, keep); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	// Without the option the same order loses the oldest keys (RFC 9420's
	// bounded window), as before.
	tg2 := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	var m2 [][]byte
	for range 40 {
		m, _ := tg2.members[0].EncryptApplication(tg2.rnd, []byte("x"), nil)
		m2 = append(m2, m)
	}
	if _, err := tg2.members[1].ProcessMessage(m2[39], time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg2.members[1].ProcessMessage(m2[0], time.Time{}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("message 0 after 39 without the option: err = %v, want ErrDuplicate (key deleted)", err)
	}
}

// TestPadding checks that application content is padded to the block.
func TestPadding(t *testing.T) {
	for _, c := range []struct {
		block, n, want int
	}{{0, 100, 28}, {0, 128, 0}, {1, 5, 0}, {16, 5, 11}} {
		cfg := Config{PaddingBlock: c.block}
		if got := cfg.padding(c.n); got != c.want {
			t.Errorf("padding(block %d, %d) = %d, want %d", c.block, c.n, got, c.want)
		}
	}
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	short, _ := tg.members[0].EncryptApplication(tg.rnd, []byte("a"), nil)
	long, _ := tg.members[0].EncryptApplication(tg.rnd, []byte("abcdefghijklmnopqrstuvwxyz"), nil)
	var ms, ml wire.MLSMessage
	if wire.Unmarshal(short, &ms) != nil || wire.Unmarshal(long, &ml) != nil {
		t.Fatal("decode")
	}
	if len(ms.PrivateMessage.Ciphertext) != len(ml.PrivateMessage.Ciphertext) {
		t.Fatalf("padded lengths differ: %d, %d", len(ms.PrivateMessage.Ciphertext), len(ml.PrivateMessage.Ciphertext))
	}
}

// TestEncryptApplicationInactive: a removed member cannot send.
func TestEncryptApplicationInactive(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	tg.commit(0, CommitOptions{Removes: []LeafIndex{1}})
	if _, err := tg.members[1].EncryptApplication(tg.rnd, []byte("x"), nil); !errors.Is(err, ErrInactive) {
		t.Fatalf("removed member sent: %v", err)
	}
	if _, err := tg.members[1].ProcessMessage([]byte{1}, time.Time{}); VerdictOf(err) != Ignore {
		t.Fatalf("inactive group: %v", err)
	}
}
