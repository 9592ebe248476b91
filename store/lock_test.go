package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// holdLockEnv makes the test binary a helper process that opens the home
// named by the variable, prints "locked", and holds it until stdin closes.
const holdLockEnv = "STORE_TEST_HOLD_LOCK"

func holdLockHelper() {
	db, err := Open(os.Getenv(holdLockEnv), Options{Holder: "spacepanda daemon"})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	db.Close()
	os.Exit(0)
}

// TestHomeInUseByAnotherProcess runs a second process that holds the home:
// Open must name its PID and command.
func TestHomeInUseByAnotherProcess(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdLockEnv+"="+home)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }() // if a check below fails
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q", line)
	}

	_, err = Open(home, Options{})
	var inUse *HomeInUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrHomeInUse) {
		t.Fatalf("Open = %v, want *HomeInUseError", err)
	}
	want := fmt.Sprintf("store: home %s in use by process %d (spacepanda daemon)", home, cmd.Process.Pid)
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}

	// A holder that dies (SIGKILL: no Close) releases the home; its stale
	// PID in the lock file does not block the next opener.
	cmd.Process.Kill()
	cmd.Wait()
	db, err = Open(home, Options{})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	db.Close()
}

// TestHomeInUseInProcess: a second DB of the same process is refused too,
// and the home opens again once the first is closed.
func TestHomeInUseInProcess(t *testing.T) {
	home := t.TempDir()
	db, err := Create(home, nil, Options{Holder: "first"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(home, Options{})
	var inUse *HomeInUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() || inUse.Command != "first" {
		t.Fatalf("Open = %#v, want *HomeInUseError{PID: %d, Command: first}", err, os.Getpid())
	}
	if _, err := Create(home, nil, Options{}); !errors.Is(err, ErrHomeInUse) {
		t.Errorf("Create on a held home = %v, want ErrHomeInUse", err)
	}
	db.Close()
	db, err = Open(home, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db.Close()
}

func TestDefaultHolder(t *testing.T) {
	args := os.Args
	defer func() { os.Args = args }()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/usr/bin/spacepanda", "daemon", "--listen", "x"}, "spacepanda daemon"},
		{[]string{"spacepanda", "send", "general", "secret text"}, "spacepanda send"},
		{[]string{"spacepanda", "--home", "/h"}, "spacepanda"},
		{nil, ""},
	} {
		os.Args = tc.args
		if got := DefaultHolder(); got != tc.want {
			t.Errorf("DefaultHolder(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
