package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

// check is one finding of `doctor`.
type check struct {
	What   string `json:"what"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Advice string `json:"advice,omitempty"`
}

func doctorCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the home: files, permissions, store, channels, daemon",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs := g.doctor(cmd)
			bad := 0
			for _, c := range cs {
				if !c.OK {
					bad++
				}
			}
			err := g.emit(cs, func() {
				for _, c := range cs {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					g.printf("%s  %-8s  %s\n", mark, c.What, c.Detail)
					if c.Advice != "" {
						g.printf("            %s\n", c.Advice)
					}
				}
			})
			if err == nil && bad > 0 {
				err = fmt.Errorf("%s found", plural(bad, "problem"))
			}
			return err
		},
	}
}

// doctor checks the home step by step; a step that fails stops the
// ones that need it.
func (g *globals) doctor(cmd *cobra.Command) []check {
	var cs []check
	fi, err := os.Stat(g.home)
	if err != nil {
		return append(cs, check{What: "home", Detail: err.Error(), Advice: "run `spacepanda init --name NAME`, or give the right --home"})
	}
	if fi.Mode().Perm()&0o077 != 0 {
		cs = append(cs, check{What: "home", Detail: fmt.Sprintf("%s is readable by others (mode %v)", g.home, fi.Mode().Perm()),
			Advice: "chmod 700 " + g.home})
	} else {
		cs = append(cs, check{What: "home", OK: true, Detail: g.home})
	}
	c, err := node.Dial(cmd.Context(), g.home)
	if err == nil {
		st, err := c.Status(cmd.Context())
		if err != nil {
			return append(cs, check{What: "daemon", Detail: "the control socket answers with an error: " + humanize(err)})
		}
		cs = append(cs, check{What: "daemon", OK: true, Detail: fmt.Sprintf("%s (PID %d) runs the node", st.Process, st.PID)})
		return append(cs, channelChecks(st.Channels)...)
	}
	cs = append(cs, check{What: "daemon", OK: true, Detail: "not running"})
	n, err := node.Open(cmd.Context(), node.Config{Home: g.home, Logger: g.log, Holder: g.cmdPath})
	switch {
	case errors.Is(err, node.ErrStoreDamaged):
		return append(cs, check{What: "store", Detail: humanize(err), Advice: "restore a backup of the home; the files under " + filepath.Join(g.home, "db") + " are damaged"})
	case errors.Is(err, node.ErrHomeInUse):
		return append(cs, check{What: "store", Detail: humanize(err), Advice: "another process holds the home; wait for it, or stop it"})
	case err != nil:
		return append(cs, check{What: "store", Detail: humanize(err)})
	}
	defer n.Close()
	cs = append(cs, check{What: "store", OK: true, Detail: "opens; identity " + n.PeerID()})
	chans, err := n.Channels(cmd.Context())
	if err != nil {
		return append(cs, check{What: "channels", Detail: humanize(err)})
	}
	return append(cs, channelChecks(chans)...)
}

func channelChecks(chans []node.ChannelInfo) []check {
	var cs []check
	for _, c := range chans {
		ck := check{What: "channel", OK: c.State != node.StateDamaged, Detail: channelLine(c)}
		if !ck.OK {
			ck.Advice = "`spacepanda channel forget " + c.ID + "` drops it; a new invite code admits you again"
		}
		cs = append(cs, ck)
	}
	if len(cs) == 0 {
		cs = append(cs, check{What: "channels", OK: true, Detail: "none"})
	}
	return cs
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of spacepanda",
		Args:  noArgs,
		// version needs no home.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version()
			return g.emit(v, func() {
				g.printf("spacepanda %s (%s, %s)\n", v["version"], v["revision"], v["go"])
			})
		},
	}
}

// version reads the module version and VCS revision the binary was built
// with.
func version() map[string]string {
	v := map[string]string{"version": "(devel)", "revision": "unknown revision", "go": "unknown go"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v["go"] = bi.GoVersion
	if bi.Main.Version != "" {
		v["version"] = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v["revision"] = s.Value[:min(12, len(s.Value))]
		}
	}
	return v
}

// logFilter keeps one line per log entry of the libraries (Pebble writes
// its corruption reports with stack traces through the standard logger),
// with advice.
type logFilter struct{ w io.Writer }

func (f logFilter) Write(p []byte) (int, error) {
	line, _, _ := strings.Cut(string(p), "\n")
	if strings.Contains(line, "corruption") {
		line += " — the store is damaged: restore a backup of the home, or run `spacepanda doctor`"
	}
	fmt.Fprintf(f.w, "spacepanda: %s\n", clean(line))
	return len(p), nil
}
