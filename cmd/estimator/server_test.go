package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"estimator/internal/wiring"
)

// TestHTTPServerLimits: the server main builds has every timeout and the header
// cap set, so no client can hold a connection or memory without end.
func TestHTTPServerLimits(t *testing.T) {
	srv := newHTTPServer("127.0.0.1:0", http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	checks := []struct {
		name     string
		got, max time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 10 * time.Second},
		{"ReadTimeout", srv.ReadTimeout, time.Minute},
		{"WriteTimeout", srv.WriteTimeout, 2 * time.Minute},
		{"IdleTimeout", srv.IdleTimeout, 5 * time.Minute},
	}
	for _, c := range checks {
		if c.got <= 0 || c.got > c.max {
			t.Errorf("%s = %v, want set and at most %v", c.name, c.got, c.max)
		}
	}
	if srv.ReadHeaderTimeout != readHeaderTimeout || srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("ReadHeaderTimeout %v: want the named constant %v, and no longer than ReadTimeout %v", srv.ReadHeaderTimeout, readHeaderTimeout, srv.ReadTimeout)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > http.DefaultMaxHeaderBytes {
		t.Errorf("MaxHeaderBytes = %d, want set and at most %d", srv.MaxHeaderBytes, http.DefaultMaxHeaderBytes)
	}
	if srv.ErrorLog == nil {
		t.Error("ErrorLog is not set: server errors would bypass the structured log")
	}
}

// newInProcessServer serves the real app through newHTTPServer on a loopback
// listener, after tune adjusts the server (a shorter timeout keeps tests fast).
func newInProcessServer(t *testing.T, tune func(*http.Server)) string {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	built, err := wiring.Open(context.Background(), wiring.Options{DB: filepath.Join(t.TempDir(), "inproc.db"), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	app := built.Handler
	srv := newHTTPServer("127.0.0.1:0", app, logger)
	tune(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		app.Close()
		srv.Close()
		<-served
		built.Close()
	})
	return ln.Addr().String()
}

// TestSlowLoris: a client that sends its request header a byte at a time and
// never finishes, or sends nothing, is cut off after ReadHeaderTimeout, while
// other clients are served meanwhile.
func TestSlowLoris(t *testing.T) {
	// Short to keep the test fast, long enough that a loaded machine serves the
	// normal client well within it. The cases run side by side.
	const headerTimeout = time.Second
	addr := newInProcessServer(t, func(s *http.Server) { s.ReadHeaderTimeout = headerTimeout })

	for _, tc := range []struct {
		name  string
		first string // sent at once
		drip  bool   // then one more header byte every 20ms, never finishing
	}{
		{"drips header bytes", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", true},
		{"sends half a request line", "GET /heal", false},
		{"sends nothing", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if tc.first != "" {
				if _, err := io.WriteString(conn, tc.first); err != nil {
					t.Fatal(err)
				}
			}
			stopDrip := make(chan struct{})
			var dripWG sync.WaitGroup
			if tc.drip {
				dripWG.Add(1)
				go func() {
					defer dripWG.Done()
					for range 500 { // at most 10s
						select {
						case <-stopDrip:
							return
						case <-time.After(20 * time.Millisecond):
						}
						if _, err := conn.Write([]byte("a")); err != nil {
							return
						}
					}
				}()
			}
			defer func() { close(stopDrip); dripWG.Wait() }()

			// Meanwhile, a normal client is served.
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := hc.Get("http://" + addr + "/healthz")
			if err != nil {
				t.Fatalf("a normal client was not served while the slow one waited: %v", err)
			}
			resp.Body.Close()
			servedAt := time.Since(start)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("normal client: %d", resp.StatusCode)
			}

			// The slow connection is closed by the server, with no answer.
			conn.SetReadDeadline(start.Add(headerTimeout + 5*time.Second))
			n, err := conn.Read(make([]byte, 512))
			cutAt := time.Since(start)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the slow connection was still open after %v (ReadHeaderTimeout %v)", cutAt, headerTimeout)
			}
			if err == nil && n > 0 {
				// Some servers answer 408 before closing; either is a cut-off,
				// as long as the connection then ends.
				if _, err := io.Copy(io.Discard, conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("after %d bytes of answer the connection did not end: %v", n, err)
				}
			}
			if cutAt < headerTimeout-50*time.Millisecond || cutAt > headerTimeout+3*time.Second {
				t.Errorf("the slow connection ended after %v, want about ReadHeaderTimeout %v", cutAt, headerTimeout)
			}
			if servedAt > cutAt {
				t.Errorf("the normal client was served after %v, only after the slow one was cut off (%v)", servedAt, cutAt)
			}
		})
	}
}

