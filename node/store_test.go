package node

import (
	"context"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/spacepanda/spacepanda/store"
)

// Both implementations satisfy the interfaces the node is written against.
var (
	_ Store = (*store.DB)(nil)
	_ Store = (*store.MemDB)(nil)
)

// TestStoreImplementations drives each implementation through the Store
// interface: one step's batch goes in, a restart's reads get it back.
func TestStoreImplementations(t *testing.T) {
	ctx := context.Background()
	db, err := store.Create("/home", nil, store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Store{"DB": db, "MemDB": store.NewMemDB()} {
		t.Run(name, func(t *testing.T) {
			defer s.Close()
			if _, err := s.Identity(ctx); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Identity before init: %v, want ErrNotFound", err)
			}
			b := &store.Batch{}
			b.PutIdentity(store.Identity{PrivateKey: []byte("k"), Name: "alice"})
			b.PutChannel("general", []byte("meta"))
			b.SetGroup("general", 1, []byte("state"))
			b.Append("general", store.Entry{Seq: 1, Epoch: 1, Data: []byte("msg")})
			b.PutOutbox("general", store.OutboxItem{Seq: 1, Data: []byte("out")})
			if err := s.Apply(ctx, b); err != nil {
				t.Fatal(err)
			}
			b = &store.Batch{}
			b.Append("general", store.Entry{Seq: 2, Epoch: 1, Data: []byte("msg2")})
			p, err := s.ApplyNoWait(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Wait(); err != nil {
				t.Fatal(err)
			}
			chans, err := s.Channels(ctx)
			if err != nil || len(chans) != 1 || chans[0].LastSeq != 2 || string(chans[0].Group) != "state" ||
				len(chans[0].Outbox) != 1 {
				t.Errorf("Channels = %+v, %v", chans, err)
			}
		})
	}
}
