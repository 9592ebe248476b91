package tui

import (
	"context"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/spacepanda/spacepanda/node"
)

// RunOptions configure Run.
type RunOptions struct {
	Mouse bool // report the mouse wheel (scrolls the pane)
	// NoReadReceipts: the members do not learn what the user has read.
	NoReadReceipts bool
}

// Run shows the TUI on the terminal of in and out until the user quits or
// ctx ends. Colours follow the terminal; NO_COLOR turns them off.
func Run(ctx context.Context, api node.API, in io.Reader, out io.Writer, o RunOptions) error {
	profile := termenv.NewOutput(out).EnvColorProfile() // honours NO_COLOR and CLICOLOR_FORCE
	if os.Getenv("NO_COLOR") != "" {
		profile = termenv.Ascii
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, api, Options{Profile: profile, NoReadReceipts: o.NoReadReceipts})
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx)}
	if o.Mouse {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	p := tea.NewProgram(m, opts...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Pump(ctx, api, p.Send) //nolint:errcheck // ends with ctx
	}()
	_, err := p.Run()
	cancel()
	<-done
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		return nil
	}
	return err
}
