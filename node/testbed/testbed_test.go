package testbed

import (
	"context"
	"encoding/csv"
	"errors"
	"hash/fnv"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/node"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestConfigRejects: unusable configurations fail before anything starts.
func TestConfigRejects(t *testing.T) {
	for name, c := range map[string]Config{
		"one node":     {Nodes: 1, Rate: 1, Duration: time.Second},
		"no rate":      {Nodes: 2, Duration: time.Second},
		"no duration":  {Nodes: 2, Rate: 1},
		"hostile":      {Nodes: 3, Rate: 1, Duration: time.Second, Hostile: -1},
		"small churn":  {Nodes: 3, Rate: 1, Duration: time.Second, Churn: true},
		"procs no bin": {Nodes: 3, Rate: 1, Duration: time.Second, Procs: true},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Run(context.Background(), c); err == nil {
				t.Fatal("Run accepted it")
			}
		})
	}
}

// TestSmallRun is the fixed-seed run of make test: five nodes in this
// process, one crash, one partition, an offline node that misses 500
// messages, and churn; nothing may be lost or shown twice, and every
// replica must converge.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5-node run; skipped with -short")
	}
	// 100 msg/s over 5 nodes: a killed or partitioned node misses more
	// than the 32 messages per sender MLS keeps skipped keys for, so the
	// catch-up's held messages (node/hold.go) are exercised; about 20 s.
	cfg := Config{Nodes: 5, Rate: 100, Duration: 6 * time.Second, Seed: 7, Kill: true, Partition: true,
		Offline: 500, Settle: 30 * time.Second, PartitionFor: 2 * time.Second, KillPause: time.Second}
	cfg.Churn = churnWorks
	cfg.NodeLogLevel = slog.LevelDebug
	if d := os.Getenv("SPACEPANDA_SMALLRUN_DIR"); d != "" {
		cfg.Dir = d
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	tl, err := os.Create(filepath.Join(cfg.Dir, "testbed.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	cfg.Logger = slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rep := run(t, cfg)
	if rep.Lost != 0 || rep.Duplicates != 0 || !rep.Converged || rep.DeliveredPct != 100 || !rep.OK() {
		logMembership(t, cfg.Dir)
		t.Fatalf("lost %d, duplicates %d, converged %v, delivered %.3f%%; failures:\n%s",
			rep.Lost, rep.Duplicates, rep.Converged, rep.DeliveredPct, strings.Join(rep.Failures, "\n"))
	}
	if want := 3; cfg.Churn {
		want = 4
		if len(rep.Faults) != want {
			t.Fatalf("%d faults reported, want %d: %+v", len(rep.Faults), want, rep.Faults)
		}
	}
	if rep.Sent < 500 || rep.CatchupS <= 0 || rep.Latency.P50 <= 0 {
		t.Fatalf("implausible report: %+v", rep)
	}
}

// membershipLog matches the node log lines that tell how a run's
// membership went: commits, switches, removals, labels refused,
// re-admissions and joins.
var membershipLog = regexp.MustCompile(`commit applied|commit conflict|winning commit|removed from|without its commit|re-admi|topped up|join served|joined|propose again|re-send`)

// logMembership logs, from each node log in dir, the lines about
// membership, so that a failure in CI (where the run's directory is gone)
// can be read from the test's output.
func logMembership(t *testing.T, dir string) {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join(dir, "testbed.log")); err == nil {
		t.Logf("testbed.log:\n%s", data)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "node*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Logf("%s: %v", f, err)
			continue
		}
		var b strings.Builder
		for line := range strings.Lines(string(data)) {
			if membershipLog.MatchString(line) {
				b.WriteString(line)
			}
		}
		t.Logf("%s, membership lines:\n%s", filepath.Base(f), b.String())
	}
}

// churnWorks says whether TestSmallRun includes churn. Stop 12 left it
// out: once in about thirty runs node 0 ended without the two members
// churn had re-admitted, and once in about twenty-five a re-admitted member
// missed posts made just before its Add; stop 13 fixed both (re-admission,
// history top-up). The clean-clone CI check of stop 13 then failed once
// with node 0 listing a member that had left: a "left" line of a commit
// that lost its epoch, never re-sent once another member's commit removed
// the member (TestLostLeaveLabelReachesAll, fixed in stop 14, with the
// node logs this test prints on failure). SPACEPANDA_SMALLRUN_DIR keeps a
// run's homes and logs.
const churnWorks = true

// TestBrokenNodeShowsLoss feeds the testbed a member that drops every third
// message from its timeline: the report must show the loss, name the node,
// and fail.
func TestBrokenNodeShowsLoss(t *testing.T) {
	cfg := Config{Nodes: 3, Rate: 30, Duration: 2 * time.Second, Settle: 2 * time.Second,
		LatencyFile: filepath.Join(t.TempDir(), "latencies.csv")}
	cfg.wrap = func(slot int, v view) view {
		if slot != 2 {
			return v
		}
		return dropThird{v}
	}
	rep := run(t, cfg)
	if rep.Lost == 0 || rep.DeliveredPct >= 100 || rep.OK() {
		t.Fatalf("a node that drops every third message passed: lost %d, delivered %.2f%%", rep.Lost, rep.DeliveredPct)
	}
	// About a third of the messages not sent by node2 are missing there.
	if rep.Lost < rep.Sent/6 || rep.Lost > rep.Sent/2 {
		t.Errorf("lost %d of %d, want about a third", rep.Lost, rep.Sent)
	}
	if len(rep.Failures) == 0 || !strings.Contains(strings.Join(rep.Failures, "\n"), "node2") {
		t.Errorf("failures do not name node2: %v", rep.Failures)
	}
	checkLatencyFile(t, cfg.LatencyFile, rep)
}

