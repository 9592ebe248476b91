package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with %w; match with errors.Is.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrNotInitialized: the home has no store; run init first.
	ErrNotInitialized = errors.New("store: home not initialized")
	// ErrExists: Create was asked to initialize a home that already has a store.
	ErrExists = errors.New("store: home already initialized")
	// ErrWrongPassphrase: the passphrase does not unwrap the data key.
	ErrWrongPassphrase = errors.New("store: wrong passphrase")
	// ErrPassphraseRequired: the home is protected by a passphrase and none
	// was given (no SPACEPANDA_PASSPHRASE and no terminal to prompt on).
	ErrPassphraseRequired = errors.New("store: passphrase required")
	// ErrHomeInUse is matched by *HomeInUseError.
	ErrHomeInUse = errors.New("store: home in use")
	// ErrCorrupt is matched by *CorruptError and by errors about a manifest
	// or key file that cannot be parsed.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrNewerFormat is matched by *FormatError.
	ErrNewerFormat = errors.New("store: written by a newer format version")
	// ErrClosed: the DB was used after Close.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidBatch: a Batch breaks a rule of the API (an empty channel ID,
	// log sequence numbers out of order, ...). Nothing was written.
	ErrInvalidBatch = errors.New("store: invalid batch")
)

// HomeInUseError reports that another process (or another DB in this
// process) holds the home's lock.
type HomeInUseError struct {
	Home    string // the home directory
	PID     int    // the holder's process ID, 0 if unknown
	Command string // the holder's command, e.g. "spacepanda daemon"; may be empty
}

// Error says which process holds the home.
func (e *HomeInUseError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("store: home %s in use by another process", e.Home)
	}
	if e.Command == "" {
		return fmt.Sprintf("store: home %s in use by process %d", e.Home, e.PID)
	}
	return fmt.Sprintf("store: home %s in use by process %d (%s)", e.Home, e.PID, e.Command)
}

// Is makes errors.Is(err, ErrHomeInUse) true.
func (e *HomeInUseError) Is(target error) bool { return target == ErrHomeInUse }

// FormatError reports a home written by a newer, unknown format version.
type FormatError struct {
	What      string // "manifest" or "database"
	Found     uint32 // the version on disk
	Supported uint32 // the newest version this build reads
}

// Error names both versions.
func (e *FormatError) Error() string {
	return fmt.Sprintf("store: %s format version %d is newer than version %d supported by this build; upgrade spacepanda",
		e.What, e.Found, e.Supported)
}

// Is makes errors.Is(err, ErrNewerFormat) true.
func (e *FormatError) Is(target error) bool { return target == ErrNewerFormat }

// CorruptError reports a value that failed authentication or decoding. Key is
// a printable description of the record's key (it never holds secrets: keys
// carry only IDs and sequence numbers). The store never returns the data of a
// value that failed to open.
type CorruptError struct {
	Key    string
	Reason string
}

// Error names the record, never its content.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("store: corrupt value at %s: %s", e.Key, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
