package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// dispatchEvents serves the control methods of the event stream and the
// TUI's history pager; ok is false for a method it does not know.
func (s *ControlServer) dispatchEvents(ctx context.Context, method string, p params, enc *json.Encoder) (any, error, bool) {
	a := s.api
	switch method {
	case "events":
		err := a.Events(ctx, p.Cursor, func(e Event) error { return enc.Encode(response{Event: &e}) })
		if s.ctx.Err() != nil {
			err = ErrClosed // the server stops: the client reconnects
		}
		return nil, err, true
	case "history":
		r, err := a.History(ctx, p.Channel, p.Before, p.Limit)
		return r, err, true
	case "reply":
		r, err := a.Reply(ctx, p.Channel, p.Message, p.Text)
		return r, err, true
	case "read":
		return nil, a.MarkRead(ctx, p.Channel, p.Message, p.Share), true
	case "name":
		return nil, a.SetName(ctx, p.Name), true
	}
	return nil, nil, false
}

// Reply posts a reply through the daemon.
func (c *Client) Reply(ctx context.Context, ch, msg, text string) (SendResult, error) {
	return callResult[SendResult](ctx, c, "reply", params{Channel: ch, Message: msg, Text: text})
}

// History reads a page of history through the daemon.
func (c *Client) History(ctx context.Context, ch, before string, limit int) (Page, error) {
	return callResult[Page](ctx, c, "history", params{Channel: ch, Before: before, Limit: limit})
}

// Reconnection backoff of Client.Events.
const (
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// fnError marks an error of the caller's callback, which ends Events.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// Events follows the daemon's event stream from the cursor. When the
// connection drops (the daemon restarts, say) it dials again with backoff
// and resumes after the last event received: the daemon replays what it
// still keeps, else sends EventReset. It returns when ctx ends or fn fails.
func (c *Client) Events(ctx context.Context, from EventCursor, fn func(Event) error) error {
	wait := reconnectMin
	for {
		err := c.streamEvents(ctx, from, func(e Event) error {
			from, wait = e.Cursor(), reconnectMin
			if err := fn(e); err != nil {
				return fnError{err}
			}
			return nil
		})
		var fe fnError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &fe):
			return fe.err
		case err != nil && !errors.Is(err, ErrNoDaemon) && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrClosed):
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, reconnectMax)
	}
}

// streamEvents runs one connection of the event stream.
func (c *Client) streamEvents(ctx context.Context, from EventCursor, fn func(Event) error) error {
	conn, err := dialSocket(ctx, c.path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoDaemon, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	raw, _ := json.Marshal(params{Cursor: from})
	if err := json.NewEncoder(conn).Encode(request{Method: "events", Params: raw}); err != nil {
		return fmt.Errorf("%w: control: %v", ErrNoDaemon, err)
	}
	r := bufio.NewReader(conn)
	for {
		line, err := readLine(r)
		if err != nil {
			return fmt.Errorf("%w: daemon hung up: %v", ErrProtocol, err)
		}
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			return fmt.Errorf("%w: control response: %v", ErrProtocol, err)
		}
		switch {
		case resp.Error != nil:
			return fromCode(resp.Error.Code, resp.Error.Message)
		case resp.Event != nil:
			if err := fn(*resp.Event); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: event stream ended", ErrProtocol)
		}
	}
}
