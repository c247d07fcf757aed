package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"estimator/handlers"
	"estimator/internal/wiring"
	"estimator/store"
)

const (
	// testTimeout bounds a whole test, browser included.
	testTimeout = 3 * time.Minute
	// stepTimeout bounds one browser step (a navigation, a wait for an element).
	// Generous: a loaded 2-core machine under -race is slow, and a step that
	// passes never waits this long.
	stepTimeout = 30 * time.Second
	// liveWithin is the spec's bound for live updates.
	liveWithin = 2 * time.Second
)

// chromiumPath finds Debian's Chromium, or says why there is none.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	if p, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return p, nil
	}
	return exec.LookPath("chromium")
}

// noBrowser ends a test that cannot have its browser: a failure in CI (where
// Chromium is installed on purpose), a skip elsewhere.
func noBrowser(t *testing.T, reason error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("browser tests need Chromium and CI is set, so this is a failure: %v", reason)
	}
	t.Skipf("browser tests need Chromium: apt-get install -y chromium (%v)", reason)
}

// env is one test's world: the app on a real HTTP server over a fresh SQLite
// file, and one Chromium process in which every person gets a browser context of
// their own (their own cookie jar).
type env struct {
	t       *testing.T
	base    string // http://127.0.0.1:port
	logs    *logBuffer
	browser context.Context // a chromedp context whose browser runs

	mu   sync.Mutex
	tabs []*tab
}

// newEnv starts Chromium and the app. Everything is shut in the right order when
// the test ends: tabs and browser first, then the app's event streams
// (app.Close), then the server and the store. configure may change the app's
// configuration; it is given the app's address (http://127.0.0.1:port).
func newEnv(t *testing.T, configure ...func(cfg *handlers.Config, base string)) *env {
	t.Helper()
	return newEnvWithin(t, testTimeout, configure...)
}

// newEnvWithin is newEnv for a test that needs longer than testTimeout.
func newEnvWithin(t *testing.T, timeout time.Duration, configure ...func(cfg *handlers.Config, base string)) *env {
	t.Helper()
	return newEnvOn(t, timeout, "", configure...)
}

// newEnvOn is newEnvWithin on the database db: "" for a fresh SQLite file, or
// a PostgreSQL URL that several envs share, as instances of the app would
// (their live updates go through LISTEN/NOTIFY).
func newEnvOn(t *testing.T, timeout time.Duration, db string, configure ...func(cfg *handlers.Config, base string)) *env {
	t.Helper()
	return newEnvStore(t, timeout, db, store.Options{}, configure...)
}

// newEnvStore is newEnvOn with the store's options (a clock the test moves,
// say).
func newEnvStore(t *testing.T, timeout time.Duration, db string, so store.Options, configure ...func(cfg *handlers.Config, base string)) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser suite does not run with -short")
	}
	execPath, err := chromiumPath()
	if err != nil {
		noBrowser(t, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		// Background tabs and windows must keep their timers and event streams:
		// several people look at pages at the same time.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		cancel()
		noBrowser(t, fmt.Errorf("starting %s: %w", execPath, err))
	}

	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if db == "" {
		db = filepath.Join(t.TempDir(), "e2e.db")
	}
	// The address is known before the app is built, for settings that need it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := handlers.Config{LoginBurst: 1000, StreamHeartbeat: 5 * time.Second}
	for _, f := range configure {
		f(&cfg, "http://"+ln.Addr().String())
	}
	built, err := wiring.Open(context.Background(), wiring.Options{DB: db, Store: so, Handlers: cfg, Logger: logger, WaitForBus: true})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(built.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()

	e := &env{t: t, base: srv.URL, logs: logs, browser: browserCtx}
	t.Cleanup(func() {
		e.closeTabs()
		cancelBrowser()
		cancelAlloc()
		cancel()
		built.Handler.Close() // ends event streams, so srv.Close does not wait on them
		srv.Close()
		if err := built.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return e
}

// person opens a new browser context (its own cookies, as a separate browser
// would have) with one tab.
func (e *env) person(name string) *tab {
	e.t.Helper()
	return e.openTab(e.browser, name, chromedp.WithNewBrowserContext())
}

// javaScriptOff turns script execution off in this tab, for every page it loads
// from now on.
func (tb *tab) javaScriptOff() {
	tb.t.Helper()
	tb.scripts(false)
	tb.noJS = true
}

// scripts turns script execution in this tab on or off.
func (tb *tab) scripts(on bool) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

// newTab opens another tab of the same browser context: same person, same cookies.
func (tb *tab) newTab(label string) *tab {
	tb.t.Helper()
	return tb.e.openTab(tb.ctx, label)
}

func (e *env) openTab(parent context.Context, label string, opts ...chromedp.ContextOption) *tab {
	e.t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	tb := &tab{e: e, t: e.t, label: label, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	e.mu.Lock()
	e.tabs = append(e.tabs, tb)
	e.mu.Unlock()
	if err := chromedp.Do(ctx); err != nil {
		e.t.Fatalf("%s: opening a tab: %v", label, err)
	}

	// The console, uncaught exceptions and the browser log (CSP refusals, failed
	// requests) of every page, reported at the end of the test.
	messages := chromedp.Console(ctx)
	// Dialogs (hx-confirm's window.confirm) are recorded, and accepted unless
	// the tab says to dismiss them.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	})
	wg.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
			accept := !tb.dismiss
			tb.mu.Unlock()
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept}); err != nil {
				return
			}
		}
	})
	go func() {
		wg.Wait()
		close(tb.done)
	}()
	return tb
}

