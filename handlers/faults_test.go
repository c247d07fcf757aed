package handlers

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"estimator/store"
)

// A database that stops taking writes gives clear 503 pages and a failing
// /healthz, never a crash, and the app recovers by itself when the fault clears.
func TestDatabaseFaultsGive503AndRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		inject, heal func(t *testing.T, ta *testApp)
	}{
		{
			name:   "read-only database",
			inject: func(t *testing.T, ta *testApp) { must(t, ta.st.SetReadOnly(ctx, true)) },
			heal:   func(t *testing.T, ta *testApp) { must(t, ta.st.SetReadOnly(ctx, false)) },
		},
		{
			name: "disk full",
			inject: func(t *testing.T, ta *testApp) {
				n, err := ta.st.PageCount(ctx)
				must(t, err)
				must(t, ta.st.SetMaxPages(ctx, n))
			},
			heal: func(t *testing.T, ta *testApp) { must(t, ta.st.SetMaxPages(ctx, 0)) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t)
			c := ta.client()
			c.login("Faye")
			tc.inject(t, ta)
			// Big enough to need new pages when the disk is "full".
			name := strings.Repeat("Backend ", 10)[:80]
			refused := false
			for i := 0; i < 500 && !refused; i++ {
				r := c.post("/creategroup", url.Values{"name": {name}})
				if r.status == http.StatusSeeOther {
					continue // still fitting in free space; keep writing
				}
				refused = true
				if r.status != http.StatusServiceUnavailable {
					t.Fatalf("write %d during the fault: status %d, want 503", i, r.status)
				}
				if r.header.Get("Retry-After") == "" || !r.has("error") {
					t.Fatalf("503 without Retry-After or error page: %s", truncate(r.body, 500))
				}
			}
			if !refused {
				t.Fatal("500 writes went through during the fault")
			}
			if got := c.get("/healthz").status; got != http.StatusServiceUnavailable {
				t.Fatalf("/healthz during the fault: %d", got)
			}
			// Reading still works.
			if r := c.get("/"); r.status != http.StatusOK || !r.has("nav-signout") {
				t.Fatalf("reading during the fault: %d", r.status)
			}
			// htmx gets the message as a notice fragment, not a page.
			h := c.htmxFrom("/").post("/creategroup", url.Values{"name": {name}})
			if h.status == http.StatusServiceUnavailable && (h.header.Get("HX-Retarget") != "#notice" || h.has("nav-signout")) {
				t.Fatalf("htmx 503 is not a notice fragment: %v %s", h.header, truncate(h.body, 300))
			}
			tc.heal(t, ta)
			c.post("/creategroup", url.Values{"name": {"After the fault"}}).wantStatus(http.StatusSeeOther)
			// Health turns green by itself once writes stopped failing for a while.
			ta.clock.Advance(11 * time.Second)
			if got := c.get("/healthz").status; got != http.StatusOK {
				t.Fatalf("/healthz after the fault cleared: %d", got)
			}
		})
	}
}

// Another process holding the write lock longer than the busy timeout gives a
// clear 503 after the timeout, not a hang; reads go on meanwhile.
func TestDatabaseLockedElsewhereGives503(t *testing.T) {
	t.Parallel()
	ta := newTestAppWith(t, store.Options{BusyTimeout: 200 * time.Millisecond})
	c := ta.client()
	c.login("Gil")
	other, err := sql.Open("sqlite", store.DSN(ta.st.Path(), time.Second, false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	lock, err := other.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE via the DSN
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("INSERT INTO users (nickname, nickname_key, created_at) VALUES ('lock', 'lock', 0)"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := c.post("/creategroup", url.Values{"name": {"Locked out"}})
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("write under a foreign lock: %d", r.status)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v: the request hung", d)
	}
	if !strings.Contains(r.text("error"), "try again") {
		t.Fatalf("503 page says %q", r.text("error"))
	}
	if got := c.get("/").status; got != http.StatusOK {
		t.Fatalf("read under a foreign write lock: %d", got)
	}
	if got := c.get("/healthz").status; got != http.StatusServiceUnavailable {
		t.Fatalf("/healthz under a foreign lock: %d", got)
	}
	lock.Rollback()
	c.post("/creategroup", url.Values{"name": {"Unlocked"}}).wantStatus(http.StatusSeeOther)
	ta.clock.Advance(11 * time.Second)
	if got := c.get("/healthz").status; got != http.StatusOK {
		t.Fatalf("/healthz after the lock went: %d", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHealthzFollowsAHealedDatabaseWithinASecond: once the database takes
// writes again, /healthz says so within a second (it said 503 for seconds
// after writes already worked); while it does not, /healthz says 503 even
// though a small write may still fit (a full disk).
func TestHealthzFollowsAHealedDatabaseWithinASecond(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		inject, heal func(t *testing.T, ta *testApp)
	}{
		{
			name:   "read-only database",
			inject: func(t *testing.T, ta *testApp) { must(t, ta.st.SetReadOnly(ctx, true)) },
			heal:   func(t *testing.T, ta *testApp) { must(t, ta.st.SetReadOnly(ctx, false)) },
		},
		{
			name: "disk full",
			inject: func(t *testing.T, ta *testApp) {
				n, err := ta.st.PageCount(ctx)
				must(t, err)
				must(t, ta.st.SetMaxPages(ctx, n))
			},
			heal: func(t *testing.T, ta *testApp) { must(t, ta.st.SetMaxPages(ctx, 0)) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t)
			c := ta.client()
			c.login("Hale Okonkwo-Lindqvist 32 chars")
			c.get("/healthz").wantStatus(http.StatusOK)
			tc.inject(t, ta)
			name := strings.Repeat("Backend ", 10)[:80]
			for i := 0; i < 500 && c.post("/creategroup", url.Values{"name": {name}}).status == http.StatusSeeOther; i++ {
			}
			for range 3 {
				ta.clock.Advance(time.Second) // probes again: the fault holds
				if got := c.get("/healthz").status; got != http.StatusServiceUnavailable {
					t.Fatalf("/healthz during the fault: %d", got)
				}
			}
			tc.heal(t, ta)
			c.post("/creategroup", url.Values{"name": {"After the fault"}}).wantStatus(http.StatusSeeOther)
			ta.clock.Advance(time.Second)
			if got := c.get("/healthz").status; got != http.StatusOK {
				t.Fatalf("/healthz a second after writes work again: %d", got)
			}
		})
	}
}
