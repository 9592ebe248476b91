package tui

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/spacepanda/spacepanda/node"
)

// pane is the message pane of one channel: the pages loaded so far (oldest
// first) and system lines. The delivery state of our posts is the node's
// (node.Message.Delivery), kept current by delivery events.
type pane struct {
	channel string
	items   []item
	index   map[string]int    // message ID -> index in items
	before  string            // cursor of the page before the loaded ones; "" at the start
	loaded  bool              // the first page arrived
	loading bool              // a page is being fetched
	offset  int               // lines scrolled up from the bottom
	marked  string            // the last message marked read (Model.markRead)
	names   map[string]string // member ID -> display name, for "seen by"

	cache      []string // rendered lines of items
	cacheWidth int
	dirty      bool
}

// item is a message or a system line (joins, leaves, renames...).
type item struct {
	msg  node.Message
	sys  string
	time time.Time
}

func newPane() pane {
	return pane{index: map[string]int{}, names: map[string]string{}, dirty: true}
}

func (p *pane) reset(channel string) {
	*p = newPane()
	p.channel = channel
	p.loading = true
}

// prepend adds an older page above the loaded messages.
func (p *pane) prepend(pg node.Page) {
	old := p.items
	p.items = make([]item, 0, len(pg.Messages)+len(pg.Events)+len(old))
	evs := pg.Events
	for _, m := range pg.Messages {
		for ; len(evs) > 0 && !evs[0].Time.After(m.Time); evs = evs[1:] {
			p.systemEvent(evs[0])
		}
		if _, dup := p.index[m.ID]; !dup {
			p.items = append(p.items, item{msg: m, time: m.Time})
		}
	}
	for _, e := range evs {
		p.systemEvent(e)
	}
	p.items = append(p.items, old...)
	p.reindex()
	p.before, p.loaded, p.loading = pg.Before, true, false
}

// upsert adds a new message at the bottom or replaces a shown one.
func (p *pane) upsert(m node.Message) {
	if i, ok := p.index[m.ID]; ok {
		for _, by := range p.items[i].msg.SeenBy { // receipts shown stay (replies, reactions)
			if !slices.Contains(m.SeenBy, by) {
				m.SeenBy = append(m.SeenBy, by)
			}
		}
		if p.items[i].msg.Delivery == node.DeliverySeen && m.Delivery != "" {
			m.Delivery = node.DeliverySeen
		}
		p.items[i].msg = m
	} else {
		p.items = append(p.items, item{msg: m, time: m.Time})
		p.index[m.ID] = len(p.items) - 1
		if p.offset > 0 {
			p.offset++ // keep the lines the user reads in place
		}
	}
	p.dirty = true
}

// lastMessage returns the ID of the newest message loaded, "" when none.
func (p *pane) lastMessage() string {
	for i := len(p.items) - 1; i >= 0; i-- {
		if p.items[i].sys == "" {
			return p.items[i].msg.ID
		}
	}
	return ""
}

func (p *pane) setNames(ms []node.MemberInfo) {
	for _, mb := range ms {
		p.names[mb.ID] = mb.Name
	}
	p.dirty = true
}

// seenBy records that member has read our message id.
func (p *pane) seenBy(id, member string) {
	if i, ok := p.index[id]; ok && !slices.Contains(p.items[i].msg.SeenBy, member) {
		p.items[i].msg.SeenBy = append(p.items[i].msg.SeenBy, member)
		p.items[i].msg.Delivery = node.DeliverySeen
		p.dirty = true
	}
}

// setDelivery records a delivery event of our message id. Seen stays seen
// (a member has it); queued and sent follow the node's outbox.
func (p *pane) setDelivery(id, d string) {
	if i, ok := p.index[id]; ok && p.items[i].msg.Delivery != node.DeliverySeen && p.items[i].msg.Delivery != d {
		p.items[i].msg.Delivery = d
		p.dirty = true
	}
}

// readUpTo records a member's read position: every message of ours up to
// id has been read by it. A position older than what is loaded covers
// nothing shown; one not loaded at all is ignored.
func (p *pane) readUpTo(member, id, self string) {
	end, ok := p.index[id]
	if !ok {
		return
	}
	for i := end; i >= 0; i-- {
		if it := p.items[i]; it.sys == "" && it.msg.Author == self {
			if slices.Contains(it.msg.SeenBy, member) {
				break // positions only move forward: the rest has it too
			}
			p.seenBy(it.msg.ID, member)
		}
	}
}

// rename shows a member's new display name on its messages.
func (p *pane) rename(author, name string) {
	for i := range p.items {
		if p.items[i].sys == "" && p.items[i].msg.Author == author {
			p.items[i].msg.AuthorName = name
		}
	}
	p.dirty = true
}

// systemEvent appends the system line of a member or channel event.
func (p *pane) systemEvent(e node.Event) {
	if l := systemLine(e); l != "" {
		p.items = append(p.items, item{sys: l, time: e.Time})
	}
}

