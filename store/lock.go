package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the home's lock file. While a DB is open it holds an
// exclusive lock on it and its content is "<pid>\n<command>\n", so that a
// second opener can say who holds the home.
const lockFileName = "lock"

// lockHome takes the home's lock for holder (a command such as "spacepanda
// daemon"). Another holder gives a *HomeInUseError.
func lockHome(h homeFS, home, holder string) (io.Closer, error) {
	name := filepath.Join(home, lockFileName)
	if !h.isOS {
		// In-memory filesystems (tests) lock within the process.
		c, err := h.fs.Lock(name)
		if err != nil {
			return nil, &HomeInUseError{Home: home}
		}
		return c, nil
	}
	return lockOS(name, home, holder)
}

// lockOS takes an flock-style lock, which, unlike fcntl locks, also excludes
// a second DB of the same process.
func lockOS(name, home, holder string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, holderOf(name, home)
		}
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	if err := writeHolder(f, holder); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	return f, nil
}

func writeHolder(f *os.File, holder string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"+holder+"\n"), 0)
	return err
}

// holderOf reads who holds the lock. A holder that has not yet written its
// PID is reported as unknown.
func holderOf(name, home string) *HomeInUseError {
	e := &HomeInUseError{Home: home}
	data, err := os.ReadFile(name)
	if err != nil {
		return e
	}
	pid, cmd, _ := strings.Cut(string(data), "\n")
	if n, err := strconv.Atoi(pid); err == nil && n > 0 {
		e.PID = n
		e.Command = strings.TrimSpace(cmd)
	}
	return e
}

// DefaultHolder names this process for the lock file: the program's base
// name and its first argument (the subcommand), e.g. "spacepanda daemon".
// Later arguments are left out: they may hold message text.
func DefaultHolder() string {
	if len(os.Args) == 0 {
		return ""
	}
	s := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		s += " " + os.Args[1]
	}
	return s
}
