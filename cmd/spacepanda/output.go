package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// emit prints v as JSON when --json is set, else calls human.
func (g *globals) emit(v any, human func()) error {
	if g.json {
		return json.NewEncoder(g.stdout).Encode(v)
	}
	human()
	return nil
}

// printf prints human output. Every string argument passes through clean:
// names, message text and remote error text come from other members, and
// must not move the cursor, fake lines or talk to the terminal.
func (g *globals) printf(format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clean(s)
		}
	}
	fmt.Fprintf(g.stdout, format, args...)
}

// clean escapes what a terminal would interpret in text from others: C0 and
// C1 control characters (ESC sequences, newlines, carriage returns), DEL,
// and the bidirectional overrides that reorder what is shown. Tabs stay.
func clean(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// printMessage prints one message as a timeline line (or a JSON object).
func (g *globals) printMessage(m node.Message) error {
	if g.json {
		if m.Type == "" {
			m.Type = "post"
		}
		return json.NewEncoder(g.stdout).Encode(m)
	}
	fmt.Fprintln(g.stdout, g.messageLine(m))
	return nil
}

// messageLine formats a message (or a member's arrival or departure) for
// people: text from others is cleaned, and each line of a multi-line
// message is indented under the first.
func (g *globals) messageLine(m node.Message) string {
	name := m.AuthorName
	if name == "" {
		name = short(m.Author)
	}
	text := m.Text
	switch {
	case m.Deleted:
		text = "(deleted)"
	case m.Edited:
		text += " (edited)"
	}
	var reacts []string
	for _, r := range m.Reactions {
		reacts = append(reacts, fmt.Sprintf("%s×%d", r.Emoji, len(r.Authors)))
	}
	when := m.Time.Local().Format(time.DateTime)
	switch m.Type {
	case "join":
		return fmt.Sprintf("%s  %s joined", when, clean(name))
	case "leave":
		return fmt.Sprintf("%s  %s left", when, clean(name))
	case "removed":
		return fmt.Sprintf("%s  %s was removed", when, clean(name))
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	line := fmt.Sprintf("%s  %s  %s: %s", when, m.ID, clean(name), strings.Join(lines, "\n"+strings.Repeat(" ", 39)))
	if len(reacts) > 0 {
		line += "  [" + clean(strings.Join(reacts, " ")) + "]"
	}
	if d := deliveryMark(m); d != "" {
		line += "  " + d
	}
	return line
}

// deliveryMark says where our own post is: (queued), (sent), (seen by N
// members); "" for others' posts.
func deliveryMark(m node.Message) string {
	switch {
	case m.Delivery == node.DeliverySeen && len(m.SeenBy) == 1:
		return "(seen by 1 member)"
	case m.Delivery == node.DeliverySeen && len(m.SeenBy) > 1:
		return fmt.Sprintf("(seen by %d members)", len(m.SeenBy))
	case m.Delivery != "":
		return "(" + m.Delivery + ")"
	}
	return ""
}

// short abbreviates a peer ID for human output.
func short(id string) string {
	if len(id) > 16 {
		return id[:8] + "…" + id[len(id)-6:]
	}
	return id
}
