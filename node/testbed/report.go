package testbed

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of a run. Its JSON form is the last line of
// `spacepanda testbed --json`; docs/testbed.md defines every figure.
type Report struct {
	Nodes int    `json:"nodes"`
	Mode  string `json:"mode"` // "process" or "procs"
	Seed  int64  `json:"seed"`
	// Sent counts acknowledged sends: Send returned nil on a node that
	// did not crash before it returned.
	Sent int `json:"sent"`
	// SendErrors counts sends that failed (the node was stopping, say);
	// they are not expected anywhere.
	SendErrors int `json:"send_errors"`
	// Skipped counts sends the workload dropped because the node was
	// down or could not keep up with the rate; they were never sent.
	Skipped int `json:"skipped"`
	// DeliveredPct is the share of (acknowledged message, final member
	// other than its sender) pairs found in that member's timeline at the
	// end.
	DeliveredPct float64 `json:"delivered_pct"`
	// Lost counts acknowledged messages missing from at least one final
	// member's timeline at the end.
	Lost int `json:"lost"`
	// Duplicates counts messages shown more than once in a timeline
	// (summed over members).
	Duplicates int `json:"duplicates"`
	// Latency is send to first appearance in another member's Follow
	// stream, over members in the channel when the message was sent.
	Latency Latency `json:"latency_ms"`
	// Converged is true when every live member ends with the same epoch
	// authenticator, member list and CRDT view.
	Converged bool `json:"converged"`
	// ConvergenceS is the longest time from a fault's end until every
	// member had every message acknowledged before it and agreed on the
	// epoch; -1 when some fault never converged within Settle.
	ConvergenceS float64 `json:"convergence_s"`
	// CatchupS is, for the offline phase, the time from the node's restart
	// until it showed every message sent while it was away.
	CatchupS float64 `json:"catchup_s"`
	// CPUPerDeliveryUS is the CPU time of every node (user + system) from
	// the workload's start until every acknowledged message had reached
	// every live member (the baseline's window ends the same way), divided
	// by the deliveries. The convergence checks after it are not counted.
	CPUPerDeliveryUS float64   `json:"cpu_per_delivery_us"`
	Baseline         *Baseline `json:"baseline,omitempty"`
	// With hostile peers: how many forged messages they published and
	// lying streams (oversized or half-sent frames) they opened, how many
	// posts the testbed did not send showed up in a member's timeline,
	// and the share of honest messages delivered.
	Hostile          int `json:"hostile,omitempty"`
	HostilePublished int `json:"hostile_published,omitempty"`
	HostileStreams   int `json:"hostile_streams,omitempty"`
	// The hostile member's rogue commits, its admin actions after its
	// demotion (dated before it), and its posts after its removal.
	HostileCommits      int      `json:"hostile_commits,omitempty"`
	HostileActs         int      `json:"hostile_acts,omitempty"`
	HostilePosts        int      `json:"hostile_posts,omitempty"`
	UnauthorizedApplied *int     `json:"unauthorized_applied,omitempty"`
	HonestDeliveredPct  *float64 `json:"honest_delivered_pct,omitempty"`
	// Faults lists what was injected, in order.
	Faults []FaultReport `json:"faults"`
	// Failures names, for a failed check, the node and the message
	// (at most 20 lines).
	Failures []string `json:"failures,omitempty"`
	// WallS is the run's wall-clock time.
	WallS float64 `json:"wall_s"`
}

// Baseline is the same workload over raw gossipsub.
type Baseline struct {
	P50              float64 `json:"p50"`
	P99              float64 `json:"p99"`
	CPUPerDeliveryUS float64 `json:"cpu_per_delivery_us"`
	DeliveredPct     float64 `json:"delivered_pct"`
	Sent             int     `json:"sent"`
}

// FaultReport is one injected fault.
type FaultReport struct {
	Kind   string   `json:"kind"`
	Nodes  []string `json:"nodes"`
	AtS    float64  `json:"at_s"`   // since the workload started
	EndS   float64  `json:"end_s"`  // when it ended (heal, restart, rejoin)
	ConvS  float64  `json:"conv_s"` // convergence time after the end; -1: never
	Detail string   `json:"detail,omitempty"`
}

// OK reports whether the run passed its own checks: nothing lost or
// duplicated, converged, every fault converged, and no failure (a fault
// that could not be injected, a node that did not restart).
func (r *Report) OK() bool {
	return len(r.Failures) == 0 && r.Lost == 0 && r.Duplicates == 0 && r.Converged && r.ConvergenceS >= 0 && r.DeliveredPct == 100 &&
		(r.UnauthorizedApplied == nil || *r.UnauthorizedApplied == 0)
}

func (r *Report) fail(format string, args ...any) {
	if len(r.Failures) < 20 {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("nodes", "%d (%s, seed %d)", r.Nodes, r.Mode, r.Seed)
	row("sent", "%d acknowledged, %d failed", r.Sent, r.SendErrors)
	row("delivered", "%.3f %%", r.DeliveredPct)
	row("lost", "%d", r.Lost)
	row("duplicates", "%d", r.Duplicates)
	row("latency", "%s", r.Latency)
	row("converged", "%v (longest after a fault: %.2f s)", r.Converged, r.ConvergenceS)
	if r.CatchupS > 0 {
		row("catch-up", "%.2f s", r.CatchupS)
	}
	row("cpu/delivery", "%.1f µs", r.CPUPerDeliveryUS)
	if b := r.Baseline; b != nil {
		row("baseline", "raw gossipsub: p50 %.1f ms, p99 %.1f ms, %.1f µs cpu/delivery, %.2f %% delivered",
			b.P50, b.P99, b.CPUPerDeliveryUS, b.DeliveredPct)
	}
	if r.UnauthorizedApplied != nil {
		row("hostile", "%d strangers published %d forged messages and opened %d lying streams; a member made %d rogue commits, %d admin actions after its demotion and %d posts after its removal; %d applied, honest delivered %.3f %%",
			r.Hostile, r.HostilePublished, r.HostileStreams, r.HostileCommits, r.HostileActs, r.HostilePosts, *r.UnauthorizedApplied, *r.HonestDeliveredPct)
	}
	for _, f := range r.Faults {
		row("fault "+f.Kind, "%s at %.1f s, ended %.1f s, converged after %.2f s %s",
			strings.Join(f.Nodes, ","), f.AtS, f.EndS, f.ConvS, f.Detail)
	}
	for _, f := range r.Failures {
		row("FAILURE", "%s", f)
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	row("verdict", "%s in %.1f s", verdict, r.WallS)
	return tw.Flush()
}
