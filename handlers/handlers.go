// Package handlers is the web layer: the route table, the handlers of groups,
// issues and their rooms, and the middleware around them; who the request
// comes from (sessions, sign-in, the login guard, kept forms) is package
// signin, the helpers both share are package web, and the broker behind the
// live-update streams is package live.
package handlers

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"estimator/handlers/metrics"
	"estimator/live"
	"estimator/signin"
	"estimator/store"
	"estimator/tracker"
	"estimator/views"
	"estimator/web"
)

// upkeepStore is the part of the store used by the health and readiness checks
// and the maintenance loop.
type upkeepStore interface {
	Ping(ctx context.Context) error
	Purge(ctx context.Context, p store.SessionPolicy, keyAge time.Duration) (int64, error)
}

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
	// LoginRate and LoginBurst limit sign-in attempts per client address
	// (default 60 at once, then 1 a second: an office behind one address signs
	// in together at the start of a meeting).
	LoginRate  rate.Limit
	LoginBurst int
	// KeptFormsPerAddress forms sent while signed out are kept per client
	// address in KeptFormsWindow (default 20 in 15 minutes); past that, 429.
	KeptFormsPerAddress int
	KeptFormsWindow     time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string
	// BrowserKeyMaxAge is how long an unused browser key is kept.
	BrowserKeyMaxAge time.Duration
	// OIDC turns on sign-in with an OpenID Connect provider (Issuer set).
	OIDC signin.OIDCConfig
	// TrustedUserHeader is the header (e.g. X-Forwarded-User) in which a proxy of
	// TrustedProxies names the signed-in user; empty: off.
	TrustedUserHeader string
	// NoGuests refuses nickname-only sign-in; another scheme must be on.
	NoGuests bool
	// Trackers are the issue trackers groups may connect to (--trackers);
	// empty: none, and nothing is ever contacted.
	Trackers tracker.Allowed
	// TrackerTimeout bounds each call to a tracker (default 15s);
	// TrackerPoll is how often the outbox of estimates to write back is
	// looked at (default 2s).
	TrackerTimeout, TrackerPoll time.Duration
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
	if c.TrackerTimeout == 0 {
		c.TrackerTimeout = tracker.CallTimeout
	}
	if c.TrackerPoll == 0 {
		c.TrackerPoll = 2 * time.Second
	}
	if c.BrowserKeyMaxAge == 0 {
		c.BrowserKeyMaxAge = signin.DefaultBrowserKeyMaxAge
	}
}

// signin is the part of the configuration that says how people sign in.
func (c *Config) signin() signin.Config {
	return signin.Config{
		SecureCookies: c.SecureCookies, BaseURL: c.BaseURL, Sessions: c.Sessions,
		LoginRate: c.LoginRate, LoginBurst: c.LoginBurst,
		KeptFormsPerAddress: c.KeptFormsPerAddress, KeptFormsWindow: c.KeptFormsWindow,
		TrustedProxies: c.TrustedProxies, BrowserKeyMaxAge: c.BrowserKeyMaxAge,
		OIDC: c.OIDC, TrustedUserHeader: c.TrustedUserHeader, NoGuests: c.NoGuests,
	}
}

// CheckSignin refuses sign-in settings that cannot work (signin.Config.Check).
func (c *Config) CheckSignin() error {
	sc := c.signin()
	return sc.Check()
}

// Deps is what the web layer is built from.
type Deps struct {
	Store  *store.Store
	Assets fs.FS
	Logger *slog.Logger
	Config Config
	// Bus carries live-update notices between instances sharing a database;
	// nil serves this instance alone.
	Bus live.Bus
	// Changes is the relay given to store.Open as Options.Changes: the app
	// hears of every change the store commits through it.
	Changes *store.Relay
}

// appStore is the store as the web layer uses it: the union of what each of
// its parts declares it needs (groupStore in groups.go, issueStore in
// issues.go, …, and signin.Store), so that a part's file says what it touches.
type appStore interface {
	accessStore
	liveStore
	groupStore
	upkeepStore
	importStore
	issueStore
	generationStore
	Postgres() bool
	requestStore
	roomStore
	facilitatorsStore
	signin.Store
	languageStore
	aheadStore
	trackerStore
}

