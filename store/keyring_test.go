package store

import (
	"bytes"
	"errors"
	"testing"
)

func TestWrapUnwrap(t *testing.T) {
	kek, dk := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	w, err := wrap(kek, dk, 1, protectKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := unwrap(kek, w, 1, protectKeyFile); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("unwrap = %x, %v", got, err)
	}
	for name, f := range map[string]func() ([]byte, error){
		"other kek":        func() ([]byte, error) { return unwrap(bytes.Repeat([]byte{3}, 32), w, 1, protectKeyFile) },
		"other protection": func() ([]byte, error) { return unwrap(kek, w, 1, protectPassphrase) },
		"other format":     func() ([]byte, error) { return unwrap(kek, w, 2, protectKeyFile) },
	} {
		if _, err := f(); !errors.Is(err, errUnwrap) {
			t.Errorf("%s: %v, want errUnwrap", name, err)
		}
	}
	if _, err := unwrap(kek, w[:10], 1, protectKeyFile); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short: %v, want ErrCorrupt", err)
	}
}

func TestKDFBounds(t *testing.T) {
	good := kdfParams{Alg: "argon2id", Time: 1, MemoryKiB: 64, Threads: 1, Salt: make([]byte, 16)}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*kdfParams){
		"alg":    func(p *kdfParams) { p.Alg = "scrypt" },
		"memory": func(p *kdfParams) { p.MemoryKiB = maxKDFMemoryKiB + 1 },
		"time":   func(p *kdfParams) { p.Time = 0 },
		"salt":   func(p *kdfParams) { p.Salt = p.Salt[:8] },
	} {
		p := good
		mut(&p)
		if err := p.check(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	m, _ := sealedManifest(make([]byte, 32), make([]byte, 32), protectKeyFile, nil)
	data, _ := encodeManifest(m)
	f.Add(data)
	f.Add([]byte(`{"format": 9}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerFormat) {
				t.Fatalf("error %v is neither ErrCorrupt nor ErrNewerFormat", err)
			}
			return
		}
		again, err := encodeManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeManifest(again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
