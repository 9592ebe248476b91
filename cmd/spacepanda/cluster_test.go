package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// proc is a home and, when running, its daemon process.
type proc struct {
	t    *testing.T
	home string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

// sp runs one spacepanda command in a new process and returns its stdout.
func (p *proc) sp(args ...string) (string, error) {
	cmd := exec.Command(os.Args[0], append([]string{"--home", p.home}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), &cliError{err: err, stderr: errb.String()}
	}
	return out.String(), nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

func (p *proc) must(args ...string) string {
	p.t.Helper()
	out, err := p.sp(args...)
	if err != nil {
		p.t.Fatalf("spacepanda %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out)
}

// start runs the daemon and waits until it answers.
func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(os.Args[0], "--home", p.home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns")
	p.cmd.Env = append(os.Environ(), mainEnv+"=1")
	p.out.Reset()
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.waitFor("daemon to answer", func() bool {
		c, err := node.Dial(context.Background(), p.home)
		if err != nil {
			return false
		}
		_, err = c.Status(context.Background())
		return err == nil
	})
}

// stop sends sig to the daemon and waits for it to exit.
func (p *proc) stop(sig syscall.Signal) {
	p.t.Helper()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig) //nolint:errcheck // it may be gone already
	err := p.cmd.Wait()
	if sig == syscall.SIGTERM && err != nil {
		p.t.Errorf("daemon exit after SIGTERM: %v\n%s", err, p.out.String())
	}
	p.cmd = nil
}

func (p *proc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out waiting for %s\ndaemon output:\n%s", p.home, what, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// texts returns the channel's timeline texts, through the daemon.
func (p *proc) texts(channel string) []string {
	out, err := p.sp("--json", "messages", channel)
	if err != nil {
		return nil
	}
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m node.Message
		if json.Unmarshal([]byte(line), &m) == nil {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

func (p *proc) waitTexts(channel string, want ...string) {
	p.t.Helper()
	var got []string
	p.waitFor("timeline "+strings.Join(want, "|"), func() bool {
		got = p.texts(channel)
		return slices.Equal(got, want)
	})
}

func newProc(t *testing.T, name string) *proc {
	p := &proc{t: t, home: filepath.Join(t.TempDir(), name)}
	p.must("init", "--name", name)
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
	return p
}

// TestThreeNodes runs three real daemons on loopback: invite and join,
// messages every way, a SIGTERM restart and a SIGKILL restart each carrying
// on with the full history, a removal after which the removed member reads
// nothing, and a bad invite code that changes nothing.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	a, b, c := newProc(t, "alice"), newProc(t, "bob"), newProc(t, "carol")
	for _, p := range []*proc{a, b, c} {
		p.start()
	}
	id := a.must("channel", "create", "general")
	for _, p := range []*proc{b, c} {
		code := a.must("channel", "invite", "general")
		if got := p.must("join", code); got != "joined general "+id {
			t.Fatalf("join printed %q", got)
		}
	}
	a.must("send", "general", "from alice")
	b.waitTexts(id, "from alice")
	b.must("send", id, "from bob")
	c.waitTexts(id, "from alice", "from bob")
	c.must("send", id[:8], "from carol")
	all := []string{"from alice", "from bob", "from carol"}
	a.waitTexts(id, all...)
	b.waitTexts(id, all...)

	// SIGTERM: a clean shutdown; the others talk meanwhile.
	b.stop(syscall.SIGTERM)
	a.must("send", "general", "while bob was stopped")
	all = append(all, "while bob was stopped")
	b.start()
	b.waitTexts(id, all...)
	b.must("send", "general", "bob is back")
	all = append(all, "bob is back")
	a.waitTexts(id, all...)

	// SIGKILL: no shutdown at all.
	c.stop(syscall.SIGKILL)
	a.must("send", "general", "while carol was dead")
	all = append(all, "while carol was dead")
	c.start()
	c.waitTexts(id, all...)
	c.must("send", "general", "carol is back")
	all = append(all, "carol is back")
	b.waitTexts(id, all...)

	// A bad invite code changes nothing on either side.
	d := newProc(t, "dave")
	d.start()
	code := a.must("channel", "invite", "general")
	bad := code[:len(code)-6] + "AAAAAA"
	if _, err := d.sp("join", bad); err == nil || !strings.Contains(err.Error(), "invalid invite code") {
		t.Errorf("bad code: %v", err)
	}
	if out := d.must("channel", "list"); out != "" {
		t.Errorf("dave has channels after a bad code: %q", out)
	}
	if got := a.must("--json", "channel", "list"); !strings.Contains(got, `"members":3,"epoch":2`) {
		t.Errorf("alice's channel changed: %s", got)
	}

	// Removal: bob is out, and reads nothing that follows.
	a.must("channel", "remove", "general", "bob")
	b.waitFor("bob to see his removal", func() bool {
		_, err := b.sp("send", "general", "am I still here?")
		return err != nil && strings.Contains(err.Error(), "you were removed from general")
	})
	c.must("send", "general", "after bob left")
	a.waitTexts(id, append(all, "after bob left")...)
	if got := b.texts(id); slices.Contains(got, "after bob left") {
		t.Errorf("removed member read %q", got)
	}
	if got := a.must("channel", "members", "general"); strings.Contains(got, "bob") {
		t.Errorf("bob still listed: %s", got)
	}
}

// TestFollow: `messages --follow` through a daemon prints the timeline, then
// what is sent afterwards, each message once, and exits 0 on SIGINT.
func TestFollow(t *testing.T) {
	a := newProc(t, "alice")
	a.start()
	a.must("channel", "create", "general")
	a.must("send", "general", "before")
	cmd := exec.Command(os.Args[0], "--home", a.home, "--json", "messages", "general", "--follow")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var got []string
	next := func() {
		select {
		case l := <-lines:
			var m node.Message
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("follow printed %q: %v", l, err)
			}
			got = append(got, m.Text)
		case <-time.After(30 * time.Second):
			t.Fatalf("follow printed only %q", got)
		}
	}
	next() // "before": the timeline, printed once subscribed
	a.must("send", "general", "after")
	next()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		t.Errorf("unexpected line %q", l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("follow exit: %v", err)
	}
	if !slices.Equal(got, []string{"before", "after"}) {
		t.Errorf("followed %q", got)
	}
}
