// Package tui is `spacepanda tui`: one terminal with the channel list
// (unread counts, members online), the message pane of the selected channel
// and a composer. It speaks only node.API: through a daemon's control socket
// or to a node the command runs itself. Live updates come from the API's
// event stream; history is read a page at a time (node.API.History).
//
// bubbletea, bubbles and lipgloss live only in this package
// (layout_test.go). A Model is not safe for concurrent use: bubbletea owns it.
package tui

import (
	"context"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/muesli/termenv"

	"github.com/spacepanda/spacepanda/node"
)

// PageSize is how many messages one history page holds.
const PageSize = 100

// callTimeout bounds one API call made for the user.
const callTimeout = 30 * time.Second

// Model is the TUI's state.
type Model struct {
	api   node.API
	ctx   context.Context
	self  string // our peer ID
	name  string
	st    styles
	width int
	high  int

	chans    []chanEntry
	sel      int
	online   map[string]bool // connected peers
	pane     pane
	composer textarea.Model
	history  []string // sent lines, oldest first
	histPos  int      // index into history while browsing; len(history) otherwise
	status   string   // the last command's outcome, shown above the composer
	help     bool
	quitting bool
	receipts bool // send read receipts (Options.NoReadReceipts unset)
}

// chanEntry is a channel of the list.
type chanEntry struct {
	info    node.ChannelInfo
	unread  int
	members []node.MemberInfo
}

// Options configure the TUI.
type Options struct {
	// Profile is the terminal's colour profile: termenv.Ascii for no
	// colours (Run picks it from the terminal and NO_COLOR).
	Profile termenv.Profile
	// NoReadReceipts keeps what the user reads to this node: unread
	// counts still follow, no read receipt is sent to the members.
	NoReadReceipts bool
}

// New returns the TUI's model over api. ctx bounds every call it makes.
func New(ctx context.Context, api node.API, o Options) *Model {
	ta := textarea.New()
	ta.Placeholder = "Message, or /help"
	ta.ShowLineNumbers = false
	ta.Prompt = "> "
	ta.SetHeight(2)
	ta.CharLimit = 0
	ta.KeyMap.InsertNewline.SetKeys("alt+enter", "ctrl+j")
	ta.KeyMap.LineNext.SetKeys("down")
	ta.KeyMap.LinePrevious.SetKeys("up")
	ta.Focus()
	return &Model{api: api, ctx: ctx, st: newStyles(o.Profile), composer: ta, online: map[string]bool{},
		pane: newPane(), width: 80, high: 24, receipts: !o.NoReadReceipts}
}

// Init loads the status, the channels and the peers.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(textarea.Blink, m.loadAll())
}

// selected returns the selected channel, or nil.
func (m *Model) selected() *chanEntry {
	if m.sel < 0 || m.sel >= len(m.chans) {
		return nil
	}
	return &m.chans[m.sel]
}

func (m *Model) find(id string) int {
	for i, c := range m.chans {
		if c.info.ID == id {
			return i
		}
	}
	return -1
}

// Update handles one message; then, when the user sees the latest message
// of the channel, it marks the channel read.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	model, cmd := m.update(msg)
	if mark := m.markRead(); mark != nil {
		cmd = tea.Batch(cmd, mark)
	}
	return model, cmd
}

func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.high = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	case EventMsg:
		return m, m.event(node.Event(msg))
	case loadedMsg:
		return m, m.loaded(msg)
	case pageMsg:
		return m, m.paged(msg)
	case membersMsg:
		if i := m.find(msg.channel); i >= 0 && msg.err == nil {
			m.chans[i].members = msg.members
			if msg.channel == m.pane.channel {
				m.pane.setNames(msg.members)
			}
		}
		return m, nil
	case resultMsg:
		return m, m.result(msg)
	}
	var cmd tea.Cmd
	m.composer, cmd = m.composer.Update(msg)
	return m, cmd
}

