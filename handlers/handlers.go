// Package handlers is the web layer: gin routes, handlers and middleware (current
// user, login protection and form replay, htmx helpers, live updates).
package handlers

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"estimator/store"
)

// Config is the web layer's configuration; main fills it from flags and env.
type Config struct {
	// SecureCookies marks cookies Secure with the __Host- prefix (app behind TLS).
	SecureCookies bool
	// BaseURL is the public scheme://host for links people copy (invite links);
	// empty means taken from each request.
	BaseURL string
	// Sessions is the session lifetime policy.
	Sessions store.SessionPolicy
	// DevAssetsDir, when set, serves assets from this folder with no-store, so
	// edits show without a rebuild.
	DevAssetsDir string
	// MaxBodyBytes caps every request body (default 1 MiB).
	MaxBodyBytes int64
	// MaxStreams caps open event streams in total, MaxStreamsPerSession per
	// browser session.
	MaxStreams, MaxStreamsPerSession int
	// StreamHeartbeat is how often an idle event stream gets a comment and a
	// session check (default 15s).
	StreamHeartbeat time.Duration
	// LoginRate and LoginBurst limit sign-in attempts per client address.
	LoginRate  rate.Limit
	LoginBurst int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string
	// BrowserKeyMaxAge is how long an unused browser key is kept.
	BrowserKeyMaxAge time.Duration
}

func (c *Config) defaults() {
	if c.Sessions == (store.SessionPolicy{}) {
		c.Sessions = store.DefaultSessionPolicy
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = 10000
	}
	if c.MaxStreamsPerSession == 0 {
		c.MaxStreamsPerSession = 16
	}
	if c.StreamHeartbeat == 0 {
		c.StreamHeartbeat = 15 * time.Second
	}
	if c.LoginRate == 0 {
		c.LoginRate = rate.Every(time.Second)
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = 20
	}
	if c.BrowserKeyMaxAge == 0 {
		c.BrowserKeyMaxAge = 400 * 24 * time.Hour
	}
}

// Deps is what the web layer is built from.
type Deps struct {
	Store  *store.Store
	Assets fs.FS
	Logger *slog.Logger
	Config Config
}

// App is the web application: an http.Handler with the live-update hub.
type App struct {
	engine   *gin.Engine
	st       *store.Store
	cfg      Config
	log      *slog.Logger
	assets   *assetServer
	sessions *sessionStore
	hub      *hub
	limiter  *ipLimiter
	cop      *http.CrossOriginProtection

	closeOnce sync.Once
	stop      chan struct{}
}

// New builds the app with every route.
func New(d Deps) (*App, error) {
	d.Config.defaults()
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	assets, err := newAssetServer(d.Assets, d.Config.DevAssetsDir)
	if err != nil {
		return nil, err
	}
	a := &App{
		st:      d.Store,
		cfg:     d.Config,
		log:     d.Logger,
		assets:  assets,
		limiter: newIPLimiter(d.Config.LoginRate, d.Config.LoginBurst),
		cop:     http.NewCrossOriginProtection(),
		stop:    make(chan struct{}),
	}
	a.sessions = newSessionStore(d.Store, d.Config)
	a.hub = newHub(a)
	go a.runTimers()
	a.engine = a.routes()
	if err := a.engine.SetTrustedProxies(d.Config.TrustedProxies); err != nil {
		return nil, err
	}
	return a, nil
}

// ServeHTTP serves a request. HEAD is answered as GET without the body (the
// server drops it), so link checkers and monitors see what a browser would.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(r.Context())
		r.Method = http.MethodGet
		w = headWriter{w}
	}
	a.engine.ServeHTTP(w, r)
}

// headWriter drops the body of an answer to HEAD.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error)       { return len(p), nil }
func (w headWriter) WriteString(s string) (int, error) { return len(s), nil }
func (w headWriter) Unwrap() http.ResponseWriter       { return w.ResponseWriter }
func (w headWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Close ends every open event stream so a graceful shutdown does not wait on
// them, and stops background work.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		close(a.stop)
		a.hub.closeAll()
	})
}

// RunMaintenance purges expired sessions, kept forms and stale browser keys every
// interval until ctx ends or the app closes.
func (a *App) RunMaintenance(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := a.st.Purge(ctx, a.cfg.Sessions, a.cfg.BrowserKeyMaxAge); err != nil && ctx.Err() == nil {
			a.log.Warn("purge failed", "err", err)
		} else if n > 0 {
			a.log.Info("purged expired rows", "rows", n)
		}
		a.limiter.sweep()
		select {
		case <-ctx.Done():
			return
		case <-a.stop:
			return
		case <-t.C:
		}
	}
}

