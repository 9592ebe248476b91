// Package vectortest loads the official MLS test vectors (mlswg) for the
// tests of the mls packages.
//
// The directory is $MLS_TEST_VECTORS, or ../shared/mls/test-vectors relative
// to the repository root (the directory holding go.mod).
package vectortest

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Dir returns the vector directory.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("MLS_TEST_VECTORS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "mls", "test-vectors")
		}
		if filepath.Dir(d) == d {
			t.Fatal("vectortest: no go.mod above the working directory and MLS_TEST_VECTORS unset")
		}
	}
}

// Load decodes the vector file name (without .json) into v, a pointer to a
// slice of case structs. A missing or unreadable file fails the test: no
// vector is ever skipped.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	path := filepath.Join(Dir(t), name+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("vectortest: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("vectortest: %s: %v", path, err)
	}
}

// Run loads the file name into a []C and runs f for each case as the subtest
// "<name>/<index>" of t (t is normally TestVectors).
func Run[C any](t *testing.T, name string, f func(t *testing.T, c *C)) {
	t.Helper()
	var cases []C
	Load(t, name, &cases)
	if len(cases) == 0 {
		t.Fatalf("vectortest: %s has no cases", name)
	}
	t.Run(name, func(t *testing.T) {
		for i := range cases {
			t.Run(strconv.Itoa(i), func(t *testing.T) { f(t, &cases[i]) })
		}
	})
}

// Hex is a byte string that unmarshals from lowercase hex; JSON null leaves
// it nil.
type Hex []byte

// UnmarshalJSON decodes a hex string.
func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}
