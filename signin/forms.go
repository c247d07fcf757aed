package signin

import (
	"net/url"
	"strings"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// decodeLogin reads the sign-in form (POST /login).
func decodeLogin(v url.Values, l i18n.Lang) (f views.LoginForm, nickname string) {
	f = views.LoginForm{
		Nickname: v.Get("nickname"),
		Remember: v.Get("remember") != "",
		Next:     afterSignIn(v.Get("next")),
		Kept:     v.Get("kept"),
		Errors:   views.FieldErrors{},
	}
	nickname, p := store.CheckNickname(f.Nickname)
	if !p.OK() {
		f.Errors["nickname"] = p.In(l)
	}
	return f, nickname
}

// afterSignIn is where a sign-in may lead: web.SafeNext, but never the sign-out
// page. Back after signing out asks for it again, and a person who has just
// signed in does not want to be asked whether to sign out.
func afterSignIn(p string) string {
	p = web.SafeNext(p)
	if u, err := url.Parse(p); err == nil && strings.TrimSuffix(u.Path, "/") == views.PathLogout {
		return "/"
	}
	return p
}
