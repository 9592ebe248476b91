package store

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeIdentity(f *testing.F) {
	f.Add(encodeIdentity(Identity{PrivateKey: []byte{1, 2, 3}, Name: "alice"}))
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		id, err := decodeIdentity(identityKey(), v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		again, err := decodeIdentity(identityKey(), encodeIdentity(id))
		if err != nil || !bytes.Equal(again.PrivateKey, id.PrivateKey) || again.Name != id.Name {
			t.Fatalf("round trip: %+v -> %+v, %v", id, again, err)
		}
	})
}

func TestSplitU64(t *testing.T) {
	v := withU64([]byte("data"), 1, 2)
	ns, data, err := splitU64(nil, v, 2)
	if err != nil || ns[0] != 1 || ns[1] != 2 || string(data) != "data" {
		t.Errorf("splitU64 = %v, %q, %v", ns, data, err)
	}
	if _, _, err := splitU64([]byte{tagChannel}, v[:15], 2); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short record: %v, want ErrCorrupt", err)
	}
	if _, err := decodeVersion(nil, []byte{1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short version: %v, want ErrCorrupt", err)
	}
}
