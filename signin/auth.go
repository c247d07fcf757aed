package signin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// authStore is the part of the store used by the nickname sign-in, the personal
// sign-in links, the account page and sign-out.
type authStore interface {
	Audit(ctx context.Context, u store.User, groupID, issueID int64, action, detail string) error
	BrowserID(ctx context.Context, userID int64, browserKey string) (int64, error)
	BrowserKeyLive(ctx context.Context, browserKey string) (bool, error)
	HasSigninToken(ctx context.Context, userID int64) (bool, error)
	InviteByToken(ctx context.Context, token string) (store.Invite, error)
	LastNickname(ctx context.Context, browserKey string) (string, error)
	RenewBrowserKey(ctx context.Context, userID int64, oldKey, newKey string, tie bool) (int, error)
	ReplaceSigninToken(ctx context.Context, userID int64) (string, error)
	RevokeBrowser(ctx context.Context, userID, browserID, keepSession int64) (store.Revocation, error)
	SignInNickname(ctx context.Context, nick, oldKey, newKey string) (u store.User, created bool, err error)
	SignOutEverywhere(ctx context.Context, userID int64, keepKey string) ([]int64, error)
	UserBrowsers(ctx context.Context, userID int64, current string) ([]store.Browser, error)
	UserBySigninToken(ctx context.Context, token string) (store.User, error)
	UserEvents(ctx context.Context, userID int64, limit int) ([]store.AuditEvent, error)
}

// useBrowserKey makes k this browser's key (the cookie, and later reads in
// this request: a replay) after a sign-in gave it a fresh one.
func (a *Auth) useBrowserKey(c *gin.Context, k string) {
	a.setBrowserKey(c, k, int(a.cfg.BrowserKeyMaxAge.Seconds()))
	replaceCookie(c.Request, a.sessions.keyCookie, k)
}

// renewBrowserKey gives a browser that signed in as u (not by typing a
// nickname: SignInNickname does that in its own transaction) a key nobody else
// has seen: the nicknames its old key served move to the new one, and with tie
// u is tied to it. It returns the new key when u is tied to it, else "". A key
// planted in the cookie (another person's, live or not) thus never signs in as
// u afterwards.
func (a *Auth) renewBrowserKey(c *gin.Context, u store.User, tie bool) (string, error) {
	old := a.existingBrowserKey(c)
	k := store.NewToken()
	n, err := a.st.RenewBrowserKey(c.Request.Context(), u.ID, old, k, tie)
	switch {
	case err != nil:
		return "", err
	case n > 0:
		a.useBrowserKey(c, k)
	case old != "":
		// It served nobody: nothing to keep.
		a.setBrowserKey(c, "", -1)
		replaceCookie(c.Request, a.sessions.keyCookie, "")
	}
	if !tie {
		return "", nil
	}
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

func (a *Auth) existingBrowserKey(c *gin.Context) string {
	if k, err := c.Cookie(a.sessions.keyCookie); err == nil && wellFormedToken(k) {
		return k
	}
	return ""
}

func (a *Auth) setBrowserKey(c *gin.Context, value string, maxAge int) {
	a.sessions.setCookie(c.Writer, a.sessions.keyCookie, value, maxAge)
}

// rateLimited answers 429 with Retry-After when the client address is over its
// sign-in budget.
func (a *Auth) rateLimited(c *gin.Context) bool {
	ok, wait := a.limiter.allow(c.ClientIP())
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(max(secs, 1)))
	web.Fail(c, web.NewErrorID(http.StatusTooManyRequests, "error.signin_attempts", map[string]any{"Seconds": max(secs, 1)}))
	return true
}