// closeTabs closes every tab (newest first), then reports what their consoles
// said. Errors and exceptions are listed always: they are the first evidence of
// an htmx or CSP problem.
func (e *env) closeTabs() {
	e.mu.Lock()
	tabs := e.tabs
	e.tabs = nil
	e.mu.Unlock()
	for i := len(tabs) - 1; i >= 0; i-- {
		tabs[i].cancel()
	}
	for _, tb := range tabs {
		select {
		case <-tb.done:
		case <-time.After(10 * time.Second):
			e.t.Errorf("%s: console reader did not stop", tb.label)
		}
		for _, m := range tb.consoleMessages() {
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				e.t.Logf("%s: browser console %s: %s (%s:%d)", tb.label, m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	}
}

// tab is one browser tab of one person.
type tab struct {
	e      *env
	t      *testing.T
	label  string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// noJS: the pages of this tab run no script of their own.
	noJS bool

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	dialogs []string
	dismiss bool
}

// answerDialogs sets whether this tab's next dialogs are accepted (OK) or
// dismissed (Cancel).
func (tb *tab) answerDialogs(accept bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.dismiss = !accept
}

func (tb *tab) consoleMessages() []chromedp.ConsoleMessage {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), tb.console...)
}

func (tb *tab) dialogsSeen() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.dialogs...)
}

// consoleErrors are the uncaught exceptions and the errors the pages of this tab
// logged so far.
func (tb *tab) consoleErrors() []string {
	var out []string
	for _, m := range tb.consoleMessages() {
		if m.IsException() || m.Type == chromedp.ConsoleError {
			out = append(out, m.Text)
		}
	}
	return out
}

// noConsoleErrors fails the test when a page of this tab threw, or logged an
// error (htmx reports its failures as console errors, the browser its CSP
// refusals and failed requests).
func (tb *tab) noConsoleErrors() {
	tb.t.Helper()
	if errs := tb.consoleErrors(); len(errs) > 0 {
		tb.t.Errorf("%s: browser console errors: %q", tb.label, errs)
	}
}

// do runs steps with the step timeout.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s (at %s): %v\npage:\n%s", tb.label, tb.where(), err, tb.shown())
	}
}

