package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SocketName is the control socket's file name in the home.
const SocketName = "control.sock"

// maxControlLine bounds one control request or response line.
const maxControlLine = 8 << 20

// request and response are the control API's frames: one JSON object per
// line (docs/protocol.md, "Control API").
type request struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

type response struct {
	Result  json.RawMessage `json:"result,omitempty"`
	Message *Message        `json:"message,omitempty"` // one per line while following
	Event   *Event          `json:"event,omitempty"`   // one per line on the event stream
	Error   *wireError      `json:"error,omitempty"`
}

type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// params is the union of every method's parameters.
type params struct {
	Channel string        `json:"channel,omitempty"`
	Name    string        `json:"name,omitempty"`
	Member  string        `json:"member,omitempty"`
	Role    string        `json:"role,omitempty"`
	Message string        `json:"message_id,omitempty"`
	Text    string        `json:"text,omitempty"`
	Code    string        `json:"code,omitempty"`
	Limit   int           `json:"limit,omitempty"`
	Invite  InviteOptions `json:"invite"`
	Before  string        `json:"before,omitempty"` // history: page cursor
	Cursor  EventCursor   `json:"cursor"`           // events: resume point
	Peers   []string      `json:"peers,omitempty"`  // fault.block
	Share   bool          `json:"share,omitempty"`  // read: send a read receipt
}

// ControlServer serves a node's API on the home's Unix socket, readable and
// writable only by its owner. Close stops it and waits for its goroutines.
type ControlServer struct {
	api     API
	ln      net.Listener
	path    string
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	connsMu sync.Mutex
	conns   map[net.Conn]struct{}
}

// Serve starts the control API of api on home/control.sock. A socket left by
// a process that died is replaced; one a live daemon answers is not.
func Serve(api API, home string) (*ControlServer, error) {
	path := filepath.Join(home, SocketName)
	probe, cancel := context.WithTimeout(context.Background(), time.Second)
	c, err := dialSocket(probe, path)
	cancel()
	if err == nil {
		c.Close()
		return nil, fmt.Errorf("node: a daemon already serves %s", path)
	}
	_ = os.Remove(path)
	addr, release, err := shortSocketPath(path)
	if err != nil {
		return nil, fmt.Errorf("node: control socket: %w", err)
	}
	old := umask(0o177)
	ln, err := net.Listen("unix", addr)
	umask(old)
	release()
	if err != nil {
		return nil, fmt.Errorf("node: control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("node: control socket: %w", err)
	}
	s := &ControlServer{api: api, ln: ln, path: path, conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops accepting, ends open connections, waits for their goroutines
// and removes the socket. It is idempotent.
func (s *ControlServer) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.ln.Close()
		s.connsMu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.connsMu.Unlock()
		s.wg.Wait()
		os.Remove(s.path)
	})
	return nil
}

func (s *ControlServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.connsMu.Lock()
		s.conns[c] = struct{}{}
		s.connsMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.connsMu.Lock()
			delete(s.conns, c)
			s.connsMu.Unlock()
			c.Close()
		}()
	}
}

// serve answers one request. The connection's context ends when the client
// hangs up (a follower pressing ^C) or the server closes.
func (s *ControlServer) serve(c net.Conn) {
	r := bufio.NewReader(c)
	line, err := readLine(r)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() { // the client sends nothing more: EOF means it left
		_, _ = r.ReadByte()
		cancel()
	}()
	enc := json.NewEncoder(c)
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		enc.Encode(errResponse(fmt.Errorf("%w: control request: %v", ErrProtocol, err))) //nolint:errcheck
		return
	}
	result, err := s.dispatch(ctx, req, enc)
	if err != nil && s.ctx.Err() != nil {
		// The server is closing (the daemon stops): whatever the call
		// saw (often its context ending), the client learns that, so a
		// follower follows on instead of failing with "context canceled".
		err = fmt.Errorf("%w: the daemon is stopping (%v)", ErrClosed, err)
	}
	if err != nil {
		enc.Encode(errResponse(err)) //nolint:errcheck
		return
	}
	raw, err := json.Marshal(result)
	if err != nil {
		enc.Encode(errResponse(err)) //nolint:errcheck
		return
	}
	enc.Encode(response{Result: raw}) //nolint:errcheck // the client may have gone
}

func errResponse(err error) response {
	return response{Error: &wireError{Code: codeOf(err), Message: err.Error()}}
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, part...)
		if len(line) > maxControlLine {
			return nil, fmt.Errorf("%w: control line too long", ErrProtocol)
		}
		if !isPrefix {
			return line, nil
		}
	}
}

