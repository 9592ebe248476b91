package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/protocol"
)

const echoProto = "/test/echo/1.0.0"

func echoPair(t *testing.T, limits Limits) (client, server *Host) {
	client, server = newTestHost(t), newTestHost(t)
	connect(t, client, server)
	err := server.HandleRequest(echoProto, limits, func(_ context.Context, from PeerID, req []byte) ([]byte, error) {
		if from != client.ID() {
			return nil, errors.New("unexpected caller")
		}
		if s, ok := strings.CutPrefix(string(req), "fail:"); ok {
			return nil, errors.New(s)
		}
		if n, ok := strings.CutPrefix(string(req), "big:"); ok {
			return make([]byte, len(n)*limits.MaxFrame), nil
		}
		return append([]byte("echo:"), req...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

func TestRequestResponse(t *testing.T) {
	limits := Limits{MaxFrame: 1024, Timeout: 10 * time.Second}
	client, server := echoPair(t, limits)
	ctx := context.Background()
	tests := []struct {
		name string
		req  []byte
		want string
		err  error
	}{
		{"echo", []byte("hello"), "echo:hello", nil},
		{"empty request", nil, "echo:", nil},
		{"request at the limit", bytes.Repeat([]byte("a"), 1024-5), "echo:" + strings.Repeat("a", 1024-5), nil},
		{"request over the limit", make([]byte, 1025), "", ErrFrameTooLarge},
		{"handler error", []byte("fail:invite expired"), "", &RemoteError{}},
		{"response at the limit", []byte("big:x"), string(make([]byte, 1024)), nil},
		{"response over the limit", []byte("big:xx"), "", &RemoteError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.Request(ctx, server.ID(), echoProto, tt.req, limits)
			if tt.err == nil {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Request = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var re *RemoteError
			if _, want := tt.err.(*RemoteError); want {
				if !errors.As(err, &re) || re.Peer != server.ID() || re.Protocol != echoProto {
					t.Fatalf("Request error = %v, want a RemoteError", err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Request error = %v, want %v", err, tt.err)
			}
		})
	}
	var re *RemoteError
	_, err := client.Request(ctx, server.ID(), echoProto, []byte("fail:invite expired"), limits)
	if !errors.As(err, &re) || re.Message != "invite expired" {
		t.Errorf("remote error text: %v", err)
	}
	if _, err := client.Request(ctx, server.ID(), "/test/unknown/1", nil, limits); err == nil {
		t.Error("request on an unregistered protocol succeeded")
	}
	server.RemoveHandler(echoProto)
	if _, err := client.Request(ctx, server.ID(), echoProto, []byte("x"), limits); err == nil {
		t.Error("request after RemoveHandler succeeded")
	}
}

func TestRequestDeadline(t *testing.T) {
	client, server := newTestHost(t), newTestHost(t)
	connect(t, client, server)
	release := make(chan struct{})
	defer close(release)
	err := server.HandleRequest("/test/slow/1", Limits{}, func(ctx context.Context, _ PeerID, _ []byte) ([]byte, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The limit's timeout ends the exchange...
	_, err = client.Request(context.Background(), server.ID(), "/test/slow/1", nil, Limits{Timeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("request to a stalled handler returned no error")
	}
	// ...and so does the caller's context.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = client.Request(ctx, server.ID(), "/test/slow/1", nil, Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
}

// rawStream opens a libp2p stream without our framing, to play a peer that
// sends malformed or oversized frames.
func rawWrite(t *testing.T, from, to *Host, proto string, data []byte) {
	t.Helper()
	id, _ := to.ID().decode()
	s, err := from.h.NewStream(context.Background(), id, protocol.ID(proto))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write(data); err != nil {
		t.Fatal(err)
	}
}

func TestStreamRefusesBadFrames(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	results := make(chan error, 4)
	err := b.HandleStream("/test/frames/1", Limits{MaxFrame: 16}, func(ctx context.Context, s *Stream) {
		_, err := s.ReadFrame(ctx)
		results <- err
	})
	if err != nil {
		t.Fatal(err)
	}
	oversized := binary.BigEndian.AppendUint32(nil, 1<<30)
	truncated := append(binary.BigEndian.AppendUint32(nil, 10), "abc"...)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"oversized length", oversized, ErrFrameTooLarge},
		{"truncated frame", truncated, ErrMalformedFrame},
		{"clean end", nil, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rawWrite(t, a, b, "/test/frames/1", tt.data)
			select {
			case err := <-results:
				if !errors.Is(err, tt.want) {
					t.Fatalf("ReadFrame: %v, want %v", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("handler never returned")
			}
		})
	}
}

func TestStreamFrames(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	err := b.HandleStream("/test/multi/1", Limits{}, func(ctx context.Context, s *Stream) {
		defer s.Close()
		for {
			f, err := s.ReadFrame(ctx)
			if err != nil {
				return
			}
			if err := s.WriteFrame(ctx, bytes.ToUpper(f)); err != nil {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := a.OpenStream(ctx, b.ID(), "/test/multi/1", Limits{MaxFrame: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Peer() != b.ID() || s.Protocol() != "/test/multi/1" {
		t.Errorf("Peer/Protocol = %s %s", s.Peer(), s.Protocol())
	}
	for _, f := range []string{"one", "", "three"} {
		if err := s.WriteFrame(ctx, []byte(f)); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReadFrame(ctx)
		if err != nil || string(got) != strings.ToUpper(f) {
			t.Fatalf("frame %q: got %q, %v", f, got, err)
		}
	}
	if err := s.WriteFrame(ctx, make([]byte, 9)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized write: %v", err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadFrame(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("read after the handler closed: %v", err)
	}
}

func TestHandlerRegistrationErrors(t *testing.T) {
	h := newTestHost(t)
	if err := h.HandleStream("", Limits{}, func(context.Context, *Stream) {}); !errors.Is(err, ErrNoHandler) {
		t.Errorf("empty protocol: %v", err)
	}
	if err := h.HandleRequest("/x", Limits{}, nil); !errors.Is(err, ErrNoHandler) {
		t.Errorf("nil handler: %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(binary.BigEndian.AppendUint32(nil, 3), uint16(8))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 3), "abc"...), uint16(8))
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<31), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		b, err := readFrame(bytes.NewReader(data), int(limit))
		switch {
		case err == nil:
			if len(b) > int(limit) || !bytes.Equal(data[frameHeaderLen:frameHeaderLen+len(b)], b) {
				t.Fatalf("bad frame %x from %x", b, data)
			}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrFrameTooLarge):
		default:
			t.Fatalf("unexpected error type: %v", err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte{statusOK, 'x'})
	f.Add([]byte{statusError, 'e'})
	f.Add([]byte{7})
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := decodeResponse("peer", "/p", raw)
		var re *RemoteError
		switch {
		case err == nil:
			if !bytes.Equal(encodeResponse(resp, nil), raw) {
				t.Fatal("OK response does not round-trip")
			}
		case errors.As(err, &re):
			if !bytes.Equal(encodeResponse(nil, errors.New(re.Message)), raw) {
				t.Fatal("error response does not round-trip")
			}
		case !errors.Is(err, ErrMalformedFrame):
			t.Fatalf("unexpected error type: %v", err)
		}
	})
}
