package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

// identityStore is the part of the store used by signing in through the
// identity provider or the trusted header (identity.go, oidc.go,
// trustedheader.go).
type identityStore interface {
	ClaimIdentity(ctx context.Context, issuer, subject, nick string) (store.User, error)
	SigninFlow(ctx context.Context, kind, token string, sessionID int64) (store.SigninFlow, error)
	StartSigninFlow(ctx context.Context, f store.SigninFlow) (string, error)
	TakeSigninFlow(ctx context.Context, kind, token string, sessionID int64) (store.SigninFlow, error)
	UserByIdentity(ctx context.Context, issuer, subject string) (store.User, error)
}

// Sign-in by an identity someone else vouches for (the OpenID Connect provider,
// or the trusted proxy's header), shared by both schemes: link by issuer and
// subject, propose the provider's name as the nickname, and ask for another only
// when it is taken or not a valid nickname.

// CheckSignin refuses sign-in settings that cannot work: a provider without
// what it needs, a header believed from nobody, guests off with nothing else on.
func (c *Config) CheckSignin() error {
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

// otherScheme reports whether a way to sign in other than the nickname is on.
func (a *App) otherScheme() bool { return a.oidc != nil || a.cfg.TrustedUserHeader != "" }

// guestsWelcome reports whether nickname-only sign-in is offered.
func (a *App) guestsWelcome() bool { return !a.cfg.NoGuests || !a.otherScheme() }

// How each scheme is named in the audit log and on the account page.
const (
	schemeHeader = "your organisation’s proxy sign-in"
)

// schemeName is how the scheme of issuer is named to people.
func (a *App) schemeName(issuer string) string {
	if issuer == store.HeaderIssuer || a.oidc == nil {
		return schemeHeader
	}
	return a.oidc.cfg.Name
}

// identityFlow is a verified identity on its way to a session.
type identityFlow struct {
	issuer, subject, proposed string
	next, kept                string
	remember                  bool
}

// signInIdentity signs in the user linked to the identity, or makes that user
// with the proposed nickname, or asks for a nickname. A deactivated user is
// refused.
func (a *App) signInIdentity(c *gin.Context, f identityFlow) {
	ctx := c.Request.Context()
	how := a.schemeName(f.issuer)
	u, err := a.st.UserByIdentity(ctx, f.issuer, f.subject)
	if errors.Is(err, store.ErrNotFound) {
		nick, msg := store.NormalizeNickname(f.proposed)
		switch {
		case f.proposed == "":
			msg = "Your sign-in did not say which name to use. Choose a nickname."
		case msg != "":
			msg = fmt.Sprintf("“%s” cannot be a nickname here. %s", clip(f.proposed, 64), msg)
		default:
			u, err = a.st.ClaimIdentity(ctx, f.issuer, f.subject, nick)
			if m, ok := claimRefusal(err, nick); ok {
				msg = m
			}
		}
		if msg != "" {
			a.askNickname(c, f, how, msg)
			return
		}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if !u.Active {
		a.fail(c, errDeactivated)
		return
	}
	// A provider's user is tied to no browser key (typing the nickname never
	// signs in past the provider), but the browser's key is renewed all the same.
	if _, err := a.renewBrowserKey(c, u, false); err != nil {
		a.fail(c, err)
		return
	}
	a.completeSignIn(c, u, f.remember, "", how, f.next, f.kept)
}

var errDeactivated = newError(http.StatusForbidden, "Deactivated", "This account has been deactivated by an administrator.")

// askNickname parks the verified identity with the browser session and shows
// the page where the person picks a nickname. Nobody is signed in yet.
func (a *App) askNickname(c *gin.Context, f identityFlow, how, msg string) {
	// Vouched for by the provider or the proxy, not a stranger: the session
	// counts against the total cap only (an office behind one address may all
	// need to choose a nickname at once).
	_, st := session(c)
	st.counted = true
	sid, err := ensureSession(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	tok, err := a.st.StartSigninFlow(c.Request.Context(), store.SigninFlow{
		Kind: store.FlowChoice, SessionID: sid, Issuer: f.issuer, Subject: f.subject, Proposed: f.proposed,
		Next: f.next, Kept: f.kept, Remember: f.remember,
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	v := views.NicknameChoice{Choice: tok, Nickname: suggestNickname(f.proposed), Provider: how,
		Errors: views.FieldErrors{"nickname": msg}}
	c.Header("Cache-Control", "no-store")
	a.page(c, http.StatusOK, views.NicknameChoicePage(v))
}

// claimRefusal is the message for a nickname ClaimIdentity refused, and whether
// it was refused (rather than failed).
func claimRefusal(err error, nick string) (string, bool) {
	switch {
	case errors.Is(err, store.ErrNicknameTaken):
		return "“" + nick + "” is already used here by someone else. Choose another nickname.", true
	case errors.Is(err, store.ErrInvalid):
		return strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "), true
	}
	return "", false
}

// suggestNickname offers what to start from: an e-mail-style name
// (alice@example.com, as Entra ID sends) without its domain.
func suggestNickname(proposed string) string {
	if local, _, ok := strings.Cut(proposed, "@"); ok && local != "" {
		proposed = local
	}
	return clip(proposed, 4*store.NicknameMax)
}

// chooseNickname takes the nickname for a waiting identity: the same rules and
// "taken" check as the nickname form; once accepted, the sign-in completes as
// any other (kept form replayed, or on to next).
func (a *App) chooseNickname(c *gin.Context) {
	if a.rateLimited(c) {
		return
	}
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	_, st := session(c)
	token := form.Get("choice")
	flow, err := a.st.SigninFlow(ctx, store.FlowChoice, token, st.rec.ID)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(c, errSigninFlow)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	how := a.schemeName(flow.Issuer)
	v := views.NicknameChoice{Choice: token, Nickname: form.Get("nickname"), Provider: how, Errors: views.FieldErrors{}}
	nick, msg := store.NormalizeNickname(v.Nickname)
	if msg != "" {
		v.Errors["nickname"] = msg
		a.page(c, http.StatusUnprocessableEntity, views.NicknameChoicePage(v))
		return
	}
	u, err := a.st.ClaimIdentity(ctx, flow.Issuer, flow.Subject, nick)
	if m, ok := claimRefusal(err, nick); ok {
		v.Errors["nickname"] = m
		a.page(c, http.StatusUnprocessableEntity, views.NicknameChoicePage(v))
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if !u.Active {
		a.fail(c, errDeactivated)
		return
	}
	// Used up: back or refresh cannot make a second user.
	if _, err := a.st.TakeSigninFlow(ctx, store.FlowChoice, token, st.rec.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(c, err)
		return
	}
	if flow.Issuer == store.HeaderIssuer {
		s, _ := session(c)
		s.Set(headerSubjectKey, flow.Subject)
	}
	if _, err := a.renewBrowserKey(c, u, false); err != nil {
		a.fail(c, err)
		return
	}
	a.completeSignIn(c, u, flow.Remember, "", how, flow.Next, flow.Kept)
}

var errNoGuests = newError(http.StatusForbidden, "Nickname sign-in is off",
	"Signing in with a nickname alone is turned off here: sign in with your organisation’s account. Nobody was signed in.").
	withLink(views.PathLogin, "Sign in")

// loginForm adds what the sign-in page offers besides the nickname.
func (a *App) loginForm(f views.LoginForm) views.LoginForm {
	if a.oidc != nil {
		f.Provider = a.oidc.cfg.Name
	}
	f.NoGuests = !a.guestsWelcome()
	return f
}
