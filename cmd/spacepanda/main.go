// Command spacepanda is the SpacePanda command line: it creates an identity,
// runs the node as a daemon, and manages channels, invites and messages.
//
// When a daemon runs for the home, commands go through its control socket;
// otherwise they open the store themselves and, when they need the network,
// run the node for the length of the command. See docs/user-guide.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// globals are the flags every command shares.
type globals struct {
	home     string
	json     bool
	logLevel string
	// logFormat and logFile: --log-format text|json, --log-file PATH.
	logFormat string
	logFile   string
	logClose  io.Closer
	cmdPath   string // e.g. "spacepanda messages --follow", for the home's lock
	stdout    io.Writer
	stderr    io.Writer
	log       *slog.Logger
}

// run executes the command line and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if g.logClose != nil {
		g.logClose.Close()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return 0 // ^C on --follow or a signal: a normal end
		}
		printError(stderr, g.json, err)
		return 1
	}
	return 0
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "spacepanda",
		Short:         "Peer-to-peer end-to-end encrypted group chat",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			g.cmdPath = cmd.CommandPath()
			if f := cmd.Flags().Lookup("follow"); f != nil && f.Changed {
				g.cmdPath += " --follow"
			}
			return g.setup()
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.home, "home", "", "home directory (env SPACEPANDA_HOME, default ~/.spacepanda)")
	f.BoolVar(&g.json, "json", false, "machine-readable output")
	f.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&g.logFile, "log-file", "", "append logs to this file instead of stderr")
	root.AddCommand(versionCmd(g), doctorCmd(g), initCmd(g), nameCmd(g), daemonCmd(g), statusCmd(g), peersCmd(g), channelCmd(g), joinCmd(g),
		sendCmd(g), messagesCmd(g), editCmd(g), deleteCmd(g), reactCmd(g), eventsCmd(g), testbedCmd(g), tuiCmd(g))
	return root
}

// setup resolves the home and the logger.
func (g *globals) setup() error {
	if g.home == "" {
		g.home = os.Getenv("SPACEPANDA_HOME")
	}
	if g.home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("no --home given and no user home directory: %w", err)
		}
		g.home = filepath.Join(dir, ".spacepanda")
	}
	var err error
	g.log, g.logClose, err = g.logger()
	log.SetOutput(logFilter{w: g.stderr})
	log.SetFlags(0)
	return err
}
