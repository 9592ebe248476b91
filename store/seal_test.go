package store

import (
	"bytes"
	"errors"
	"testing"
)

func testSealer(t *testing.T) *sealer {
	s, err := newSealer(bytes.Repeat([]byte{7}, DataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := testSealer(t)
	for _, pt := range [][]byte{nil, {}, []byte("hello"), bytes.Repeat([]byte{1}, 1<<16)} {
		sealed := s.seal([]byte("prefix"), []byte("key"), pt)
		if !bytes.HasPrefix(sealed, []byte("prefix")) || len(sealed) != len("prefix")+len(pt)+sealOverhead {
			t.Fatalf("sealed length %d for %d bytes", len(sealed), len(pt))
		}
		got, err := s.open([]byte("key"), sealed[len("prefix"):])
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("open = %q, %v", got, err)
		}
	}
	a, b := s.seal(nil, []byte("k"), []byte("x")), s.seal(nil, []byte("k"), []byte("x"))
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: nonce reused")
	}
}

func TestSealRejects(t *testing.T) {
	s := testSealer(t)
	key := []byte("key")
	sealed := s.seal(nil, key, []byte("secret"))
	other, _ := newSealer(bytes.Repeat([]byte{8}, DataKeySize))
	for name, open := range map[string]func() ([]byte, error){
		"other key":      func() ([]byte, error) { return s.open([]byte("kex"), sealed) },
		"other data key": func() ([]byte, error) { return other.open(key, sealed) },
		"truncated":      func() ([]byte, error) { return s.open(key, sealed[:sealOverhead-1]) },
		"version":        func() ([]byte, error) { return s.open(key, append([]byte{9}, sealed[1:]...)) },
	} {
		pt, err := open()
		var ce *CorruptError
		if !errors.As(err, &ce) || pt != nil {
			t.Errorf("%s: open = %q, %v; want *CorruptError", name, pt, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := newSealer(bytes.Repeat([]byte{7}, DataKeySize))
	f.Add([]byte("k"), s.seal(nil, []byte("k"), []byte("v")))
	f.Fuzz(func(t *testing.T, key, sealed []byte) {
		pt, err := s.open(key, sealed)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || pt != nil {
				t.Fatalf("open error %v with data %q", err, pt)
			}
			return
		}
		// Forging a tag is infeasible, so only the seed value opens.
		if len(sealed) != len(pt)+sealOverhead || sealed[0] != sealVersion {
			t.Fatalf("opened a malformed value")
		}
	})
}
