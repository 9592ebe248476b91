package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/spacepanda/spacepanda/node"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openNode starts a real node (Pebble on disk; loopback network when net).
func openNode(t testing.TB, name string, net bool) *node.Node {
	t.Helper()
	home := filepath.Join(t.TempDir(), name)
	if _, err := node.Init(context.Background(), home, name, nil); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(context.Background(), node.Config{Home: home, Network: net, Logger: quiet,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// start runs the TUI over api in teatest's harness with the event pump.
func start(t *testing.T, api node.API) *teatest.TestModel {
	t.Helper()
	return startWith(t, api, Options{})
}

func startWith(t *testing.T, api node.API, o Options) *teatest.TestModel {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o.Profile = termenv.Ascii
	m := New(ctx, api, o)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	done := make(chan struct{})
	go func() { defer close(done); Pump(ctx, api, tm.Send) }() //nolint:errcheck
	t.Cleanup(func() { cancel(); <-done })
	return tm
}

// waitScreen waits until the output so far contains every string.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(60*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// typeText types s as keys (teatest's Type sends bytes, which splits
// multi-byte runes).
func typeText(tm *teatest.TestModel, s string) {
	for _, r := range s {
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func typeLine(tm *teatest.TestModel, s string) {
	typeText(tm, s)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
}

func waitMessages(t *testing.T, n *node.Node, ch string, ok func([]node.Message) bool) []node.Message {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ms, err := n.Messages(context.Background(), ch, 20)
		if err == nil && ok(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out; last messages %v %v", ms, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func last(ms []node.Message) node.Message { return ms[len(ms)-1] }

// TestTUISingleNode drives the real program over a real node: history in
// pages, the composer (send, multi-line, history), the slash commands that
// change messages and the channel, help, resize and quit.
func TestTUISingleNode(t *testing.T) {
	ctx := context.Background()
	n := openNode(t, "alice", false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 250 {
		if _, err := n.Send(ctx, ci.ID, fmt.Sprintf("msg %03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tm := start(t, n)
	waitScreen(t, tm, "#general", "msg 249", "Channels")

	typeLine(tm, "hello tui")
	waitScreen(t, tm, "alice: hello tui")
	typeText(tm, "line one")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter, Alt: true})
	typeText(tm, "line two")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	ms := waitMessages(t, n, ci.ID, func(ms []node.Message) bool { return last(ms).Text == "line one\nline two" })
	id := last(ms).ID[:6]
	// A bracketed paste arrives as one key message, newlines included.
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("pasted\nblock"), Paste: true})
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitMessages(t, n, ci.ID, func(ms []node.Message) bool { return last(ms).Text == "pasted\nblock" })

	typeLine(tm, "/edit "+id+" line three")
	waitScreen(t, tm, "line three (edited)")
	typeLine(tm, "/react "+id+" 👍")
	waitScreen(t, tm, "[👍 1]")
	typeLine(tm, "/reply "+id+" a reply")
	waitScreen(t, tm, "↪"+id+" a reply")
	typeLine(tm, "/delete "+id)
	waitScreen(t, tm, "(deleted)")
	typeLine(tm, "/rename lobby")
	waitScreen(t, tm, "channel renamed to lobby", "#lobby")
	typeLine(tm, "/role bob admin")
	waitScreen(t, tm, "error: node: no such member")
	typeLine(tm, "/bogus")
	waitScreen(t, tm, "unknown command /bogus")
	typeLine(tm, "/help")
	waitScreen(t, tm, "/reply ID TEXT", "PgUp, PgDn")

	// Scroll back through pages from the store to the channel's start.
	for range 20 {
		tm.Send(tea.KeyMsg{Type: tea.KeyPgUp})
	}
	waitScreen(t, tm, "msg 000", "start of the channel")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})

	tm.Send(tea.WindowSizeMsg{Width: 50, Height: 12})
	typeLine(tm, "resized")
	waitScreen(t, tm, "resized")
	// Composer history: Ctrl+P brings back the lines sent, newest first.
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlP})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlP})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlN})
	typeLine(tm, " again")
	waitMessages(t, n, ci.ID, func(ms []node.Message) bool { return last(ms).Text == "resized again" })

	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	fm := tm.FinalModel(t).(*Model)
	if fm.width != 50 || fm.high != 12 {
		t.Errorf("size after resize: %dx%d", fm.width, fm.high)
	}
	if got := fm.history[len(fm.history)-3:]; !slices.Equal(got, []string{"/help", "resized", "resized again"}) {
		t.Errorf("composer history ends %q", got)
	}
	if fm.pane.before != "" || !strings.HasPrefix(fm.pane.items[0].msg.Text, "msg 000") {
		t.Errorf("scrolled back to %q, cursor %q", fm.pane.items[0].msg.Text, fm.pane.before)
	}
}

