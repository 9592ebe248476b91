package p2p

import "testing"

func TestRemoteErrorText(t *testing.T) {
	e := &RemoteError{Protocol: "/spacepanda/join/1.0.0", Peer: "12D3KooWx", Message: "invite expired"}
	want := "p2p: /spacepanda/join/1.0.0 from 12D3KooWx: remote error: invite expired"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}
