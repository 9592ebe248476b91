package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// composerHeight is the composer's height in lines (multi-line messages
// scroll inside it).
const composerHeight = 2

func (m *Model) listWidth() int { return min(24, max(12, m.width/4)) }

// paneHeight is the message pane's height: the window less the title, the
// status line and the composer.
func (m *Model) paneHeight() int { return max(1, m.high-composerHeight-2) }

// layout sizes the composer to the window.
func (m *Model) layout() {
	m.composer.SetWidth(max(10, m.width-m.listWidth()-1))
	m.composer.SetHeight(composerHeight)
	m.pane.dirty = true
}

// View draws the window: channel list on the left; title, message pane,
// status line and composer on the right.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	lw := m.listWidth()
	pw := max(10, m.width-lw-1)
	h := m.paneHeight()
	right := []string{m.title(pw)}
	if m.help {
		help := append(append([]string{"Keys (any key closes this):"}, keyHelp...), helpText...)
		if len(help) > h {
			help = help[:h] // the top: the keys first
		}
		right = append(right, fitLines(help, h)...)
	} else {
		right = append(right, m.paneLines(pw, h)...)
	}
	right = append(right, m.st.status.Render(truncate(m.status, pw)))
	right = append(right, strings.Split(m.composer.View(), "\n")...)
	left := m.listLines(lw, len(right))
	out := make([]string, len(right))
	sep := m.st.dim.Render("│")
	for i := range right {
		out[i] = left[i] + sep + right[i]
	}
	return strings.Join(out, "\n")
}

func (m *Model) title(w int) string {
	c := m.selected()
	if c == nil {
		return m.st.title.Render(truncate("no channel — /create NAME or /join CODE", w))
	}
	t := fmt.Sprintf("#%s  %d members, %d online  epoch %d", c.info.Name, len(c.members), m.onlineCount(*c), c.info.Epoch)
	if m.pane.offset > 0 {
		t += fmt.Sprintf("  [scrolled ↑%d]", m.pane.offset)
	}
	return m.st.title.Render(truncate(t, w))
}

// paneLines returns the h lines of the pane the scroll offset shows.
func (m *Model) paneLines(w, h int) []string {
	all := m.pane.lines(w, m.st, m.self)
	end := max(min(h, len(all)), len(all)-m.pane.offset) // past the top while a page loads: show the top
	start := max(0, end-h)
	vis := append([]string(nil), all[start:end]...)
	if start == 0 && m.pane.loading && len(vis) > 0 {
		vis[0] = m.st.dim.Render("— loading older messages —")
	}
	return fitLines(vis, h)
}

// fitLines pads ls with blank lines at the top (or cuts it) to h lines.
func fitLines(ls []string, h int) []string {
	if len(ls) > h {
		return ls[len(ls)-h:]
	}
	return append(make([]string, h-len(ls)), ls...)
}

// listLines draws the channel list: name, unread count, members online.
func (m *Model) listLines(w, h int) []string {
	out := []string{m.st.title.Render(pad(truncate("Channels", w), w))}
	for i, c := range m.chans {
		mark := "  "
		if i == m.sel {
			mark = "▸ "
		}
		extra := fmt.Sprintf(" %d/%d", m.onlineCount(c), len(c.members))
		if c.unread > 0 {
			extra = fmt.Sprintf(" (%d)", c.unread) + extra
		}
		line := pad(mark+truncate(c.info.Name, w-2-len(extra))+extra, w)
		switch {
		case i == m.sel:
			line = m.st.selected.Render(line)
		case c.unread > 0:
			line = m.st.unread.Render(line)
		}
		out = append(out, line)
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out[:h]
}

func pad(s string, w int) string {
	if d := w - lipgloss.Width(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

func truncate(s string, w int) string {
	if w <= 1 {
		return ""
	}
	s = clean(strings.ReplaceAll(s, "\n", " "))
	if lipgloss.Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