// TestTUITwoNodes: a member's message arrives live; in another channel it
// counts as unread; delivery marks and member lines show; the list shows
// members online.
func TestTUITwoNodes(t *testing.T) {
	ctx := context.Background()
	a, b := openNode(t, "alice", true), openNode(t, "bob", true)
	gen, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	rnd, err := a.CreateChannel(ctx, "random")
	if err != nil {
		t.Fatal(err)
	}
	tm := start(t, b)
	waitScreen(t, tm, "no channel")
	for _, ch := range []string{gen.ID, rnd.ID} {
		code, err := a.Invite(ctx, ch, node.InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		typeLine(tm, "/join "+code)
	}
	// The channel list, not the status line: two joins that end within
	// one frame render only the last status ("joined random" was missed).
	waitScreen(t, tm, "general 2/2", "random 2/2", "#general  2 members, 2 online")
	res, err := a.Send(ctx, gen.ID, "from alice")
	if err != nil {
		t.Fatal(err)
	}
	waitScreen(t, tm, "alice: from alice")
	if _, err := a.Send(ctx, rnd.ID, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, tm, "random (1) 2/2")
	typeLine(tm, "from bob")
	waitScreen(t, tm, "bob: from bob (sent)")
	// Alice reacts to Bob's post: Bob sees it as seen.
	ms := waitMessages(t, a, gen.ID, func(ms []node.Message) bool { return last(ms).Text == "from bob" })
	if _, err := a.React(ctx, gen.ID, last(ms).ID, "👀"); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, tm, "[👀 1] (seen by alice)")
	if _, err := a.Rename(ctx, gen.ID, "main"); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, tm, "channel renamed to main")
	// Bob is a plain member: the node refuses his role change.
	typeLine(tm, "/role alice member")
	waitScreen(t, tm, "error: node: forbidden")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitScreen(t, tm, "alice: elsewhere")
	_ = res
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestTUINick: /nick changes our display name, which the other member
// shows; a member's rename shows as a system line and on its messages.
func TestTUINick(t *testing.T) {
	ctx := context.Background()
	a, b := openNode(t, "alice", true), openNode(t, "bob", true)
	gen, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, gen.ID, node.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, gen.ID, "from alice"); err != nil {
		t.Fatal(err)
	}
	tm := start(t, b)
	waitScreen(t, tm, "alice: from alice", "2 members")
	typeLine(tm, "/nick")
	waitScreen(t, tm, "usage: /nick NAME")
	typeLine(tm, "/nick robert")
	waitScreen(t, tm, "you are now robert")
	waitMembers(t, a, gen.ID, b.PeerID(), "robert")
	if err := a.SetName(ctx, "alicia"); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, tm, "alice is now known as alicia", "alicia: from alice")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// waitMembers waits until n names member of channel name.
