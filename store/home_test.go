package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"
)

func passphrase(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

// snapshotFiles hashes every file of home except the lock file, whose
// content names the last opener.
func snapshotFiles(t *testing.T, home string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == lockFileName {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = sha256.Sum256(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateOpenPersists(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{}
	b.PutChannel("c", []byte("meta"))
	b.Append("c", Entry{Seq: 1, Epoch: 1, Data: []byte("hello")})
	mustApply(t, db, b)
	db.Close()

	db, err = Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log, err := db.Log(ctx, "c", 0, 0)
	if err != nil || len(log) != 1 || string(log[0].Data) != "hello" {
		t.Fatalf("Log after reopen = %+v, %v", log, err)
	}
	for name, want := range map[string]os.FileMode{"": 0o700, keyFileName: 0o600, manifestName: 0o600} {
		st, err := os.Stat(filepath.Join(home, name))
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("mode of %q = %v, %v; want %v", name, st.Mode().Perm(), err, want)
		}
	}
}

func TestCreateExisting(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := snapshotFiles(t, home)
	if _, err := Create(home, []byte("pw"), Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("Create twice = %v, want ErrExists", err)
	}
	if diff := cmp.Diff(before, snapshotFiles(t, home)); diff != "" {
		t.Errorf("second Create modified the home:\n%s", diff)
	}
}

func TestOpenNotInitialized(t *testing.T) {
	home := filepath.Join(t.TempDir(), "none")
	if _, err := Open(home, Options{}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open = %v, want ErrNotInitialized", err)
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the home: %v", err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, []byte("correct horse"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := snapshotFiles(t, home)
	for _, tc := range []struct {
		name string
		opts Options
		want error
	}{
		{"wrong", Options{Passphrase: passphrase("battery staple")}, ErrWrongPassphrase},
		{"none", Options{}, ErrPassphraseRequired},
		{"prompt fails", Options{Passphrase: func() ([]byte, error) { return nil, ErrPassphraseRequired }}, ErrPassphraseRequired},
	} {
		_, err := Open(home, tc.opts)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Open = %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "horse") {
			t.Errorf("%s: error %q holds the passphrase", tc.name, err)
		}
	}
	if diff := cmp.Diff(before, snapshotFiles(t, home)); diff != "" {
		t.Errorf("failed Open modified the home:\n%s", diff)
	}
	db, err = Open(home, Options{Passphrase: passphrase("correct horse")})
	if err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
	db.Close()
}

func TestNewerManifestVersion(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	name := filepath.Join(home, manifestName)
	data, _ := os.ReadFile(name)
	data = []byte(strings.Replace(string(data), `"format": 1`, `"format": 7, "new_field": {}`, 1))
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshotFiles(t, home)
	_, err = Open(home, Options{})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Found != 7 || fe.Supported != FormatVersion {
		t.Fatalf("Open = %v, want *FormatError 7 > %d", err, FormatVersion)
	}
	if msg := err.Error(); !strings.Contains(msg, "7") || !strings.Contains(msg, "1") {
		t.Errorf("error %q does not name both versions", msg)
	}
	if diff := cmp.Diff(before, snapshotFiles(t, home)); diff != "" {
		t.Errorf("Open of a newer home modified it:\n%s", diff)
	}
}

func TestNewerDatabaseVersion(t *testing.T) {
	db, fs := newMemHome(t)
	k := versionKey()
	if err := db.pdb.Set(k, db.sealer.seal(nil, k, encodeVersion(DatabaseVersion+1)), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open("/home", memOptions(fs))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.What != "database" || fe.Found != DatabaseVersion+1 {
		t.Fatalf("Open = %v, want database *FormatError", err)
	}
}

// TestOlderDatabaseVersionRaised: a database of version 1 (written by an
// earlier build) opens, keeps its data, and its record is raised, so that
// an earlier build refuses it once this one may have written snapshots in
// pieces.
func TestOlderDatabaseVersionRaised(t *testing.T) {
	db, fs := newMemHome(t)
	ctx := context.Background()
	b := &Batch{}
	b.PutChannel("c", []byte("meta"))
	b.PutSnapshot("c", Snapshot{EventSeq: 3, Data: []byte("snapshot")})
	if err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	k := versionKey()
	if err := db.pdb.Set(k, db.sealer.seal(nil, k, encodeVersion(1)), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open("/home", memOptions(fs))
	if err != nil {
		t.Fatalf("Open of a version-1 database: %v", err)
	}
	defer db.Close()
	raw, closer, err := db.pdb.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := db.sealer.open(k, raw)
	closer.Close()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := decodeVersion(k, pt); err != nil || v != DatabaseVersion {
		t.Errorf("version record after the open = %d, %v; want %d", v, err, DatabaseVersion)
	}
	if st, err := db.Channel(ctx, "c"); err != nil || st.Snapshot == nil || string(st.Snapshot.Data) != "snapshot" {
		t.Errorf("the version-1 data after the open: %+v, %v", st.Snapshot, err)
	}
}

func TestCorruptHome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(home string) error
	}{
		{"manifest not JSON", func(h string) error {
			return os.WriteFile(filepath.Join(h, manifestName), []byte("{"), 0o600)
		}},
		{"key file missing", func(h string) error { return os.Remove(filepath.Join(h, keyFileName)) }},
		{"key file replaced", func(h string) error {
			return os.WriteFile(filepath.Join(h, keyFileName), make([]byte, 32), 0o600)
		}},
		{"protection changed", func(h string) error {
			name := filepath.Join(h, manifestName)
			data, _ := os.ReadFile(name)
			data = []byte(strings.Replace(string(data), `"keyfile"`, `"passphrase"`, 1))
			return os.WriteFile(name, data, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			db, err := Create(home, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			if err := tc.break_(home); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(home, Options{Passphrase: passphrase("x")}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestCreateAfterCrashedCreate: a database left without a manifest (a crash
// during Create) does not block a new Create.
func TestCreateAfterCrashedCreate(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Remove(filepath.Join(home, manifestName))
	if _, err := Open(home, Options{}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open without manifest = %v, want ErrNotInitialized", err)
	}
	db, err = Create(home, nil, Options{})
	if err != nil {
		t.Fatalf("Create over a partial home: %v", err)
	}
	db.Close()
}
