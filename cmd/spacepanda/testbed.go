package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/spacepanda/spacepanda/node/testbed"
	"github.com/spf13/cobra"
)

// errChecksFailed makes the exit status 1 when a testbed run fails its own
// checks; the report says which.
var errChecksFailed = errors.New("testbed: the run failed its checks (see FAILURE lines)")

func testbedCmd(g *globals) *cobra.Command {
	var cfg testbed.Config
	var cpuProfile, memProfile, traceFile string
	c := &cobra.Command{
		Use:   "testbed",
		Short: "Run many nodes on loopback with a workload and faults; report delivery, latency and convergence",
		Long: `testbed starts --nodes nodes on loopback (in this process, or with --procs as
spacepanda daemon processes), joins them to one channel through invite codes,
sends --rate messages per second for --duration, injects the faults asked for
at times drawn from --seed, and prints what was delivered, how fast, and
whether every replica converged, next to raw gossipsub on as many hosts.
With --json the last line is the report as one JSON object. docs/testbed.md
explains every figure.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Procs {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("--procs: %w", err)
				}
				cfg.Binary = exe
			}
			if !g.json && isTerminal(g.stderr) {
				cfg.Progress = func(p testbed.Progress) {
					fmt.Fprintf(g.stderr, "\r%6.1fs  %-16s sent %-7d deliveries %-9d down %d   ",
						p.Elapsed.Seconds(), p.Phase, p.Sent, p.Deliveries, p.Down)
				}
			}
			cfg.Logger = g.log
			if g.log.Enabled(cmd.Context(), slog.LevelDebug) {
				cfg.NodeLogLevel = slog.LevelDebug // the nodes' logs too
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if traceFile != "" {
				stop, err := startTrace(traceFile)
				if err != nil {
					return err
				}
				defer stop()
			}
			rep, err := testbed.Run(cmd.Context(), cfg)
			if memProfile != "" {
				if err := writeAllocs(memProfile); err != nil {
					return err
				}
			}
			if cfg.Progress != nil {
				fmt.Fprintln(g.stderr)
			}
			if err != nil {
				return err
			}
			if g.json {
				b, err := json.Marshal(rep)
				if err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, string(b))
			} else if err := rep.WriteTable(g.stdout); err != nil {
				return err
			}
			if !rep.OK() {
				return errChecksFailed
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&cfg.Nodes, "nodes", 5, "number of nodes")
	f.Float64Var(&cfg.Rate, "rate", 50, "aggregate send rate, messages per second")
	f.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long the workload runs")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of the fault schedule")
	f.BoolVar(&cfg.Kill, "kill", false, "crash one node (no shutdown) and restart it from its home")
	f.BoolVar(&cfg.Partition, "partition", false, "split the network in two halves for a while, then heal")
	f.BoolVar(&cfg.Churn, "churn", false, "concurrent leave, remove, key updates, and re-joins with new codes")
	f.IntVar(&cfg.Offline, "offline", 0, "stop one node while this many messages are sent, then measure its catch-up")
	f.IntVar(&cfg.Hostile, "hostile", 0, "strangers forging messages on the topic and opening streams with lying frames, plus one member making commits it may not and posting after its removal")
	f.BoolVar(&cfg.Procs, "procs", false, "run each node as a spacepanda daemon process (a kill is SIGKILL)")
	f.BoolVar(&cfg.Baseline, "baseline", true, "also run the workload over raw gossipsub for comparison")
	f.DurationVar(&cfg.Settle, "settle", 60*time.Second, "bound on waiting for delivery and convergence")
	f.StringVar(&cfg.Dir, "dir", "", "directory for the homes and node logs (default: a temporary one, removed)")
	f.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory (homes and node logs) after the run")
	f.IntVar(&cfg.Senders, "senders", 8, "sends in progress per node at most")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (every in-process node, the testbed and the baseline) to FILE")
	f.StringVar(&memProfile, "memprofile", "", "write a profile of this process's allocations over the run to FILE (go tool pprof -sample_index=alloc_space)")
	f.StringVar(&cfg.LatencyFile, "latencies", "", "write every delivery of the workload to FILE as CSV (message, sender, sent_s, ack_ms, receiver, latency_ms)")
	f.StringVar(&traceFile, "trace", "", "write a runtime execution trace of this process to FILE (go tool trace FILE; about 1 MB per second of a 10-node run at 200 messages/s)")
	return c
}

// startTrace writes this process's execution trace into path until stop.
func startTrace(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--trace: %w", err)
	}
	return func() { trace.Stop(); f.Close() }, nil
}

// writeAllocs writes the allocation profile of this process into path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	return nil
}

// startCPUProfile profiles this process's CPU into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
