package p2p

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestAnnouncedFrameIsNotAllocated is attack 1 of issue 11: a stranger opens
// many streams, each announcing the largest frame the protocol allows, and
// sends nothing more. The host must not allocate what is announced, only
// what arrives, and must refuse streams beyond the per-peer limit.
func TestAnnouncedFrameIsNotAllocated(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	const proto = "/test/announce/1"
	lim := Limits{MaxFrame: 8 << 20, Timeout: 20 * time.Second}
	err := b.HandleRequest(proto, lim, func(context.Context, PeerID, []byte) ([]byte, error) {
		return []byte("ok"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	idle := liveHeap()
	id, _ := b.ID().decode()
	hdr := binary.BigEndian.AppendUint32(nil, 8<<20)
	var streams []network.Stream
	for range 40 {
		s, err := a.h.NewStream(context.Background(), id, protocol.ID(proto))
		if err != nil {
			break // refused: also fine
		}
		streams = append(streams, s)
		_, _ = s.Write(append(hdr, "partial"...))
	}
	defer func() {
		for _, s := range streams {
			_ = s.Reset()
		}
	}()
	const bound = 64 << 20
	// The old code allocated every announced frame as soon as its header
	// arrived; give the handlers time to read the headers.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if h := liveHeap(); h > idle+bound {
			t.Fatalf("live heap grew by %d MiB for 40 announced frames (bound %d MiB)", (h-idle)>>20, bound>>20)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := b.activeStreams(proto); got > DefaultMaxStreamsPerPeer {
		t.Fatalf("%d streams of one peer served at once, limit %d", got, DefaultMaxStreamsPerPeer)
	}
}

// TestRequestFrameBound: a request larger than MaxRequest is refused before
// it is read, even when responses may be larger.
func TestRequestFrameBound(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	const proto = "/test/reqbound/1"
	lim := Limits{MaxFrame: 1 << 20, MaxRequest: 64}
	err := b.HandleRequest(proto, lim, func(_ context.Context, _ PeerID, req []byte) ([]byte, error) {
		return make([]byte, 1000), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Request(context.Background(), b.ID(), proto, make([]byte, 64), lim); err != nil {
		t.Fatalf("request within the bound: %v", err)
	}
	if _, err := a.Request(context.Background(), b.ID(), proto, make([]byte, 65), Limits{MaxFrame: 1 << 20}); err == nil {
		t.Fatal("a request over MaxRequest was served")
	}
}

// TestHandlerPanicRecovered: a handler that panics on remote input resets
// the stream and the host keeps serving.
func TestHandlerPanicRecovered(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	const proto = "/test/panic/1"
	err := b.HandleRequest(proto, Limits{}, func(_ context.Context, _ PeerID, req []byte) ([]byte, error) {
		if string(req) == "boom" {
			panic("handler bug")
		}
		return req, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Request(context.Background(), b.ID(), proto, []byte("boom"), Limits{}); err == nil {
		t.Fatal("a panicking handler answered")
	}
	got, err := a.Request(context.Background(), b.ID(), proto, []byte("hi"), Limits{})
	if err != nil || string(got) != "hi" {
		t.Fatalf("after a panic: %q, %v", got, err)
	}
}

// TestHalfSentRequestReset: a peer that sends half a request holds its
// stream slot only until RequestTimeout, not for the whole Timeout a
// handler may use; then the stream is reset, unanswered.
func TestHalfSentRequestReset(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	const proto = "/test/halfsent/1"
	lim := Limits{MaxFrame: 1 << 20, Timeout: 10 * time.Minute, RequestTimeout: time.Second}
	err := b.HandleRequest(proto, lim, func(context.Context, PeerID, []byte) ([]byte, error) {
		return []byte("ok"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.OpenStream(context.Background(), b.ID(), proto, Limits{Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	if err := s.WriteRaw(context.Background(), append(binary.BigEndian.AppendUint32(nil, 100), "half"...)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got, err := s.ReadFrame(ctx)
	switch {
	case ctx.Err() != nil:
		t.Fatal("a half-sent request held its stream for 60 s (RequestTimeout 1 s)")
	case err == nil:
		t.Fatalf("a half-sent request was answered: %q", got)
	}
	waitFor(t, 60*time.Second, "the slot to be released", func() bool { return b.activeStreams(proto) == 0 })
}

// TestStreamAbuseScored: a peer that announces request frames beyond the
// limit, or leaves its requests half-sent, is counted (StreamAbuse), loses
// gossipsub score (the application-specific part), and from abuseRefuse on
// has its streams reset unread; an honest peer's requests cost nothing.
func TestStreamAbuseScored(t *testing.T) {
	b := newTestHost(t)
	hostile, honest := newTestHost(t), newTestHost(t)
	connect(t, hostile, b)
	connect(t, honest, b)
	const proto = "/test/abuse/1"
	var served atomic.Int32
	lim := Limits{MaxFrame: 1 << 10, Timeout: time.Minute, RequestTimeout: time.Second}
	if err := b.HandleRequest(proto, lim, func(context.Context, PeerID, []byte) ([]byte, error) {
		served.Add(1)
		return []byte("ok"), nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if resp, err := honest.Request(context.Background(), b.ID(), proto, []byte("hi"), Limits{}); err != nil || string(resp) != "ok" {
			t.Fatalf("honest request: %q, %v", resp, err)
		}
	}
	attack := func(raw []byte) {
		s, err := hostile.OpenStream(context.Background(), b.ID(), proto, Limits{Timeout: time.Minute})
		if err != nil {
			return // refused already: fine
		}
		defer s.Reset()
		_ = s.WriteRaw(context.Background(), raw)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if got, err := s.ReadFrame(ctx); err == nil {
			t.Errorf("an abusive request was answered: %q", got)
		}
	}
	oversized := binary.BigEndian.AppendUint32(nil, 8<<20)
	halfSent := append(binary.BigEndian.AppendUint32(nil, 100), "half"...)
	attack(oversized)
	attack(halfSent)
	waitFor(t, 30*time.Second, "two abuses counted", func() bool { return b.StreamAbuse(hostile.ID()) >= 1.9 })
	for range abuseRefuse {
		attack(oversized)
	}
	waitFor(t, 30*time.Second, "the hostile peer's gossipsub score to drop", func() bool {
		s, ok := b.PeerScores()[hostile.ID()]
		return ok && s.Score <= -abuseWeight*abuseRefuse
	})
	if got := b.StreamAbuse(honest.ID()); got != 0 {
		t.Errorf("the honest peer was counted %v abuses", got)
	}
	if s, ok := b.PeerScores()[honest.ID()]; ok && s.Score < 0 {
		t.Errorf("the honest peer's score is %v", s.Score)
	}
	// Refused now: a well-formed request from the hostile peer is not
	// served, the honest peer's still are.
	before := served.Load()
	if _, err := hostile.Request(context.Background(), b.ID(), proto, []byte("hi"), Limits{}); err == nil {
		t.Error("a peer past abuseRefuse was served")
	}
	if resp, err := honest.Request(context.Background(), b.ID(), proto, []byte("hi"), Limits{}); err != nil || string(resp) != "ok" {
		t.Fatalf("honest request after the attack: %q, %v", resp, err)
	}
	if got := served.Load() - before; got != 1 {
		t.Errorf("served %d requests after the attack, want 1 (the honest one)", got)
	}
}