// App is the web application: an http.Handler with the live-update hub.
type App struct {
	engine  *gin.Engine
	st      appStore
	cfg     Config
	log     *slog.Logger
	assets  *assetServer
	pages   *web.Pages
	signin  *signin.Auth
	hub     *live.Broker
	changes *store.Relay
	cop     *http.CrossOriginProtection
	metrics *metrics.Metrics
	// trackers is nil unless the operator listed trackers (tracker.go).
	trackers *tracker.Client
	// homes are the "My Groups" pages last rendered (homecache.go).
	homes homeCache
	// roomPages are the room pages last rendered (roompage.go).
	roomPages roomPages

	closeOnce sync.Once
	stop      chan struct{}
	ready     readiness
}

// New builds the app with every route.
func New(d Deps) (*App, error) {
	d.Config.defaults()
	if d.Changes == nil {
		return nil, errors.New("handlers: Deps.Changes is required (the store.Relay given to store.Open)")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	assets, err := newAssetServer(d.Assets, d.Config.DevAssetsDir)
	if err != nil {
		return nil, err
	}
	a := &App{
		st:     d.Store,
		cfg:    d.Config,
		log:    d.Logger,
		assets: assets,
		pages: &web.Pages{Asset: assets.url, PublicURL: d.Config.BaseURL, Secure: d.Config.SecureCookies,
			User: signin.User, Log: d.Logger},
		cop:  http.NewCrossOriginProtection(),
		stop: make(chan struct{}),
	}
	a.metrics = metrics.New(metrics.Options{OpenStreams: func() int { return a.hub.Subscribers() }})
	// Sign-in first: settings that cannot work are refused before anything runs.
	sc := d.Config.signin()
	// One process serves an SQLite file: its notices need no row.
	sc.NoticesInMemory = !d.Store.Postgres()
	a.signin, err = signin.New(signin.Deps{
		Store:  d.Store,
		Config: sc,
		Logger: d.Logger,
		Pages:  a.pages,
		// The engine is built below; a kept form is sent after that.
		Router:      http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.engine.ServeHTTP(w, r) }),
		Replayed:    a.metrics.Replay,
		UploadRoute: routeImport,
		UploadMax:   importBodyMax,
	})
	if err != nil {
		return nil, err
	}
	a.hub = newHub(d.Store, d.Config, d.Logger, d.Bus)
	a.changes = d.Changes
	a.changes.Listen(a.committed)
	go a.runTimers()
	if len(d.Config.Trackers) > 0 {
		a.trackers = tracker.New(d.Config.Trackers, d.Config.TrackerTimeout)
		go a.runTrackerWrites()
	}
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
		r = r.Clone(context.WithValue(r.Context(), headKey{}, true))
		r.Method = http.MethodGet
		w = headWriter{w}
	}
	a.engine.ServeHTTP(w, r)
}

type headKey struct{}