func waitMembers(t *testing.T, n *node.Node, ch, member, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ms, err := n.Members(context.Background(), ch)
		for _, m := range ms {
			if err == nil && m.ID == member && m.Name == name {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s to be named %q: %+v %v", member, name, ms, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTUIReadReceipts: viewing a channel marks it read: the author's node
// shows the post seen by the reader, the reader's TUI shows its own post
// "seen by" the member who read it, and unread counts come from the
// stored read position, so a new TUI shows them again; with read receipts
// off, the position is stored and nothing goes to the members.
func TestTUIReadReceipts(t *testing.T) {
	ctx := context.Background()
	a, b := openNode(t, "alice", true), openNode(t, "bob", true)
	var gen, rnd node.ChannelInfo
	for _, c := range []struct {
		ci   *node.ChannelInfo
		name string
	}{{&gen, "general"}, {&rnd, "random"}} {
		ci, err := a.CreateChannel(ctx, c.name)
		if err != nil {
			t.Fatal(err)
		}
		*c.ci = ci
		code, err := a.Invite(ctx, ci.ID, node.InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Join(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ ch, text string }{{gen.ID, "hello"}, {rnd.ID, "x1"}, {rnd.ID, "x2"}} {
		if _, err := a.Send(ctx, p.ch, p.text); err != nil {
			t.Fatal(err)
		}
	}
	waitMessages(t, b, rnd.ID, func(ms []node.Message) bool { return last(ms).Text == "x2" })
	waitMessages(t, b, gen.ID, func(ms []node.Message) bool { return last(ms).Text == "hello" })

	tm := start(t, b)
	waitScreen(t, tm, "alice: hello", "random (2) 2/2")
	waitMessages(t, a, gen.ID, func(ms []node.Message) bool {
		return last(ms).Text == "hello" && slices.Equal(last(ms).SeenBy, []string{b.PeerID()})
	})
	typeLine(tm, "from bob")
	ms := waitMessages(t, a, gen.ID, func(ms []node.Message) bool { return last(ms).Text == "from bob" })
	if err := a.MarkRead(ctx, gen.ID, last(ms).ID, true); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, tm, "bob: from bob (seen by alice)")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	// A new TUI: the counts come from the node's stored positions.
	tm = startWith(t, b, Options{NoReadReceipts: true})
	waitScreen(t, tm, "alice: hello", "random (2) 2/2")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitScreen(t, tm, "alice: x2")
	waitUnread(t, b, rnd.ID, 0)
	if _, err := b.Send(ctx, rnd.ID, "after reading"); err != nil {
		t.Fatal(err)
	}
	ms = waitMessages(t, a, rnd.ID, func(ms []node.Message) bool { return last(ms).Text == "after reading" })
	if by := ms[len(ms)-2].SeenBy; len(by) != 0 {
		t.Errorf("with read receipts off, alice sees x2 seen by %v", by)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	fm := tm.FinalModel(t).(*Model)
	for _, c := range fm.chans {
		if c.unread != 0 {
			t.Errorf("%s unread %d after reading it", c.info.Name, c.unread)
		}
	}
}

// waitUnread waits until n counts want unread posts in ch.
func waitUnread(t *testing.T, n *node.Node, ch string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cs, err := n.Channels(context.Background())
		for _, c := range cs {
			if err == nil && c.ID == ch && c.Unread == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d unread in %s: %+v %v", want, ch, cs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTUIHistorySystemLines: opening a channel shows the system lines of
// its history (joins, renames of the channel and of members, roles) in
// their place, also on older pages.
func TestTUIHistorySystemLines(t *testing.T) {
	ctx := context.Background()
	a, b := openNode(t, "alice", true), openNode(t, "bob", true)
	gen, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, gen.ID, "before bob"); err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, gen.ID, node.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := b.SetName(ctx, "robert"); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, gen.ID, b.PeerID(), "robert")
	if _, err := a.Send(ctx, gen.ID, "after the rename"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rename(ctx, gen.ID, "lobby"); err != nil {
		t.Fatal(err)
	}
	for i := range PageSize + 20 {
		if _, err := a.Send(ctx, gen.ID, fmt.Sprintf("later %03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tm := start(t, a)
	waitScreen(t, tm, "#lobby", fmt.Sprintf("later %03d", PageSize+19))
	for range 40 {
		tm.Send(tea.KeyMsg{Type: tea.KeyPgUp})
	}
	waitScreen(t, tm, "start of the channel", "robert joined", "bob is now known as robert", "channel renamed to lobby")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	var order []string
	for _, it := range tm.FinalModel(t).(*Model).pane.items {
		switch {
		case it.sys != "":
			order = append(order, it.sys)
		case it.msg.Text == "before bob", it.msg.Text == "after the rename", it.msg.Text == "later 000":
			order = append(order, it.msg.Text)
		}
	}
	want := []string{"before bob", "robert joined", "bob is now known as robert", "after the rename", "channel renamed to lobby", "later 000"}
	if !slices.Equal(order, want) {
		t.Errorf("pane order %q, want %q", order, want)
	}
}

// openHome opens the node of an existing home (a restart), closed when the
// test ends.
func openHome(t *testing.T, home string, bootstrap []string) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), node.Config{Home: home, Network: true, Logger: quiet,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true, Bootstrap: bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestTUIDeliveryAfterRestart: the delivery marks of our posts are the
// node's, not the TUI session's: a post typed while no member is
// reachable shows queued in the next TUI, after the node restarted too,
// and turns sent there when the member comes back and takes it.
func TestTUIDeliveryAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	aHome, bHome := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	for _, h := range []string{aHome, bHome} {
		if _, err := node.Init(ctx, h, filepath.Base(h), nil); err != nil {
			t.Fatal(err)
		}
	}
	a, b := openHome(t, aHome, nil), openHome(t, bHome, nil)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, ci.ID, node.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, ci.ID, "while you are here"); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, b, ci.ID, func(ms []node.Message) bool { return len(ms) > 0 && last(ms).Text == "while you are here" })
	b.Close()

	tm := start(t, a)
	waitScreen(t, tm, "alice: while you are here (sent)")
	typeLine(tm, "while you are away")
	waitScreen(t, tm, "alice: while you are away (queued)")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	// The node restarts, then a new TUI starts: the post is still queued.
	a.Close()
	a = openHome(t, aHome, nil)
	tm = start(t, a)
	waitScreen(t, tm, "alice: while you are here (sent)", "alice: while you are away (queued)")
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	openHome(t, bHome, st.Addrs) // bob is back and takes it
	waitScreen(t, tm, "alice: while you are away (sent)")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestScrollBeforeFirstPage: PgUp pressed while the first page is still
// loading (live messages, e.g. delivery updates of our posts, are shown
// already) is not lost: once the first page arrives, the pane goes on to
// fetch the page before it. It used to stay at the top of the first page
// (TestTUIHistorySystemLines flaked so).
func TestScrollBeforeFirstPage(t *testing.T) {
	n := openNode(t, "alice", false)
	ci, err := n.CreateChannel(context.Background(), "general")
	if err != nil {
		t.Fatal(err)
	}
	for i := range PageSize + 5 {
		if _, err := n.Send(context.Background(), ci.ID, fmt.Sprintf("m%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	m := New(context.Background(), n, Options{})
	m.width, m.high = 80, 24
	m.pane.reset(ci.ID)
	for range 40 {
		m.scroll(m.paneHeight() - 1) // PgUp while the first page loads
	}
	pg, err := n.History(context.Background(), ci.ID, "", PageSize)
	if err != nil {
		t.Fatal(err)
	}
	cmd := m.paged(pageMsg{channel: ci.ID, page: pg})
	if cmd == nil {
		t.Fatal("the first page arrived after a PgUp, and no older page is fetched")
	}
	msg, ok := cmd().(pageMsg)
	if !ok || msg.before == "" || msg.err != nil {
		t.Fatalf("fetched %+v, want the page before the first", msg)
	}
}
