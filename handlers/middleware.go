package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"estimator/store"
)

// requestStore is the part of the store used by the middleware.
type requestStore interface {
	ConfirmBrowserKey(ctx context.Context, browserKey string) error
	Fresh(ctx context.Context) context.Context
}

const userKey = "estimator.user"

// currentUser is the request's user: a signed-in user or store.Anonymous.
func currentUser(c *gin.Context) store.User {
	if u, ok := c.Get(userKey); ok {
		return u.(store.User)
	}
	return store.Anonymous
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
	if isHTMX(c) {
		attrs = append(attrs, slog.Bool("htmx", true))
	}
	if isReplay(c) {
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
			a.fail(c, errInternal)
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
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if a.cfg.SecureCookies {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// limitBody caps every request body (the route's bodyLimit); reading past the
// cap fails with *http.MaxBytesError, which answers 413.
func (a *App) limitBody(c *gin.Context) {
	limit := a.bodyLimit(c)
	if c.Request.ContentLength > limit {
		a.fail(c, errTooLarge)
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
		a.fail(c, errCrossSite)
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

// loadUser puts the current user (or the anonymous user) in the context. A
// session that cannot be read fails closed: 503, and nothing is written over it.
func (a *App) loadUser(c *gin.Context) {
	_, st := session(c)
	if st.err != nil {
		a.fail(c, st.err)
		return
	}
	st.addr = c.ClientIP()
	c.Set(userKey, st.user)
	if st.user.IsAuthenticated() {
		c.Header("Cache-Control", "no-store")
		a.confirmBrowserKey(c)
	}
	c.Next()
}

// confirmBrowserKey: the first request of a session signed in with a fresh
// browser key carries that key, so the browser has it, and the key it had
// before stops proving its nicknames. Before this request, a sign-in whose
// answer was lost leaves the browser able to sign in again with the old one.
func (a *App) confirmBrowserKey(c *gin.Context) {
	s, _ := session(c)
	if s.Get(keyUnconfirmed) == nil {
		return
	}
	if k := a.existingBrowserKey(c); k != "" {
		if err := a.st.ConfirmBrowserKey(c.Request.Context(), k); err != nil {
			a.log.Warn("browser key not confirmed", "err", err)
			return // tried again with the next request
		}
	}
	s.Delete(keyUnconfirmed)
	if err := saveSession(c); err != nil {
		a.log.Warn("session not saved", "err", err)
	}
}

// ipLimiter is a token bucket per client address.
type ipLimiter struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	m     map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(r rate.Limit, burst int) *ipLimiter {
	return &ipLimiter{r: r, burst: burst, m: map[string]*limiterEntry{}}
}

// allow reports whether the client at ip may go on, or how long it should
// wait. Every limit counts addressKey(ip): one IPv6 /64 is one address.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	key := addressKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[key]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(l.r, l.burst)}
		l.m[key] = e
	}
	e.seen = time.Now()
	res := e.lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, d
	}
	return true, 0
}

// addressKey is the client address a per-address limit counts: an IPv6 client
// usually holds a whole /64, so its addresses count as one; an IPv4 address
// written as IPv6 (::ffff:192.0.2.1) is that IPv4 address, and a zone is
// dropped.
func addressKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// sweep forgets addresses not seen for a while.
func (l *ipLimiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, e := range l.m {
		if time.Since(e.seen) > 10*time.Minute {
			delete(l.m, ip)
		}
	}
}
