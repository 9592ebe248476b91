package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/spacepanda/spacepanda/node"
)

// EventMsg carries an event of the node's stream into the program.
type EventMsg node.Event

// loadedMsg is the node's status, channels and peers.
type loadedMsg struct {
	st    node.Status
	peers []node.PeerInfo
	err   error
}

type pageMsg struct {
	channel string
	before  string
	page    node.Page
	err     error
}

type membersMsg struct {
	channel string
	members []node.MemberInfo
	err     error
}

// resultMsg is the outcome of a command run for the user: a status line,
// and system lines for the pane.
type resultMsg struct {
	status string
	lines  []string
	err    error
	reload bool // channels changed: load them again
}

// Pump feeds the API's event stream to send (tea.Program.Send) until ctx
// ends. Through a daemon the stream reconnects by itself.
func Pump(ctx context.Context, api node.API, send func(tea.Msg)) error {
	return api.Events(ctx, node.EventCursor{}, func(e node.Event) error {
		send(EventMsg(e))
		return nil
	})
}

func (m *Model) loadAll() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
		defer cancel()
		st, err := m.api.Status(ctx)
		if err != nil {
			return loadedMsg{err: err}
		}
		peers, err := m.api.Peers(ctx)
		return loadedMsg{st: st, peers: peers, err: err}
	}
}

// loaded replaces the channel list, keeping unread counts and the selection.
func (m *Model) loaded(msg loadedMsg) tea.Cmd {
	if msg.err != nil {
		m.status = "error: " + msg.err.Error()
		return nil
	}
	m.self, m.name = msg.st.PeerID, msg.st.Name
	m.online = map[string]bool{}
	for _, p := range msg.peers {
		m.online[p.ID] = true
	}
	var cur string
	if c := m.selected(); c != nil {
		cur = c.info.ID
	}
	old := map[string]chanEntry{}
	for _, c := range m.chans {
		old[c.info.ID] = c
	}
	m.chans = m.chans[:0]
	for _, ci := range msg.st.Channels {
		e := old[ci.ID]
		e.info = ci
		e.unread = ci.Unread // the node counts from the stored read position
		if ci.ID == cur && m.pane.channel == cur {
			e.unread = 0 // shown: marked read as it arrives
		}
		m.chans = append(m.chans, e)
	}
	sort.SliceStable(m.chans, func(i, j int) bool { return m.chans[i].info.Name < m.chans[j].info.Name })
	var cmds []tea.Cmd
	for _, c := range m.chans {
		cmds = append(cmds, m.loadMembers(c.info.ID))
	}
	if i := m.find(cur); i >= 0 && m.pane.channel == cur {
		m.sel = i
	} else if len(m.chans) > 0 {
		cmds = append(cmds, m.selectChannel(max(0, m.find(cur))))
	}
	return tea.Batch(cmds...)
}

func (m *Model) loadPage(channel, before string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
		defer cancel()
		pg, err := m.api.History(ctx, channel, before, PageSize)
		return pageMsg{channel: channel, before: before, page: pg, err: err}
	}
}

func (m *Model) paged(msg pageMsg) tea.Cmd {
	if msg.channel != m.pane.channel {
		return nil // the user moved on
	}
	if msg.err != nil {
		m.pane.loading = false
		m.status = "error: " + msg.err.Error()
		return nil
	}
	if (msg.before == "") != !m.pane.loaded {
		return nil // a stale first page after a reset, or a repeat
	}
	m.pane.prepend(msg.page)
	if msg.before != "" || m.pane.offset > 0 {
		// Go on to the offset the user asked for: also when PgUp came
		// before the first page (live messages were shown already).
		return m.scroll(0)
	}
	return nil
}

func (m *Model) loadMembers(channel string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
		defer cancel()
		ms, err := m.api.Members(ctx, channel)
		return membersMsg{channel: channel, members: ms, err: err}
	}
}

// onlineCount is how many members of c are connected (we count).
func (m *Model) onlineCount(c chanEntry) int {
	n := 0
	for _, mb := range c.members {
		if mb.ID == m.self || m.online[mb.ID] {
			n++
		}
	}
	return n
}

