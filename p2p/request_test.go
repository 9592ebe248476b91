package p2p

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
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
