package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrape reads a node's /metrics and returns each series' value, keyed by
// the series as printed ("name{labels}").
func scrape(t *testing.T, n *Node) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterTraffic scrapes both nodes after a join, messages, a
// reaction and a junk gossip message, and checks that each counter moved
// by what happened.
func TestMetricsAfterTraffic(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	waitFor(t, 30*time.Second, "bob on the topic", func() bool { return len(a.host.TopicPeers(topicOf(id))) > 0 })
	before := scrape(t, a)
	bBefore := scrape(t, b)
	var last SendResult
	for _, s := range []string{"one", "two", "three"} {
		var err error
		if last, err = a.Send(ctx, id, s); err != nil || last.Queued {
			t.Fatalf("send: %+v %v", last, err)
		}
	}
	waitTexts(t, b, id, "one", "two", "three")
	if _, err := b.React(ctx, id, last.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the reaction at alice", func() bool {
		return scrape(t, a)["spacepanda_delivery_latency_seconds_count"] == 1
	})
	// A malformed message on the topic, from a stranger through gossipsub:
	// bob's topic validator rejects it, and gossipsub counts the reject.
	newHostile(t, b, id).publish(t, []byte{1, 2, 3})
	waitFor(t, 30*time.Second, "bob to reject the junk", func() bool {
		m := scrape(t, b)
		return m[`spacepanda_gossip_validated_total{verdict="reject"}`] >= 1 && m[`libp2p_pubsub_events_total{event="reject"}`] >= 1
	})
	am, bm := scrape(t, a), scrape(t, b)
	delta := func(m, old map[string]float64, k string) float64 { return m[k] - old[k] }
	checks := []struct {
		what string
		got  float64
		ok   func(float64) bool
	}{
		{"alice sent >= 3", delta(am, before, "spacepanda_messages_sent_total"), func(v float64) bool { return v >= 3 }},
		{"bob received 3 application messages", delta(bm, bBefore, `spacepanda_messages_received_total{kind="application"}`), func(v float64) bool { return v == 3 }},
		{"alice received bob's reaction", delta(am, before, `spacepanda_messages_received_total{kind="application"}`), func(v float64) bool { return v >= 1 }},
		{"bob accepted >= 3 on gossip", delta(bm, bBefore, `spacepanda_gossip_validated_total{verdict="accept"}`), func(v float64) bool { return v >= 3 }},
		{"bob rejected the junk", bm[`spacepanda_gossip_validated_total{verdict="reject"}`], func(v float64) bool { return v == 1 }},
		{"alice published >= 3", delta(am, before, "spacepanda_gossip_published_total"), func(v float64) bool { return v >= 3 }},
		{"alice served bob's join", am[`spacepanda_joins_served_total{result="ok"}`], func(v float64) bool { return v == 1 }},
		{"bob joined once", bm[`spacepanda_join_attempts_total{result="ok"}`], func(v float64) bool { return v == 1 }},
		{"epoch 1 at alice", am[`spacepanda_channel_epoch{channel="`+id+`"}`], func(v float64) bool { return v == 1 }},
		{"2 members at bob", bm[`spacepanda_channel_members{channel="`+id+`"}`], func(v float64) bool { return v == 2 }},
		{"alice has a peer", am["spacepanda_peers_connected"], func(v float64) bool { return v >= 1 }},
		{"outbox empty", am["spacepanda_outbox_depth"], func(v float64) bool { return v == 0 }},
		{"store batches timed", delta(am, before, "spacepanda_store_batch_seconds_count"), func(v float64) bool { return v >= 3 }},
		{"one delivery latency", am["spacepanda_delivery_latency_seconds_count"], func(v float64) bool { return v == 1 }},
		{"bob fetched a sync page", bm["spacepanda_sync_pages_fetched_total"], func(v float64) bool { return v >= 0 }},
		{"Go runtime metrics", am["go_goroutines"], func(v float64) bool { return v > 0 }},
		{"gossipsub delivered >= 3 to bob", delta(bm, bBefore, `libp2p_pubsub_events_total{event="deliver"}`), func(v float64) bool { return v >= 3 }},
		{"gossipsub rejected the junk at bob", bm[`libp2p_pubsub_events_total{event="reject"}`], func(v float64) bool { return v >= 1 }},
		{"gossipsub joined alice's topic", am[`libp2p_pubsub_events_total{event="join"}`], func(v float64) bool { return v >= 1 }},
		{"libp2p's own host metrics", float64(countPrefix(am, "libp2p_identify_") + countPrefix(am, "libp2p_swarm_")), func(v float64) bool { return v > 0 }},
	}
	for _, c := range checks {
		if !c.ok(c.got) {
			t.Errorf("%s: got %v", c.what, c.got)
		}
	}
}

// lockedBuffer is a log sink that nodes write to concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsAtDebugHoldNoSecrets runs a join, messages, a catch-up and an
// outbox delivery with both nodes logging at debug, checks that every
// operational event was logged, and that no message text, invite code or
// key appears in the logs.
func TestLogsAtDebugHoldNoSecrets(t *testing.T) {
	ctx := ctxT(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(&logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	openLogged := func(name string) *Node {
		n, err := Open(context.Background(), Config{Home: newHome(t, name), Network: true, Logger: logger.With("node", name),
			Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	a, b := openLogged("alice"), openLogged("bob")
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.Invite(ctx, ci.ID, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	const secretText = "the password is hunter2-" + "xyzzy"
	waitFor(t, 30*time.Second, "bob on the topic", func() bool { return len(a.host.TopicPeers(topicOf(ci.ID))) > 0 })
	if _, err := a.Send(ctx, ci.ID, secretText); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, b, ci.ID, secretText)
	if _, err := b.Edit(ctx, ci.ID, "nope", secretText); err == nil {
		t.Fatal("edit of an unknown message succeeded")
	}
	for _, ev := range []string{`"msg":"join"`, `"msg":"join served"`, `"msg":"commit applied"`, `"msg":"outbox delivered"`,
		`"msg":"peer connected"`, `"msg":"sync served"`, `"msg":"sync fetched"`} {
		waitFor(t, 30*time.Second, "log event "+ev, func() bool { return strings.Contains(logs.String(), ev) })
	}
	out := logs.String()
	secrets := map[string]string{"message text": secretText, "invite code": code, "invite code body": code[len(code)/2:]}
	for name, n := range map[string]*Node{"alice": a, "bob": b} {
		secrets[name+"'s key (hex)"] = hex.EncodeToString(n.id.key)
		secrets[name+"'s key (base64)"] = base64.StdEncoding.EncodeToString(n.id.key)
		secrets[name+"'s seed (hex)"] = hex.EncodeToString(n.id.key[:32])
	}
	for what, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the logs contain the %s", what)
		}
	}
}

// countPrefix counts the series whose name starts with prefix.
func countPrefix(m map[string]float64, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}
