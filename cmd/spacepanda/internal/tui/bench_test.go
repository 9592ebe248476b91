package tui

import (
	"context"
	"fmt"
	"testing"

	"github.com/muesli/termenv"

	"github.com/spacepanda/spacepanda/node"
)

// BenchmarkOpenChannel is what selecting a channel costs the TUI: fetch the
// latest page from the node (node.API.History) and draw the window. The
// node's side costs per page, not per message of the channel
// (node.BenchmarkHistory100k measures it on 100,000 messages); this adds
// the control socket and the drawing.
func BenchmarkOpenChannel(b *testing.B) {
	ctx := context.Background()
	n := openNode(b, "alice", false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		b.Fatal(err)
	}
	for i := range PageSize + 20 {
		if _, err := n.Send(ctx, ci.ID, fmt.Sprintf("message %d with some text to wrap around the pane", i)); err != nil {
			b.Fatal(err)
		}
	}
	home := b.TempDir() // a socket path of its own
	srv, err := node.Serve(n, home)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := node.Dial(ctx, home)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		api  node.API
	}{{"in-process", n}, {"daemon", c}} {
		b.Run(bc.name, func(b *testing.B) {
			m := New(ctx, bc.api, Options{Profile: termenv.Ascii})
			m.width, m.high = 120, 40
			m.chans = []chanEntry{{info: ci}}
			for b.Loop() {
				m.pane.reset(ci.ID)
				msg := m.loadPage(ci.ID, "")()
				m.paged(msg.(pageMsg))
				if v := m.View(); len(v) == 0 || len(m.pane.items) != PageSize {
					b.Fatal("nothing drawn")
				}
			}
		})
	}
}
