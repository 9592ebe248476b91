package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

func eventsCmd(g *globals) *cobra.Command {
	var replay bool
	var count int
	c := &cobra.Command{
		Use:   "events",
		Short: "Print the node's live events (messages, edits, reactions, membership, delivery, peers) until interrupted",
		Long: "Prints one line per event; with --json one JSON object per line, for scripts.\n" +
			"Through a daemon the stream reconnects by itself when the daemon restarts;\n" +
			"an event of type \"reset\" then says that events were missed.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			from := node.EventCursor{}
			if replay {
				from = node.ReplayKept
			}
			errEnough := errors.New("enough events")
			n := 0
			err := g.with(ctx, true, func(a node.API) error {
				return a.Events(ctx, from, func(e node.Event) error {
					if err := g.printEvent(e); err != nil {
						return err
					}
					if n++; count > 0 && n >= count {
						return errEnough
					}
					return nil
				})
			})
			if errors.Is(err, errEnough) {
				return nil
			}
			return err
		},
	}
	c.Flags().BoolVar(&replay, "replay", false, "first print the recent events the node still keeps (up to 4096)")
	c.Flags().IntVar(&count, "count", 0, "exit after this many events (0: until interrupted)")
	return c
}

// printEvent prints one event as a line (or a JSON object).
func (g *globals) printEvent(e node.Event) error {
	if g.json {
		return json.NewEncoder(g.stdout).Encode(e)
	}
	line := fmt.Sprintf("%s  %-8s", e.Time.Local().Format(time.TimeOnly), e.Type)
	if e.Channel != "" {
		line += "  " + e.Channel[:min(8, len(e.Channel))]
	}
	switch e.Type {
	case node.EventMessage, node.EventEdit, node.EventDelete, node.EventReaction:
		m := e.Message
		line += fmt.Sprintf("  %s %s: %s", m.ID, nameOr(m.AuthorName, m.Author), m.Text)
	case node.EventMember:
		line += fmt.Sprintf("  %s %s %s", nameOr(e.MemberName, e.Member), e.Change, e.Name)
	case node.EventChannel:
		line += fmt.Sprintf("  %s %s", e.Change, e.Name)
	case node.EventDelivery:
		line += fmt.Sprintf("  %s %s %s", e.MessageID, e.Delivery, short(e.By))
	case node.EventPeer:
		state := "offline"
		if e.Online {
			state = "online"
		}
		line += fmt.Sprintf("  %s %s", short(e.Peer), state)
	}
	g.printf("%s\n", strings.TrimRight(line, " "))
	return nil
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return short(id)
}

// serveMetrics serves n's Prometheus metrics on addr until ctx ends. An
// address without a host ("9743" or ":9743") means loopback: exposing
// metrics beyond the machine is the user's explicit choice.
func serveMetrics(ctx context.Context, n *node.Node, addr string, log *slog.Logger) (func() error, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", n.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	log.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}, nil
}

// logger builds the slog logger of --log-level, --log-format and
// --log-file. The file is opened for appending, readable by its owner only.
func (g *globals) logger() (*slog.Logger, io.Closer, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToLower(g.logLevel))); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	var w io.Writer = g.stderr
	var closer io.Closer = io.NopCloser(nil)
	if g.logFile != "" {
		f, err := os.OpenFile(g.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w, closer = f, f
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch g.logFormat {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), closer, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), closer, nil
	}
	closer.Close()
	return nil, nil, errors.New("--log-format: want text or json")
}
