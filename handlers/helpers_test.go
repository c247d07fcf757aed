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
)

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
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := Config{LoginBurst: 1000, KeptFormsPerAddress: 1000}
	for _, f := range configure {
		f(&cfg)
	}
	logs := &syncBuffer{}
	app, err := New(Deps{Store: st, Assets: assets.FS, Logger: slog.New(slog.NewTextHandler(logs, nil)), Config: cfg})
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
		doc, err := html.Parse(strings.NewReader(r.body))
		if err != nil {
			c.ta.t.Fatalf("parse HTML: %v", err)
		}
		r.doc = doc
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

func (c *client) sessionCookie() *http.Cookie { return c.cookies[c.ta.app.sessions.cookieName] }

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

// all finds the elements with data-testid=id.
func (r *response) all(id string) []*html.Node {
	if r.doc == nil {
		return nil
	}
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && attr(n, "data-testid") == id {
			out = append(out, n)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(r.doc)
	return out
}

func (r *response) has(id string) bool { return len(r.all(id)) > 0 }

// text is the text of the first element with data-testid=id ("" if none).
func (r *response) text(id string) string {
	nodes := r.all(id)
	if len(nodes) == 0 {
		return ""
	}
	return textOf(nodes[0])
}

func (r *response) texts(id string) []string {
	var out []string
	for _, n := range r.all(id) {
		out = append(out, textOf(n))
	}
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// inputValue is the value of the input named name inside the element with testid.
func (r *response) inputValue(testid, name string) (string, bool) {
	for _, root := range r.all(testid) {
		var found *html.Node
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if found == nil && n.Type == html.ElementNode && attr(n, "name") == name {
				found = n
			}
			for ch := n.FirstChild; ch != nil && found == nil; ch = ch.NextSibling {
				walk(ch)
			}
		}
		walk(root)
		if found != nil {
			if found.Data == "textarea" {
				return textOf(found), true
			}
			return attr(found, "value"), true
		}
	}
	return "", false
}
