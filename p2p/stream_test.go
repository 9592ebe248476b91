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
