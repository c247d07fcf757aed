package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"estimator/assets"
	"estimator/store"
	"estimator/views/htmltest"
)

// The app under test (real router, real SQLite file) and the browsers that
// drive it, each with its own cookie jar.

// clock is a settable time source for session expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testApp is the real router over a real SQLite file with the real migrations.
type testApp struct {
	t     testing.TB
	app   *App
	st    *store.Store
	clock *clock
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestApp(t testing.TB, configure ...func(*Config)) *testApp {
	t.Helper()
	return newTestAppWith(t, store.Options{}, configure...)
}

// newTestAppWith opens the store with opts (its clock is the test's clock).
func newTestAppWith(t testing.TB, opts store.Options, configure ...func(*Config)) *testApp {
	t.Helper()
	clk := newClock()
	opts.Now = clk.Now
	changes := new(store.Relay)
	opts.Changes = changes
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := Config{LoginBurst: 1000, KeptFormsPerAddress: 1000}
	for _, f := range configure {
		f(&cfg)
	}
	// Every level is kept, debug included: what an operator would read with
	// --log-level debug is held to the same rules (no tokens, no votes).
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := New(Deps{Store: st, Assets: assets.FS, Logger: logger, Config: cfg, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	return &testApp{t: t, app: app, st: st, clock: clk, logs: logs}
}

// client is one browser: its own cookie jar.
type client struct {
	ta      *testApp
	cookies map[string]*http.Cookie
	// htmx makes requests as htmx does (HX-Request, HX-Current-URL).
	htmx       bool
	currentURL string
	header     http.Header
}

func (ta *testApp) client() *client {
	return &client{ta: ta, cookies: map[string]*http.Cookie{}, header: http.Header{}}
}

// htmxClient is the same browser making htmx requests from page current.
func (c *client) htmxFrom(current string) *client {
	cp := *c
	cp.htmx, cp.currentURL = true, "http://example.com"+current
	return &cp
}

type response struct {
	t      testing.TB
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (c *client) do(method, target string, body io.Reader, contentType string) *response {
	c.ta.t.Helper()
	req := httptest.NewRequest(method, "http://example.com"+target, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if c.htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Current-URL", c.currentURL)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	rec := httptest.NewRecorder()
	c.ta.app.ServeHTTP(rec, req)
	res := rec.Result()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	r := &response{t: c.ta.t, status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		r.doc = htmltest.Parse(c.ta.t, r.body)
	}
	return r
}

func (c *client) get(target string) *response { return c.do(http.MethodGet, target, nil, "") }

func (c *client) post(target string, form url.Values) *response {
	return c.do(http.MethodPost, target, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// login signs the client in with a nickname and checks it worked.
func (c *client) login(nick string) {
	c.ta.t.Helper()
	r := c.post("/login", url.Values{"nickname": {nick}})
	if r.status != http.StatusSeeOther {
		c.ta.t.Fatalf("login %q: status %d: %s", nick, r.status, r.text("nickname-error"))
	}
}

func (c *client) sessionCookie() *http.Cookie { return c.cookies[c.ta.app.signin.SessionCookie()] }

// location is where a 303 or an HX-Redirect sends the browser.
func (r *response) location() string {
	if l := r.header.Get("HX-Redirect"); l != "" {
		return l
	}
	return r.header.Get("Location")
}

func (r *response) wantStatus(want int) *response {
	r.t.Helper()
	if r.status != want {
		r.t.Fatalf("status %d, want %d; body:\n%s", r.status, want, truncate(r.body, 1500))
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// with is the same browser (same cookie jar) sending extra headers.
func (c *client) with(kv ...string) *client {
	cp := *c
	cp.header = c.header.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		// An empty value is sent as an empty header (e.g. no Sec-Fetch-Site).
		cp.header.Set(kv[i], kv[i+1])
	}
	return &cp
}

// plain is the same browser making plain (non-htmx) requests.
func (c *client) plain() *client {
	cp := *c
	cp.htmx, cp.currentURL = false, ""
	return &cp
}

// htmxWith makes htmx requests with a raw HX-Current-URL value.
func (c *client) htmxWith(currentURL string) *client {
	cp := *c
	cp.htmx, cp.currentURL = true, currentURL
	return &cp
}

// sessionID is the row id of the browser's session (0 when it has none).
func (c *client) sessionID() int64 {
	c.ta.t.Helper()
	ck := c.sessionCookie()
	if ck == nil {
		return 0
	}
	s, _, err := c.ta.st.LoadSession(tctx, ck.Value, c.ta.app.cfg.Sessions)
	if err == store.ErrNotFound {
		return 0
	}
	if err != nil {
		c.ta.t.Fatalf("load session: %v", err)
	}
	return s.ID
}

// keptForms counts the unused kept forms of this browser's session.
func (c *client) keptForms() int {
	c.ta.t.Helper()
	id := c.sessionID()
	if id == 0 {
		return 0
	}
	n, err := c.ta.st.KeptFormCount(tctx, id)
	if err != nil {
		c.ta.t.Fatal(err)
	}
	return n
}

// loginTarget splits a sign-in URL into its next and kept parameters.
func loginTarget(t testing.TB, loc string) (next, kept string, hasKept bool) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/login" {
		t.Fatalf("not a sign-in URL: %q", loc)
	}
	q := u.Query()
	next = q.Get("next")
	if next == "" {
		next = "/"
	}
	_, hasKept = q["kept"]
	return next, q.Get("kept"), hasKept
}

// wantRedirect checks a plain 303 to target.
func (r *response) wantRedirect(target string) *response {
	r.t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != target {
		r.t.Fatalf("status %d Location %q, want 303 to %q; body:\n%s", r.status, r.header.Get("Location"), target, truncate(r.body, 800))
	}
	return r
}

// wantHXRedirect checks an htmx answer that sends the browser to target.
func (r *response) wantHXRedirect(target string) *response {
	r.t.Helper()
	if r.status != http.StatusOK || r.header.Get("HX-Redirect") != target || r.header.Get("Location") != "" {
		r.t.Fatalf("status %d HX-Redirect %q Location %q, want 200 with HX-Redirect %q", r.status, r.header.Get("HX-Redirect"), r.header.Get("Location"), target)
	}
	return r
}

// wantNoticeOnly checks an htmx answer that changes nothing on the page but
// its notice (the page moves by itself, over its stream): 200, no redirect,
// nothing but the notice's partial, which contains want.
func (r *response) wantNoticeOnly(want string) *response {
	r.t.Helper()
	if r.status != http.StatusOK || r.header.Get("HX-Redirect") != "" || r.header.Get("Location") != "" {
		r.t.Fatalf("status %d HX-Redirect %q Location %q, want 200 and no redirect", r.status, r.header.Get("HX-Redirect"), r.header.Get("Location"))
	}
	if body := strings.TrimSpace(r.body); !strings.HasPrefix(body, `<hx-partial hx-target="#notice"`) || !strings.HasSuffix(body, "</hx-partial>") || strings.Count(body, "<hx-partial") != 1 {
		r.t.Fatalf("answer %q, want the notice's partial alone", truncate(body, 300))
	}
	return r.wantNotice(want)
}

// wantNotice checks the page's one-time notice contains want.
func (r *response) wantNotice(want string) *response {
	r.t.Helper()
	if got := r.text("notice"); !strings.Contains(got, want) {
		r.t.Fatalf("notice %q, want it to contain %q", got, want)
	}
	return r
}
