package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// File names inside a home (docs/storage.md).
const (
	manifestName = "store.json" // format version and wrapped data key
	keyFileName  = "keyfile"    // random key-encryption key, keyfile mode only
	dbDirName    = "db"         // the Pebble database
)

// Options configure Create and Open. The zero value opens a home on the
// operating system's filesystem with DefaultRetention.
type Options struct {
	// FS is the filesystem; nil means the operating system's. Tests use
	// Pebble's in-memory filesystems (vfs.NewMem, vfs.NewCrashableMem).
	FS vfs.FS
	// Passphrase is called by Open when the home is protected by a
	// passphrase; see PromptPassphrase. Nil makes such a home fail with
	// ErrPassphraseRequired.
	Passphrase func() ([]byte, error)
	// Holder names this process in the home's lock file, for the error a
	// second opener gets. Empty means DefaultHolder().
	Holder string
	// Retention applies to snapshots written through this DB; nil means
	// DefaultRetention.
	Retention *Retention
}

func (o Options) holder() string {
	if o.Holder != "" {
		return o.Holder
	}
	return DefaultHolder()
}

func (o Options) retention() Retention {
	if o.Retention != nil {
		return *o.Retention
	}
	return DefaultRetention
}

// Create initializes a store in home (created, mode 0700, if missing;
// tightened to 0700 and its files to 0600 if it exists) and returns it
// open. It fails with ErrHomePermissions for a home it cannot make private. A non-empty passphrase protects the data key; an empty
// one protects it with a random key file readable only by its owner. A home
// that already has a store gives ErrExists and is not modified.
func Create(home string, passphrase []byte, opts Options) (*DB, error) {
	h := newHomeFS(opts.FS)
	if err := h.mkdirPrivate(home); err != nil {
		return nil, err
	}
	if err := h.makePrivate(home); err != nil {
		return nil, err
	}
	lock, err := lockHome(h, home, opts.holder())
	if err != nil {
		return nil, err
	}
	db, err := create(h, home, passphrase, opts, lock)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return db, nil
}

func create(h homeFS, home string, passphrase []byte, opts Options, lock io.Closer) (*DB, error) {
	if ok, err := h.exists(filepath.Join(home, manifestName)); err != nil || ok {
		if ok {
			err = fmt.Errorf("%w: %s", ErrExists, home)
		}
		return nil, err
	}
	dataKey, err := newDataKey()
	if err != nil {
		return nil, err
	}
	m, err := protect(h, home, dataKey, passphrase)
	if err != nil {
		return nil, err
	}
	// A database without a manifest is left by a crash during Create: its
	// data key was never written, so nothing in it can be read.
	if err := h.fs.RemoveAll(filepath.Join(home, dbDirName)); err != nil {
		return nil, fmt.Errorf("store: remove partial database: %w", err)
	}
	db, err := openPebble(h, home, dataKey, m.Protection, opts, lock, true)
	if err != nil {
		return nil, err
	}
	if err := db.writeManifest(m); err != nil {
		db.pdb.Close()
		return nil, err
	}
	return db, nil
}

// protect wraps dataKey under the passphrase or, if it is empty, under a new
// key file, and returns the manifest to write.
func protect(h homeFS, home string, dataKey, passphrase []byte) (*manifest, error) {
	if len(passphrase) > 0 {
		kdf, err := newKDF()
		if err != nil {
			return nil, err
		}
		return sealedManifest(kdf.derive(passphrase), dataKey, protectPassphrase, kdf)
	}
	kek := make([]byte, DataKeySize)
	if _, err := rand.Read(kek); err != nil {
		return nil, fmt.Errorf("store: key file: %w", err)
	}
	if err := h.writeFileAtomic(filepath.Join(home, keyFileName), kek); err != nil {
		return nil, err
	}
	return sealedManifest(kek, dataKey, protectKeyFile, nil)
}

// Open opens the store in home, first tightening the home to 0700 and its
// files to 0600 (ErrHomePermissions if it cannot). It fails, without
// modifying the home otherwise, with
// ErrNotInitialized, a *FormatError (written by a newer version),
// ErrPassphraseRequired, ErrWrongPassphrase, or an error matching
// ErrCorrupt; and with a *HomeInUseError while another DB holds the home.
func Open(home string, opts Options) (*DB, error) {
	h := newHomeFS(opts.FS)
	if ok, err := h.exists(filepath.Join(home, manifestName)); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: %s", ErrNotInitialized, home)
		}
		return nil, err
	}
	if err := h.makePrivate(home); err != nil {
		return nil, err
	}
	lock, err := lockHome(h, home, opts.holder())
	if err != nil {
		return nil, err
	}
	db, err := open(h, home, opts, lock)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return db, nil
}

