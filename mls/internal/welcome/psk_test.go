package welcome

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestReInitOrBranch(t *testing.T) {
	ext := wire.PreSharedKeyID{PSKType: wire.PSKTypeExternal}
	app := wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageApplication}
	reinit := wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageReInit}
	branch := wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageBranch}
	tests := []struct {
		psks    []wire.PreSharedKeyID
		special bool
		err     error
	}{
		{nil, false, nil},
		{[]wire.PreSharedKeyID{ext, app, app}, false, nil},
		{[]wire.PreSharedKeyID{ext, reinit, app}, true, nil},
		{[]wire.PreSharedKeyID{branch, ext}, true, nil},
		{[]wire.PreSharedKeyID{reinit, branch}, false, ErrPSKUsage},
		{[]wire.PreSharedKeyID{branch, branch}, false, ErrPSKUsage},
	}
	for i, tt := range tests {
		got, err := ReInitOrBranch(tt.psks)
		if !errors.Is(err, tt.err) || (got != nil) != tt.special {
			t.Errorf("case %d: got %v, %v; want special=%v, %v", i, got, err, tt.special, tt.err)
		}
	}
	gi := &wire.GroupInfo{GroupContext: wire.GroupContext{Epoch: 2}}
	if err := CheckResumptionEpoch(&reinit, gi); !errors.Is(err, ErrPSKUsage) {
		t.Fatalf("reinit PSK at epoch 2: err = %v", err)
	}
	gi.GroupContext.Epoch = 1
	if err := CheckResumptionEpoch(&reinit, gi); err != nil {
		t.Fatalf("reinit PSK at epoch 1: err = %v", err)
	}
	gi.GroupContext.Epoch = 7
	if err := CheckResumptionEpoch(nil, gi); err != nil {
		t.Fatalf("no special PSK: err = %v", err)
	}
}

// TestPSKSecretAgainstVectors checks PSKSecret, which encodes wire
// PreSharedKeyIDs, against psk_secret.json (run as vectors by package
// schedule, which takes encoded IDs).
func TestPSKSecretAgainstVectors(t *testing.T) {
	type psk struct {
		PSKID    vectortest.Hex `json:"psk_id"`
		PSK      vectortest.Hex `json:"psk"`
		PSKNonce vectortest.Hex `json:"psk_nonce"`
	}
	var cases []struct {
		CipherSuite uint16         `json:"cipher_suite"`
		PSKs        []psk          `json:"psks"`
		PSKSecret   vectortest.Hex `json:"psk_secret"`
	}
	vectortest.Load(t, "psk_secret", &cases)
	for i, c := range cases {
		s, err := cipher.Lookup(c.CipherSuite)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]wire.PreSharedKeyID, len(c.PSKs))
		secrets := map[string][]byte{}
		for j, p := range c.PSKs {
			ids[j] = wire.PreSharedKeyID{PSKType: wire.PSKTypeExternal, PSKID: p.PSKID, PSKNonce: p.PSKNonce}
			secrets[string(p.PSKID)] = p.PSK
		}
		got, err := PSKSecret(s, ids, func(id *wire.PreSharedKeyID) ([]byte, error) { return secrets[string(id.PSKID)], nil })
		if err != nil || !bytes.Equal(got, c.PSKSecret) {
			t.Fatalf("case %d: psk_secret %x, %v; want %x", i, got, err, c.PSKSecret)
		}
	}
	lost := errors.New("not in store")
	ids := []wire.PreSharedKeyID{{PSKType: wire.PSKTypeExternal}}
	s, _ := cipher.Lookup(1)
	if _, err := PSKSecret(s, ids, func(*wire.PreSharedKeyID) ([]byte, error) { return nil, lost }); !errors.Is(err, ErrMissingPSK) || !errors.Is(err, lost) {
		t.Fatalf("missing PSK: err = %v", err)
	}
}