func (p *pane) system(t time.Time, text string) {
	p.items = append(p.items, item{sys: text, time: t})
	p.dirty = true
}

func (p *pane) reindex() {
	p.index = make(map[string]int, len(p.items))
	for i, it := range p.items {
		if it.sys == "" {
			p.index[it.msg.ID] = i
		}
	}
	p.dirty = true
}

// lines renders the items for a pane width, cached until they change.
func (p *pane) lines(width int, st styles, self string) []string {
	if !p.dirty && p.cacheWidth == width {
		return p.cache
	}
	p.cache = p.cache[:0]
	if p.loaded && p.before == "" {
		p.cache = append(p.cache, st.dim.Render("— start of the channel —"))
	}
	for _, it := range p.items {
		p.cache = append(p.cache, p.render(it, width, st, self)...)
	}
	p.cacheWidth, p.dirty = width, false
	return p.cache
}

func (p *pane) lineCount(width int, st styles, self string) int { return len(p.lines(width, st, self)) }

// render formats one item, wrapped to width.
func (p *pane) render(it item, width int, st styles, self string) []string {
	ts := st.dim.Render(it.time.Local().Format("15:04"))
	if it.sys != "" {
		return hang(ts+" "+st.system.Render("* "+clean(it.sys)), width)
	}
	m := it.msg
	name := clean(m.AuthorName)
	if name == "" {
		name = shortID(m.Author)
	}
	author := st.author.Render(name)
	if m.Author == self {
		author = st.self.Render(name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: ", ts, st.dim.Render(m.ID[:min(6, len(m.ID))]), author)
	if m.ReplyTo != "" {
		b.WriteString(st.dim.Render("↪" + m.ReplyTo[:min(6, len(m.ReplyTo))] + " "))
	}
	switch {
	case m.Deleted:
		b.WriteString(st.dim.Render("(deleted)"))
	default:
		b.WriteString(clean(m.Text))
		if m.Edited {
			b.WriteString(" " + st.dim.Render("(edited)"))
		}
	}
	for _, r := range m.Reactions {
		fmt.Fprintf(&b, " [%s %d]", clean(r.Emoji), len(r.Authors))
	}
	if m.Author == self {
		if len(m.SeenBy) > 0 {
			b.WriteString(" " + st.dim.Render(p.seenMark(m.SeenBy)))
		} else if d := deliveryMark(m.Delivery); d != "" {
			b.WriteString(" " + st.dim.Render(d))
		}
	}
	return hang(b.String(), width)
}

// hangIndent is the width of the time column: a message's continuation
// lines start below its author.
const hangIndent = 6

// hang wraps s to width with continuation lines indented.
func hang(s string, width int) []string {
	ls := wrap(s, width-hangIndent)
	for i := 1; i < len(ls); i++ {
		ls[i] = strings.Repeat(" ", hangIndent) + ls[i]
	}
	return ls
}

// seenMark names who has read a post: up to three names, then a count.
func (p *pane) seenMark(ids []string) string {
	names := make([]string, 0, 3)
	for _, id := range ids[:min(3, len(ids))] {
		n := clean(p.names[id])
		if n == "" {
			n = shortID(id)
		}
		names = append(names, n)
	}
	s := strings.Join(names, ", ")
	if len(ids) > 3 {
		s += fmt.Sprintf(" +%d", len(ids)-3)
	}
	return "(seen by " + s + ")"
}

func deliveryMark(d string) string {
	switch d {
	case node.DeliveryQueued:
		return "(queued)"
	case node.DeliverySent:
		return "(sent)"
	case node.DeliverySeen:
		return "(seen)"
	}
	return ""
}

// wrap splits s (which may hold several lines) to width cells.
func wrap(s string, width int) []string {
	if width < 10 {
		width = 10
	}
	return strings.Split(lipgloss.NewStyle().Width(width).Render(s), "\n")
}

// clean escapes what a terminal would interpret in text from others:
// control characters (ESC sequences, carriage returns) and bidirectional
// overrides. Newlines of multi-line messages stay.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return '\uFFFD'
		}
		return r
	}, s)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:4] + "…" + id[len(id)-4:]
	}
	return id
}

// styles are the TUI's colours; on a terminal without colours (or with
// NO_COLOR) only bold and reverse remain.
type styles struct {
	dim, author, self, system, title, selected, unread, status, err lipgloss.Style
}

func newStyles(profile termenv.Profile) styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(profile)
	s := func() lipgloss.Style { return r.NewStyle() }
	return styles{
		dim:      s().Foreground(lipgloss.Color("244")),
		author:   s().Foreground(lipgloss.Color("39")).Bold(true),
		self:     s().Foreground(lipgloss.Color("70")).Bold(true),
		system:   s().Foreground(lipgloss.Color("178")),
		title:    s().Bold(true),
		selected: s().Reverse(true),
		unread:   s().Foreground(lipgloss.Color("203")).Bold(true),
		status:   s().Foreground(lipgloss.Color("244")),
		err:      s().Foreground(lipgloss.Color("196")),
	}
}
