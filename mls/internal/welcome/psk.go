package welcome

import (
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// Errors of the PSK checks of §12.4.3.1.
var (
	// ErrPSKUsage: more than one resumption PSK with usage reinit or
	// branch, or one in a GroupInfo whose epoch is not 1.
	ErrPSKUsage = errors.New("mls: welcome: invalid resumption PSK usage")
	// ErrMissingPSK wraps the lookup's error for a PSK the joiner does not
	// hold (§12.4.3.1: "return an error").
	ErrMissingPSK = errors.New("mls: welcome: PSK not available")
)

// ReInitOrBranch returns the one resumption PSK of psks with usage reinit or
// branch, or nil if there is none; more than one gives ErrPSKUsage
// (§12.4.3.1). The caller checks the GroupInfo with CheckResumptionEpoch and
// the reinit or branch conditions against the old group.
func ReInitOrBranch(psks []wire.PreSharedKeyID) (*wire.PreSharedKeyID, error) {
	var found *wire.PreSharedKeyID
	for i := range psks {
		p := &psks[i]
		if p.PSKType != wire.PSKTypeResumption {
			continue
		}
		if p.Usage != wire.ResumptionPSKUsageReInit && p.Usage != wire.ResumptionPSKUsageBranch {
			continue
		}
		if found != nil {
			return nil, ErrPSKUsage
		}
		found = p
	}
	return found, nil
}

// CheckResumptionEpoch returns ErrPSKUsage if a reinit or branch PSK was
// used (special non-nil) and the GroupInfo's epoch is not 1 (§12.4.3.1).
func CheckResumptionEpoch(special *wire.PreSharedKeyID, gi *wire.GroupInfo) error {
	if special != nil && gi.GroupContext.Epoch != 1 {
		return ErrPSKUsage
	}
	return nil
}

// PSKSecret computes the psk_secret of the PSKs a GroupSecrets names, in
// their order (§8.4), asking lookup for each PSK's secret. A lookup error is
// returned wrapped together with ErrMissingPSK. With no PSKs the result is
// the all-zero psk_secret.
func PSKSecret(s *cipher.Suite, ids []wire.PreSharedKeyID, lookup func(*wire.PreSharedKeyID) ([]byte, error)) ([]byte, error) {
	psks := make([]schedule.PSK, len(ids))
	for i := range ids {
		id, err := wire.Marshal(&ids[i])
		if err != nil {
			return nil, fmt.Errorf("mls: welcome: encoding PSK %d: %w", i, err)
		}
		secret, err := lookup(&ids[i])
		if err != nil {
			return nil, fmt.Errorf("%w: PSK %d: %w", ErrMissingPSK, i, err)
		}
		psks[i] = schedule.PSK{ID: id, Secret: secret}
	}
	return schedule.PSKSecret(s, psks)
}
