package main

// Helpers for the tests that run the real binary: build it once per test run,
// start it on loopback with its own database, stop it with a signal, and talk
// to it like a browser without JavaScript (plain forms, cookies, no redirects
// followed, so every 303 is seen).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var (
	binDir    string // removed by TestMain after the run
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "estimator-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// estimatorBinary builds ./cmd/estimator once per test run with the go command
// that built this test (and -race when this test runs with it).
func estimatorBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		out := filepath.Join(binDir, "estimator")
		if runtime.GOOS == "windows" {
			out += ".exe"
		}
		args := []string{"build", "-o", out}
		if raceBuild {
			args = append(args, "-race")
		}
		args = append(args, ".")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goCmd, args...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
			return
		}
		binPath = out
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cleanEnv is this process's environment without ESTIMATOR_* variables, so a
// developer's settings do not leak into the binaries the tests start.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ESTIMATOR_") {
			env = append(env, kv)
		}
	}
	if _, set := os.LookupEnv("GORACE"); raceBuild && !set {
		// The race runtime sleeps 1s at exit by default; exit timings here are
		// the program's own.
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return append(env, extra...)
}

// procLog collects a child's stderr: a tail of lines for failure messages, the
// address from the "serving" line, and whether the race detector spoke.
type procLog struct {
	mu      sync.Mutex
	partial []byte
	tail    []string
	race    bool
	addr    chan string
	sent    bool
}

const procLogTail = 200

// The start-up line, as text or as JSON (--log-format json).
var servingAddr = regexp.MustCompile(`msg=serving addr=(\S+)|"msg":"serving","addr":"([^"]+)"`)

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if strings.Contains(line, "WARNING: DATA RACE") {
			l.race = true
		}
		if m := servingAddr.FindStringSubmatch(line); m != nil && !l.sent {
			l.sent = true
			l.addr <- m[1] + m[2]
		}
		l.tail = append(l.tail, line)
		if len(l.tail) > procLogTail {
			l.tail = l.tail[len(l.tail)-procLogTail:]
		}
	}
	return len(p), nil
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n") + "\n" + string(l.partial)
}

func (l *procLog) raced() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.race
}

// proc is a running estimator.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port, for a server
	stderr *procLog
	stdout bytes.Buffer
	done   chan struct{}
	state  *os.ProcessState
}

// startServer starts the binary serving on a free loopback port with the
// database db, and waits until it listens.
func startServer(t testing.TB, db string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"--addr", "127.0.0.1:0", "--db", db}, extra...)
	return startServerWith(t, cleanEnv(), args...)
}

// startServerWith starts the binary with exactly this environment and these
// arguments, and waits for its "serving" line.
func startServerWith(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	return startServerCmd(t, exec.Command(estimatorBinary(t), args...), env)
}

// startServerCmd starts cmd (the binary, as built or copied, with its
// arguments and any process attributes) with env, and waits for it to serve.
func startServerCmd(t testing.TB, cmd *exec.Cmd, env []string) *proc {
	t.Helper()
	args := cmd.Args[1:]
	p := &proc{t: t, stderr: &procLog{addr: make(chan string, 1)}, done: make(chan struct{})}
	p.cmd = cmd
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = &p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start estimator: %v", err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if p.stderr.raced() {
			t.Errorf("the race detector reported a data race in the server:\n%s", p.stderr)
		}
	})
	select {
	case addr := <-p.stderr.addr:
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Fatalf("server listens on %s, want loopback only", addr)
		}
		p.base = "http://" + addr
	case <-p.done:
		t.Fatalf("estimator %s exited before serving (%v):\n%s", strings.Join(args, " "), p.state, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("estimator did not start serving within 60s:\n%s", p.stderr)
	}
	return p
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to d for the process to exit and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends a server gracefully (SIGTERM) and checks it exits 0 promptly.
func (p *proc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	if !p.wait(15 * time.Second) {
		p.t.Fatalf("server still running 15s after SIGTERM:\n%s", p.stderr)
	}
	if code := p.state.ExitCode(); code != 0 {
		p.t.Fatalf("server exited with %v after SIGTERM, want 0:\n%s", p.state, p.stderr)
	}
}

// runCLI runs the binary to completion (a subcommand) and returns its output
// and exit code.
func runCLI(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, estimatorBinary(t), args...)
	if env == nil {
		env = cleanEnv()
	}
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("estimator %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(e.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector reported a data race in estimator %s:\n%s", strings.Join(args, " "), e.String())
	}
	return o.String(), e.String(), code
}