// shown is what the page shows, for messages: its main element's markup,
// cut short.
func (tb *tab) shown() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(m => m ? m.outerHTML.slice(0, 6000) : "(no main)")(document.querySelector("main"))`))
	if err != nil {
		return "?"
	}
	return html
}

// where is the tab's current address, for messages.
func (tb *tab) where() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s (at %s): %v", tb.label, tb.where(), err)
	}
	return v
}

// open navigates to a path of the app and waits for the page to load.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.e.base + path))
}

// testID is the CSS selector of an element's data-testid.
func testID(id string) string { return fmt.Sprintf("[data-testid=%q]", id) }

func (tb *tab) waitVisible(sel string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	if tb.noJS {
		// Nothing moves a page without scripts (and a promise's timer would
		// never fire).
		tb.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		return
	}
	tb.do(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(settleScript, sel), chromedp.EvalAwaitPromise),
		chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible),
	)
}

// settleScript waits (up to 3 s) until the page has settled around an
// element, as a person waits before they click: no htmx request in flight
// (a live update's own follow-up, such as the cards panel fetched after a
// reveal, moves what is below it) and the element where it was for 50 ms.
// A click at the old place of an element that just moved lands elsewhere.
const settleScript = `(async sel => {
	let last = "", same = 0;
	for (let i = 0; i < 120 && same < 2; i++) {
		await new Promise(r => setTimeout(r, 25));
		const e = document.querySelector(sel);
		const at = e ? JSON.stringify(e.getBoundingClientRect()) : "";
		same = at !== "" && at === last && !document.querySelector(".htmx-request") ? same + 1 : 0;
		last = at;
	}
})(%q)`

// typeInto replaces the value of a field by typing, as a person would.
func (tb *tab) typeInto(sel, text string) {
	tb.t.Helper()
	tb.do(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		// chromedp.Clear refuses an empty textarea, SetValue an empty value.
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), text),
	)
}

// text waits for the element to be visible and returns its text content with
// white space collapsed (textContent: CSS such as text-transform does not
// change what the page says).
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	tb.waitVisible(sel)
	got, ok := tb.textOf(sel)
	if !ok {
		tb.t.Fatalf("%s: no element %s (at %s)", tb.label, sel, tb.where())
	}
	return got
}

func (tb *tab) value(sel string) string {
	tb.t.Helper()
	return run(tb, chromedp.Value(chromedp.CSS(sel)))
}

// texts is the text of every element that matches sel ("" when none does); it
// does not wait.
func (tb *tab) texts(sel string) []string {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q), e => e.textContent.replace(/\s+/g, " ").trim())`, sel)))
}

// eventually polls cond until it holds or within passes; it fails the test with
// what it saw last. It is a wait for a condition, never a sleep as assertion.
func (tb *tab) eventually(within time.Duration, what string, cond func() (bool, string)) {
	tb.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: within %v: %s; saw %s (at %s)", tb.label, within, what, saw, tb.where())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// textOf is the trimmed text of the first element matching sel, and whether one
// exists. It does not wait, so it can be polled.
func (tb *tab) textOf(sel string) (string, bool) {
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](fmt.Sprintf(
		`(e => e ? e.textContent.replace(/\s+/g, " ").trim() : null)(document.querySelector(%q))`, sel)))
	if err != nil || v == nil {
		return "", false
	}
	return *v, true
}

// waitText waits until the first element matching sel has text containing want.
func (tb *tab) waitText(sel, want string, within time.Duration) {
	tb.t.Helper()
	tb.eventually(within, fmt.Sprintf("%s should contain %q", sel, want), func() (bool, string) {
		got, ok := tb.textOf(sel)
		if !ok {
			return false, "no element " + sel
		}
		return strings.Contains(got, want), fmt.Sprintf("%q", got)
	})
}

// waitPath waits until the tab's path is path (or, with a trailing "*", starts
// with the rest) and returns the address.
func (tb *tab) waitPath(path string) *url.URL {
	tb.t.Helper()
	var u *url.URL
	tb.eventually(stepTimeout, "path should be "+path, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer cancel()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			return false, err.Error()
		}
		if u, err = url.Parse(loc); err != nil {
			return false, err.Error()
		}
		if p, ok := strings.CutSuffix(path, "*"); ok {
			return strings.HasPrefix(u.Path, p), loc
		}
		return u.Path == path, loc
	})
	return u
}

// mark tags the current document; stillMarked tells whether the tab still shows
// that same document, i.e. nothing reloaded or navigated since (htmx swapped).
func (tb *tab) mark() {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](`window.__e2eMark = "same document"`))
}

func (tb *tab) stillMarked() bool {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](`window.__e2eMark ?? null`))
	return err == nil && v != nil && *v == "same document"
}

// logBuffer collects the server's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// request is one "request" line of the server log.
type request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	HTMX   bool   `json:"htmx"`
	Replay bool   `json:"replay"`
}

// requests are the requests the server logged so far, in order.
func (e *env) requests() []request {
	var out []request
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			request
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Msg != "request" {
			continue
		}
		out = append(out, line.request)
	}
	return out
}

// requestsTo are the logged requests with this method and path.
func (e *env) requestsTo(method, path string) []request {
	var out []request
	for _, r := range e.requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}