// dispatch calls the API method the request names.
func (s *ControlServer) dispatch(ctx context.Context, req request, enc *json.Encoder) (any, error) {
	var p params
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, fmt.Errorf("%w: control params: %v", ErrProtocol, err)
		}
	}
	a := s.api
	switch req.Method {
	case "status":
		return a.Status(ctx)
	case "peers":
		return a.Peers(ctx)
	case "channel.create":
		return a.CreateChannel(ctx, p.Name)
	case "channel.list":
		return a.Channels(ctx)
	case "channel.members":
		return a.Members(ctx, p.Channel)
	case "channel.remove":
		return nil, a.RemoveMember(ctx, p.Channel, p.Member)
	case "channel.role":
		return nil, a.SetRole(ctx, p.Channel, p.Member, p.Role)
	case "channel.leave":
		return nil, a.Leave(ctx, p.Channel)
	case "channel.update":
		return nil, a.UpdateKeys(ctx, p.Channel)
	case "channel.forget":
		return a.Forget(ctx, p.Channel)
	case "channel.rename":
		return a.Rename(ctx, p.Channel, p.Name)
	case "channel.invite":
		return a.Invite(ctx, p.Channel, p.Invite)
	case "channel.revoke":
		return nil, a.RevokeInvite(ctx, p.Channel, p.Code)
	case "join":
		return a.Join(ctx, p.Code)
	case "send":
		return a.Send(ctx, p.Channel, p.Text)
	case "messages":
		return a.Messages(ctx, p.Channel, p.Limit)
	case "follow":
		return nil, a.Follow(ctx, p.Channel, p.Limit, func(m Message) error { return enc.Encode(response{Message: &m}) })
	case "edit":
		return a.Edit(ctx, p.Channel, p.Message, p.Text)
	case "delete":
		return a.Delete(ctx, p.Channel, p.Message)
	case "react":
		return a.React(ctx, p.Channel, p.Message, p.Text)
	default:
		if r, err, ok := s.dispatchEvents(ctx, req.Method, p, enc); ok {
			return r, err
		}
		if err, ok := s.dispatchFault(ctx, req.Method, p); ok {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: unknown control method %q", ErrProtocol, req.Method)
}

// Client is the API of a daemon, reached through its control socket. Each
// call is one connection. It is safe for concurrent use.
type Client struct {
	path string
}

var _ API = (*Client)(nil)

// ErrNoDaemon: no daemon answers on the home's control socket.
var ErrNoDaemon = errors.New("node: no daemon running for this home")

// Dial returns a client of the daemon serving home, or ErrNoDaemon.
func Dial(ctx context.Context, home string) (*Client, error) {
	path := filepath.Join(home, SocketName)
	c, err := dialSocket(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	c.Close()
	return &Client{path: path}, nil
}

// maxSocketPath is the longest socket path used as is: a Unix socket
// address holds 108 bytes on Linux (104 on the BSDs).
const maxSocketPath = 100

// dialSocket connects to the Unix socket at path, however long path is.
func dialSocket(ctx context.Context, path string) (net.Conn, error) {
	addr, release, err := shortSocketPath(path)
	if err != nil {
		return nil, err
	}
	defer release()
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// shortSocketPath returns an address for the socket at path that fits a
// socket address: path itself when short enough, else the same file
// reached through an open descriptor of its directory (Linux's
// /proc/self/fd), valid until release is called.
func shortSocketPath(path string) (addr string, release func(), err error) {
	if len(path) <= maxSocketPath {
		return path, func() {}, nil
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)), func() { dir.Close() }, nil
}

// call sends one request and decodes the result into out; each streamed
// message goes to onMessage.
func (c *Client) call(ctx context.Context, method string, p params, out any, onMessage func(Message) error) error {
	conn, err := dialSocket(ctx, c.path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	raw, _ := json.Marshal(p)
	if err := json.NewEncoder(conn).Encode(request{Method: method, Params: raw}); err != nil {
		return fmt.Errorf("node: control: %w", err)
	}
	r := bufio.NewReader(conn)
	for {
		line, err := readLine(r)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: the daemon hung up (%v)", ErrNoDaemon, err)
		}
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			return fmt.Errorf("%w: control response: %v", ErrProtocol, err)
		}
		switch {
		case resp.Error != nil:
			return fromCode(resp.Error.Code, resp.Error.Message)
		case resp.Message != nil && onMessage != nil:
			if err := onMessage(*resp.Message); err != nil {
				return err
			}
		default:
			if out != nil && len(resp.Result) > 0 {
				return json.Unmarshal(resp.Result, out)
			}
			return nil
		}
	}
}

// callResult makes a call whose result decodes into a T.
func callResult[T any](ctx context.Context, c *Client, method string, p params) (T, error) {
	var v T
	err := c.call(ctx, method, p, &v, nil)
	return v, err
}

// Close is a no-op: each call has its own connection.
func (c *Client) Close() error { return nil }

// The methods below are API's, carried over the control socket; see API
// and docs/protocol.md ("Control API").

// Status asks the daemon for its status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	return callResult[Status](ctx, c, "status", params{})
}