// isHead tells a HEAD request (served as GET) from a GET, for the few answers
// that must hold nothing open for it (an event stream).
func isHead(c *gin.Context) bool { return c.Request.Context().Value(headKey{}) != nil }

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
		a.changes.Listen(nil)
		a.hub.Close()
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
		a.signin.Sweep()
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
	// The readiness probe likewise (ready.go).
	r.GET("/readyz", a.readyz)
	r.HEAD("/readyz", a.readyz)

	r.Use(web.ReadHTMX, a.observeRequests, a.logRequests, a.handleErrors, a.recoverPanics, a.securityHeaders, a.limitBody, a.crossOrigin,
		a.freshReads)
	r.Use(a.signin.Middleware()...)
	r.NoRoute(func(c *gin.Context) { web.Fail(c, web.ErrNotFound) })
	r.NoMethod(func(c *gin.Context) { web.Fail(c, web.ErrMethod) })

	r.GET("/healthz", a.health)
	r.GET("/assets/*file", a.assets.serve)

	// Signed-in routes are in auth: anyone else is sent to sign in, and a
	// signed-out POST (any form that changes something) is kept, to be sent
	// after sign-in once the person confirms it (signin/kept.go).
	auth := r.Group("", a.signin.RequireLogin(true))

	r.GET("/", a.home)
	// Signing in and out, the account page, the kept form's page.
	a.signin.Register(r)
	auth.POST("/account/language", a.setLanguage)

	auth.POST("/creategroup", a.createGroup)
	auth.POST(views.PathQuick, a.quickRoom)
	auth.GET("/join/:token", a.joinPage)
	auth.POST("/join/:token", a.joinPost)

	// A group's routes: members; the owner and the facilitators (the room and
	// the backlog); the owner alone (the group itself, its members, invite).
	group := auth.Group("/groups/:id", a.groupAccess(anyMember))
	run := auth.Group("/groups/:id", a.groupAccess(facilitates))
	owned := auth.Group("/groups/:id", a.groupAccess(ownerOnly))
	group.GET("", a.groupPage)
	run.POST("/issues", a.addIssue)
	run.POST("/quick", a.quickVote)
	owned.POST("/invite", a.replaceInvite)
	owned.POST("/rename", a.renameGroup)
	// Each irreversible POST has a GET at the same address that asks first:
	// where its button leads without JavaScript.
	owned.GET("/transfer", a.transferConfirmPage)
	owned.POST("/transfer", a.transferOwnership)
	owned.GET("/members/:uid/remove", a.removeConfirmPage)
	owned.POST("/members/:uid/remove", a.removeMember)
	owned.POST("/members/:uid/facilitator", a.setFacilitator)
	group.GET("/leave", a.leaveConfirmPage)
	group.POST("/leave", a.leaveGroup)
	owned.GET("/delete", a.deleteGroupPage)
	owned.POST("/delete", a.deleteGroup)
	group.POST("/role", a.setRole)
	owned.POST("/settings", a.saveSettings)
	group.GET("/room", a.groupRoom)
	group.GET("/ahead", a.aheadPage)
	run.POST("/ahead", a.openAhead)
	run.POST("/accept-consensus", a.acceptConsensus)
	run.POST("/import", a.importIssues)
	group.GET("/export.csv", a.exportCSV)
	group.GET("/export.json", a.exportJSON)
	// Issue trackers, when the operator listed some (tracker.go). The
	// connect form carries a token: signed out, it is not kept for after the
	// sign-in (kept forms are stored), only sent to sign in.
	if a.trackers != nil {
		r.POST(routeTrackerConnect, a.signin.RequireLogin(false), a.groupAccess(ownerOnly), a.connectTracker)
		owned.POST("/tracker/disconnect", a.disconnectTracker)
		run.POST("/tracker/import", a.importFromTracker)
	}

	// An issue's routes, likewise: members of its group, and those who run
	// the meeting (the owner and the facilitators).
	issue := auth.Group("/issues/:id", a.issueAccess(anyMember))
	runIssue := auth.Group("/issues/:id", a.issueAccess(facilitates))
	issue.GET("", a.issueStatus)
	issue.GET("/estimate", a.estimatePage)
	// A vote's own transaction checks the voter's membership (estimatePost).
	auth.POST("/issues/:id/estimate", a.estimatePost)
	runIssue.POST("/reveal", a.reveal)
	runIssue.POST("/accept", a.accept)
	runIssue.POST("/revote", a.revote)
	runIssue.POST("/start", a.startIssue)
	runIssue.POST("/timer", a.setTimer)
	runIssue.GET("/edit", a.editIssuePage)
	runIssue.POST("/edit", a.editIssue)
	runIssue.GET("/delete", a.deleteIssuePage)
	runIssue.POST("/delete", a.deleteIssue)
	if a.trackers != nil {
		runIssue.POST("/tracker/retry", a.retryTrackerWrite)
	}
	// The event streams do their own sign-in check: a stream must answer in SSE.
	// A note after the reveal is not kept for a sign-in (kept_test.go: notKept).
	r.POST("/issues/:id/note", a.signin.RequireLogin(false), a.issueAccess(anyMember), a.addNote)
	r.GET("/issues/:id/events", a.events)
	r.GET("/groups/:id/events", a.groupEvents)
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
