package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// needle returns a recognisable, incompressible plaintext, so that a
// compressed table would still hold it verbatim if it were not sealed.
func needle(what string) []byte {
	r := make([]byte, 24)
	rand.Read(r)
	return []byte(what + " " + hex.EncodeToString(r))
}

// findNeedles returns the needles that occur in any file under dir.
func findNeedles(t *testing.T, dir string, needles map[string][]byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		for name, n := range needles {
			if bytes.Contains(data, n) {
				found = append(found, fmt.Sprintf("%s in %s", name, filepath.Base(p)))
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestNoPlaintextOnDisk writes known message text, private keys and group
// secrets, then scans every file of the home, in the WAL and after a flush
// to tables: none may appear, nor the data key or the passphrase.
func TestNoPlaintextOnDisk(t *testing.T) {
	for _, pass := range []string{"", "hunter2 passphrase"} {
		t.Run(fmt.Sprintf("passphrase=%v", pass != ""), func(t *testing.T) {
			home := t.TempDir()
			db, err := Create(home, []byte(pass), Options{})
			if err != nil {
				t.Fatal(err)
			}
			needles := writeSecrets(t, db)
			needles["data key"] = clone(db.mu.dataKey)
			if pass != "" {
				needles["passphrase"] = []byte(pass)
			}
			if found := findNeedles(t, home, needles); len(found) > 0 {
				t.Errorf("plaintext in the WAL: %v", found)
			}
			if err := db.pdb.Flush(); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if found := findNeedles(t, home, needles); len(found) > 0 {
				t.Errorf("plaintext in tables: %v", found)
			}
		})
	}
}

func writeSecrets(t *testing.T, db *DB) map[string][]byte {
	needles := map[string][]byte{
		"private key": needle("ed25519-private"),
		"group":       needle("epoch-secret"),
		"kp":          needle("init-private-key"),
		"snapshot":    needle("snapshot text"),
		"admission":   needle("welcome secrets"),
	}
	b := &Batch{}
	b.PutIdentity(Identity{PrivateKey: needles["private key"], Name: "alice"})
	b.PutChannel("c", []byte("name"))
	b.SetGroup("c", 1, needles["group"])
	b.PutKeyPackage([]byte("ref"), needles["kp"])
	b.PutSnapshot("c", Snapshot{Data: needles["snapshot"]})
	b.PutAdmission("c", Admission{ID: []byte("requester"), Data: needles["admission"]})
	for i := range 50 {
		name := fmt.Sprintf("message %d", i)
		needles[name] = needle("hello from alice")
		b.Append("c", Entry{Seq: uint64(i + 1), Data: needles[name]})
		b.PutEvent("c", Event{Seq: uint64(i + 1), Data: needles[name]})
	}
	mustApply(t, db, b)
	return needles
}

// TestFindNeedlesControl shows the scan would catch plaintext: the same
// kind of values written unsealed to a Pebble database, then flushed, are
// found.
func TestFindNeedlesControl(t *testing.T) {
	dir := t.TempDir()
	pdb, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string][]byte{"text": needle("hello from alice")}
	if err := pdb.Set([]byte("k"), n["text"], pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if len(findNeedles(t, dir, n)) == 0 {
		t.Error("unsealed value not found in the WAL")
	}
	pdb.Flush()
	pdb.Close()
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, m := range logs {
		os.Remove(m)
	}
	if tables, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(tables) == 0 {
		t.Fatal("no table after flush")
	}
	if len(findNeedles(t, dir, n)) == 0 {
		t.Error("unsealed value not found in a flushed table")
	}
}
