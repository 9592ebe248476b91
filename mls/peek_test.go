package mls

import (
	"bytes"
	"errors"
	"testing"
)

func TestPeekMessage(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	g := tg.members[0]
	app, _ := g.EncryptApplication(tg.rnd, []byte("x"), nil)
	out, _ := g.Commit(tg.rnd, CommitOptions{ForcePath: true, Adds: []*KeyPackage{tg.newBundles(1)[0].KeyPackage()}})
	gi, _ := tg.members[1].GroupInfo(false)
	for _, c := range []struct {
		msg []byte
		wf  uint16
		ct  uint8
	}{{app, WireFormatPrivateMessage, 1}, {out.Commit, WireFormatPublicMessage, 3}, {out.Welcome, WireFormatWelcome, 0}, {gi, WireFormatGroupInfo, 0}} {
		h, err := PeekMessage(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if h.WireFormat != c.wf || h.ContentType != c.ct {
			t.Fatalf("header %+v", h)
		}
		if c.wf != WireFormatWelcome && (!bytes.Equal(h.GroupID, g.GroupID()) || h.Epoch != g.Epoch()) {
			t.Fatalf("header %+v", h)
		}
	}
	if _, err := PeekMessage(app[:10]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}
