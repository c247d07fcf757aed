package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// OIDCConfig turns on sign-in with an OpenID Connect provider (when Issuer is
// set).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read from
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are this app's registration at the provider; the
	// secret may be empty for a public client (PKCE protects the code either way).
	ClientID, ClientSecret string
	// Name labels the button: "Sign in with <Name>".
	Name string
	// HTTPClient makes the calls to the provider (discovery, token, keys);
	// default: a client with a 10-second timeout.
	HTTPClient *http.Client
}

// OIDCCallbackPath is where the provider sends the browser back; the redirect
// URL registered at the provider is the base URL followed by it.
const OIDCCallbackPath = views.PathLoginOIDCCallback

// oidcScopes: openid for the ID token, profile for preferred_username.
var oidcScopes = []string{oidc.ScopeOpenID, "profile"}

// oidcClient talks to the provider. Discovery happens on first use and is kept
// once it succeeds, so the app starts (and guests sign in) while the provider is
// unreachable.
type oidcClient struct {
	cfg         OIDCConfig
	redirectURL string

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(cfg OIDCConfig, baseURL string) *oidcClient {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	return &oidcClient{cfg: cfg, redirectURL: baseURL + OIDCCallbackPath}
}

// ctx makes the oauth2 and oidc packages use the configured HTTP client.
func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

var errProviderDown = web.NewErrorID(http.StatusServiceUnavailable, "error.provider_down", nil)

// setup returns the OAuth 2 configuration and ID-token verifier, reading the
// provider's discovery document the first time.
func (o *oidcClient) setup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, nil, err
	}
	o.oauth = &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  o.redirectURL,
		Scopes:       oidcScopes,
	}
	// The key set outlives this request: its fetches get a context of their own
	// (whose cancellation the library ignores anyway), with the same client.
	o.verifier = p.VerifierContext(o.ctx(context.Background()), &oidc.Config{ClientID: o.cfg.ClientID})
	return o.oauth, o.verifier, nil
}

// errSigninFlow answers every broken round trip the same way: wrong, used or
// expired state, a code the provider refuses, an ID token that does not verify.
// Which one it was goes to the log, not to whoever sent it.
var errSigninFlow = web.NewErrorID(http.StatusBadRequest, "error.signin_flow", nil).
	WithLinkID(views.PathLogin, "error.signin_again")

// oidcStart begins the authorization-code flow: state, nonce and PKCE verifier
// are made here and kept server-side with the browser session, together with
// next and the kept form, so the URL the provider sees carries none of them.
// This GET may store a session: it is a deliberate start of a sign-in, so the
// sign-in limiter counts it.
func (a *Auth) oidcStart(c *gin.Context) {
	if a.oidc == nil {
		web.Fail(c, web.ErrNotFound)
		return
	}
	if a.rateLimited(c) {
		return
	}
	ctx := c.Request.Context()
	oc, _, err := a.oidc.setup(ctx)
	if err != nil {
		a.log.Warn("OpenID Connect discovery failed", "issuer", a.oidc.cfg.Issuer, "err", err)
		web.Fail(c, errProviderDown)
		return
	}
	kept := c.Query("kept")
	if kept != "" && !wellFormedToken(kept) {
		web.Fail(c, web.ErrBadRequest)
		return
	}
	_, st := session(c)
	st.counted = true // by the sign-in limiter above
	sid, err := ensureSession(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	flow := store.SigninFlow{
		Kind:      store.FlowOIDC,
		SessionID: sid,
		Nonce:     store.NewToken(),
		Verifier:  oauth2.GenerateVerifier(),
		Next:      afterSignIn(c.Query("next")),
		Kept:      kept,
		Remember:  c.Query("remember") != "",
	}
	state, err := a.st.StartSigninFlow(ctx, flow)
	if err != nil {
		web.Fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	// Off-site, so not through redirect (which keeps the browser on this site).
	c.Redirect(http.StatusSeeOther, oc.AuthCodeURL(state, oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier)))
}

// oidcCallback finishes the flow: the state must name a flow of this browser
// session, once; the code is exchanged with the PKCE verifier; the ID token is
// verified (signature, issuer, audience, expiry) and must carry the flow's
// nonce. Only then is anyone signed in.
func (a *Auth) oidcCallback(c *gin.Context) {
	// Not rate-limited: nothing happens here without a state that a limited
	// start handed out, and a stranger's guesses cost one indexed read.
	if a.oidc == nil {
		web.Fail(c, web.ErrNotFound)
		return
	}
	ctx := c.Request.Context()
	q := c.Request.URL.Query()
	_, st := session(c)
	flow, err := a.st.TakeSigninFlow(ctx, store.FlowOIDC, q.Get("state"), st.rec.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.log.Info("OpenID Connect callback refused", "reason", "unknown, used, expired or foreign state")
		web.Fail(c, errSigninFlow)
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	if e := q.Get("error"); e != "" {
		// The person cancelled, or the provider refused them.
		a.log.Info("OpenID Connect provider answered with an error", "error", clip(e, 64))
		web.Fail(c, web.NewErrorID(http.StatusBadRequest, "error.provider_refused", nil).WithLinkID(views.LoginPath(flow.Next, flow.Kept), "error.back_signin"))
		return
	}
	oc, verifier, err := a.oidc.setup(ctx)
	if err != nil {
		a.log.Warn("OpenID Connect discovery failed", "issuer", a.oidc.cfg.Issuer, "err", err)
		web.Fail(c, errProviderDown)
		return
	}
	tok, err := oc.Exchange(a.oidc.ctx(ctx), q.Get("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) || q.Get("code") == "" {
			a.log.Info("OpenID Connect callback refused", "reason", "the provider refused the code")
			web.Fail(c, errSigninFlow)
			return
		}
		a.log.Warn("OpenID Connect token exchange failed", "err", err)
		web.Fail(c, errProviderDown)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		a.log.Info("OpenID Connect callback refused", "reason", "no ID token")
		web.Fail(c, errSigninFlow)
		return
	}
	idt, err := verifier.Verify(a.oidc.ctx(ctx), raw)
	if err != nil {
		a.log.Info("OpenID Connect callback refused", "reason", "ID token did not verify", "err", err)
		web.Fail(c, errSigninFlow)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		a.log.Info("OpenID Connect callback refused", "reason", "nonce mismatch")
		web.Fail(c, errSigninFlow)
		return
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		a.log.Info("OpenID Connect callback refused", "reason", "claims unreadable", "err", err)
		web.Fail(c, errSigninFlow)
		return
	}
	a.signInIdentity(c, identityFlow{
		issuer: idt.Issuer, subject: idt.Subject, proposed: claims.PreferredUsername,
		next: flow.Next, kept: flow.Kept, remember: flow.Remember,
	})
}

// clip shortens what a stranger sent before it is logged.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	// A cut through a character, or bytes that never were text, are dropped.
	return strings.ToValidUTF8(s, "")
}
