package spacepanda_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/spacepanda/spacepanda"

// rule says which imports a package tree may have. The reason is the one in
// DESIGN.md's layout table; it is printed with every violation.
type rule struct {
	pkg    string   // package path below the module, with its sub-packages
	allow  []string // import path prefixes allowed besides the standard library
	deny   []string // import path prefixes forbidden even when allowed above
	deps   bool     // check every transitive dependency, not only direct imports
	skip   []string // sub-packages (paths below the module) that another rule covers
	reason string
}

var rules = []rule{
	{
		pkg:    "mls",
		allow:  []string{module + "/mls", "golang.org/x/crypto", "golang.org/x/sys", "github.com/cloudflare/circl"},
		deps:   true,
		reason: "mls is pure: stdlib, x/crypto and circl (X448/Ed448) only",
	},
	{
		pkg:    "crdt",
		allow:  []string{module + "/crdt"},
		deps:   true,
		reason: "crdt is pure and deterministic: stdlib only",
	},
	{
		pkg:    "store",
		allow:  []string{module + "/store", module + "/mls", module + "/crdt", "github.com/cockroachdb/pebble/v2", "golang.org/x/"},
		reason: "store is the only package that touches Pebble; it may use mls/crdt types",
	},
	{
		pkg: "p2p",
		allow: []string{module + "/p2p", "github.com/libp2p/", "github.com/multiformats/", "github.com/ipfs/", "golang.org/x/",
			"github.com/prometheus/client_golang/prometheus"},
		reason: "p2p is the only package that touches libp2p; it knows nothing of MLS or CRDTs; it registers libp2p's own metrics in the registry the node passes (DESIGN.md)",
	},
	{
		pkg:    "node",
		allow:  []string{module + "/", "golang.org/x/", "github.com/prometheus/"},
		deny:   []string{module + "/cmd"},
		reason: "node wires mls, crdt, store and p2p; it never imports pebble or libp2p itself",
	},
	{
		pkg:    "node/testbed",
		allow:  []string{module + "/node", module + "/p2p", "golang.org/x/"},
		reason: "the testbed drives nodes through node's API, and p2p only for the raw-gossipsub baseline",
	},
	{
		pkg:    "nattest",
		allow:  []string{module + "/nattest"},
		reason: "nattest is test-only: it drives spacepanda processes and imports nothing outside its tests",
	},
	{
		pkg:    "cmd/spacepanda",
		allow:  []string{module + "/", "github.com/spf13/", "golang.org/x/"},
		deny:   []string{module + "/mls", module + "/crdt", module + "/store", module + "/p2p"},
		skip:   []string{"cmd/spacepanda/internal/tui"},
		reason: "the command line speaks to node only; the TUI's libraries stay in its package",
	},
	{
		pkg: "cmd/spacepanda/internal/tui",
		allow: []string{module + "/node", "github.com/charmbracelet/bubbletea", "github.com/charmbracelet/bubbles",
			"github.com/charmbracelet/lipgloss", "github.com/muesli/termenv", "golang.org/x/"},
		deny:   []string{module + "/mls", module + "/crdt", module + "/store", module + "/p2p"},
		reason: "the TUI speaks node.API only; bubbletea, bubbles and lipgloss live only here",
	},
	{
		pkg:    "cmd/mls-client",
		allow:  []string{module + "/mls", module + "/cmd/mls-client", "google.golang.org/grpc", "google.golang.org/protobuf"},
		deny:   []string{module + "/mls/internal"},
		reason: "the MLS interop client is a gRPC face of mls alone: mls, gRPC and protobuf",
	},
}

// TestSpacepandaWithoutGRPC checks that the spacepanda binary does not link
// gRPC: only the interop client needs it.
func TestSpacepandaWithoutGRPC(t *testing.T) {
	b, err := exec.Command("go", "list", "-deps", "./cmd/spacepanda").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(b)) {
		if strings.HasPrefix(dep, "google.golang.org/grpc") {
			t.Errorf("cmd/spacepanda links %s: gRPC belongs to cmd/mls-client only", dep)
		}
	}
}

