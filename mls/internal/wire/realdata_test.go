package wire

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// TestRealDataRoundTrip round-trips the structures of the other vector
// files through this package's codec. Unlike messages.json their contents
// are real (signed, valid) protocol data, with GREASE values and every
// cipher suite. The files' own checks belong to the packages that run them
// as TestVectors; this test only asks that every structure decodes and
// re-encodes byte for byte.
func TestRealDataRoundTrip(t *testing.T) {
	type codec = interface {
		tls.Marshaler
		tls.Unmarshaler
	}
	check := func(t *testing.T, what string, b []byte, v codec) {
		t.Helper()
		if err := Unmarshal(b, v); err != nil {
			t.Fatalf("%s: decode: %v", what, err)
		}
		if out := tls.MustMarshal(v); !bytes.Equal(out, b) {
			t.Fatalf("%s: re-encoding differs", what)
		}
	}
	n := 0
	t.Run("passive-client", func(t *testing.T) {
		type epoch struct {
			Proposals []vectortest.Hex `json:"proposals"`
			Commit    vectortest.Hex   `json:"commit"`
		}
		type passive struct {
			KeyPackage  vectortest.Hex `json:"key_package"`
			Welcome     vectortest.Hex `json:"welcome"`
			RatchetTree vectortest.Hex `json:"ratchet_tree"`
			Epochs      []epoch        `json:"epochs"`
		}
		for _, file := range []string{"passive-client-welcome", "passive-client-handling-commit"} {
			var cases []passive // fresh per file: json reuses elements
			vectortest.Load(t, file, &cases)
			for _, c := range cases {
				check(t, file+" key_package", c.KeyPackage, new(MLSMessage))
				check(t, file+" welcome", c.Welcome, new(MLSMessage))
				if c.RatchetTree != nil {
					check(t, file+" ratchet_tree", c.RatchetTree, new(RatchetTree))
				}
				for _, e := range c.Epochs {
					for _, p := range e.Proposals {
						check(t, file+" proposal", p, new(MLSMessage))
					}
					check(t, file+" commit", e.Commit, new(MLSMessage))
					n += len(e.Proposals) + 1
				}
				n += 3
			}
		}
	})
	t.Run("trees", func(t *testing.T) {
		for _, file := range []string{"treekem", "tree-validation", "tree-operations"} {
			var cases []map[string]json.RawMessage // fresh per file: json reuses maps
			vectortest.Load(t, file, &cases)
			for _, c := range cases {
				for _, key := range []string{"ratchet_tree", "tree", "tree_before", "tree_after"} {
					var b vectortest.Hex
					if raw, ok := c[key]; ok && json.Unmarshal(raw, &b) == nil {
						check(t, file+" "+key, b, new(RatchetTree))
						n++
					}
				}
				if raw, ok := c["proposal"]; ok {
					var b vectortest.Hex
					if err := json.Unmarshal(raw, &b); err != nil {
						t.Fatal(err)
					}
					check(t, file+" proposal", b, new(Proposal))
					n++
				}
				var paths []struct {
					UpdatePath vectortest.Hex `json:"update_path"`
				}
				if raw, ok := c["update_paths"]; ok {
					if err := json.Unmarshal(raw, &paths); err != nil {
						t.Fatal(err)
					}
					for _, p := range paths {
						check(t, file+" update_path", p.UpdatePath, new(UpdatePath))
						n++
					}
				}
			}
		}
	})
	if n < 1000 { // 1331 with the official files: a key was renamed or lost
		t.Fatalf("only %d structures found", n)
	}
	t.Logf("%d structures round-tripped", n)
}
