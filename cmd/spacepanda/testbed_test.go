package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runTestbed runs `spacepanda testbed ARGS` as a process of the test binary
// (and, with --procs, its daemons too) and returns stdout, stderr and the
// error.
func runTestbed(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"testbed"}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestTestbedProcs runs the testbed with real daemon processes, a SIGKILL
// and a partition (through the daemons' fault gates: every connection
// across it closed, checked by the testbed); the last line of the output
// is the JSON report.
func TestTestbedProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four daemons")
	}
	out, errOut, err := runTestbed(t, "--procs", "--nodes", "4", "--rate", "20", "--duration", "6s", "--kill", "--partition",
		"--seed", "3", "--baseline=false", "--settle", "30s", "--dir", t.TempDir(), "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rep struct {
		Nodes        int     `json:"nodes"`
		Mode         string  `json:"mode"`
		Sent         int     `json:"sent"`
		Lost         int     `json:"lost"`
		Duplicates   int     `json:"duplicates"`
		DeliveredPct float64 `json:"delivered_pct"`
		Converged    bool    `json:"converged"`
		Faults       []struct {
			Kind   string   `json:"kind"`
			Nodes  []string `json:"nodes"`
			ConvS  float64  `json:"conv_s"`
			Detail string   `json:"detail"`
		} `json:"faults"`
		Failures []string `json:"failures"`
	}
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); jerr != nil {
		t.Fatalf("last line is not the JSON report: %v\nstdout:\n%s\nstderr:\n%s", jerr, out, errOut)
	}
	if err != nil || rep.Mode != "procs" || rep.Nodes != 4 || rep.Sent == 0 || rep.Lost != 0 || rep.Duplicates != 0 ||
		rep.DeliveredPct != 100 || !rep.Converged || len(rep.Faults) != 2 || rep.Faults[0].Kind != "kill" || rep.Faults[0].ConvS < 0 ||
		rep.Faults[1].Kind != "partition" || len(rep.Faults[1].Nodes) == 0 || rep.Faults[1].ConvS < 0 || strings.Contains(rep.Faults[1].Detail, "skipped") {
		t.Fatalf("exit %v; report %+v\nstderr:\n%s", err, rep, errOut)
	}
}

// TestTestbedBadFlags: an unusable configuration fails with a clear message
// before anything starts.
func TestTestbedBadFlags(t *testing.T) {
	_, errOut, err := runTestbed(t, "--hostile", "100")
	if err == nil || !strings.Contains(errOut, "hostile must be in") {
		t.Fatalf("exit %v, stderr %q", err, errOut)
	}
}
