package store

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Argon2id at its real cost would make every passphrase test slow; the
	// parameters are stored in the manifest, so lower ones are still real.
	defaultKDF.Time, defaultKDF.MemoryKiB = 1, 64
	if os.Getenv(holdLockEnv) != "" {
		holdLockHelper()
		return
	}
	goleak.VerifyTestMain(m)
}
