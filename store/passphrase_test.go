package store

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func fakeTerminal(env string, tty bool, typed ...string) terminal {
	return terminal{
		getenv:     func(k string) string { return map[string]string{PassphraseEnv: env}[k] },
		isTerminal: func() bool { return tty },
		prompt: func(string) ([]byte, error) {
			if len(typed) == 0 {
				return nil, errors.New("no more input")
			}
			p := typed[0]
			typed = typed[1:]
			return []byte(p), nil
		},
	}
}

func TestPromptPassphrase(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    terminal
		want string
		err  error
	}{
		{"env wins", fakeTerminal("from-env", true, "typed"), "from-env", nil},
		{"terminal", fakeTerminal("", true, "typed"), "typed", nil},
		{"no terminal", fakeTerminal("", false), "", ErrPassphraseRequired},
	} {
		got, err := tc.t.passphrase()
		if string(got) != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: passphrase() = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestNewPassphrase(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    terminal
		want string
		err  error
	}{
		{"env", fakeTerminal("e", true), "e", nil},
		{"typed twice", fakeTerminal("", true, "pw", "pw"), "pw", nil},
		{"mismatch", fakeTerminal("", true, "pw", "wp"), "", ErrPassphraseMismatch},
		{"empty: key file", fakeTerminal("", true, ""), "", nil},
		{"no terminal: key file", fakeTerminal("", false), "", nil},
	} {
		got, err := tc.t.newPassphrase()
		if string(got) != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: newPassphrase() = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// TestSetPassphrase changes the protection key file -> passphrase ->
// another passphrase -> key file; the data stays readable, the database
// files are not rewritten, and each old secret stops working.
func TestSetPassphrase(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{}
	b.PutPeer(Peer{ID: "p", Data: []byte("addr")})
	mustApply(t, db, b)
	if err := db.pdb.Flush(); err != nil { // so that there is a table to watch
		t.Fatal(err)
	}
	db.Close()
	dbFiles := func() map[string][32]byte { return snapshotFiles(t, filepath.Join(home, dbDirName)) }

	reopen := func(pw string) *DB {
		t.Helper()
		db, err := Open(home, Options{Passphrase: passphrase(pw)})
		if err != nil {
			t.Fatalf("Open(%q): %v", pw, err)
		}
		if p, err := db.Peers(ctx); err != nil || len(p) != 1 {
			t.Fatalf("Peers = %v, %v", p, err)
		}
		return db
	}
	before := dbFiles()
	db = reopen("")
	if err := db.SetPassphrase([]byte("one")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(filepath.Join(home, keyFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key file left after setting a passphrase: %v", err)
	}
	db = reopen("one")
	if err := db.SetPassphrase([]byte("two")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(home, Options{Passphrase: passphrase("one")}); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("old passphrase: %v, want ErrWrongPassphrase", err)
	}
	db = reopen("two")
	if err := db.SetPassphrase(nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = reopen("")
	db.Close()
	after := dbFiles()
	tables := 0
	for name, sum := range before {
		if filepath.Ext(name) == ".sst" {
			tables++
		}
		if filepath.Ext(name) == ".sst" && after[name] != sum {
			t.Errorf("table %s rewritten by a passphrase change", name)
		}
	}
	if tables == 0 {
		t.Error("no table to check")
	}
}

// TestSetPassphraseDurable: once SetPassphrase returns, a crash (keeping any
// part of the unsynced data) leaves the new protection in force.
func TestSetPassphraseDurable(t *testing.T) {
	for seed := range uint64(20) {
		fs := vfs.NewCrashableMem()
		db, err := Create("/home", nil, memOptions(fs))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetPassphrase([]byte("new")); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		db.Close()
		opts := memOptions(crashed)
		if _, err := Open("/home", opts); !errors.Is(err, ErrPassphraseRequired) {
			t.Fatalf("seed %d: Open without passphrase after crash: %v; want ErrPassphraseRequired", seed, err)
		}
		opts.Passphrase = passphrase("new")
		db, err = Open("/home", opts)
		if err != nil {
			t.Fatalf("seed %d: Open after crash: %v", seed, err)
		}
		db.Close()
	}
}
