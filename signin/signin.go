// Package signin is who a request comes from: the session (gin-contrib/sessions
// over the store), the current user and the login guard, and every way in and
// out: nickname sign-in, personal sign-in links, OpenID Connect, a trusted
// proxy's header, the account page and sign-out; with the forms sent while
// signed out, kept and sent after the sign-in on the person's own click.
//
// The web layer (package handlers) builds an Auth with New, puts Middleware
// before its routes, guards its routes with RequireLogin, lets Register add the
// sign-in routes, and reads the current user with User.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// Store is the part of the store sign-in uses: the union of what each of its
// files declares (authStore in auth.go, identityStore in identity.go, …).
type Store interface {
	authStore
	identityStore
	keptStore
	sessionRecords
	ConfirmBrowserKey(ctx context.Context, browserKey string) error
}

// Config is how people sign in; the web layer's Config carries it from flags.
type Config struct {
	// SecureCookies marks cookies Secure with the __Host- prefix (app behind TLS).
	SecureCookies bool
	// BaseURL is the public scheme://host; the OpenID Connect provider sends
	// people back to it.
	BaseURL string
	// Sessions is the session lifetime policy.
	Sessions store.SessionPolicy
	// LoginRate and LoginBurst limit sign-in attempts per client address
	// (default 60 at once, then 1 a second: an office behind one address signs
	// in together at the start of a meeting).
	LoginRate  rate.Limit
	LoginBurst int
	// KeptFormsPerAddress forms sent while signed out are kept per client
	// address in KeptFormsWindow (default 20 in 15 minutes); past that, 429.
	KeptFormsPerAddress int
	KeptFormsWindow     time.Duration
	// TrustedProxies are the proxies whose trusted user header is believed.
	TrustedProxies []string
	// BrowserKeyMaxAge is how long an unused browser key is kept (its cookie's age).
	BrowserKeyMaxAge time.Duration
	// OIDC turns on sign-in with an OpenID Connect provider (Issuer set).
	OIDC OIDCConfig
	// TrustedUserHeader is the header (e.g. X-Forwarded-User) in which a proxy of
	// TrustedProxies names the signed-in user; empty: off.
	TrustedUserHeader string
	// NoGuests refuses nickname-only sign-in; another scheme must be on.
	NoGuests bool
	// NoticesInMemory keeps the sessions' one-time notices in this process,
	// not in their rows: for one process serving alone (noticeboard.go).
	NoticesInMemory bool
}

func (c *Config) defaults() {
	if c.Sessions == (store.SessionPolicy{}) {
		c.Sessions = store.DefaultSessionPolicy
	}
	if c.LoginRate == 0 {
		c.LoginRate = rate.Every(time.Second)
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = 60
	}
	if c.KeptFormsPerAddress == 0 {
		c.KeptFormsPerAddress = 20
	}
	if c.KeptFormsWindow == 0 {
		c.KeptFormsWindow = store.KeptFormTTL
	}
	if c.BrowserKeyMaxAge == 0 {
		c.BrowserKeyMaxAge = DefaultBrowserKeyMaxAge
	}
}

// DefaultBrowserKeyMaxAge is how long an unused browser key is kept unless
// configured.
const DefaultBrowserKeyMaxAge = 400 * 24 * time.Hour

// Deps is what sign-in is built from.
type Deps struct {
	Store  Store
	Config Config
	Logger *slog.Logger
	// Pages renders the sign-in pages in the app's chrome.
	Pages *web.Pages
	// Router is the whole app: a kept form is sent again through it, with
	// every check any request gets.
	Router http.Handler
	// Replayed is told of every kept form sent again (the metrics).
	Replayed func()
	// UploadRoute is the one route (a gin pattern) that takes
	// multipart/form-data, with bodies up to UploadMax: signed out, its fields
	// are kept, and a file is refused.
	UploadRoute string
	UploadMax   int64
}

// Auth is sign-in for the web layer.
type Auth struct {
	st       Store
	cfg      Config
	log      *slog.Logger
	pages    *web.Pages
	router   http.Handler
	replayed func()
	upload   string
	maxBody  int64
	sessions *sessionStore
	// limiter limits sign-in attempts per client address; keeps, the forms
	// kept per client address.
	limiter, keeps *ipLimiter
	// oidc is nil unless OpenID Connect is configured; proxies are the
	// addresses whose trusted user header is believed.
	oidc            *oidcClient
	proxies         []netip.Prefix
	untrustedHeader sync.Once
}

