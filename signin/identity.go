package signin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
	"estimator/web"
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

// otherScheme reports whether a way to sign in other than the nickname is on.
func (a *Auth) otherScheme() bool { return a.oidc != nil || a.cfg.TrustedUserHeader != "" }

// guestsWelcome reports whether nickname-only sign-in is offered.
func (a *Auth) guestsWelcome() bool { return !a.cfg.NoGuests || !a.otherScheme() }

// How each scheme is named in the audit log and on the account page.
const (
	schemeHeader = "your organisation’s proxy sign-in"
)

// schemeName is how the scheme of issuer is named to people.
func (a *Auth) schemeName(issuer string) string {
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
func (a *Auth) signInIdentity(c *gin.Context, f identityFlow) {
	ctx := c.Request.Context()
	how := a.schemeName(f.issuer)
	u, err := a.st.UserByIdentity(ctx, f.issuer, f.subject)
	if errors.Is(err, store.ErrNotFound) {
		nick, p := store.CheckNickname(f.proposed)
		var msg string
		switch {
		case f.proposed == "":
			msg = a.lang(c).T("rule.nickname.unnamed")
		case !p.OK():
			msg = store.Problem{ID: "rule.nickname.refused", Data: map[string]any{"Name": clip(f.proposed, 64), "Problem": p}}.In(a.lang(c))
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
		web.Fail(c, err)
		return
	}
	if !u.Active {
		web.Fail(c, errDeactivated)
		return
	}
	// A provider's user is tied to no browser key (typing the nickname never
	// signs in past the provider), but the browser's key is renewed all the same.
	if _, err := a.renewBrowserKey(c, u, false); err != nil {
		web.Fail(c, err)
		return
	}
	a.completeSignIn(c, u, f.remember, "", how, f.next, f.kept)
}

var errDeactivated = web.NewErrorID(http.StatusForbidden, "error.account_deactivated", nil)

// askNickname parks the verified identity with the browser session and shows
// the page where the person picks a nickname. Nobody is signed in yet.
func (a *Auth) askNickname(c *gin.Context, f identityFlow, how, msg string) {
	// Vouched for by the provider or the proxy, not a stranger: the session
	// counts against the total cap only (an office behind one address may all
	// need to choose a nickname at once).
	_, st := session(c)
	st.counted = true
	sid, err := ensureSession(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	tok, err := a.st.StartSigninFlow(c.Request.Context(), store.SigninFlow{
		Kind: store.FlowChoice, SessionID: sid, Issuer: f.issuer, Subject: f.subject, Proposed: f.proposed,
		Next: f.next, Kept: f.kept, Remember: f.remember,
	})
	if err != nil {
		web.Fail(c, err)
		return
	}
	v := views.NicknameChoice{Choice: tok, Nickname: suggestNickname(f.proposed), Provider: how,
		Errors: views.FieldErrors{"nickname": msg}}
	c.Header("Cache-Control", "no-store")
	a.pages.Page(c, http.StatusOK, views.NicknameChoicePage(v))
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
func (a *Auth) chooseNickname(c *gin.Context) {
	if a.rateLimited(c) {
		return
	}
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	ctx := c.Request.Context()
	_, st := session(c)
	token := form.Get("choice")
	flow, err := a.st.SigninFlow(ctx, store.FlowChoice, token, st.rec.ID)
	if errors.Is(err, store.ErrNotFound) {
		web.Fail(c, errSigninFlow)
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	how := a.schemeName(flow.Issuer)
	v := views.NicknameChoice{Choice: token, Nickname: form.Get("nickname"), Provider: how, Errors: views.FieldErrors{}}
	nick, p := store.CheckNickname(v.Nickname)
	if !p.OK() {
		v.Errors["nickname"] = p.In(a.lang(c))
		a.pages.Page(c, http.StatusUnprocessableEntity, views.NicknameChoicePage(v))
		return
	}
	u, err := a.st.ClaimIdentity(ctx, flow.Issuer, flow.Subject, nick)
	if m, ok := claimRefusal(err, nick); ok {
		v.Errors["nickname"] = m
		a.pages.Page(c, http.StatusUnprocessableEntity, views.NicknameChoicePage(v))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	if !u.Active {
		web.Fail(c, errDeactivated)
		return
	}
	// Used up: back or refresh cannot make a second user.
	if _, err := a.st.TakeSigninFlow(ctx, store.FlowChoice, token, st.rec.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		web.Fail(c, err)
		return
	}
	if flow.Issuer == store.HeaderIssuer {
		s, _ := session(c)
		s.Set(headerSubjectKey, flow.Subject)
	}
	if _, err := a.renewBrowserKey(c, u, false); err != nil {
		web.Fail(c, err)
		return
	}
	a.completeSignIn(c, u, flow.Remember, "", how, flow.Next, flow.Kept)
}

var errNoGuests = web.NewErrorID(http.StatusForbidden, "error.no_guests", nil).
	WithLinkID(views.PathLogin, "login.title")

// loginForm adds what the sign-in page offers besides the nickname.
func (a *Auth) loginForm(f views.LoginForm) views.LoginForm {
	if a.oidc != nil {
		f.Provider = a.oidc.cfg.Name
	}
	f.NoGuests = !a.guestsWelcome()
	return f
}
