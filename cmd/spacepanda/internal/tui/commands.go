package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/spacepanda/spacepanda/node"
)

var timeNow = time.Now

// helpText lists the slash commands and key bindings (docs/user-guide.md).
var helpText = []string{
	"/create NAME          create a channel",
	"/invite [USES]        print an invite code for this channel",
	"/join CODE            join with an invite code",
	"/leave                leave this channel",
	"/members              list members, their roles and who is online",
	"/remove MEMBER        remove a member (owners, admins)",
	"/rename NAME          rename this channel (owners, admins)",
	"/role MEMBER ROLE     set a member's role: owner, admin, member",
	"/react ID EMOJI       react to a message (ID: its first digits)",
	"/edit ID TEXT         edit one of your messages",
	"/delete ID            delete a message",
	"/reply ID TEXT        reply to a message",
	"/nick NAME            change your display name (every channel)",
	"/help                 this list (F1: keys)",
	"//text                send a line that starts with /",
}

// keyHelp lists the key bindings.
var keyHelp = []string{
	"Enter                send",
	"Alt+Enter, Ctrl+J    new line",
	"Up, Down             move in a multi-line message",
	"Ctrl+P, Ctrl+N       composer history",
	"Tab, Ctrl+Down       next channel",
	"Shift+Tab, Ctrl+Up   previous channel",
	"Alt+1..9             channel 1..9",
	"PgUp, PgDn           scroll; loads older pages",
	"Ctrl+Home            oldest loaded",
	"Ctrl+End, Esc        latest",
	"Mouse wheel          scroll (with --mouse)",
	"F1                   this help",
	"Ctrl+C, Ctrl+Q       quit",
}

// command runs a slash command.
func (m *Model) command(line string) tea.Cmd {
	name, rest, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	ch := ""
	if c := m.selected(); c != nil {
		ch = c.info.ID
	}
	need := func(n int, usage string) bool {
		if len(args) < n {
			m.status = "usage: " + usage
			return false
		}
		if ch == "" && name != "create" && name != "join" {
			m.status = "no channel selected"
			return false
		}
		return true
	}
	a := m.api
	switch name {
	case "help":
		return m.lines(append(append([]string{}, helpText...), keyHelp...)...)
	case "create":
		if !need(1, "/create NAME") {
			return nil
		}
		return m.reloadAfter(func(ctx context.Context) (string, error) {
			ci, err := a.CreateChannel(ctx, rest)
			return "created " + ci.Name, err
		})
	case "join":
		if !need(1, "/join CODE") {
			return nil
		}
		return m.reloadAfter(func(ctx context.Context) (string, error) {
			ci, err := a.Join(ctx, args[0])
			return "joined " + ci.Name, err
		})
	case "invite":
		if !need(0, "/invite [USES]") {
			return nil
		}
		uses := 1
		if len(args) > 0 {
			var err error
			if uses, err = strconv.Atoi(args[0]); err != nil || uses < 1 {
				m.status = "usage: /invite [USES]"
				return nil
			}
		}
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
			defer cancel()
			code, err := a.Invite(ctx, ch, node.InviteOptions{Uses: uses})
			return resultMsg{status: "invite code in the pane", lines: []string{"invite: " + code}, err: err}
		}
	case "leave":
		if !need(0, "/leave") {
			return nil
		}
		return m.reloadAfter(func(ctx context.Context) (string, error) { return "left", a.Leave(ctx, ch) })
	case "members":
		if !need(0, "/members") {
			return nil
		}
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
			defer cancel()
			ms, err := a.Members(ctx, ch)
			var lines []string
			for _, mb := range ms {
				state := "offline"
				if mb.ID == m.self || m.online[mb.ID] {
					state = "online"
				}
				lines = append(lines, fmt.Sprintf("member %s (%s, %s) %s", mb.Name, mb.Role, state, shortID(mb.ID)))
			}
			return resultMsg{status: fmt.Sprintf("%d members", len(ms)), lines: lines, err: err}
		}
	case "remove":
		if !need(1, "/remove MEMBER") {
			return nil
		}
		return m.call(func(ctx context.Context) (string, error) { return "removed", a.RemoveMember(ctx, ch, args[0]) })
	case "rename":
		if !need(1, "/rename NAME") {
			return nil
		}
		return m.call(func(ctx context.Context) (string, error) { return outcome("renamed")(a.Rename(ctx, ch, rest)) })
	case "react":
		if !need(2, "/react ID EMOJI") {
			return nil
		}
		return m.call(func(ctx context.Context) (string, error) { return outcome("")(a.React(ctx, ch, args[0], args[1])) })
	case "edit":
		if !need(2, "/edit ID TEXT") {
			return nil
		}
		text := strings.TrimSpace(strings.TrimPrefix(rest, args[0]))
		return m.call(func(ctx context.Context) (string, error) { return outcome("")(a.Edit(ctx, ch, args[0], text)) })
	case "delete":
		if !need(1, "/delete ID") {
			return nil
		}
		return m.call(func(ctx context.Context) (string, error) { return outcome("deleted")(a.Delete(ctx, ch, args[0])) })
	case "reply":
		if !need(2, "/reply ID TEXT") {
			return nil
		}
		text := strings.TrimSpace(strings.TrimPrefix(rest, args[0]))
		return m.call(func(ctx context.Context) (string, error) {
			res, err := a.Reply(ctx, ch, args[0], text)
			if res.Queued {
				return "queued: " + res.Reason, err
			}
			return "", err
		})
	case "role":
		if !need(2, "/role MEMBER owner|admin|member") {
			return nil
		}
		return m.call(func(ctx context.Context) (string, error) {
			return args[0] + " is now " + args[1], a.SetRole(ctx, ch, args[0], args[1])
		})
	case "nick":
		if rest == "" {
			m.status = "usage: /nick NAME"
			return nil
		}
		return m.reloadAfter(func(ctx context.Context) (string, error) {
			return "you are now " + rest, a.SetName(ctx, rest)
		})
	}
	m.status = fmt.Sprintf("unknown command /%s (try /help)", name)
	return nil
}

// lines shows local system lines in the pane.
func (m *Model) lines(ls ...string) tea.Cmd {
	return func() tea.Msg { return resultMsg{lines: ls} }
}

// reloadAfter runs fn and then loads the channel list again.
func (m *Model) reloadAfter(fn func(ctx context.Context) (string, error)) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(m.ctx, callTimeout)
		defer cancel()
		s, err := fn(ctx)
		return resultMsg{status: s, err: err, reload: err == nil}
	}
}

// outcome reports done, or that the change waits in the outbox when no
// member has taken it yet.
func outcome(done string) func(node.SendResult, error) (string, error) {
	return func(r node.SendResult, err error) (string, error) {
		if err == nil && r.Queued {
			return "queued (in the outbox: " + r.Reason + ")", nil
		}
		return done, err
	}
}
