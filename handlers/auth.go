package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

// authStore is the part of the store used by the nickname sign-in, the personal
// sign-in links, the account page and sign-out.
type authStore interface {
	Audit(ctx context.Context, u store.User, groupID, issueID int64, action, detail string) error
	BrowserID(ctx context.Context, userID int64, browserKey string) (int64, error)
	BrowserKeyLive(ctx context.Context, browserKey string) (bool, error)
	ClaimNickname(ctx context.Context, nick, browserKey string) (u store.User, created bool, err error)
	HasSigninToken(ctx context.Context, userID int64) (bool, error)
	LastNickname(ctx context.Context, browserKey string) (string, error)
	LinkBrowser(ctx context.Context, userID int64, browserKey string) error
	ReplaceSigninToken(ctx context.Context, userID int64) (string, error)
	RevokeBrowser(ctx context.Context, userID, browserID, keepSession int64) (store.Revocation, error)
	SignOutEverywhere(ctx context.Context, userID int64, keepKey string) ([]int64, error)
	UserBrowsers(ctx context.Context, userID int64, current string) ([]store.Browser, error)
	UserBySigninToken(ctx context.Context, token string) (store.User, error)
	UserEvents(ctx context.Context, userID int64, limit int) ([]store.AuditEvent, error)
}

// browserKey is this browser's key for a sign-in: the one in its cookie when
// the server issued it and it is still live, else a fresh one (set as a cookie).
// A key planted in the cookie (never issued, or revoked) is never adopted, or
// whoever planted it could sign in later as the person signing in now.
func (a *App) browserKey(c *gin.Context) (string, error) {
	if k := a.existingBrowserKey(c); k != "" {
		live, err := a.st.BrowserKeyLive(c.Request.Context(), k)
		if err != nil {
			return "", err
		}
		if live {
			return k, nil
		}
	}
	k := store.NewToken()
	a.setBrowserKey(c, k, int(a.cfg.BrowserKeyMaxAge.Seconds()))
	// Later reads in this request (a replay) see the new key.
	replaceCookie(c.Request, a.sessions.keyCookie, k)
	return k, nil
}

// replaceCookie sets the request's cookie name to value, dropping any other.
func replaceCookie(r *http.Request, name, value string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, ck := range cookies {
		if ck.Name != name {
			r.AddCookie(ck)
		}
	}
	r.AddCookie(&http.Cookie{Name: name, Value: value})
}

func (a *App) existingBrowserKey(c *gin.Context) string {
	if k, err := c.Cookie(a.sessions.keyCookie); err == nil && wellFormedToken(k) {
		return k
	}
	return ""
}

func (a *App) setBrowserKey(c *gin.Context, value string, maxAge int) {
	a.sessions.setCookie(c.Writer, a.sessions.keyCookie, value, maxAge)
}

// rateLimited answers 429 with Retry-After when the client address is over its
// sign-in budget.
func (a *App) rateLimited(c *gin.Context) bool {
	ok, wait := a.limiter.allow(c.ClientIP())
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(max(secs, 1)))
	a.fail(c, newError(http.StatusTooManyRequests, "Too many attempts",
		fmt.Sprintf("Too many sign-in attempts from your address. Please wait %d seconds and try again.", max(secs, 1))))
	return true
}

func (a *App) loginPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	kept := c.Query("kept")
	if currentUser(c).IsAuthenticated() && kept == "" {
		redirect(c, next)
		return
	}
	f := a.loginForm(views.LoginForm{Next: next})
	// A browser that signed in before gets its nickname back in the field. Only
	// an existing key is read: a GET never sets one.
	if k := a.existingBrowserKey(c); k != "" {
		nick, err := a.st.LastNickname(c.Request.Context(), k)
		if err != nil {
			a.fail(c, err)
			return
		}
		f.Nickname = nick
	}
	if kept != "" {
		var ok bool
		if f.Kept, ok = a.checkKept(c, kept); !ok {
			return
		}
	}
	a.page(c, http.StatusOK, views.LoginPage(f))
}

