package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Streams carry length-prefixed frames: a 4-byte big-endian length, then
// that many bytes. A frame longer than the protocol's MaxFrame is refused
// before it is read (ErrFrameTooLarge) and the stream is reset. A frame is
// read incrementally: memory grows with the bytes that arrive, never with
// the length announced, so a peer that announces 8 MiB and sends 4 bytes
// costs 4 bytes (issue 11, attack 1).
//
// Request/response (Request, HandleRequest) is one frame each way on a
// fresh stream; the response frame starts with a status byte: 0 and the
// response, or 1 and the handler's error text (at most maxErrorText bytes).

const (
	// DefaultMaxFrame bounds a frame when Limits.MaxFrame is 0.
	DefaultMaxFrame = 1 << 20
	// DefaultStreamTimeout bounds a whole stream exchange when
	// Limits.Timeout is 0.
	DefaultStreamTimeout = 30 * time.Second
	// DefaultRequestTimeout bounds the arrival of a request frame when
	// Limits.RequestTimeout is 0.
	DefaultRequestTimeout = 10 * time.Second
	frameHeaderLen        = 4
	frameFirstChunk       = 64 << 10
	maxErrorText          = 1024
	statusOK              = 0
	statusError           = 1
)

// Limits bound a stream protocol.
type Limits struct {
	// MaxFrame is the largest frame accepted or sent; 0 means DefaultMaxFrame.
	MaxFrame int
	// Timeout bounds the whole life of a stream (handler included); 0 means
	// DefaultStreamTimeout.
	Timeout time.Duration
	// MaxRequest bounds the request frame HandleRequest reads; 0 means
	// MaxFrame. Responses may be larger than requests (a join's Welcome).
	MaxRequest int
	// RequestTimeout bounds the time HandleRequest waits for the whole
	// request frame (at most Timeout); 0 means DefaultRequestTimeout. A
	// stranger that sends half a request holds a stream slot this long,
	// not for the whole Timeout that a handler may need.
	RequestTimeout time.Duration
	// MaxStreams bounds the incoming streams of the protocol served at
	// once, from all peers; 0 means DefaultMaxStreams. Streams beyond it
	// are reset before anything is read.
	MaxStreams int
	// MaxStreamsPerPeer bounds them per peer; 0 means
	// DefaultMaxStreamsPerPeer. Peer IDs are free, so MaxStreams is what
	// bounds a Sybil; this keeps one peer from taking all of it.
	MaxStreamsPerPeer int
}

// Default stream-count limits of a protocol handler.
const (
	DefaultMaxStreams        = 32
	DefaultMaxStreamsPerPeer = 4
)

