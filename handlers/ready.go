package handlers

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// readiness is whether this instance should be sent traffic: true from the
// start (the schema is migrated before the server listens) until Drain.
type readiness struct{ draining atomic.Bool }

// Drain turns GET /readyz to 503 at the start of a graceful shutdown, so a
// load balancer or container platform stops sending traffic here while the
// requests and event streams in flight go on.
func (a *App) Drain() { a.ready.draining.Store(true) }

var (
	readyBody    = []byte("ok\n")
	drainingBody = []byte("shutting down\n")
	notReadyBody = []byte("unavailable\n")
)

// readyz is the readiness probe: 200 while the instance serves and its
// database answers reads and takes writes (as /healthz), 503 once it drains or
// while the database fails. Like /livez it runs no middleware: no session, no
// log line for a probe every few seconds.
func (a *App) readyz(c *gin.Context) {
	a.setSecurityHeaders(c.Writer.Header())
	c.Header("Cache-Control", "no-store")
	if a.ready.draining.Load() {
		c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8", drainingBody)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := a.st.Ping(ctx); err != nil {
		a.log.Warn("readiness check failed", "err", err)
		c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8", notReadyBody)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", readyBody)
}