func (a *App) loginPost(c *gin.Context) {
	if !a.guestsWelcome() {
		a.fail(c, errNoGuests)
		return
	}
	if a.rateLimited(c) {
		return
	}
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	// As Flask-Login: next may come in the query (POST /login?next=/account, an
	// invite link's form); a next field in the form wins.
	if form.Get("next") == "" && c.Query("next") != "" {
		form.Set("next", c.Query("next"))
	}
	f, nick := decodeLogin(form)
	f = a.loginForm(f)
	if len(f.Errors) > 0 {
		a.loginInvalid(c, http.StatusUnprocessableEntity, f)
		return
	}
	ctx := c.Request.Context()
	key, err := a.browserKey(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	u, _, err := a.st.ClaimNickname(ctx, nick, key)
	switch {
	case errors.Is(err, store.ErrNicknameTaken):
		f.Errors["nickname"] = nicknameTakenMessage(nick)
		a.loginInvalid(c, http.StatusUnprocessableEntity, f)
		return
	case errors.Is(err, store.ErrInactive):
		f.Errors["nickname"] = nicknameDeactivatedMessage
		a.loginInvalid(c, http.StatusForbidden, f)
		return
	case err != nil:
		a.fail(c, err)
		return
	}
	a.completeSignIn(c, u, f.Remember, key, "nickname", f.Next, f.Kept)
}

func (a *App) loginInvalid(c *gin.Context, status int, f views.LoginForm) {
	if wantsFragment(c) {
		a.fragment(c, status, views.LoginFormFragment(f))
		return
	}
	a.page(c, status, views.LoginPage(f))
}

// completeSignIn makes the session the user's under a new id, records it, and
// either replays the kept form or goes on to next.
func (a *App) completeSignIn(c *gin.Context, u store.User, remember bool, browserKey, how, next, kept string) {
	if kept == "" {
		// The notice goes out with the sign-in's own save of the session: one
		// write instead of two.
		s, _ := session(c)
		s.Set(noticeKey, "Signed in as "+u.Nickname+".")
		s.Delete(noticeErrKey)
	}
	if err := a.startSession(c, u, remember, browserKey, how); err != nil {
		a.fail(c, err)
		return
	}
	if kept != "" {
		a.replay(c, kept, next)
		return
	}
	redirect(c, next)
}

// schemeKey holds, in the session, how it was signed in (for the account page).
const schemeKey = "signed_in_with"

// startSession makes the session the user's under a new id, remembering how,
// and records the sign-in. The request goes on as that user.
func (a *App) startSession(c *gin.Context, u store.User, remember bool, browserKey, how string) error {
	s, _ := session(c)
	s.Set(schemeKey, how)
	if err := signIn(c, u, remember, browserKey); err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignIn, "with "+how); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	return nil
}

func (a *App) signinLinkPage(c *gin.Context) {
	u, err := a.st.UserBySigninToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		a.fail(c, signinLinkError(err))
		return
	}
	a.page(c, http.StatusOK, views.SigninConfirmPage(u.Nickname, c.Param("token")))
}

func signinLinkError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return newError(http.StatusNotFound, "Link not valid", "This sign-in link is not valid: it may have been replaced by a newer one.")
	}
	return err
}