func (l Limits) withDefaults() Limits {
	if l.MaxFrame <= 0 {
		l.MaxFrame = DefaultMaxFrame
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultStreamTimeout
	}
	if l.MaxRequest <= 0 || l.MaxRequest > l.MaxFrame {
		l.MaxRequest = l.MaxFrame
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	l.RequestTimeout = min(l.RequestTimeout, l.Timeout)
	if l.MaxStreams <= 0 {
		l.MaxStreams = DefaultMaxStreams
	}
	if l.MaxStreamsPerPeer <= 0 {
		l.MaxStreamsPerPeer = DefaultMaxStreamsPerPeer
	}
	return l
}

// Stream is a framed stream to one peer on one protocol. It is not safe for
// concurrent use except that Reset and Close may be called at any time.
type Stream struct {
	s        network.Stream
	limits   Limits
	deadline time.Time   // end of the stream's life, from limits.Timeout
	ended    atomic.Bool // Close or Reset was called
}

func newStream(ns network.Stream, limits Limits) *Stream {
	s := &Stream{s: ns, limits: limits, deadline: time.Now().Add(limits.Timeout)}
	_ = ns.SetDeadline(s.deadline)
	return s
}

// Peer returns the remote peer.
func (s *Stream) Peer() PeerID { return PeerID(s.s.Conn().RemotePeer().String()) }

// Protocol returns the protocol ID the stream speaks.
func (s *Stream) Protocol() string { return string(s.s.Protocol()) }

// WriteFrame sends one frame. It returns ErrFrameTooLarge above MaxFrame,
// and ctx's error if ctx ends first (the stream is then unusable).
func (s *Stream) WriteFrame(ctx context.Context, b []byte) error {
	if len(b) > s.limits.MaxFrame {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(b), s.limits.MaxFrame)
	}
	defer s.watch(ctx)()
	buf := make([]byte, frameHeaderLen, frameHeaderLen+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	if _, err := s.s.Write(append(buf, b...)); err != nil {
		return s.ioError(ctx, "write", err)
	}
	return nil
}

// WriteRaw sends b as it is, without a frame header. It exists for the
// adversary tests and the testbed's hostile strangers, whose hosts send
// lying or half-sent frames (issue 11, `spacepanda testbed --hostile`); the
// node never calls it (layout_test.go checks that only test files and
// node/testbed/hostile.go do).
func (s *Stream) WriteRaw(ctx context.Context, b []byte) error {
	defer s.watch(ctx)()
	if _, err := s.s.Write(b); err != nil {
		return s.ioError(ctx, "write", err)
	}
	return nil
}

// ReadFrame receives one frame. It returns io.EOF when the peer closed its
// side cleanly between frames, ErrFrameTooLarge (and resets the stream) when
// the peer announces an oversized frame, ErrMalformedFrame when the stream
// ends inside a frame, and ctx's error if ctx ends first.
func (s *Stream) ReadFrame(ctx context.Context) ([]byte, error) {
	defer s.watch(ctx)()
	b, err := readFrame(s.s, s.limits.MaxFrame)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case errors.Is(err, ErrFrameTooLarge):
		_ = s.s.Reset()
		return nil, fmt.Errorf("%w (peer %s)", err, s.Peer())
	}
	return nil, s.ioError(ctx, "read", err)
}

// readFrame reads one frame of at most limit bytes from r. It returns
// io.EOF if r ends before the frame starts, io.ErrUnexpectedEOF if it ends
// inside, and ErrFrameTooLarge, without reading on, for a longer frame.
func readFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(limit) {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, n, limit)
	}
	// Grow with what arrives (bytes.Buffer doubles), never with what is
	// announced; a short first chunk keeps small frames cheap.
	var buf bytes.Buffer
	buf.Grow(int(min(n, frameFirstChunk)))
	got, err := io.CopyN(&buf, r, int64(n))
	if got < int64(n) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// watch makes ctx's deadline, if earlier than the stream's, and ctx's
// cancellation interrupt blocked I/O; call the result when done.
func (s *Stream) watch(ctx context.Context) (stop func()) {
	d, ok := ctx.Deadline()
	shorter := ok && d.Before(s.deadline)
	if shorter {
		_ = s.s.SetDeadline(d)
	}
	stopFn := context.AfterFunc(ctx, func() { _ = s.s.SetDeadline(time.Unix(1, 0)) })
	return func() {
		if stopFn() && shorter {
			_ = s.s.SetDeadline(s.deadline)
		}
	}
}

func (s *Stream) ioError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("p2p: %s %s: %w", op, s.Protocol(), ctx.Err())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s %s from %s: stream ended inside a frame", ErrMalformedFrame, op, s.Protocol(), s.Peer())
	}
	return fmt.Errorf("p2p: %s %s with %s: %w", op, s.Protocol(), s.Peer(), err)
}

// CloseWrite tells the peer we will send no more frames.
func (s *Stream) CloseWrite() error { return s.s.CloseWrite() }

// Close closes the stream in both directions.
func (s *Stream) Close() error {
	s.ended.Store(true)
	return s.s.Close()
}

// Reset aborts the stream; the peer sees an error.
func (s *Stream) Reset() error {
	s.ended.Store(true)
	return s.s.Reset()
}

// StreamHandler serves one incoming stream. ctx ends at the protocol's
// Timeout or when the host closes. The stream is reset if the handler
// returns without closing it.
type StreamHandler func(ctx context.Context, s *Stream)