// Route patterns. Views build the matching URLs (views/paths.go).
func (a *App) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true

	// Registered before the middleware, so it runs none of it: the cheapest
	// answer the server gives (no session, no database, no log line). Load runs
	// measure the other paths against it; /healthz is the real health check.
	r.GET("/livez", a.livez)
	r.HEAD("/livez", a.livez)

	r.Use(a.logRequests, a.handleErrors, a.recoverPanics, a.securityHeaders, a.limitBody, a.crossOrigin,
		sessions.Sessions(a.sessions.cookieName, a.sessions), a.loadUser)
	r.NoRoute(func(c *gin.Context) { a.fail(c, errNotFound) })
	r.NoMethod(func(c *gin.Context) { a.fail(c, errMethod) })

	r.GET("/healthz", a.health)
	r.GET("/assets/*file", a.assets.serve)

	login := a.requireLogin(false)
	replayable := a.requireLogin(true)

	r.GET("/", a.home)
	r.GET("/login", a.loginPage)
	r.POST("/login", a.loginPost)
	r.GET("/signin/:token", a.signinLinkPage)
	r.POST("/signin/:token", a.signinLinkPost)
	r.GET("/account", login, a.account)
	r.POST("/account/signin-link", login, a.replaceSigninLink)
	r.POST("/account/forget-browser", login, a.forgetBrowser)
	r.POST("/account/signout-everywhere", login, a.signOutEverywhere)
	r.GET("/confirm-logout", login, a.logoutPage)
	r.POST("/confirm-logout", login, a.logoutPost)

	r.POST("/creategroup", replayable, a.createGroup)
	r.GET("/join/:token", login, a.joinPage)
	r.POST("/join/:token", replayable, a.joinPost)

	member, owner := a.groupAccess(false), a.groupAccess(true)
	r.GET("/groups/:id", login, member, a.groupPage)
	r.POST("/groups/:id/issues", replayable, owner, a.addIssue)
	r.POST("/groups/:id/invite", login, owner, a.replaceInvite)
	r.POST("/groups/:id/rename", login, owner, a.renameGroup)
	r.POST("/groups/:id/transfer", login, owner, a.transferOwnership)
	r.POST("/groups/:id/members/:uid/remove", login, owner, a.removeMember)
	r.POST("/groups/:id/leave", login, member, a.leaveGroup)
	r.POST("/groups/:id/role", login, member, a.setRole)
	r.POST("/groups/:id/settings", login, owner, a.saveSettings)
	r.GET("/groups/:id/room", login, member, a.groupRoom)
	// Like the issue's stream, it does its own sign-in check.
	r.GET("/groups/:id/events", a.groupEvents)
	r.GET("/groups/:id/delete", login, owner, a.deleteGroupPage)
	r.POST("/groups/:id/delete", login, owner, a.deleteGroup)

	imember, iowner := a.issueAccess(false), a.issueAccess(true)
	r.GET("/issues/:id", login, imember, a.issueStatus)
	r.GET("/issues/:id/estimate", login, imember, a.estimatePage)
	r.POST("/issues/:id/estimate", replayable, imember, a.estimatePost)
	r.POST("/issues/:id/reveal", login, iowner, a.reveal)
	r.POST("/issues/:id/accept", login, iowner, a.accept)
	r.POST("/issues/:id/revote", login, iowner, a.revote)
	r.POST("/issues/:id/start", login, iowner, a.startIssue)
	r.POST("/issues/:id/timer", login, iowner, a.setTimer)
	r.GET("/issues/:id/edit", login, iowner, a.editIssuePage)
	r.POST("/issues/:id/edit", login, iowner, a.editIssue)
	r.POST("/issues/:id/delete", login, iowner, a.deleteIssue)
	// The event stream does its own sign-in check: a stream must answer in SSE.
	r.GET("/issues/:id/events", a.events)
	return r
}

var livezBody = []byte("ok\n")

// livez answers that the process serves HTTP, and nothing more. It runs no
// middleware, so it sets the security headers every answer carries itself.
func (a *App) livez(c *gin.Context) {
	a.setSecurityHeaders(c.Writer.Header())
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", livezBody)
}

func (a *App) health(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	c.Header("Cache-Control", "no-store")
	if err := a.st.Ping(ctx); err != nil {
		a.log.Warn("health check failed", "err", err)
		c.String(http.StatusServiceUnavailable, "unavailable\n")
		return
	}
	c.String(http.StatusOK, "ok\n")
}
