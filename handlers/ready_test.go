package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A container platform asks /readyz whether to send traffic here: yes while the
// database takes writes, no while it fails (the app recovers by itself), and no
// from the moment a shutdown starts draining, while liveness and health stay
// green so the platform does not kill the instance mid-drain. A probe every
// few seconds leaves no log line and no session.
func TestReadinessTurnsOffWhenDrainingOrTheDatabaseFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ta := newTestApp(t)
	c := ta.client()
	r := c.get("/readyz").wantStatus(http.StatusOK)
	if r.body != "ok\n" || r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("/readyz: %q %v", r.body, r.header)
	}
	if len(r.header.Values("Set-Cookie")) != 0 || len(c.cookies) != 0 {
		t.Errorf("a readiness probe got a cookie: %v", r.header.Values("Set-Cookie"))
	}
	if strings.Contains(ta.logs.String(), "/readyz") {
		t.Errorf("a readiness probe left a request log line:\n%s", ta.logs)
	}

	must(t, ta.st.SetReadOnly(ctx, true))
	ta.clock.Advance(2 * time.Second) // past the write probe's cache
	if got := c.get("/readyz"); got.status != http.StatusServiceUnavailable || got.body != "unavailable\n" {
		t.Fatalf("/readyz with a read-only database: %d %q", got.status, got.body)
	}
	must(t, ta.st.SetReadOnly(ctx, false))
	ta.clock.Advance(11 * time.Second)
	c.get("/readyz").wantStatus(http.StatusOK)

	ta.app.Drain()
	if got := c.get("/readyz"); got.status != http.StatusServiceUnavailable || got.body != "shutting down\n" {
		t.Fatalf("/readyz while draining: %d %q", got.status, got.body)
	}
	c.do(http.MethodHead, "/readyz", nil, "").wantStatus(http.StatusServiceUnavailable)
	// Still alive and healthy, and still serving what is in flight.
	c.get("/livez").wantStatus(http.StatusOK)
	c.get("/healthz").wantStatus(http.StatusOK)
	c.login("Drain-time visitor")
	c.get("/").wantStatus(http.StatusOK)
}
