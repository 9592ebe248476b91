package schedule

import (
	"encoding/binary"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// PSK is one pre-shared key injected into an epoch (RFC 9420 §8.4): the
// encoded PreSharedKeyID naming it, and its secret.
type PSK struct {
	ID     []byte // encoded PreSharedKeyID (see ExternalPSKID, ResumptionPSKID)
	Secret []byte // the external PSK, or the resumption_psk of the named epoch
}

// PSKSecret computes psk_secret from the PSKs in the order of the Commit or
// GroupSecrets (RFC 9420 §8.4). With no PSKs it returns Nh zero bytes. More
// than 65535 PSKs give an error matching tls.ErrMalformed: PSKLabel counts
// them in a uint16.
func PSKSecret(s *cipher.Suite, psks []PSK) ([]byte, error) {
	if len(psks) > 0xffff {
		return nil, fmt.Errorf("schedule: %d PSKs: %w", len(psks), &tls.DecodeError{Field: "psks", Err: tls.ErrTooLong})
	}
	secret := make([]byte, s.Nh())
	for i, p := range psks {
		extracted := s.Extract(nil, p.Secret)
		label := binary.BigEndian.AppendUint16(append([]byte(nil), p.ID...), uint16(i))
		label = binary.BigEndian.AppendUint16(label, uint16(len(psks)))
		input, _ := s.ExpandWithLabel(extracted, "derived psk", label, s.Nh())
		secret = s.Extract(input, secret)
	}
	return secret, nil
}

// The PSKType and ResumptionPSKUsage values of RFC 9420 §8.4.
const (
	PSKTypeExternal   uint8 = 1
	PSKTypeResumption uint8 = 2

	UsageApplication uint8 = 1
	UsageReinit      uint8 = 2
	UsageBranch      uint8 = 3
)

// ExternalPSKID returns the encoded PreSharedKeyID of an external PSK
// (RFC 9420 §8.4).
func ExternalPSKID(pskID, nonce []byte) []byte {
	var w tls.Writer
	w.Uint8(PSKTypeExternal)
	w.Opaque(pskID)
	w.Opaque(nonce)
	return w.Bytes()
}

// ResumptionPSKID returns the encoded PreSharedKeyID of a resumption PSK
// (RFC 9420 §8.4).
func ResumptionPSKID(usage uint8, groupID []byte, epoch uint64, nonce []byte) []byte {
	var w tls.Writer
	w.Uint8(PSKTypeResumption)
	w.Uint8(usage)
	w.Opaque(groupID)
	w.Uint64(epoch)
	w.Opaque(nonce)
	return w.Bytes()
}