// key handles the key bindings (docs/user-guide.md, "TUI"); what is not a
// binding goes to the composer.
func (m *Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.help && k.String() != "ctrl+c" {
		m.help = false
		return m, nil
	}
	switch k.String() {
	case "ctrl+c", "ctrl+q":
		m.quitting = true
		return m, tea.Quit
	case "enter":
		if k.Paste {
			break
		}
		return m, m.submit()
	case "tab", "ctrl+down":
		return m, m.selectChannel(m.sel + 1)
	case "shift+tab", "ctrl+up":
		return m, m.selectChannel(m.sel - 1)
	case "pgup":
		return m, m.scroll(m.paneHeight() - 1)
	case "pgdown":
		return m, m.scroll(-(m.paneHeight() - 1))
	case "ctrl+home":
		return m, m.scroll(1 << 30)
	case "ctrl+end", "esc":
		m.pane.offset = 0
		return m, nil
	case "ctrl+p":
		m.browseHistory(-1)
		return m, nil
	case "ctrl+n":
		m.browseHistory(1)
		return m, nil
	case "f1":
		m.help = true
		return m, nil
	}
	if len(k.String()) == 5 && strings.HasPrefix(k.String(), "alt+") && k.String()[4] >= '1' && k.String()[4] <= '9' {
		return m, m.selectChannel(int(k.String()[4] - '1'))
	}
	var cmd tea.Cmd
	m.composer, cmd = m.composer.Update(k)
	return m, cmd
}

func (m *Model) mouse(ev tea.MouseMsg) (tea.Model, tea.Cmd) {
	switch ev.Button {
	case tea.MouseButtonWheelUp:
		return m, m.scroll(3)
	case tea.MouseButtonWheelDown:
		return m, m.scroll(-3)
	}
	return m, nil
}

// browseHistory walks the composer's history of sent lines.
func (m *Model) browseHistory(d int) {
	p := m.histPos + d
	if p < 0 || p > len(m.history) {
		return
	}
	m.histPos = p
	if p == len(m.history) {
		m.composer.Reset()
		return
	}
	m.composer.SetValue(m.history[p])
}

// submit sends the composer's text, or runs it as a slash command.
func (m *Model) submit() tea.Cmd {
	text := strings.TrimSpace(m.composer.Value())
	if text == "" {
		return nil
	}
	m.composer.Reset()
	if len(m.history) == 0 || m.history[len(m.history)-1] != text {
		m.history = append(m.history, text)
	}
	m.histPos = len(m.history)
	if strings.HasPrefix(text, "/") && !strings.HasPrefix(text, "//") {
		return m.command(text)
	}
	text = strings.TrimPrefix(text, "/") // "//x" sends "/x"
	c := m.selected()
	if c == nil {
		m.status = "no channel: /create NAME or /join CODE"
		return nil
	}
	id := c.info.ID
	return m.call(func(ctx context.Context) (string, error) {
		res, err := m.api.Send(ctx, id, text)
		if err != nil {
			return "", err
		}
		if res.Queued {
			return "queued: " + res.Reason, nil
		}
		return "", nil
	})
}

// selectChannel shows channel i and loads its latest page.
func (m *Model) selectChannel(i int) tea.Cmd {
	if len(m.chans) == 0 {
		return nil
	}
	i = (i + len(m.chans)) % len(m.chans)
	m.sel = i
	c := &m.chans[i]
	c.unread = 0
	m.pane.reset(c.info.ID)
	return tea.Batch(m.loadPage(c.info.ID, ""), m.loadMembers(c.info.ID))
}

// scroll moves the pane by n lines (up when positive), fetching the page
// before the loaded ones when the top comes into view.
func (m *Model) scroll(n int) tea.Cmd {
	m.pane.offset = max(0, m.pane.offset+n)
	lines := m.pane.lineCount(m.width-m.listWidth()-1, m.st, m.self)
	top := max(0, lines-m.paneHeight())
	if m.pane.offset < top {
		return nil
	}
	if m.pane.before == "" && m.pane.loaded {
		m.pane.offset = top // the start of the channel
		return nil
	}
	// Past the loaded pages: keep the offset asked for (PgUp pressed again
	// while a page loads still counts) and fetch the page before.
	if !m.pane.loading {
		m.pane.loading = true
		return m.loadPage(m.pane.channel, m.pane.before)
	}
	return nil
}
