package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVersion: `estimator --version` (and -version, version) prints what the
// binary was built from and exits 0 without touching a database; a container
// image has no other way to say which build it runs.
func TestVersion(t *testing.T) {
	dir := t.TempDir()
	for _, arg := range []string{"--version", "-version", "version"} {
		stdout, stderr, code := runCLI(t, cleanEnv("ESTIMATOR_DB="+filepath.Join(dir, "never.db")), arg)
		if code != 0 || stderr != "" {
			t.Fatalf("estimator %s: exit %d, stderr %q", arg, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "estimator ") {
			t.Fatalf("estimator %s printed:\n%s", arg, stdout)
		}
		for i, prefix := range []string{"commit:   ", "time:     ", "modified: "} {
			if !strings.HasPrefix(lines[i+1], prefix) || strings.TrimSpace(strings.TrimPrefix(lines[i+1], prefix)) == "" {
				t.Errorf("line %d %q: want %q and a value", i+2, lines[i+1], prefix)
			}
		}
		if want := fmt.Sprintf("go:       %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH); lines[4] != want {
			t.Errorf("last line %q, want %q", lines[4], want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "never.db")); err == nil {
		t.Error("--version opened the database")
	}
}

// TestJSONLogs: with --log-format json (or ESTIMATOR_LOG_FORMAT=json) every
// line the server writes is one JSON object a collector can parse, the request
// lines carry method, route and status, and, as in text, no line holds a
// cookie, a session id or an invite token.
func TestJSONLogs(t *testing.T) {
	srv := startServerWith(t, cleanEnv("ESTIMATOR_LOG_FORMAT=json"), "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "json.db"))
	owner := newBrowser(srv.base, nil)
	if err := owner.signIn("Product owner of Team Aurora 042"); err != nil {
		t.Fatal(err)
	}
	_, invite, issueID := owner.groupWithIssue(t, "JSON logs", "LOG-1234")
	voter := newBrowser(srv.base, nil)
	if err := voter.signIn("voter-json"); err != nil {
		t.Fatal(err)
	}
	voter.mustPost(t, "/join/"+invite, nil)
	voter.mustPost(t, fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {"13"}})
	owner.mustGet(t, fmt.Sprintf("/issues/%d", issueID))
	if a, err := voter.get("/no-such-page"); err != nil || a.status != http.StatusNotFound {
		t.Fatalf("GET /no-such-page: %v %v", a, err)
	}
	srv.stop()

	logs := srv.stderr.String()
	u, _ := url.Parse(srv.base)
	var cookies int
	for _, b := range []*browser{owner, voter} {
		for _, c := range b.hc.Jar.Cookies(u) {
			cookies++
			if strings.Contains(logs, c.Value) {
				t.Errorf("logs hold the value of the cookie %s", c.Name)
			}
		}
	}
	if cookies < 2 {
		t.Fatalf("the browsers hold %d cookies: the check above checked nothing", cookies)
	}
	if strings.Contains(logs, "estimator_session") || strings.Contains(logs, "estimator_browser") || strings.Contains(logs, invite) {
		t.Error("logs name a cookie or hold the invite token")
	}
	if m := regexp.MustCompile(`[A-Za-z0-9_-]{43}`).FindString(logs); m != "" {
		t.Errorf("logs hold something shaped like a token: %s", m)
	}

	msgs := map[string]int{}
	routes := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON object: %q (%v)", line, err)
			continue
		}
		msg, _ := rec["msg"].(string)
		if _, ok := rec["time"].(string); !ok || rec["level"] == nil || msg == "" {
			t.Errorf("line without time, level or msg: %s", line)
		}
		msgs[msg]++
		if msg == "request" {
			status, ok := rec["status"].(float64)
			if rec["method"] == nil || !ok || status < 100 {
				t.Errorf("request line without method or a numeric status: %s", line)
			}
			route, _ := rec["route"].(string)
			routes[route] = true
			if p, _ := rec["path"].(string); strings.Contains(p, "/join/") {
				t.Errorf("request line holds the join path: %s", line)
			}
		}
		if msg == "serving" && (rec["addr"] != u.Host || rec["commit"] == nil) {
			t.Errorf("start-up line without the address or the commit: %s", line)
		}
	}
	for _, m := range []string{"serving", "shutting down", "stopped"} {
		if msgs[m] != 1 {
			t.Errorf("%d %q lines, want 1", msgs[m], m)
		}
	}
	for _, r := range []string{"/login", "/join/:token", "/issues/:id/estimate", "/issues/:id", ""} {
		if !routes[r] {
			t.Errorf("no request line for the route %q (have %v)", r, routes)
		}
	}
}