// event applies one event of the stream.
func (m *Model) event(e node.Event) tea.Cmd {
	i := m.find(e.Channel)
	shown := i >= 0 && i == m.sel && m.pane.channel == e.Channel
	switch e.Type {
	case node.EventReset:
		if c := m.selected(); c != nil {
			m.pane.reset(c.info.ID)
			return tea.Batch(m.loadAll(), m.loadPage(c.info.ID, ""))
		}
		return m.loadAll()
	case node.EventMessage, node.EventEdit, node.EventDelete, node.EventReaction:
		if e.Message == nil || i < 0 {
			return nil
		}
		if shown {
			if m.pane.loaded {
				m.pane.upsert(*e.Message)
			}
		} else if e.Type == node.EventMessage && e.Message.Author != m.self {
			m.chans[i].unread++
		}
	case node.EventDelivery:
		if shown {
			m.pane.setDelivery(e.MessageID, e.Delivery)
			if e.Delivery == node.DeliverySeen && e.By != "" {
				m.pane.seenBy(e.MessageID, e.By)
			}
		}
	case node.EventMember:
		if e.Change == "profile" && i >= 0 {
			m.renamed(i, shown, e)
		} else if shown {
			m.pane.system(e.Time, memberLine(e))
		}
		if i >= 0 {
			return m.loadMembers(e.Channel)
		}
	case node.EventChannel:
		if shown && e.Change == "renamed" {
			m.pane.system(e.Time, fmt.Sprintf("channel renamed to %s", e.Name))
		}
		if shown && e.Change == "gone" {
			m.pane.system(e.Time, "you are no longer a member of this channel")
		}
		return m.loadAll()
	case node.EventPeer:
		m.online[e.Peer] = e.Online
	case node.EventRead:
		if shown {
			m.pane.readUpTo(e.Member, e.MessageID, m.self)
		}
	}
	return nil
}

// markRead tells the node that the user has read the shown channel up to
// its latest message: when the pane shows the bottom of a loaded channel
// and that message was not marked yet. It returns nil otherwise.
func (m *Model) markRead() tea.Cmd {
	c := m.selected()
	if c == nil || m.pane.channel != c.info.ID || !m.pane.loaded || m.pane.offset != 0 {
		return nil
	}
	last := m.pane.lastMessage()
	if last == "" || last == m.pane.marked {
		return nil
	}
	m.pane.marked = last
	ch, share := c.info.ID, m.receipts
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
		defer cancel()
		m.api.MarkRead(ctx, ch, last, share) //nolint:errcheck // best effort: the next message marks again
		return nil
	}
}

// renamed shows a member's new display name: a system line when the
// channel is shown and the member had another name, and the name on the
// member's messages in the pane.
func (m *Model) renamed(i int, shown bool, e node.Event) {
	old := ""
	for _, mb := range m.chans[i].members {
		if mb.ID == e.Member {
			old = mb.Name
		}
	}
	if !shown {
		return
	}
	if old != "" && old != e.Name {
		m.pane.system(e.Time, old+" is now known as "+e.Name)
	}
	m.pane.rename(e.Member, e.Name)
}

// systemLine is the pane's line for a member or channel event read from
// history; "" for none.
func systemLine(e node.Event) string {
	switch {
	case e.Type == node.EventMember && e.Change == "profile":
		if e.OldName == "" || e.OldName == e.Name {
			return ""
		}
		return e.OldName + " is now known as " + e.Name
	case e.Type == node.EventMember:
		return memberLine(e)
	case e.Type == node.EventChannel && e.Change == "renamed":
		return "channel renamed to " + e.Name
	}
	return ""
}

func memberLine(e node.Event) string {
	who := e.MemberName
	if who == "" {
		who = shortID(e.Member)
	}
	switch e.Change {
	case "joined":
		return who + " joined"
	case "left":
		return who + " left"
	case "removed":
		return who + " was removed"
	case "role":
		return who + " is now " + e.Name
	}
	return who + " " + e.Change
}

// call runs fn for the user and reports its outcome in the status line.
func (m *Model) call(fn func(ctx context.Context) (string, error)) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
		defer cancel()
		s, err := fn(ctx)
		return resultMsg{status: s, err: err}
	}
}

func (m *Model) result(r resultMsg) tea.Cmd {
	switch {
	case r.err != nil:
		m.status = "error: " + r.err.Error()
		if errors.Is(r.err, context.DeadlineExceeded) {
			m.status = "error: the node did not answer in time"
		}
	default:
		m.status = r.status
	}
	if c := m.selected(); c != nil {
		for _, l := range r.lines {
			m.pane.system(timeNow(), l)
		}
	}
	if r.reload {
		return m.loadAll()
	}
	return nil
}