// checkLatencyFile reads the --latencies CSV of a run in which node2 drops
// every third message: each row is a delivery from another node, node2
// has about a third fewer, and the rows give the report's latencies.
func checkLatencyFile(t *testing.T, path string, rep *Report) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "message,sender,sent_s,ack_ms,receiver,latency_ms" {
		t.Fatalf("latency file: %d rows, header %v", len(rows), rows[0])
	}
	per := map[string]int{}
	var lat []time.Duration
	for _, r := range rows[1:] {
		ms, err := strconv.ParseFloat(r[5], 64)
		if err != nil || ms < 0 || r[1] == r[4] || !strings.HasPrefix(r[0], textPrefix) {
			t.Fatalf("bad row %v", r)
		}
		per[r[4]]++
		lat = append(lat, time.Duration(ms*float64(time.Millisecond)))
	}
	if per["node2"] == 0 || per["node2"]*4 > per["node0"]*3 || per["node0"] == 0 {
		t.Errorf("deliveries per receiver %v: node2 drops every third message", per)
	}
	if got := latencyOf(lat); math.Abs(got.P50-rep.Latency.P50) > 0.002 || math.Abs(got.Max-rep.Latency.Max) > 0.002 {
		t.Errorf("the file's latencies %v, the report's %v", got, rep.Latency)
	}
}

// TestInterrupted: cancelling the context stops a run early with an error
// that says so, and leaves nothing running (goleak in TestMain).
func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(3*time.Second, cancel)
	_, err := Run(ctx, Config{Nodes: 3, Rate: 10, Duration: time.Minute, Dir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

// TestHostileStrangers: strangers publishing junk, replays, tampered and
// far-future messages, and opening streams with oversized and half-sent
// frames, and a member making commits a plain member may not make, then
// deleting a post and renaming the channel after its demotion from admin,
// dated before it, then posting from the epoch before its removal, dated
// before it, get nothing applied, and the honest messages all arrive. The
// counts can fail: a member whose timeline shows a post nobody sent or a
// post deleted (injected by a wrapper) is counted, and so are a leaf
// nobody admitted and a role nobody granted (added to what the check
// reads of node1's tree). Before stop 17's removal cut, the ten posts of
// the removed member showed at all three members: 31 counted.
func TestHostileStrangers(t *testing.T) {
	cfg := Config{Nodes: 3, Rate: 20, Duration: 4 * time.Second, Hostile: 2, Settle: 20 * time.Second}
	cfg.wrap = func(slot int, v view) view {
		if slot != 2 {
			return v
		}
		return injectOne{v}
	}
	cfg.tamperTree = func(slot int, leaves []string, roles map[string]string) []string {
		if slot != 1 {
			return leaves
		}
		roles["12D3KooWhidden"] = "admin"
		return append(leaves, "12D3KooWhidden")
	}
	rep := run(t, cfg)
	if rep.HostilePublished == 0 || rep.HostileStreams == 0 || rep.UnauthorizedApplied == nil || rep.HonestDeliveredPct == nil {
		t.Fatalf("no hostile figures: %+v", rep)
	}
	if rep.HostileCommits != 4 || rep.HostileActs != 2 || rep.HostilePosts == 0 {
		t.Fatalf("the insider made %d rogue commits (want 4), %d admin actions after its demotion (want 2) and %d posts after its removal",
			rep.HostileCommits, rep.HostileActs, rep.HostilePosts)
	}
	if *rep.UnauthorizedApplied != 4 || *rep.HonestDeliveredPct != 100 || rep.Lost != 0 || rep.OK() {
		t.Fatalf("unauthorized %d (want only the injected posts, leaf and role), honest delivered %.2f%%, lost %d, ok %v; failures %v",
			*rep.UnauthorizedApplied, *rep.HonestDeliveredPct, rep.Lost, rep.OK(), rep.Failures)
	}
	failures := strings.Join(rep.Failures, "\n")
	for _, want := range []string{"node2 shows a post the testbed never sent", "node2 shows post 2-deleted by", "node1 has a member nobody admitted", "node1 makes …oWhidden admin"} {
		if !strings.Contains(failures, want) {
			t.Errorf("failures lack %q: %v", want, rep.Failures)
		}
	}
}

// injectOne adds a post nobody sent to the final timeline.
type injectOne struct{ view }

func (i injectOne) Messages(ctx context.Context, ch string, limit int) ([]node.Message, error) {
	ms, err := i.view.Messages(ctx, ch, limit)
	return append(ms, node.Message{ID: "1-forged", Author: "12D3KooWforged", Text: "forged"},
		node.Message{ID: "2-deleted", Author: "12D3KooWforged", Deleted: true}), err
}

// dropThird hides every third message: those whose text hashes to 0
// modulo 3 (the sequence number itself would follow the round-robin of
// senders).
type dropThird struct{ view }

func dropped(text string) bool {
	h := fnv.New32a()
	h.Write([]byte(text))
	return strings.HasPrefix(text, textPrefix) && h.Sum32()%3 == 0
}

func (d dropThird) Follow(ctx context.Context, ch string, limit int, fn func(node.Message) error) error {
	return d.view.Follow(ctx, ch, limit, func(m node.Message) error {
		if dropped(m.Text) {
			return nil
		}
		return fn(m)
	})
}

func (d dropThird) Messages(ctx context.Context, ch string, limit int) ([]node.Message, error) {
	ms, err := d.view.Messages(ctx, ch, limit)
	out := ms[:0]
	for _, m := range ms {
		if !dropped(m.Text) {
			out = append(out, m)
		}
	}
	return out, err
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var b strings.Builder
	rep.WriteTable(&b)
	t.Logf("report:\n%s", b.String())
	return rep
}