// TestLayout enforces the import column of DESIGN.md's layout table.
func TestLayout(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for pkg, imports := range listImports(t, r) {
				if r.skips(pkg) {
					continue
				}
				for _, imp := range imports {
					if !r.permits(imp) {
						t.Errorf("%s imports %s: %s", pkg, imp, r.reason)
					}
				}
			}
		})
	}
}

// skips reports whether pkg is left to another rule.
func (r rule) skips(pkg string) bool {
	for _, s := range r.skip {
		if pkg == module+"/"+s || strings.HasPrefix(pkg, module+"/"+s+"/") {
			return true
		}
	}
	return false
}

func (r rule) permits(imp string) bool {
	for _, d := range r.deny {
		if strings.HasPrefix(imp, d) {
			return false
		}
	}
	if isStdlib(imp) {
		return true
	}
	for _, a := range r.allow {
		if strings.HasPrefix(imp, a) {
			return true
		}
	}
	return false
}

// isStdlib reports whether an import path belongs to the standard library,
// whose paths have no dot in their first element.
func isStdlib(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

// listImports returns, for every non-test package below r.pkg, its direct
// imports, or with r.deps its whole dependency closure.
func listImports(t *testing.T, r rule) map[string][]string {
	t.Helper()
	pattern := "./" + r.pkg + "/..."
	out := map[string][]string{}
	if r.deps {
		cmd := exec.Command("go", "list", "-deps", pattern)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pattern, err)
		}
		out[r.pkg] = strings.Fields(string(b))
		return out
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, pattern)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

// TestLayoutRulesReject checks that the rules themselves refuse the edges the
// layout forbids, so TestLayout cannot pass by allowing everything.
func TestLayoutRulesReject(t *testing.T) {
	forbidden := map[string][]string{
		"mls":   {"github.com/cockroachdb/pebble/v2", "github.com/libp2p/go-libp2p", module + "/store", module + "/crdt"},
		"crdt":  {"golang.org/x/crypto/argon2", module + "/mls", "github.com/cockroachdb/pebble/v2"},
		"store": {"github.com/libp2p/go-libp2p", module + "/node", module + "/p2p"},
		"p2p":   {"github.com/cockroachdb/pebble/v2", module + "/mls", module + "/crdt", module + "/store"},
		"node":  {"github.com/cockroachdb/pebble/v2", "github.com/libp2p/go-libp2p-pubsub", module + "/cmd/spacepanda"},
		"cmd/spacepanda": {"github.com/cockroachdb/pebble/v2", "github.com/libp2p/go-libp2p", module + "/store", module + "/p2p",
			"github.com/charmbracelet/bubbletea", "github.com/charmbracelet/lipgloss"},
		"cmd/spacepanda/internal/tui": {"github.com/cockroachdb/pebble/v2", "github.com/libp2p/go-libp2p", module + "/store",
			module + "/p2p", module + "/mls", "github.com/spf13/cobra"},
		"cmd/mls-client": {module + "/node", module + "/store", module + "/p2p", module + "/crdt", module + "/mls/internal/wire",
			"github.com/libp2p/go-libp2p", "github.com/spf13/cobra"},
		"node/testbed": {module + "/store", module + "/mls", module + "/crdt", "github.com/cockroachdb/pebble/v2", "github.com/libp2p/go-libp2p"},
	}
	for _, r := range rules {
		for _, imp := range forbidden[r.pkg] {
			if r.permits(imp) {
				t.Errorf("rule %s permits %s", r.pkg, imp)
			}
		}
		if !r.permits("crypto/sha256") {
			t.Errorf("rule %s refuses the standard library", r.pkg)
		}
	}
}

// TestWriteRawOnlyInTests: p2p.Stream.WriteRaw sends unframed bytes for the
// adversary tests' hostile hosts; no product code may call it, except the
// testbed's hostile strangers (spacepanda testbed --hostile), whose job it is.
func TestWriteRawOnlyInTests(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), ".WriteRaw(") && filepath.ToSlash(path) != "node/testbed/hostile.go" {
			t.Errorf("%s calls WriteRaw: only adversary tests may", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
