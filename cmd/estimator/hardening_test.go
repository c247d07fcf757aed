package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestSigninLimitFlags: --signin-burst and --signin-rate set the per-address
// sign-in limit of the running server.
func TestSigninLimitFlags(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "limit.db"), "--signin-burst", "3", "--signin-rate", "1/h")
	defer p.stop()
	for i := range 5 {
		b := newBrowser(p.base, nil)
		err := b.signIn(fmt.Sprintf("Person %d", i))
		switch {
		case i < 3 && err != nil:
			t.Fatalf("sign-in %d within the burst: %v", i, err)
		case i >= 3:
			a, err := b.post("/login", nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
				t.Fatalf("sign-in %d past the burst: %s", i, a)
			}
		}
	}
}

// TestReadOnlyDatabaseRecovers: the database file is read-only (chmod 444) when
// the server starts; it serves reads and answers 503 to writes and /healthz.
// Once the file is writable again (chmod 644) it recovers by itself, without a
// restart; and a restart after such a start (its -wal and -shm made read-only by
// SQLite) works too. Root may write any file, so as root the server runs as
// nobody.
func TestReadOnlyDatabaseRecovers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file modes and process credentials as on Linux")
	}
	dir, err := os.MkdirTemp("", "estimator-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "estimator")
	src, err := os.ReadFile(estimatorBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ro.db")
	start := func() *proc {
		t.Helper()
		cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--db", db)
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		return startServerCmd(t, cmd, cleanEnv())
	}
	health := func(p *proc) int {
		t.Helper()
		a, err := newBrowser(p.base, nil).get("/healthz")
		if err != nil {
			t.Fatal(err)
		}
		return a.status
	}
	waitHealthy := func(p *proc, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for health(p) != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("%s: /healthz still not 200 after 30 s:\n%s", what, p.stderr)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	p := start()
	if err := newBrowser(p.base, nil).signIn("Before"); err != nil {
		t.Fatal(err)
	}
	p.stop()

	if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}
	p = start()
	if got := health(p); got != http.StatusServiceUnavailable {
		t.Fatalf("read-only database: /healthz %d, want 503", got)
	}
	b := newBrowser(p.base, nil)
	if a, _ := b.get("/login"); a.status != http.StatusOK {
		t.Fatalf("read-only database: the sign-in page answers %d", a.status)
	}
	if a, _ := b.post("/login", url.Values{"nickname": {"During"}}); a.status != http.StatusServiceUnavailable {
		t.Fatalf("read-only database: a sign-in answers %d, want 503", a.status)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	// Writes work again (the first may still meet the connections opened
	// read-only, and reopens them) …
	deadline := time.Now().Add(10 * time.Second)
	for err := b.signIn("After"); err != nil; err = b.signIn("After") {
		if time.Now().After(deadline) {
			t.Fatalf("writable again: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// … and /healthz follows within a second (it lagged by seconds).
	wrote := time.Now()
	for health(p) != http.StatusOK {
		if time.Since(wrote) > 1250*time.Millisecond {
			t.Fatalf("/healthz still not 200 %v after writes worked again", time.Since(wrote))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("/healthz 200 %v after writes worked again", time.Since(wrote).Round(time.Millisecond))
	p.stop()

	// Started read-only and killed: its -wal and -shm stay behind, read-only.
	if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}
	p = start()
	p.signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	p = start()
	waitHealthy(p, "restarted")
	if err := newBrowser(p.base, nil).signIn("Restarted"); err != nil {
		t.Fatalf("restarted: %v", err)
	}
	p.stop()
}
