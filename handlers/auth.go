package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

// readForm parses a URL-encoded POST body: 415 for any other kind of body
// (multipart included), 413 past the size cap, 400 when it cannot be read. When a
// field is sent more than once, its first value counts.
func readForm(c *gin.Context) (url.Values, error) {
	ct := c.ContentType()
	if ct != "application/x-www-form-urlencoded" && c.Request.ContentLength != 0 {
		return nil, errMediaType
	}
	if err := c.Request.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, errBadRequest
	}
	return c.Request.PostForm, nil
}

// browserKey is this browser's key, made (and set as a cookie) when it has none.
func (a *App) browserKey(c *gin.Context) string {
	if k, err := c.Cookie(a.sessions.keyCookie); err == nil && wellFormedToken(k) {
		return k
	}
	k := store.NewToken()
	a.setBrowserKey(c, k, int(a.cfg.BrowserKeyMaxAge.Seconds()))
	// Later reads in this request see the new key.
	c.Request.AddCookie(&http.Cookie{Name: a.sessions.keyCookie, Value: k})
	return k
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
	f := views.LoginForm{Next: next}
	if kept != "" {
		var ok bool
		if f.Kept, ok = a.checkKept(c, kept); !ok {
			return
		}
	}
	a.page(c, http.StatusOK, views.LoginPage(f))
}

func (a *App) loginPost(c *gin.Context) {
	if a.rateLimited(c) {
		return
	}
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	f, nick := decodeLogin(form)
	if len(f.Errors) > 0 {
		a.loginInvalid(c, http.StatusUnprocessableEntity, f)
		return
	}
	ctx := c.Request.Context()
	u, _, err := a.st.ClaimNickname(ctx, nick, a.browserKey(c))
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
	a.completeSignIn(c, u, f.Remember, "nickname", f.Next, f.Kept)
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
func (a *App) completeSignIn(c *gin.Context, u store.User, remember bool, how, next, kept string) {
	if kept == "" {
		// The notice goes out with the sign-in's own save of the session: one
		// write instead of two.
		s, _ := session(c)
		s.Set(noticeKey, "Signed in as "+u.Nickname+".")
		s.Delete(noticeErrKey)
	}
	if err := signIn(c, u, remember); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignIn, "with "+how); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	if kept != "" {
		a.replay(c, kept, next)
		return
	}
	redirect(c, next)
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
	if err := a.st.LinkBrowser(ctx, u.ID, a.browserKey(c)); err != nil {
		a.fail(c, err)
		return
	}
	a.completeSignIn(c, u, form.Get("remember") != "", "personal link", "/", "")
}

func (a *App) account(c *gin.Context) {
	a.renderAccount(c, "")
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
	if k := a.existingBrowserKey(c); k != "" {
		if v.BrowserKnown, err = a.st.BrowserKnows(ctx, u.ID, k); err != nil {
			a.fail(c, err)
			return
		}
	}
	events, err := a.st.UserEvents(ctx, u.ID, 10)
	if err != nil {
		a.fail(c, err)
		return
	}
	v.Activity = activityLines(events)
	a.page(c, http.StatusOK, views.AccountPage(v))
}

// replaceSigninLink makes a new personal sign-in link and shows it once; the old
// one stops working.
func (a *App) replaceSigninLink(c *gin.Context) {
	tok, err := a.st.ReplaceSigninToken(c.Request.Context(), currentUser(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderAccount(c, tok)
}

func (a *App) forgetBrowser(c *gin.Context) {
	k := a.existingBrowserKey(c)
	if k != "" {
		remaining, err := a.st.ForgetBrowser(c.Request.Context(), currentUser(c).ID, k)
		if err != nil {
			a.fail(c, err)
			return
		}
		if remaining == 0 {
			a.setBrowserKey(c, "", -1)
		}
	}
	if err := setNotice(c, "This browser no longer remembers your nickname. Keep your personal sign-in link to come back."); err != nil {
		a.fail(c, err)
		return
	}
	redirect(c, views.PathAccount)
}

func (a *App) signOutEverywhere(c *gin.Context) {
	u := currentUser(c)
	ids, err := a.st.DeleteUserSessions(c.Request.Context(), u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.hub.closeSessions(ids)
	if _, err := signOut(c); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignOutAll, fmt.Sprintf("%d sessions", len(ids))); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	redirect(c, views.PathHome)
}

func (a *App) logoutPage(c *gin.Context) {
	a.page(c, http.StatusOK, views.LogoutPage())
}

func (a *App) logoutPost(c *gin.Context) {
	u := currentUser(c)
	id, err := signOut(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.hub.closeSessions([]int64{id})
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignOut, ""); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	redirect(c, views.PathHome)
}

var actionText = map[string]string{
	store.ActSignIn:          "signed in",
	store.ActSignOut:         "signed out",
	store.ActSignOutAll:      "signed out everywhere",
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
		out = append(out, views.ActivityLine{When: e.At.UTC().Format("2006-01-02 15:04 UTC"), Who: e.Nickname, What: what})
	}
	return out
}
