package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/spacepanda/spacepanda/node"
)

// mainEnv makes the test binary run the command line instead of the tests,
// so that the multi-process tests start real spacepanda processes.
const mainEnv = "SPACEPANDA_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"spacepanda": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script, one file each;
// every exec is a separate process.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		// Commands without a daemon wait 5 s for a member to take what
		// they send; on a loaded machine starting the node and dialing
		// alone can take that long (durable.txtar once said "queued"
		// with bob's daemon running).
		Setup: func(e *testscript.Env) error {
			e.Setenv("SPACEPANDA_DELIVERY_WAIT", "15s")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"waitdaemon":    cmdWaitDaemon,
			"waitmsg":       cmdWaitMsg,
			"setstdout":     cmdSetStdout,
			"msgid":         cmdMsgID,
			"scrapemetrics": cmdScrapeMetrics,
			"freeport":      cmdFreePort,
			"sendn":         cmdSendN,
			"waitchannel":   cmdWaitChannel,
			"sleep":         cmdSleep,
			"sendfile":      cmdSendFile,
			"setprefix":     cmdSetPrefix,
			"waitout":       cmdWaitOut,
			"damage":        cmdDamage,
		},
	})
}

// cmdWaitDaemon waits (polling, 30s deadline) until the daemon of a home
// answers on its control socket: waitdaemon HOME.
func cmdWaitDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitdaemon HOME")
	}
	home := ts.MkAbs(args[0])
	poll(ts, 30*time.Second, "daemon of "+home, func(ctx context.Context) bool {
		c, err := node.Dial(ctx, home)
		if err != nil {
			return false
		}
		_, err = c.Status(ctx)
		return err == nil
	})
}

// cmdWaitMsg waits until a channel's timeline holds a text:
// waitmsg HOME CHANNEL TEXT.
func cmdWaitMsg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitmsg HOME CHANNEL TEXT")
	}
	home := ts.MkAbs(args[0])
	poll(ts, 30*time.Second, "message "+args[2], func(ctx context.Context) bool {
		c, err := node.Dial(ctx, home)
		if err != nil {
			return false
		}
		ms, err := c.Messages(ctx, args[1], 0)
		if err != nil {
			return false
		}
		for _, m := range ms {
			if m.Text == args[2] {
				return true
			}
		}
		return false
	})
}

// cmdSetStdout sets an environment variable to the last command's
// standard output, trimmed: setstdout NAME.
func cmdSetStdout(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: setstdout NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

func poll(ts *testscript.TestScript, timeout time.Duration, what string, ok func(context.Context) bool) {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		done := ok(ctx)
		cancel()
		if done {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdMsgID sets an environment variable to the ID of the message with the
// given text in the last `messages --json` output: msgid NAME TEXT.
func cmdMsgID(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: msgid NAME TEXT")
	}
	for _, line := range strings.Split(ts.ReadFile("stdout"), "\n") {
		var m node.Message
		if json.Unmarshal([]byte(line), &m) == nil && m.Text == args[1] {
			ts.Setenv(args[0], m.ID)
			return
		}
	}
	ts.Fatalf("no message %q in stdout", args[1])
}

// cmdScrapeMetrics finds the metrics address a daemon logged (as JSON) in
// LOGFILE and writes what its /metrics serves to stdout: scrapemetrics LOGFILE.
func cmdScrapeMetrics(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: scrapemetrics LOGFILE")
	}
	m := regexp.MustCompile(`"addr":"(http://[^"]+/metrics)"`).FindStringSubmatch(ts.ReadFile(args[0]))
	if m == nil {
		ts.Fatalf("no metrics address in %s", args[0])
	}
	resp, err := http.Get(m[1])
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Stdout().Write(b) //nolint:errcheck
}

// cmdFreePort sets an environment variable to a TCP port free on loopback
// right now: freeport NAME. The port is taken below the kernel's ephemeral
// range (ip_local_port_range; 32768 and up by default on Linux), where every other test's listener on port
// 0 and every outgoing connection get their ports, so nothing else running
// can take it between this check and the daemon's bind. No port is given
// twice in one test process: two draws of one script once gave the same
// free port to two daemons (removed.txtar, "port in use").
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport NAME")
	}
	lo, hi := 20000, 32000
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var first, last int
		if _, err := fmt.Sscan(string(b), &first, &last); err == nil && first > 2048 {
			hi = first
			lo = max(1024, hi-12000)
		}
	}
	givenPorts.Lock()
	defer givenPorts.Unlock()
	for range 200 {
		port := lo + rand.IntN(hi-lo)
		if givenPorts.m[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ts.Check(ln.Close())
		givenPorts.m[port] = true
		ts.Setenv(args[0], fmt.Sprint(port))
		return
	}
	ts.Fatalf("freeport: no free port found in %d-%d", lo, hi-1)
}