// Peers lists the daemon's connected peers.
func (c *Client) Peers(ctx context.Context) ([]PeerInfo, error) {
	return callResult[[]PeerInfo](ctx, c, "peers", params{})
}

// CreateChannel creates a channel on the daemon.
func (c *Client) CreateChannel(ctx context.Context, name string) (ChannelInfo, error) {
	return callResult[ChannelInfo](ctx, c, "channel.create", params{Name: name})
}

// Channels lists the daemon's channels.
func (c *Client) Channels(ctx context.Context) ([]ChannelInfo, error) {
	return callResult[[]ChannelInfo](ctx, c, "channel.list", params{})
}

// Members lists a channel's members.
func (c *Client) Members(ctx context.Context, ch string) ([]MemberInfo, error) {
	return callResult[[]MemberInfo](ctx, c, "channel.members", params{Channel: ch})
}

// RemoveMember removes a member.
func (c *Client) RemoveMember(ctx context.Context, ch, member string) error {
	return c.call(ctx, "channel.remove", params{Channel: ch, Member: member}, nil, nil)
}

// SetRole sets a member's role (owner, admin or member).
func (c *Client) SetRole(ctx context.Context, ch, member, role string) error {
	return c.call(ctx, "channel.role", params{Channel: ch, Member: member, Role: role}, nil, nil)
}

// Leave leaves a channel.
func (c *Client) Leave(ctx context.Context, ch string) error {
	return c.call(ctx, "channel.leave", params{Channel: ch}, nil, nil)
}

// UpdateKeys commits fresh keys for this member's leaf.
func (c *Client) UpdateKeys(ctx context.Context, ch string) error {
	return c.call(ctx, "channel.update", params{Channel: ch}, nil, nil)
}

// Forget drops the local copy of a channel the node is out of.
func (c *Client) Forget(ctx context.Context, ch string) (ChannelInfo, error) {
	return callResult[ChannelInfo](ctx, c, "channel.forget", params{Channel: ch})
}

// Rename renames a channel.
func (c *Client) Rename(ctx context.Context, ch, name string) (SendResult, error) {
	return callResult[SendResult](ctx, c, "channel.rename", params{Channel: ch, Name: name})
}

// Invite makes an invite code.
func (c *Client) Invite(ctx context.Context, ch string, o InviteOptions) (string, error) {
	return callResult[string](ctx, c, "channel.invite", params{Channel: ch, Invite: o})
}

// RevokeInvite revokes an invite code.
func (c *Client) RevokeInvite(ctx context.Context, ch, code string) error {
	return c.call(ctx, "channel.revoke", params{Channel: ch, Code: code}, nil, nil)
}

// Join joins with an invite code.
func (c *Client) Join(ctx context.Context, code string) (ChannelInfo, error) {
	return callResult[ChannelInfo](ctx, c, "join", params{Code: code})
}

// Send sends a message.
func (c *Client) Send(ctx context.Context, ch, text string) (SendResult, error) {
	return callResult[SendResult](ctx, c, "send", params{Channel: ch, Text: text})
}

// Messages reads the timeline.
func (c *Client) Messages(ctx context.Context, ch string, limit int) ([]Message, error) {
	return callResult[[]Message](ctx, c, "messages", params{Channel: ch, Limit: limit})
}

// Follow streams the timeline's changes until ctx ends.
func (c *Client) Follow(ctx context.Context, ch string, limit int, fn func(Message) error) error {
	return c.call(ctx, "follow", params{Channel: ch, Limit: limit}, nil, fn)
}

// Edit edits a message.
func (c *Client) Edit(ctx context.Context, ch, msg, text string) (SendResult, error) {
	return callResult[SendResult](ctx, c, "edit", params{Channel: ch, Message: msg, Text: text})
}

// Delete deletes a message.
func (c *Client) Delete(ctx context.Context, ch, msg string) (SendResult, error) {
	return callResult[SendResult](ctx, c, "delete", params{Channel: ch, Message: msg})
}

// React reacts to a message.
func (c *Client) React(ctx context.Context, ch, msg, emoji string) (SendResult, error) {
	return callResult[SendResult](ctx, c, "react", params{Channel: ch, Message: msg, Text: emoji})
}
