package p2p

import (
	"context"
	"fmt"
	"time"
)

// RequestHandler answers one request from a peer. A non-nil error is sent
// to the peer as a RemoteError carrying err.Error() (truncated to 1 KiB), so
// it must not contain secrets.
type RequestHandler func(ctx context.Context, from PeerID, req []byte) ([]byte, error)

// HandleRequest registers fn for request/response exchanges on protocolID:
// one request frame in (at most limits.MaxRequest bytes, within
// limits.RequestTimeout), one response frame out (at most limits.MaxFrame),
// both bounded by limits.
func (h *Host) HandleRequest(protocolID string, limits Limits, fn RequestHandler) error {
	if fn == nil {
		return ErrNoHandler
	}
	limits = limits.withDefaults()
	return h.HandleStream(protocolID, limits, func(ctx context.Context, s *Stream) {
		s.limits.MaxFrame = limits.MaxRequest
		rctx, cancel := context.WithTimeout(ctx, limits.RequestTimeout)
		req, err := s.ReadFrame(rctx)
		if err != nil && requestAbuse(h.ctx, rctx, err) {
			h.abuse.add(s.s.Conn().RemotePeer(), time.Now())
		}
		cancel()
		s.limits.MaxFrame = limits.MaxFrame
		if err != nil {
			h.log.Debug("p2p: bad request", "protocol", protocolID, "peer", s.Peer(), "err", err)
			_ = s.Reset()
			return
		}
		resp, herr := fn(ctx, s.Peer(), req)
		if herr == nil && len(resp) > limits.MaxFrame {
			herr = fmt.Errorf("%w: response of %d bytes, limit %d", ErrFrameTooLarge, len(resp), limits.MaxFrame)
		}
		s.limits.MaxFrame++ // room for the status byte
		if err := s.WriteFrame(ctx, encodeResponse(resp, herr)); err != nil {
			h.log.Debug("p2p: response not sent", "protocol", protocolID, "peer", s.Peer(), "err", err)
			_ = s.Reset()
			return
		}
		_ = s.Close()
	})
}

// encodeResponse prefixes the response with its status byte. An oversized
// response becomes an error response, so the peer learns why.
func encodeResponse(resp []byte, err error) []byte {
	if err != nil {
		msg := err.Error()
		if len(msg) > maxErrorText {
			msg = msg[:maxErrorText]
		}
		return append([]byte{statusError}, msg...)
	}
	return append([]byte{statusOK}, resp...)
}

// Request sends req to p on protocolID and returns the response. It returns
// a *RemoteError when the peer's handler failed, ErrFrameTooLarge when
// either side exceeds limits.MaxFrame, ErrMalformedFrame for a response
// that does not decode, and ctx's error (or a deadline error after
// limits.Timeout) when time runs out.
func (h *Host) Request(ctx context.Context, p PeerID, protocolID string, req []byte, limits Limits) ([]byte, error) {
	limits = limits.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()
	s, err := h.OpenStream(ctx, p, protocolID, limits)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	// The response carries a status byte on top of up to MaxFrame bytes.
	s.limits.MaxFrame++
	if len(req) > limits.MaxFrame {
		_ = s.Reset()
		return nil, fmt.Errorf("%w: request of %d bytes, limit %d", ErrFrameTooLarge, len(req), limits.MaxFrame)
	}
	if err := s.WriteFrame(ctx, req); err != nil {
		_ = s.Reset()
		return nil, err
	}
	_ = s.CloseWrite()
	raw, err := s.ReadFrame(ctx)
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	return decodeResponse(p, protocolID, raw)
}

func decodeResponse(p PeerID, protocolID string, raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty response from %s", ErrMalformedFrame, p)
	}
	switch raw[0] {
	case statusOK:
		return raw[1:], nil
	case statusError:
		if len(raw)-1 > maxErrorText {
			return nil, fmt.Errorf("%w: error text of %d bytes from %s", ErrMalformedFrame, len(raw)-1, p)
		}
		return nil, &RemoteError{Protocol: protocolID, Peer: p, Message: string(raw[1:])}
	}
	return nil, fmt.Errorf("%w: status %d from %s", ErrMalformedFrame, raw[0], p)
}