// TestHealthcheckCommand: `estimator healthcheck` asks the server at --addr
// (an address on every interface is asked on loopback) and exits 0 while it is
// healthy, 1 with the reason once it is gone: the image's HEALTHCHECK.
func TestHealthcheckCommand(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "127.0.0.1:8080",
		"0.0.0.0:8080":   "127.0.0.1:8080",
		"[::]:8080":      "[::1]:8080",
		"127.0.0.1:9000": "127.0.0.1:9000",
		"10.1.2.3:80":    "10.1.2.3:80",
		"localhost:8080": "localhost:8080",
	} {
		if got := probeAddr(addr); got != want {
			t.Errorf("probeAddr(%q) = %q, want %q", addr, got, want)
		}
	}

	srv := startServer(t, filepath.Join(t.TempDir(), "probe.db"))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.base, "http://"))
	// The way the image runs it: the address from ESTIMATOR_ADDR, on every interface.
	stdout, stderr, code := runCLI(t, cleanEnv("ESTIMATOR_ADDR=:"+port), "healthcheck")
	if code != 0 || !strings.Contains(stdout, "200 OK") {
		t.Fatalf("healthcheck of a running server: exit %d\n%s%s", code, stdout, stderr)
	}
	srv.stop()
	start := time.Now()
	_, stderr, code = runCLI(t, cleanEnv(), "--addr", "127.0.0.1:"+port, "healthcheck")
	if code != 1 || !strings.Contains(stderr, "healthcheck:") {
		t.Fatalf("healthcheck of a stopped server: exit %d, stderr %q; want 1 and the reason", code, stderr)
	}
	if d := time.Since(start); d > healthcheckTimeout+5*time.Second {
		t.Errorf("a failing healthcheck took %v", d)
	}
	// A listener that never answers: the probe gives up within its timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start = time.Now()
	_, stderr, code = runCLI(t, cleanEnv(), "--addr", ln.Addr().String(), "healthcheck")
	if code != 1 || !strings.Contains(stderr, "healthcheck:") {
		t.Fatalf("healthcheck of a silent server: exit %d, stderr %q", code, stderr)
	}
	if d := time.Since(start); d > healthcheckTimeout+5*time.Second {
		t.Errorf("a healthcheck of a silent server took %v, want about %v", d, healthcheckTimeout)
	}
}

// TestShutdownDrainsReadinessFirst: on SIGTERM with --shutdown-delay, /readyz
// answers 503 at once while the instance goes on serving (liveness, pages, the
// open event stream) for the delay, so a load balancer can stop sending
// traffic; then the stream is closed and the process exits 0, well within
// docker and podman stop's 10 s.
func TestShutdownDrainsReadinessFirst(t *testing.T) {
	const delay = 2 * time.Second
	srv := startServer(t, filepath.Join(t.TempDir(), "drain.db"), "--shutdown-delay", delay.String())
	b := newBrowser(srv.base, nil)
	if err := b.signIn("drain watcher"); err != nil {
		t.Fatal(err)
	}
	_, _, issueID := b.groupWithIssue(t, "drain room", "DR-1")
	if a, err := b.get("/readyz"); err != nil || a.status != http.StatusOK {
		t.Fatalf("/readyz before the shutdown: %v %v", a, err)
	}
	stream := openStream(t, srv, b, issueID)
	stream.next(t, "", 10*time.Second) // the stream is live

	start := time.Now()
	srv.signal(syscall.SIGTERM)
	var ready answer
	for {
		a, err := b.get("/readyz")
		if err != nil {
			t.Fatalf("/readyz during the delay: %v", err)
		}
		if ready = a; a.status == http.StatusServiceUnavailable || time.Since(start) > delay/2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ready.status != http.StatusServiceUnavailable || ready.body != "shutting down\n" {
		t.Fatalf("/readyz after SIGTERM: %s", ready)
	}
	if time.Since(start) < delay {
		for _, path := range []string{"/livez", "/healthz", "/"} {
			if a, err := b.get(path); err != nil || a.status != http.StatusOK {
				t.Errorf("GET %s during the delay: %v %v", path, a, err)
			}
		}
		// The stream is still open: reading times out rather than ending.
		stream.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := stream.r.Next(); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the stream ended during the delay: %v", err)
		}
	}
	if !srv.wait(delay + 10*time.Second) {
		t.Fatalf("still running %v after SIGTERM:\n%s", delay+10*time.Second, srv.stderr)
	}
	took := time.Since(start)
	if code := srv.state.ExitCode(); code != 0 {
		t.Fatalf("exit %v after SIGTERM, want 0:\n%s", srv.state, srv.stderr)
	}
	if took < delay {
		t.Errorf("exited %v after SIGTERM, before the %v delay", took, delay)
	}
	// The stream has ended: it reads to its end, not to a timeout.
	stream.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := stream.r.Next(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Error("the event stream was still open after the process exited")
			}
			break
		}
	}
	if logs := srv.stderr.String(); !strings.Contains(logs, "msg=\"shutting down\" delay=2s timeout=8s") || !strings.Contains(logs, "msg=stopped") {
		t.Errorf("no shutdown log lines with the delay and timeout:\n%s", logs)
	}
	t.Logf("exited 0 %v after SIGTERM (delay %v)", took.Round(time.Millisecond), delay)
}