// HandleStream registers fn for incoming streams on protocolID, replacing any
// previous handler. Each stream runs fn in its own goroutine; Close waits
// for them.
func (h *Host) HandleStream(protocolID string, limits Limits, fn StreamHandler) error {
	if protocolID == "" || fn == nil {
		return ErrNoHandler
	}
	if err := h.checkOpen(); err != nil {
		return err
	}
	limits = limits.withDefaults()
	h.h.SetStreamHandler(protocol.ID(protocolID), func(ns network.Stream) {
		h.serveStream(ns, limits, fn)
	})
	return nil
}

// serveStream runs on libp2p's goroutine for the stream; it registers with
// the host's WaitGroup so that Close waits for it. A stream beyond the
// protocol's stream limits is reset unread; a handler that panics (a bug
// reached by remote input) is logged, its stream reset, and the host keeps
// serving.
func (h *Host) serveStream(ns network.Stream, limits Limits, fn StreamHandler) {
	proto, from := string(ns.Protocol()), ns.Conn().RemotePeer()
	h.mu.Lock()
	if h.mu.closed {
		h.mu.Unlock()
		_ = ns.Reset()
		return
	}
	if h.abuse.refused(from) {
		h.mu.Unlock()
		h.log.Debug("p2p: stream refused: the peer abused streams", "protocol", proto, "peer", from)
		_ = ns.Reset()
		return
	}
	if !h.takeStreamLocked(proto, from, limits) {
		h.mu.Unlock()
		h.log.Debug("p2p: stream refused: too many", "protocol", proto, "peer", from)
		_ = ns.Reset()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	defer h.releaseStream(proto, from)
	ctx, cancel := context.WithTimeout(h.ctx, limits.Timeout)
	defer cancel()
	s := newStream(ns, limits)
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("p2p: stream handler panicked", "protocol", proto, "peer", from, "panic", r)
			_ = s.Reset()
		}
	}()
	fn(ctx, s)
	if !s.ended.Load() {
		_ = s.Reset()
	}
}

// streamCount is the number of incoming streams of one protocol being
// served, in total and per peer.
type streamCount struct {
	total   int
	perPeer map[peer.ID]int
}

func (h *Host) takeStreamLocked(proto string, from peer.ID, limits Limits) bool {
	if h.mu.streams == nil {
		h.mu.streams = map[string]*streamCount{}
	}
	c := h.mu.streams[proto]
	if c == nil {
		c = &streamCount{perPeer: map[peer.ID]int{}}
		h.mu.streams[proto] = c
	}
	if c.total >= limits.MaxStreams || c.perPeer[from] >= limits.MaxStreamsPerPeer {
		return false
	}
	c.total++
	c.perPeer[from]++
	return true
}

func (h *Host) releaseStream(proto string, from peer.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.mu.streams[proto]
	c.total--
	if c.perPeer[from]--; c.perPeer[from] == 0 {
		delete(c.perPeer, from)
	}
}

// activeStreams returns how many incoming streams of proto are served.
func (h *Host) activeStreams(proto string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.mu.streams[proto]; c != nil {
		return c.total
	}
	return 0
}

// RemoveHandler stops accepting streams on protocolID.
func (h *Host) RemoveHandler(protocolID string) {
	h.h.RemoveStreamHandler(protocol.ID(protocolID))
}

// OpenStream opens a stream to p on protocolID, dialling p if needed with
// the addresses the host knows. The caller must Close or Reset it.
func (h *Host) OpenStream(ctx context.Context, p PeerID, protocolID string, limits Limits) (*Stream, error) {
	if err := h.checkOpen(); err != nil {
		return nil, err
	}
	id, err := p.decode()
	if err != nil {
		return nil, err
	}
	limits = limits.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()
	// Relayed connections carry our protocols too (within the relay's
	// limits, see RelayLimitData).
	ns, err := h.h.NewStream(network.WithAllowLimitedConn(ctx, "spacepanda"), id, protocol.ID(protocolID))
	if err != nil {
		return nil, fmt.Errorf("p2p: open %s to %s: %w", protocolID, p, err)
	}
	return newStream(ns, limits), nil
}
