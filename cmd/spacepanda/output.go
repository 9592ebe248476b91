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

func (g *globals) printf(format string, args ...any) { fmt.Fprintf(g.stdout, format, args...) }

// printMessage prints one message as a timeline line (or a JSON object).
func (g *globals) printMessage(m node.Message) error {
	if g.json {
		return json.NewEncoder(g.stdout).Encode(m)
	}
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
	line := fmt.Sprintf("%s  %s  %s: %s", m.Time.Local().Format(time.DateTime), m.ID, name, text)
	if len(reacts) > 0 {
		line += "  [" + strings.Join(reacts, " ") + "]"
	}
	g.printf("%s\n", line)
	return nil
}

// short abbreviates a peer ID for human output.
func short(id string) string {
	if len(id) > 16 {
		return id[:8] + "…" + id[len(id)-6:]
	}
	return id
}
