package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// tmuxT drives tmux sessions on a private server for one test.
type tmuxT struct {
	t      *testing.T
	server string
}

func (x tmuxT) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.server}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x tmuxT) screen(session string) string {
	out, _ := exec.Command("tmux", "-L", x.server, "capture-pane", "-p", "-t", session).CombinedOutput()
	return string(out)
}

// wait waits until the session's screen contains every string.
func (x tmuxT) wait(session string, want ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := x.screen(session)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("timed out waiting for %q on %s; screen:\n%s", want, session, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// spacepanda runs the command line in a new process (this test binary).
func spacepandaCmd(home string, args ...string) *exec.Cmd {
	exe, _ := os.Executable()
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), mainEnv+"=1", "SPACEPANDA_HOME="+home)
	return c
}

func mustRun(t *testing.T, home string, args ...string) string {
	t.Helper()
	out, err := spacepandaCmd(home, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("spacepanda %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestTUIInTmux is the end-to-end test of `spacepanda tui`: two nodes, one
// TUI through a daemon and one running its node itself (serving the control
// socket meanwhile); a line typed in one appears in the other; resize,
// scroll back through stored pages, and quit cleanly. Skipped, saying so,
// where tmux is missing (.ci/run installs it).
func TestTUIInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("SKIP: tmux is not installed, so the TUI end-to-end test cannot run (apt-get install tmux)")
	}
	if testing.Short() {
		t.Skip("SKIP: -short")
	}
	dir := t.TempDir()
	ha, hb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustRun(t, ha, "init", "--name", "alice")
	mustRun(t, hb, "init", "--name", "bob")
	d := spacepandaCmd(ha, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { d.Process.Signal(syscall.SIGINT); d.Wait() }() //nolint:errcheck
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var c *node.Client
	for c == nil {
		if cl, err := node.Dial(ctx, ha); err == nil {
			if _, err := cl.Status(ctx); err == nil {
				c = cl
			}
		}
		if ctx.Err() != nil {
			t.Fatal("daemon did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ci, err := c.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		if _, err := c.Send(ctx, ci.ID, fmt.Sprintf("old %03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	code, err := c.Invite(ctx, ci.ID, node.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, hb, "join", code)

	x := tmuxT{t: t, server: fmt.Sprintf("sp-test-%d", os.Getpid())}
	defer exec.Command("tmux", "-L", x.server, "kill-server").Run() //nolint:errcheck
	exe, _ := os.Executable()
	for _, s := range []struct{ name, home string }{{"a", ha}, {"b", hb}} {
		cmd := fmt.Sprintf("env %s=1 SPACEPANDA_HOME=%s %s tui --no-mdns --listen /ip4/127.0.0.1/tcp/0; echo exit=$? > %s/%s.exit; sleep 30",
			mainEnv, s.home, exe, dir, s.name)
		x.run("new-session", "-d", "-s", s.name, "-x", "100", "-y", "30", cmd)
	}
	x.wait("a", "#general", "old 149")
	x.wait("b", "#general", "old 149")

	// Bob's TUI runs his node and serves the control socket meanwhile.
	if st := mustRun(t, hb, "--json", "status"); !strings.Contains(st, `"process":"spacepanda tui"`) {
		t.Errorf("status while bob's TUI runs: %s", st)
	}

	x.run("send-keys", "-t", "a", "hello from alice", "Enter")
	x.wait("b", "alice: hello from alice", "2 members, 2 online")
	x.run("send-keys", "-t", "b", "hi from bob", "Enter")
	x.wait("a", "bob: hi from bob")
	x.wait("b", "bob: hi from bob (sent)")

	x.run("resize-window", "-t", "b", "-x", "60", "-y", "20")
	scr := x.wait("b", "#general", "hi from bob")
	for _, l := range strings.Split(scr, "\n") {
		if w := len([]rune(l)); w > 60 {
			t.Errorf("line wider than the resized window (%d): %q", w, l)
		}
	}
	for range 15 {
		x.run("send-keys", "-t", "b", "PageUp")
	}
	x.wait("b", "old 000", "start of the channel")

	for _, s := range []string{"a", "b"} {
		x.run("send-keys", "-t", s, "C-c")
	}
	for _, s := range []string{"a", "b"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, err := os.ReadFile(filepath.Join(dir, s+".exit"))
			if err == nil && strings.TrimSpace(string(b)) != "" {
				if got := strings.TrimSpace(string(b)); got != "exit=0" {
					t.Errorf("TUI %s: %s", s, got)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("TUI %s did not quit; screen:\n%s", s, x.screen(s))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := os.Stat(filepath.Join(hb, node.SocketName)); err == nil {
		t.Error("bob's control socket outlived his TUI")
	}
}