// TestRequestLimits: through the real binary, a body over the cap is refused
// with 413 and an HTML page, a header over the cap with 431, and sign-in
// attempts past the burst get 429 with Retry-After.
func TestRequestLimits(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "limits.db"))
	const overCap = 1<<20 + 64<<10 // the default cap is 1 MiB
	big := "nickname=" + strings.Repeat("a", overCap)

	for _, tc := range []struct {
		name    string
		path    string
		chunked bool // no Content-Length: the cap is met while reading
	}{
		{"declared length", "/login", false},
		{"chunked", "/login", true},
		{"declared length, protected route", "/creategroup", false},
	} {
		t.Run("body over the cap, "+tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(big)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequest(http.MethodPost, srv.base+tc.path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tc.chunked && req.ContentLength != 0 {
				t.Fatalf("request has a length %d", req.ContentLength)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			page, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413:\n%.400s", resp.StatusCode, page)
			}
			wantHTMLPage(t, resp, string(page))
		})
	}

	t.Run("header over the cap", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.base+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("b", 2*maxHeaderBytes))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})

	// A fresh server, so its sign-in budget for 127.0.0.1 is untouched.
	t.Run("sign-in rate limit", func(t *testing.T) {
		srv := startServer(t, filepath.Join(t.TempDir(), "rate.db"))
		b := newBrowser(srv.base, nil)
		const burst = defaultSigninBurst // --signin-burst's default, refilled at --signin-rate (1/s)
		start := time.Now()
		var limited answer
		tries := 0
		for ; tries < 100 && time.Since(start) < 20*time.Second; tries++ {
			// An invalid nickname: each attempt is answered (422) and changes nothing.
			a, err := b.post("/login", url.Values{"nickname": {"x"}})
			if err != nil {
				t.Fatal(err)
			}
			if a.status == http.StatusTooManyRequests {
				limited = a
				break
			}
			if a.status != http.StatusUnprocessableEntity {
				t.Fatalf("attempt %d: %s", tries+1, a)
			}
		}
		elapsed := time.Since(start)
		if limited.status == 0 {
			t.Fatalf("no 429 after %d sign-in attempts in %v", tries, elapsed)
		}
		// The burst is honoured, and the limit comes right after it (plus what
		// refilled at 1/s while the attempts ran).
		if maxAllowed := burst + int(elapsed.Seconds()) + 1; tries < burst || tries > maxAllowed {
			t.Errorf("429 after %d accepted attempts in %v; want between %d and %d", tries, elapsed, burst, maxAllowed)
		}
		retry, err := strconv.Atoi(limited.header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 60 {
			t.Errorf("Retry-After %q, want whole seconds ≥ 1", limited.header.Get("Retry-After"))
		}
		if ct := limited.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("429 Content-Type %q", ct)
		}
		// Looking at the form is not limited; after Retry-After, signing in works.
		if a, err := b.get("/login"); err != nil || a.status != http.StatusOK {
			t.Errorf("GET /login while limited: %v %v", a, err)
		}
		time.Sleep(time.Duration(retry) * time.Second)
		if err := b.signIn("after the wait"); err != nil {
			t.Errorf("after waiting Retry-After: %v", err)
		}
	})
}

func wantHTMLPage(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want an HTML page", ct)
	}
	doc := parseHTML(t, body)
	var title string
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "title" {
			title = textOf(n)
		}
	})
	if title == "" || !strings.Contains(strings.ToLower(body), "<!doctype html>") {
		t.Errorf("not a whole HTML page (title %q):\n%.400s", title, body)
	}
}

// TestGracefulShutdown: SIGTERM while an event stream is open ends the process
// promptly (the stream is closed, not waited for) with exit code 0.
func TestGracefulShutdown(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "shutdown.db"))
	b := newBrowser(srv.base, nil)
	if err := b.signIn("stream watcher"); err != nil {
		t.Fatal(err)
	}
	_, _, issueID := b.groupWithIssue(t, "shutdown room", "SD-1")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/issues/%d/events", srv.base, issueID), nil)
	req.Header.Set("Accept", "text/event-stream")
	stream := &http.Client{Jar: b.hc.Jar} // no timeout: a stream stays open
	resp, err := stream.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The stream is live: the current state arrives at once.
	r := bufio.NewReader(resp.Body)
	first := make(chan error, 1)
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				first <- err
				return
			}
			if strings.HasPrefix(line, "data:") {
				first <- nil
				return
			}
		}
	}()
	select {
	case err := <-first:
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event on the stream within 10s")
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		ended <- err
	}()

	start := time.Now()
	srv.signal(syscall.SIGTERM)
	if !srv.wait(8 * time.Second) {
		t.Fatalf("still running 8s after SIGTERM with a stream open:\n%s", srv.stderr)
	}
	took := time.Since(start)
	if code := srv.state.ExitCode(); code != 0 {
		t.Fatalf("exit %v after SIGTERM, want 0:\n%s", srv.state, srv.stderr)
	}
	if took > 3*time.Second {
		t.Errorf("shutdown took %v with a stream open; want prompt (the bound is docker and podman stop's 10s)", took)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the event stream was not closed by the shutdown")
	}
	if logs := srv.stderr.String(); !strings.Contains(logs, "msg=stopped") {
		t.Errorf("no \"stopped\" log line:\n%s", logs)
	}
	t.Logf("exited 0 %v after SIGTERM", took.Round(time.Millisecond))
}
