package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// MaxNameLen bounds a display name, in bytes.
const MaxNameLen = 64

// identity is the node's key and name. The Ed25519 key is the libp2p peer
// identity and the MLS signature key.
type identity struct {
	key    ed25519.PrivateKey
	peerID string
	name   string
}

// Init creates the home and its identity: a new Ed25519 key and the display
// name. On an initialised home it returns ErrInitialized and changes
// nothing. A non-empty passphrase protects the store; a nil one is asked for
// (store.NewPassphrase: $SPACEPANDA_PASSPHRASE, else typed twice on a
// terminal), and without one a key file in the home protects the store.
func Init(ctx context.Context, home, name string, passphrase []byte) (peerID string, err error) {
	return InitFS(ctx, home, name, passphrase, nil)
}

// InitFS is Init on a crashable in-memory filesystem when fs is not nil
// (Config.CrashFS); the testbed uses it.
func InitFS(ctx context.Context, home, name string, passphrase []byte, fs *store.CrashFS) (peerID string, err error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if passphrase == nil {
		p, err := store.NewPassphrase()
		if err != nil {
			return "", fmt.Errorf("node: init: %w", err)
		}
		passphrase = p
	}
	var opts store.Options
	if fs != nil {
		opts.FS = fs.FS()
	}
	db, err := store.Create(home, passphrase, opts)
	if errors.Is(err, store.ErrExists) && fs == nil {
		return initExisting(ctx, home, name)
	}
	if err != nil {
		return "", fmt.Errorf("node: init: %w", err)
	}
	defer db.Close()
	return writeIdentity(ctx, db, name)
}

// initExisting finishes an init that crashed between creating the store and
// writing the identity; an identity already there is ErrInitialized.
func initExisting(ctx context.Context, home, name string) (string, error) {
	db, err := store.Open(home, store.Options{Passphrase: store.PromptPassphrase()})
	if err != nil {
		if errors.Is(err, store.ErrHomeInUse) {
			return "", fmt.Errorf("%w: %v", ErrInitialized, err)
		}
		return "", fmt.Errorf("node: init: %w", err)
	}
	defer db.Close()
	if _, err := db.Identity(ctx); err == nil {
		return "", fmt.Errorf("%w: %s", ErrInitialized, home)
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("node: init: %w", err)
	}
	return writeIdentity(ctx, db, name)
}

func writeIdentity(ctx context.Context, db Store, name string) (string, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("node: init: %w", err)
	}
	pid, err := p2p.PeerIDFromPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("node: init: %w", err)
	}
	b := &store.Batch{}
	b.PutIdentity(store.Identity{PrivateKey: key, Name: name})
	if err := db.Apply(ctx, b); err != nil {
		return "", fmt.Errorf("node: init: %w", err)
	}
	return pid.String(), nil
}

// loadIdentity reads the identity from the store.
func loadIdentity(ctx context.Context, db Store) (identity, error) {
	st, err := db.Identity(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return identity{}, ErrNotInitialized
	}
	if err != nil {
		return identity{}, fmt.Errorf("node: identity: %w", err)
	}
	if len(st.PrivateKey) != ed25519.PrivateKeySize {
		return identity{}, fmt.Errorf("node: identity: stored key has %d bytes, want %d", len(st.PrivateKey), ed25519.PrivateKeySize)
	}
	pid, err := p2p.PeerIDFromPrivateKey(st.PrivateKey)
	if err != nil {
		return identity{}, fmt.Errorf("node: identity: %w", err)
	}
	return identity{key: ed25519.PrivateKey(st.PrivateKey), peerID: pid.String(), name: st.Name}, nil
}

// checkName validates a display or channel name.
func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalidf("empty name")
	case len(name) > MaxNameLen:
		return invalidf("name longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(name):
		return invalidf("name is not valid UTF-8")
	case strings.ContainsAny(name, "\x00\n\r\t"):
		return invalidf("name contains control characters")
	}
	return nil
}