func (a *App) signinLinkPost(c *gin.Context) {
	if a.rateLimited(c) {
		return
	}
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	u, err := a.st.UserBySigninToken(ctx, c.Param("token"))
	if err != nil {
		a.fail(c, signinLinkError(err))
		return
	}
	if !u.Active {
		a.fail(c, newError(http.StatusForbidden, "Deactivated", nicknameDeactivatedMessage))
		return
	}
	key, err := a.browserKey(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.st.LinkBrowser(ctx, u.ID, key); err != nil {
		a.fail(c, err)
		return
	}
	a.completeSignIn(c, u, form.Get("remember") != "", key, "personal link", "/", "")
}

// newLinkKey holds a just-made personal sign-in link between the POST that made
// it and the one page that shows it.
const newLinkKey = "new_signin_link"

func (a *App) account(c *gin.Context) {
	s, _ := session(c)
	newToken, _ := s.Get(newLinkKey).(string)
	if newToken != "" {
		s.Delete(newLinkKey)
		if err := s.Save(); err != nil {
			a.fail(c, err)
			return
		}
	}
	a.renderAccount(c, newToken)
}

func (a *App) renderAccount(c *gin.Context, newToken string) {
	ctx := c.Request.Context()
	u := currentUser(c)
	v := views.AccountView{}
	var err error
	if v.HasLink, err = a.st.HasSigninToken(ctx, u.ID); err != nil {
		a.fail(c, err)
		return
	}
	if newToken != "" {
		v.NewLink = a.baseURL(c) + views.SigninLinkPath(newToken)
	}
	browsers, err := a.st.UserBrowsers(ctx, u.ID, a.existingBrowserKey(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	for _, b := range browsers {
		v.BrowserKnown = v.BrowserKnown || b.This
		v.Browsers = append(v.Browsers, views.BrowserLine{
			ID: b.ID, FirstUsed: dateTime(b.FirstUsed), LastUsed: dateTime(b.LastUsed), This: b.This})
	}
	events, err := a.st.UserEvents(ctx, u.ID, 10)
	if err != nil {
		a.fail(c, err)
		return
	}
	v.Activity = activityLines(events)
	s, _ := session(c)
	v.SignedInWith, _ = s.Get(schemeKey).(string)
	a.page(c, http.StatusOK, views.AccountPage(v))
}

// replaceSigninLink makes a new personal sign-in link; the old one stops
// working. Post/redirect/get: the Account page it lands on shows the link once,
// and a reload shows it no more (nor sends the form again). The token waits in
// the server-side session for that one page only.
func (a *App) replaceSigninLink(c *gin.Context) {
	tok, err := a.st.ReplaceSigninToken(c.Request.Context(), currentUser(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	s, _ := session(c)
	s.Set(newLinkKey, tok)
	a.doneRedirect(c, "Your new personal sign-in link is below; the old one no longer works.", views.PathAccount)
}

// forgetBrowser revokes this browser's key for the user: typing the nickname
// here no longer signs in. This session goes on until the person signs out.
func (a *App) forgetBrowser(c *gin.Context) {
	u := currentUser(c)
	if k := a.existingBrowserKey(c); k != "" {
		id, err := a.st.BrowserID(c.Request.Context(), u.ID, k)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			a.fail(c, err)
			return
		default:
			if !a.revoke(c, u, id) {
				return
			}
		}
	}
	if err := setNotice(c, "This browser no longer remembers your nickname. Keep your personal sign-in link to come back."); err != nil {
		a.fail(c, err)
		return
	}
	redirect(c, views.PathAccount)
}

// revokeBrowser revokes one of the user's browsers (a lost or stolen device):
// its key no longer signs in by nickname, and its sessions end. Another user's
// browser id is not found.
func (a *App) revokeBrowser(c *gin.Context) {
	id, ok := parseID(c, "id")
	if !ok {
		a.fail(c, errNotFound)
		return
	}
	if _, err := readForm(c); err != nil {
		a.fail(c, err)
		return
	}
	if !a.revoke(c, currentUser(c), id) {
		return
	}
	if err := setNotice(c, "That browser can no longer sign in as "+currentUser(c).Nickname+" by typing the nickname; its sessions have ended."); err != nil {
		a.fail(c, err)
		return
	}
	redirect(c, views.PathAccount)
}

// revoke unties browser id from u, ends its sessions (not this one) and their
// event streams, and clears this browser's key cookie when it was this browser's
// and serves nobody else. It reports whether it went through (else it failed c).
func (a *App) revoke(c *gin.Context, u store.User, id int64) bool {
	_, st := session(c)
	_, err := a.st.RevokeBrowser(c.Request.Context(), u.ID, id, st.rec.ID)
	if err != nil {
		a.fail(c, err)
		return false
	}
	if k := a.existingBrowserKey(c); k != "" {
		// This browser's own key, serving nobody else now: the cookie goes.
		if live, err := a.st.BrowserKeyLive(c.Request.Context(), k); err == nil && !live {
			a.setBrowserKey(c, "", -1)
		}
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActBrowserRevoked, ""); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	return true
}

// signOutEverywhere ends every session of the user and revokes every browser key
// but this browser's, so a lost device can no longer sign in by nickname.
func (a *App) signOutEverywhere(c *gin.Context) {
	u := currentUser(c)
	ids, err := a.st.SignOutEverywhere(c.Request.Context(), u.ID, a.existingBrowserKey(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	if _, err := signOut(c); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignOutAll, fmt.Sprintf("%d sessions", len(ids))); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	a.doneRedirect(c, "You are signed out here and on every other device.", views.PathHome)
}

func (a *App) logoutPage(c *gin.Context) {
	a.page(c, http.StatusOK, views.LogoutPage())
}

func (a *App) logoutPost(c *gin.Context) {
	u := currentUser(c)
	_, err := signOut(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignOut, ""); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	// The notice rides in a fresh, anonymous session: the signed-in one is gone.
	a.doneRedirect(c, "You are signed out.", views.PathHome)
}

var actionText = map[string]string{
	store.ActSignIn:          "signed in",
	store.ActSignOut:         "signed out",
	store.ActSignOutAll:      "signed out everywhere",
	store.ActBrowserRevoked:  "revoked a browser",
	store.ActOwnershipChange: "handed over ownership",
	store.ActReveal:          "revealed",
	store.ActAccept:          "accepted",
	store.ActRevote:          "started a new round of",
	"user.deactivated":       "was deactivated",
	"user.activated":         "was activated",
	"member.removed":         "removed a member:",
	"member.left":            "left the group",
}

func activityLines(events []store.AuditEvent) []views.ActivityLine {
	out := make([]views.ActivityLine, 0, len(events))
	for _, e := range events {
		what := actionText[e.Action]
		if what == "" {
			what = e.Action
		}
		if e.IssueKey != "" {
			what += " " + e.IssueKey
		}
		if e.Detail != "" {
			what += " (" + e.Detail + ")"
		}
		out = append(out, views.ActivityLine{At: e.At, Who: e.Nickname, What: what})
	}
	return out
}

func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
