package wire

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestGroupInfoTBS(t *testing.T) {
	gi := GroupInfo{
		GroupContext:    GroupContext{Version: MLS10, CipherSuite: 3, GroupID: []byte("g"), Epoch: 2, TreeHash: []byte{1}, ConfirmedTranscriptHash: []byte{2}},
		Extensions:      Extensions{{ExtensionType: ExtensionTypeExternalPub, ExtensionData: []byte{1, 2}}},
		ConfirmationTag: []byte{3},
		Signer:          4,
		Signature:       []byte{5, 6},
	}
	var got GroupInfo
	full := roundTrip(t, &gi, &got)
	tbs := tls.MustMarshal((*GroupInfoTBS)(&gi))
	if !bytes.Equal(append(tbs, 2, 5, 6), full) {
		t.Fatalf("GroupInfoTBS %x is not GroupInfo %x without its signature", tbs, full)
	}
	if got.Signer != 4 || got.GroupContext.Epoch != 2 || string(got.GroupContext.GroupID) != "g" {
		t.Fatalf("decoded %+v", got)
	}
	gc := tls.MustMarshal(&gi.GroupContext)
	want := []byte{0, 1, 0, 3, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 1, 2, 0}
	if !bytes.Equal(gc, want) {
		t.Fatalf("GroupContext %x, want %x", gc, want)
	}
}