// New builds sign-in; a Config that cannot work is refused (Check).
func New(d Deps) (*Auth, error) {
	d.Config.defaults()
	if err := d.Config.Check(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Replayed == nil {
		d.Replayed = func() {}
	}
	cfg := d.Config
	a := &Auth{
		st: d.Store, cfg: cfg, log: d.Logger, pages: d.Pages, router: d.Router, replayed: d.Replayed,
		upload: d.UploadRoute, maxBody: d.UploadMax,
		limiter: newIPLimiter(cfg.LoginRate, cfg.LoginBurst),
		keeps:   newIPLimiter(rate.Every(cfg.KeptFormsWindow/time.Duration(cfg.KeptFormsPerAddress)), cfg.KeptFormsPerAddress),
	}
	a.sessions = newSessionStore(d.Store, cfg, a.keeps)
	if cfg.OIDC.Issuer != "" {
		a.oidc = newOIDCClient(cfg.OIDC, cfg.BaseURL)
	}
	var err error
	if a.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	return a, nil
}

// Check refuses sign-in settings that cannot work: a provider without what it
// needs, a header believed from nobody, guests off with nothing else on.
func (c *Config) Check() error {
	if c.OIDC.Issuer != "" {
		if c.OIDC.ClientID == "" {
			return errors.New("--oidc-issuer needs --oidc-client-id")
		}
		if c.BaseURL == "" {
			return errors.New("--oidc-issuer needs --base-url: the provider sends people back to <base-url>" + OIDCCallbackPath)
		}
	}
	if c.TrustedUserHeader != "" && len(c.TrustedProxies) == 0 {
		return errors.New("--trusted-user-header needs --trusted-proxies: the header is believed only from those addresses")
	}
	if c.NoGuests && c.OIDC.Issuer == "" && c.TrustedUserHeader == "" {
		return errors.New("--guests=false would leave no way to sign in: also set --oidc-issuer or --trusted-user-header")
	}
	return nil
}

// Middleware reads the session and puts the current user in the context (and,
// with a trusted user header configured, signs in the user the proxy names).
// It runs before every route but the probes.
func (a *Auth) Middleware() []gin.HandlerFunc {
	m := []gin.HandlerFunc{sessions.Sessions(a.sessions.cookieName, a.sessions), a.loadUser}
	if a.cfg.TrustedUserHeader != "" {
		m = append(m, a.trustedUser)
	}
	return m
}

// Register adds the routes of signing in and out, the account page and the
// kept form's page. Only signing out and the kept form's own page are not
// kept when sent signed out: signed out already, there is nothing to sign out
// of, and a kept form is not kept again.
func (a *Auth) Register(r gin.IRouter) {
	login := a.RequireLogin(false)
	auth := r.Group("", a.RequireLogin(true))
	r.GET("/login", a.loginPage)
	r.POST("/login", a.loginPost)
	r.GET("/login/oidc", a.oidcStart)
	r.GET("/login/oidc/callback", a.oidcCallback)
	r.POST("/login/choose", a.chooseNickname)
	r.GET("/signin/:token", a.signinLinkPage)
	r.POST("/signin/:token", a.signinLinkPost)
	auth.GET("/account", a.account)
	auth.POST("/account/signin-link", a.replaceSigninLink)
	auth.POST("/account/forget-browser", a.forgetBrowser)
	r.POST("/account/signout-everywhere", login, a.signOutEverywhere)
	auth.POST("/account/browsers/:id/revoke", a.revokeBrowser)
	auth.GET("/confirm-logout", a.logoutPage)
	r.POST("/confirm-logout", login, a.logoutPost)
	r.GET(views.PathKept, login, a.keptPage)
	r.POST(views.PathKept, login, a.keptPost)
}

// Sweep forgets the addresses the per-address limits have not seen for a
// while (run with the maintenance).
func (a *Auth) Sweep() {
	a.limiter.sweep()
	a.keeps.sweep()
}

// SessionCookie and KeyCookie are the names of the session's cookie and the
// browser key's.
// lang is the language of this request's answer (and of the notice it sets).
func (a *Auth) lang(c *gin.Context) i18n.Lang { return web.PageLang(c, User(c)) }

func (a *Auth) SessionCookie() string { return a.sessions.cookieName }
func (a *Auth) KeyCookie() string     { return a.sessions.keyCookie }

const userKey = "estimator.user"

// User is the request's user: a signed-in user or store.Anonymous.
func User(c *gin.Context) store.User {
	if u, ok := c.Get(userKey); ok {
		return u.(store.User)
	}
	return store.Anonymous
}

// SessionID is the row id of the request's session (0: not stored).
func SessionID(c *gin.Context) int64 {
	_, st := session(c)
	return st.rec.ID
}

// loadUser puts the current user (or the anonymous user) in the context. A
// session that cannot be read fails closed: 503, and nothing is written over it.
func (a *Auth) loadUser(c *gin.Context) {
	_, st := session(c)
	if st.err != nil {
		web.Fail(c, st.err)
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
func (a *Auth) confirmBrowserKey(c *gin.Context) {
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
