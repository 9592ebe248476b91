package store

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// FormatVersion is the newest home format this build reads and the one it
// writes: the manifest layout and the key layout in docs/storage.md.
const FormatVersion uint32 = 1

// DatabaseVersion is the newest database layout this build reads and the
// one it writes (the version record, key 01; docs/storage.md):
//
//	1  the first layout
//	2  CRDT snapshots may be stored in pieces (08), kept join responses
//	   (09), outbox items' post references (0a)
//
// A build opening an older database reads it as it is and raises the
// record; an older build refuses a newer database (FormatError) instead of
// misreading a snapshot in pieces as a damaged channel.
const DatabaseVersion uint32 = 2

// Protection modes of the data key.
const (
	protectPassphrase = "passphrase" // wrapped by an Argon2id key from a passphrase
	protectKeyFile    = "keyfile"    // wrapped by the random key in <home>/keyfile
)

// manifest is <home>/store.json: the format version and the wrapped data
// key. It holds no secret in the clear.
type manifest struct {
	Format     uint32     `json:"format"`
	Protection string     `json:"protection"`
	KDF        *kdfParams `json:"kdf,omitempty"`
	WrappedKey []byte     `json:"wrapped_key"`
}

// kdfParams are the Argon2id parameters of a passphrase-protected home,
// stored so that they can be raised without breaking old homes.
type kdfParams struct {
	Alg       string `json:"alg"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
}

// defaultKDF are the Argon2id parameters of new homes: RFC 9106's second
// recommended option (t=3, 64 MiB), with 2 lanes for small machines.
// Tests lower them.
var defaultKDF = kdfParams{Alg: "argon2id", Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// Bounds on stored KDF parameters, so that a corrupt or hostile manifest
// cannot make Open allocate without limit.
const (
	maxKDFMemoryKiB = 4 * 1024 * 1024
	maxKDFTime      = 64
)

func newKDF() (*kdfParams, error) {
	p := defaultKDF
	p.Salt = make([]byte, 16)
	if _, err := rand.Read(p.Salt); err != nil {
		return nil, fmt.Errorf("store: salt: %w", err)
	}
	return &p, nil
}

func (p *kdfParams) check() error {
	if p.Alg != "argon2id" || p.Time == 0 || p.Time > maxKDFTime || p.MemoryKiB == 0 ||
		p.MemoryKiB > maxKDFMemoryKiB || p.Threads == 0 || len(p.Salt) < 16 {
		return fmt.Errorf("%w: manifest: bad KDF parameters", ErrCorrupt)
	}
	return nil
}

func (p *kdfParams) derive(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, p.Salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
}

// wrapAD binds a wrapped key to the format and the protection mode, so that
// a manifest edited to another mode fails to unwrap.
func wrapAD(format uint32, protection string) []byte {
	return []byte("spacepanda/store data key/" + strconv.FormatUint(uint64(format), 10) + "/" + protection)
}

// wrap seals the data key under kek.
func wrap(kek, dataKey []byte, format uint32, protection string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, fmt.Errorf("store: wrap: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(dataKey)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("store: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, dataKey, wrapAD(format, protection)), nil
}

// errUnwrap means the key-encryption key does not open the wrapped key.
var errUnwrap = errors.New("store: data key does not unwrap")

// unwrap opens a wrapped data key.
func unwrap(kek, wrapped []byte, format uint32, protection string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, fmt.Errorf("store: unwrap: %w", err)
	}
	if len(wrapped) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: manifest: wrapped key too short", ErrCorrupt)
	}
	n := aead.NonceSize()
	key, err := aead.Open(nil, wrapped[:n], wrapped[n:], wrapAD(format, protection))
	if err != nil {
		return nil, errUnwrap
	}
	if len(key) != DataKeySize {
		return nil, fmt.Errorf("%w: manifest: data key of %d bytes", ErrCorrupt, len(key))
	}
	return key, nil
}

// decodeManifest parses a manifest and checks its version first, so that a
// newer home gives a FormatError even if its other fields changed.
func decodeManifest(data []byte) (*manifest, error) {
	var probe struct {
		Format uint32 `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if probe.Format > FormatVersion {
		return nil, &FormatError{What: "home", Found: probe.Format, Supported: FormatVersion}
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	return &m, m.check()
}

func (m *manifest) check() error {
	switch {
	case m.Format == 0:
		return fmt.Errorf("%w: manifest: no format version", ErrCorrupt)
	case m.Protection == protectPassphrase && m.KDF == nil:
		return fmt.Errorf("%w: manifest: passphrase protection without KDF", ErrCorrupt)
	case m.Protection == protectPassphrase:
		return m.KDF.check()
	case m.Protection == protectKeyFile:
		return nil
	default:
		return fmt.Errorf("%w: manifest: unknown protection %q", ErrCorrupt, m.Protection)
	}
}

// newDataKey returns a fresh random data key.
func newDataKey() ([]byte, error) {
	k := make([]byte, DataKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("store: data key: %w", err)
	}
	return k, nil
}

// sealedManifest wraps dataKey under kek into a manifest.
func sealedManifest(kek, dataKey []byte, protection string, kdf *kdfParams) (*manifest, error) {
	w, err := wrap(kek, dataKey, FormatVersion, protection)
	if err != nil {
		return nil, err
	}
	return &manifest{Format: FormatVersion, Protection: protection, KDF: kdf, WrappedKey: w}, nil
}

func encodeManifest(m *manifest) ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("store: manifest: %w", err)
	}
	return append(data, '\n'), nil
}