func (a *Auth) loginPage(c *gin.Context) {
	next := afterSignIn(c.Query("next"))
	kept := c.Query("kept")
	if User(c).IsAuthenticated() && kept == "" {
		web.Redirect(c, next)
		return
	}
	f := a.loginForm(views.LoginForm{Next: next})
	// A browser that signed in before gets its nickname back in the field. Only
	// an existing key is read: a GET never sets one.
	if k := a.existingBrowserKey(c); k != "" {
		nick, err := a.st.LastNickname(c.Request.Context(), k)
		if err != nil {
			web.Fail(c, err)
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
	if !a.withInvite(c, &f) {
		return
	}
	a.pages.Page(c, http.StatusOK, views.LoginPage(f))
}

// withInvite names the group and its owner on a sign-in that continues to an
// invite link (next is /join/{token}), so a person opening an invite while
// signed out reads what they are signing in for. An invite that does not work
// (replaced, gone) names nothing: the join page says so after the sign-in. It
// reports whether it went through (else it failed c).
func (a *Auth) withInvite(c *gin.Context, f *views.LoginForm) bool {
	rest, ok := strings.CutPrefix(f.Next, "/join/")
	if !ok {
		return true
	}
	token, err := url.PathUnescape(strings.SplitN(rest, "?", 2)[0])
	if err != nil || token == "" {
		return true
	}
	inv, err := a.st.InviteByToken(c.Request.Context(), token)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true
	case err != nil:
		web.Fail(c, err)
		return false
	}
	f.Invite = &inv
	return true
}

func (a *Auth) loginPost(c *gin.Context) {
	if !a.guestsWelcome() {
		web.Fail(c, errNoGuests)
		return
	}
	if a.rateLimited(c) {
		return
	}
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	// As Flask-Login: next may come in the query (POST /login?next=/account, an
	// invite link's form); a next field in the form wins.
	if form.Get("next") == "" && c.Query("next") != "" {
		form.Set("next", c.Query("next"))
	}
	f, nick := decodeLogin(form, a.lang(c))
	f = a.loginForm(f)
	if len(f.Errors) > 0 {
		a.loginInvalid(c, http.StatusUnprocessableEntity, f)
		return
	}
	ctx := c.Request.Context()
	// The key in the cookie is only the proof for a taken nickname; whatever
	// it was, the browser leaves with a fresh one (and nothing on a refusal).
	key := store.NewToken()
	u, _, err := a.st.SignInNickname(ctx, nick, a.existingBrowserKey(c), key)
	switch {
	case errors.Is(err, store.ErrNicknameTaken):
		f.Errors["nickname"] = a.lang(c).F("login.taken", map[string]any{"Nickname": nick})
		a.loginInvalid(c, http.StatusUnprocessableEntity, f)
		return
	case errors.Is(err, store.ErrInactive):
		f.Errors["nickname"] = a.lang(c).T("error.nickname_deactivated")
		a.loginInvalid(c, http.StatusForbidden, f)
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	a.useBrowserKey(c, key)
	a.completeSignIn(c, u, f.Remember, key, "nickname", f.Next, f.Kept)
}

func (a *Auth) loginInvalid(c *gin.Context, status int, f views.LoginForm) {
	if !a.withInvite(c, &f) {
		return
	}
	if web.WantsFragment(c) {
		a.pages.Fragment(c, status, views.LoginFormFragment(f))
		return
	}
	a.pages.Page(c, status, views.LoginPage(f))
}

// completeSignIn makes the session the user's under a new id, records it, and
// goes on to next, or, when a kept form waits, to the page that shows it: a
// kept form is sent only with the signed-in person's own click (it may have
// been kept by someone who planted this session in the browser).
func (a *Auth) completeSignIn(c *gin.Context, u store.User, remember bool, browserKey, how, next, kept string) {
	// The notice goes out with the sign-in's own save of the session: one
	// write instead of two.
	web.SetNoticeUnsaved(c, "Signed in as "+u.Nickname+".")
	if err := a.startSession(c, u, remember, browserKey, how); err != nil {
		web.Fail(c, err)
		return
	}
	if kept == "" {
		web.Redirect(c, next)
		return
	}
	// A kept form that cannot be sent (expired, used, foreign, unknown) says
	// why on next.
	ref, ok := a.checkKept(c, kept)
	switch {
	case !ok:
	case ref == "":
		web.Redirect(c, next)
	default:
		web.Redirect(c, views.KeptPath(ref, next))
	}
}

// schemeKey holds, in the session, how it was signed in (for the account page).
const schemeKey = "signed_in_with"

// startSession makes the session the user's under a new id, remembering how,
// and records the sign-in. The request goes on as that user.
func (a *Auth) startSession(c *gin.Context, u store.User, remember bool, browserKey, how string) error {
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

// errLinksOff: with guests off every way in goes through the configured
// scheme, and a personal sign-in link (which works with the provider down)
// would be a way around it.
var errLinksOff = web.NewErrorID(http.StatusForbidden, "error.links_off", nil).
	WithLinkID(views.PathLogin, "login.title")

func (a *Auth) signinLinkPage(c *gin.Context) {
	if !a.guestsWelcome() {
		web.Fail(c, errLinksOff)
		return
	}
	u, err := a.st.UserBySigninToken(c.Request.Context(), c.Param("token"))
	if err != nil {
		web.Fail(c, signinLinkError(err))
		return
	}
	a.pages.Page(c, http.StatusOK, views.SigninConfirmPage(u.Nickname, c.Param("token")))
}

func signinLinkError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return web.NewErrorID(http.StatusNotFound, "error.link_invalid", nil)
	}
	return err
}

func (a *Auth) signinLinkPost(c *gin.Context) {
	if !a.guestsWelcome() {
		web.Fail(c, errLinksOff)
		return
	}
	if a.rateLimited(c) {
		return
	}
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	ctx := c.Request.Context()
	u, err := a.st.UserBySigninToken(ctx, c.Param("token"))
	if err != nil {
		web.Fail(c, signinLinkError(err))
		return
	}
	if !u.Active {
		web.Fail(c, web.NewErrorID(http.StatusForbidden, "error.nickname_deactivated", nil))
		return
	}
	key, err := a.renewBrowserKey(c, u, true)
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.completeSignIn(c, u, form.Get("remember") != "", key, "personal link", "/", "")
}

// newLinkKey holds a just-made personal sign-in link between the POST that made
// it and the one page that shows it.
const newLinkKey = "new_signin_link"

func (a *Auth) account(c *gin.Context) {
	s, _ := session(c)
	newToken, _ := s.Get(newLinkKey).(string)
	if newToken != "" {
		s.Delete(newLinkKey)
		if err := s.Save(); err != nil {
			web.Fail(c, err)
			return
		}
	}
	a.renderAccount(c, newToken)
}

func (a *Auth) renderAccount(c *gin.Context, newToken string) {
	ctx := c.Request.Context()
	u := User(c)
	v := views.AccountView{GuestsOff: !a.guestsWelcome()}
	var err error
	if !v.GuestsOff {
		if v.HasLink, err = a.st.HasSigninToken(ctx, u.ID); err != nil {
			web.Fail(c, err)
			return
		}
	}
	if newToken != "" {
		v.NewLink = a.pages.BaseURL(c) + views.SigninLinkPath(newToken)
	}
	browsers, err := a.st.UserBrowsers(ctx, u.ID, a.existingBrowserKey(c))
	if err != nil {
		web.Fail(c, err)
		return
	}
	for _, b := range browsers {
		v.BrowserKnown = v.BrowserKnown || b.This
		v.Browsers = append(v.Browsers, views.BrowserLine{
			ID: b.ID, FirstUsed: b.FirstUsed, LastUsed: b.LastUsed, This: b.This})
	}
	events, err := a.st.UserEvents(ctx, u.ID, 10)
	if err != nil {
		web.Fail(c, err)
		return
	}
	v.Activity = views.ActivityLines(events)
	s, _ := session(c)
	v.SignedInWith, _ = s.Get(schemeKey).(string)
	a.pages.Page(c, http.StatusOK, views.AccountPage(v))
}

// replaceSigninLink makes a new personal sign-in link; the old one stops
// working. Post/redirect/get: the Account page it lands on shows the link once,
// and a reload shows it no more (nor sends the form again). The token waits in
// the server-side session for that one page only.
func (a *Auth) replaceSigninLink(c *gin.Context) {
	if !a.guestsWelcome() {
		web.Fail(c, errLinksOff)
		return
	}
	tok, err := a.st.ReplaceSigninToken(c.Request.Context(), User(c).ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	s, _ := session(c)
	s.Set(newLinkKey, tok)
	web.DoneRedirect(c, a.lang(c).T("notice.link_replaced"), views.PathAccount)
}

// forgetBrowser revokes this browser's key for the user: typing the nickname
// here no longer signs in. This session goes on until the person signs out.
func (a *Auth) forgetBrowser(c *gin.Context) {
	if !a.forgetThisBrowser(c, User(c)) {
		return
	}
	if err := web.SetNotice(c, a.lang(c).T("notice.browser_forgotten")); err != nil {
		web.Fail(c, err)
		return
	}
	web.Redirect(c, views.PathAccount)
}

// forgetThisBrowser revokes this browser's key for u, if it holds one. It
// reports whether it went through (else it failed c).
func (a *Auth) forgetThisBrowser(c *gin.Context, u store.User) bool {
	id, known, err := a.thisBrowser(c, u)
	if err != nil {
		web.Fail(c, err)
		return false
	}
	return !known || a.revoke(c, u, id)
}

// thisBrowser is the id of this browser's key for u, and whether it holds one.
func (a *Auth) thisBrowser(c *gin.Context, u store.User) (int64, bool, error) {
	k := a.existingBrowserKey(c)
	if k == "" {
		return 0, false, nil
	}
	id, err := a.st.BrowserID(c.Request.Context(), u.ID, k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// revokeBrowser revokes one of the user's browsers (a lost or stolen device):
// its key no longer signs in by nickname, and its sessions end. Another user's
// browser id is not found.
func (a *Auth) revokeBrowser(c *gin.Context) {
	id, ok := web.ParseID(c, "id")
	if !ok {
		web.Fail(c, web.ErrNotFound)
		return
	}
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	if !a.revoke(c, User(c), id) {
		return
	}
	if err := web.SetNotice(c, a.lang(c).F("notice.browser_revoked", map[string]any{"Nickname": User(c).Nickname})); err != nil {
		web.Fail(c, err)
		return
	}
	web.Redirect(c, views.PathAccount)
}

// revoke unties browser id from u, ends its sessions (not this one) and their
// event streams, and clears this browser's key cookie when it was this browser's
// and serves nobody else. It reports whether it went through (else it failed c).
func (a *Auth) revoke(c *gin.Context, u store.User, id int64) bool {
	_, st := session(c)
	_, err := a.st.RevokeBrowser(c.Request.Context(), u.ID, id, st.rec.ID)
	if err != nil {
		web.Fail(c, err)
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
func (a *Auth) signOutEverywhere(c *gin.Context) {
	u := User(c)
	ids, err := a.st.SignOutEverywhere(c.Request.Context(), u.ID, a.existingBrowserKey(c))
	if err != nil {
		web.Fail(c, err)
		return
	}
	if _, err := signOut(c); err != nil {
		web.Fail(c, err)
		return
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignOutAll, fmt.Sprintf("%d sessions", len(ids))); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	web.DoneRedirect(c, a.lang(c).T("notice.signed_out_everywhere"), views.PathHome)
}

func (a *Auth) logoutPage(c *gin.Context) {
	_, known, err := a.thisBrowser(c, User(c))
	if err != nil {
		web.Fail(c, err)
		return
	}
	s, _ := session(c)
	how, _ := s.Get(schemeKey).(string)
	a.pages.Page(c, http.StatusOK, views.LogoutPage(views.LogoutView{BrowserKnown: known, SignedInWith: how}))
}

// logoutPost signs out; with forget=1 this browser forgets the nickname first
// (a shared computer), as "Forget this browser" on the account page does.
func (a *Auth) logoutPost(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	u := User(c)
	forget := form.Get("forget") == "1"
	if forget && !a.forgetThisBrowser(c, u) {
		return
	}
	_, err = signOut(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	if err := a.st.Audit(c.Request.Context(), u, 0, 0, store.ActSignOut, ""); err != nil {
		a.log.Warn("audit failed", "err", err)
	}
	// The notice rides in a fresh, anonymous session: the signed-in one is gone.
	// It counts against the total cap only, not the address's budget for
	// visitors who are not signed in: an office signing out at six must not
	// leave its colleagues' typed forms refused (a sign-out needs a sign-in,
	// which the sign-in limiter counts already).
	_, st := session(c)
	st.counted = true
	l := web.PageLang(c, u)
	notice := l.T("notice.signed_out")
	if forget {
		notice = l.T("notice.signed_out_forgotten")
	}
	web.DoneRedirect(c, notice, views.PathHome)
}