func open(h homeFS, home string, opts Options, lock io.Closer) (*DB, error) {
	data, err := h.readFile(filepath.Join(home, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotInitialized, home)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read manifest: %w", err)
	}
	m, err := decodeManifest(data)
	if err != nil {
		return nil, err
	}
	dataKey, err := unlock(h, home, m, opts)
	if err != nil {
		return nil, err
	}
	return openPebble(h, home, dataKey, m.Protection, opts, lock, false)
}

// unlock unwraps the data key of manifest m.
func unlock(h homeFS, home string, m *manifest, opts Options) ([]byte, error) {
	if m.Protection == protectKeyFile {
		kek, err := h.readFile(filepath.Join(home, keyFileName))
		if err != nil {
			return nil, fmt.Errorf("%w: key file: %v", ErrCorrupt, err)
		}
		key, err := unwrap(kek, m.WrappedKey, m.Format, m.Protection)
		if errors.Is(err, errUnwrap) {
			return nil, fmt.Errorf("%w: key file does not match the manifest", ErrCorrupt)
		}
		return key, err
	}
	if opts.Passphrase == nil {
		return nil, ErrPassphraseRequired
	}
	p, err := opts.Passphrase()
	if err != nil {
		return nil, err
	}
	key, err := unwrap(m.KDF.derive(p), m.WrappedKey, m.Format, m.Protection)
	if errors.Is(err, errUnwrap) {
		return nil, ErrWrongPassphrase
	}
	return key, err
}

// openPebble opens (or, if create, creates) the database and checks its
// version record.
func openPebble(h homeFS, home string, dataKey []byte, protection string, opts Options, lock io.Closer, create bool) (*DB, error) {
	s, err := newSealer(dataKey)
	if err != nil {
		return nil, err
	}
	po := &pebble.Options{FS: h.fs, ErrorIfNotExists: !create, Logger: quietLogger{}, EventListener: eventListener()}
	if create {
		po.FormatMajorVersion = pebble.FormatNewest
	}
	pdb, err := pebble.Open(filepath.Join(home, dbDirName), po)
	if err != nil {
		return nil, fmt.Errorf("store: open database: %w", corruption(err))
	}
	db := &DB{home: home, h: h, pdb: pdb, sealer: s, retention: opts.retention(), lock: lock}
	db.reads = reads{v: db}
	db.mu.dataKey, db.mu.protection = dataKey, protection
	if err := db.initVersion(create); err != nil {
		pdb.Close()
		return nil, err
	}
	return db, nil
}

// initVersion writes the version record of a new database or checks that of
// an existing one.
func (db *DB) initVersion(create bool) error {
	k := versionKey()
	if create {
		return db.pdb.Set(k, db.sealer.seal(nil, k, encodeVersion(DatabaseVersion)), pebble.Sync)
	}
	raw, closer, err := db.pdb.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: database has no version record", ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("store: read the version record: %w", corruption(err))
	}
	defer closer.Close()
	pt, err := db.sealer.open(k, raw)
	if err != nil {
		return err
	}
	v, err := decodeVersion(k, pt)
	switch {
	case err != nil:
		return err
	case v > DatabaseVersion:
		return &FormatError{What: "database", Found: v, Supported: DatabaseVersion}
	case v < DatabaseVersion:
		// Readable as it is; from now on this build may write what older
		// builds cannot read.
		if err := db.pdb.Set(k, db.sealer.seal(nil, k, encodeVersion(DatabaseVersion)), pebble.Sync); err != nil {
			return fmt.Errorf("store: raise the version record: %w", corruption(err))
		}
	}
	return nil
}

func (db *DB) writeManifest(m *manifest) error {
	data, err := encodeManifest(m)
	if err != nil {
		return err
	}
	return db.h.writeFileAtomic(filepath.Join(db.home, manifestName), data)
}

// quietLogger drops Pebble's informational messages (a CLI prints nothing
// unasked) and sends errors to the standard logger. Pebble's messages hold
// file numbers and key counts, never values.
type quietLogger struct{}

// Infof drops Pebble's informational messages.
func (quietLogger) Infof(string, ...any) {}

// Errorf logs Pebble's errors.
func (quietLogger) Errorf(format string, args ...any) { log.Printf("pebble: "+format, args...) }

// Fatalf logs and exits, as Pebble requires of a Logger.
func (quietLogger) Fatalf(format string, args ...any) { log.Fatalf("pebble: "+format, args...) }

// eventListener reports data corruption as an error of the read that found
// it (which then fails with ErrCorrupt) instead of Pebble's default, its
// logger's Fatalf, which would exit the process: a damaged file must give
// a clear error that `doctor` can report, never end the daemon.
func eventListener() *pebble.EventListener {
	return &pebble.EventListener{
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			quietLogger{}.Errorf("data corruption in %s: %v", info.Path, info.Details)
		},
	}
}
