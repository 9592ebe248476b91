package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/term"
)

// PassphraseEnv is the environment variable that holds the passphrase.
const PassphraseEnv = "SPACEPANDA_PASSPHRASE"

// ErrPassphraseMismatch: the two entries of a new passphrase differ.
var ErrPassphraseMismatch = errors.New("store: passphrases do not match")

// ErrRekeyInProgress: another SetPassphrase call on the DB is running.
var ErrRekeyInProgress = errors.New("store: passphrase change already in progress")

// terminal is the environment PromptPassphrase reads from; tests replace it.
type terminal struct {
	getenv     func(string) string
	isTerminal func() bool
	prompt     func(string) ([]byte, error)
}

var stdTerminal = terminal{
	getenv:     os.Getenv,
	isTerminal: func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
	prompt: func(p string) ([]byte, error) {
		fmt.Fprint(os.Stderr, p)
		defer fmt.Fprintln(os.Stderr)
		return term.ReadPassword(int(os.Stdin.Fd()))
	},
}

// PromptPassphrase returns a function for Options.Passphrase: it returns
// $SPACEPANDA_PASSPHRASE if set, else asks on the terminal (without echo),
// else fails with ErrPassphraseRequired.
func PromptPassphrase() func() ([]byte, error) {
	return stdTerminal.passphrase
}

func (t terminal) passphrase() ([]byte, error) {
	if p := t.getenv(PassphraseEnv); p != "" {
		return []byte(p), nil
	}
	if !t.isTerminal() {
		return nil, ErrPassphraseRequired
	}
	p, err := t.prompt("Passphrase: ")
	if err != nil {
		return nil, fmt.Errorf("store: read passphrase: %w", err)
	}
	return p, nil
}

// NewPassphrase returns the passphrase for a new home or a passphrase
// change: $SPACEPANDA_PASSPHRASE if set, else one typed twice on the
// terminal (ErrPassphraseMismatch if the two differ). It returns nil, for
// key file protection, when neither is available or the user types an empty
// passphrase.
func NewPassphrase() ([]byte, error) {
	return stdTerminal.newPassphrase()
}

func (t terminal) newPassphrase() ([]byte, error) {
	if p := t.getenv(PassphraseEnv); p != "" {
		return []byte(p), nil
	}
	if !t.isTerminal() {
		return nil, nil
	}
	p, err := t.prompt("New passphrase (empty: protect with a key file): ")
	if err != nil || len(p) == 0 {
		return nil, err
	}
	again, err := t.prompt("Repeat passphrase: ")
	if err != nil {
		return nil, fmt.Errorf("store: read passphrase: %w", err)
	}
	if !bytes.Equal(p, again) {
		return nil, ErrPassphraseMismatch
	}
	return p, nil
}

// SetPassphrase re-wraps the data key: under passphrase if it is not empty,
// else under a new key file. No data is rewritten. The new manifest replaces
// the old one atomically, so a crash leaves the old or the new protection in
// force, never neither. A home protected by a key file that gets an empty
// passphrase is left as it is.
func (db *DB) SetPassphrase(passphrase []byte) error {
	dataKey, protection, err := db.startRekey()
	if err != nil {
		return err
	}
	defer db.endRekey()
	if len(passphrase) == 0 && protection == protectKeyFile {
		return nil
	}
	// protect writes a new key file only when going to key file mode, while
	// the manifest on disk is still passphrase-protected: the key file it
	// replaces, if any, unwraps nothing.
	m, err := protect(db.h, db.home, dataKey, passphrase)
	if err != nil {
		return err
	}
	if err := db.writeManifest(m); err != nil {
		return err
	}
	db.setProtection(m.Protection)
	if m.Protection == protectPassphrase {
		return db.h.remove(filepath.Join(db.home, keyFileName))
	}
	return nil
}

func (db *DB) startRekey() ([]byte, string, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	switch {
	case db.mu.closed:
		return nil, "", ErrClosed
	case db.mu.rekeying:
		return nil, "", ErrRekeyInProgress
	}
	db.mu.rekeying = true
	return clone(db.mu.dataKey), db.mu.protection, nil
}

func (db *DB) endRekey() {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.mu.rekeying = false
}

func (db *DB) setProtection(p string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.mu.protection = p
}
