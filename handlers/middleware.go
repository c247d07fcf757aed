package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/web"
)

// requestStore is the part of the store used by the middleware.
type requestStore interface {
	Fresh(ctx context.Context) context.Context
}

// logRequests writes one structured line per request: method, route, status,
// duration. Never a cookie, a session id or a token: routes that carry a token
// in their path are logged by their pattern only.
func (a *App) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", time.Since(start)),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
	}
	// An unmatched route (404, 405: a link checker's HEAD) may still carry one.
	if p := c.Request.URL.Path; !strings.Contains(route, ":token") && !strings.Contains(p, "/join/") && !strings.Contains(p, "/signin/") {
		attrs = append(attrs, slog.String("path", p))
	}
	if web.IsHTMX(c) {
		attrs = append(attrs, slog.Bool("htmx", true))
	}
	if signin.IsReplay(c) {
		attrs = append(attrs, slog.Bool("replay", true))
	}
	a.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs...)
}

// recoverPanics turns a panic into a logged stack and a 500 answer, which the
// error middleware (outside this one) renders.
func (a *App) recoverPanics(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.log.Error("panic", "route", c.FullPath(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			c.Errors = c.Errors[:0]
			web.Fail(c, web.ErrInternal)
		}
	}()
	c.Next()
}

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders go on every answer.
func (a *App) securityHeaders(c *gin.Context) {
	a.setSecurityHeaders(c.Writer.Header())
	c.Next()
}

func (a *App) setSecurityHeaders(h http.Header) {
	for _, kv := range securityHeaderValues {
		h[kv.key] = kv.value
	}
	if a.cfg.SecureCookies {
		h["Strict-Transport-Security"] = hstsValue
	}
}

// securityHeaderValues are the headers every answer gets, by their canonical
// names, each value one slice shared by every answer (full: appending to one
// copies it; nothing writes into them): five allocations fewer per request
// than Header.Set.
var (
	securityHeaderValues = []struct {
		key   string
		value []string
	}{
		{"Content-Security-Policy", []string{csp}},
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"Referrer-Policy", []string{"same-origin"}},
		{"X-Frame-Options", []string{"DENY"}},
		{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
	}
	hstsValue = []string{"max-age=31536000"}
)

// limitBody caps every request body (the route's bodyLimit); reading past the
// cap fails with *http.MaxBytesError, which answers 413.
func (a *App) limitBody(c *gin.Context) {
	limit := a.bodyLimit(c)
	if c.Request.ContentLength > limit {
		web.Fail(c, web.ErrTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// crossOrigin refuses state-changing requests from other origins (Go's
// CrossOriginProtection: Sec-Fetch-Site, then Origin against Host). It runs
// before sessions, so a refused request changes and keeps nothing.
func (a *App) crossOrigin(c *gin.Context) {
	if err := a.cop.Check(c.Request); err != nil {
		web.Fail(c, web.ErrCrossSite)
		return
	}
	c.Next()
}

// freshReads marks the request for the store's cache (store.Fresh): at its
// first read the store checks whether the database changed since it last
// looked, and the session lookup and the page's reads may then come from the
// cache, and still see every change committed before this request arrived, by
// this process or another.
func (a *App) freshReads(c *gin.Context) {
	c.Request = c.Request.WithContext(a.st.Fresh(c.Request.Context()))
	c.Next()
}