// givenPorts are the ports freeport gave in this process.
var givenPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// cmdSendN sends N messages PREFIX1..PREFIXN, one process each, and fails
// unless every one exits 0 saying `sent`: sendn HOME CHANNEL PREFIX N.
func cmdSendN(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: sendn HOME CHANNEL PREFIX N")
	}
	var n int
	if _, err := fmt.Sscan(args[3], &n); err != nil {
		ts.Fatalf("sendn: N: %v", err)
	}
	for i := 1; i <= n; i++ {
		text := fmt.Sprintf("%s%d", args[2], i)
		err := ts.Exec("spacepanda", "--home", ts.MkAbs(args[0]), "send", args[1], text)
		out := ts.ReadFile("stdout")
		if err != nil || !strings.HasPrefix(out, "sent ") {
			ts.Fatalf("send %s: %v\nstdout: %s\nstderr: %s", text, err, out, ts.ReadFile("stderr"))
		}
	}
}

// cmdWaitChannel waits until the channel named NAME of a daemon's home is
// in STATE (member, removed, left, damaged): waitchannel HOME NAME STATE.
func cmdWaitChannel(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitchannel HOME NAME STATE")
	}
	home := ts.MkAbs(args[0])
	poll(ts, 30*time.Second, "channel "+args[1]+" "+args[2], func(ctx context.Context) bool {
		c, err := node.Dial(ctx, home)
		if err != nil {
			return false
		}
		cs, err := c.Channels(ctx)
		if err != nil {
			return false
		}
		for _, ch := range cs {
			var m map[string]any
			raw, _ := json.Marshal(ch)
			if json.Unmarshal(raw, &m) == nil && m["name"] == args[1] && m["state"] == args[2] {
				return true
			}
		}
		return false
	})
}

// cmdSleep waits: sleep DURATION. Only where a scenario needs a process to
// have started something it cannot observe otherwise.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// cmdSendFile sends the contents of a file of the script (multi-line text)
// with `spacepanda send`: sendfile CHANNEL FILE.
func cmdSendFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sendfile CHANNEL FILE")
	}
	text := strings.TrimSuffix(ts.ReadFile(args[1]), "\n")
	if err := ts.Exec("spacepanda", "send", args[0], text); err != nil {
		ts.Fatalf("send: %v\n%s", err, ts.ReadFile("stderr"))
	}
}

// cmdSetPrefix sets NAME to the first N characters of VALUE:
// setprefix NAME VALUE N.
func cmdSetPrefix(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: setprefix NAME VALUE N")
	}
	var n int
	if _, err := fmt.Sscan(args[2], &n); err != nil || n > len(args[1]) {
		ts.Fatalf("setprefix: N: %v", err)
	}
	ts.Setenv(args[0], args[1][:n])
}

// cmdWaitOut runs spacepanda with ARGS until its standard output matches
// REGEXP (30s deadline): waitout REGEXP ARGS...
func cmdWaitOut(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitout REGEXP ARGS...")
	}
	re := regexp.MustCompile(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ts.Exec("spacepanda", args[1:]...)
		if err == nil && re.MatchString(ts.ReadFile("stdout")) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("timed out waiting for %q in the output of %v", args[0], args[1:])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cmdDamage flips bytes inside every file matching a glob (a table's data
// block, not its footer): damage GLOB. It fails if nothing matches.
func cmdDamage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: damage GLOB")
	}
	names, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(names) == 0 {
		ts.Fatalf("damage: nothing matches %s", args[0])
	}
	for _, name := range names {
		raw, err := os.ReadFile(name)
		ts.Check(err)
		for i := 64; i < len(raw)/2; i += 256 {
			raw[i] ^= 0xff
		}
		ts.Check(os.WriteFile(name, raw, 0o600))
	}
}