// browser is one person's browser without JavaScript: its own cookie jar, and
// redirects are not followed so the test sees every answer.
type browser struct {
	base string
	hc   *http.Client
	// xff, when set, is sent as X-Forwarded-For: each simulated person gets an
	// address of their own (the server trusts 127.0.0.1 as a proxy), so the
	// per-address sign-in limit treats them as different clients.
	xff string
}

func newBrowser(base string, tr http.RoundTripper) *browser {
	jar, _ := cookiejar.New(nil)
	if tr == nil {
		tr = http.DefaultTransport
	}
	return &browser{base: base, hc: &http.Client{
		Transport: tr,
		Jar:       jar,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// at is the same browser (same cookies) talking to another address, e.g. the
// server restarted on a new port. Cookies for 127.0.0.1 ignore the port.
func (b *browser) at(base string) *browser {
	c := *b
	c.base = base
	return &c
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) String() string {
	body := a.body
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%d %v\n%s", a.status, a.header, body)
}

// acked reports whether the answer acknowledges a write: a 303 with a
// Location, or a 2xx (an htmx answer: a fragment or HX-Redirect).
func (a answer) acked() bool {
	if a.status == http.StatusSeeOther {
		return a.header.Get("Location") != ""
	}
	return a.status >= 200 && a.status < 300
}

func (b *browser) do(method, path string, form url.Values, hdr http.Header) (answer, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		return answer{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method != http.MethodGet && method != http.MethodHead {
		// What a browser sends for a form on the page it came from.
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(rb)}, nil
}

func (b *browser) get(path string) (answer, error) { return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) (answer, error) {
	if form == nil {
		form = url.Values{}
	}
	return b.do(http.MethodPost, path, form, nil)
}

// signIn claims a nickname with the sign-in form.
func (b *browser) signIn(nick string) error {
	a, err := b.post("/login", url.Values{"nickname": {nick}})
	if err != nil {
		return fmt.Errorf("sign in %s: %w", nick, err)
	}
	if a.status != http.StatusSeeOther {
		return fmt.Errorf("sign in %s: %s", nick, a)
	}
	return nil
}

var groupLocation = regexp.MustCompile(`^/groups/([0-9]+)$`)

// createGroup creates a group and returns its id from the redirect.
func (b *browser) createGroup(name string) (int64, answer, error) {
	a, err := b.post("/creategroup", url.Values{"name": {name}})
	if err != nil {
		return 0, a, err
	}
	m := groupLocation.FindStringSubmatch(a.header.Get("Location"))
	if a.status != http.StatusSeeOther || m == nil {
		return 0, a, fmt.Errorf("create group %q: %s", name, a)
	}
	var id int64
	fmt.Sscan(m[1], &id)
	return id, a, nil
}

// mustGet fetches a page that must answer 200.
func (b *browser) mustGet(t testing.TB, path string) answer {
	t.Helper()
	a, err := b.get(path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: %s", path, a)
	}
	return a
}

// mustPost posts a form whose answer must be a 303, and returns the Location.
func (b *browser) mustPost(t testing.TB, path string, form url.Values) string {
	t.Helper()
	a, err := b.post(path, form)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	if a.status != http.StatusSeeOther {
		t.Fatalf("POST %s: %s", path, a)
	}
	return a.header.Get("Location")
}

// groupWithIssue has b (signed in) create a group with one issue, and returns
// the group id, its invite token and the issue id, read from the group page.
func (b *browser) groupWithIssue(t testing.TB, name, key string) (groupID int64, invite string, issueID int64) {
	t.Helper()
	groupID, _, err := b.createGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/groups/%d", groupID)
	b.mustPost(t, page+"/issues", url.Values{"key": {key}, "description": {"estimated by a test"}})
	doc := parseHTML(t, b.mustGet(t, page).body)
	link := findTestID(doc, "invite-link")
	if link == nil {
		t.Fatalf("group page has no invite link")
	}
	u, err := url.Parse(attr(link, "value"))
	if err != nil || !strings.HasPrefix(u.Path, "/join/") {
		t.Fatalf("invite link %q", attr(link, "value"))
	}
	invite = strings.TrimPrefix(u.Path, "/join/")
	for _, href := range hrefs(doc) {
		if m := issueHref.FindStringSubmatch(href); m != nil {
			fmt.Sscan(m[1], &issueID)
			break
		}
	}
	if issueID == 0 {
		t.Fatalf("group page links to no issue")
	}
	return groupID, invite, issueID
}

var issueHref = regexp.MustCompile(`^/issues/([0-9]+)$`)

func parseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func findTestID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if found == nil && n.Type == html.ElementNode && attr(n, "data-testid") == id {
			found = n
		}
	})
	return found
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

func hrefs(doc *html.Node) []string {
	var out []string
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			out = append(out, attr(n, "href"))
		}
	})
	return out
}
