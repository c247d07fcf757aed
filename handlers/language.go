package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/signin"
	"estimator/views"
	"estimator/web"
)

// languageStore is the part of the store the language choice uses.
type languageStore interface {
	SetLanguage(ctx context.Context, userID int64, lang string) error
}

// setLanguage keeps the interface language a person chose
// (POST /account/language, lang = en, de, fr, es or pt-BR; empty to follow
// the browser again). Anything else is 422 and changes nothing.
func (a *App) setLanguage(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	raw := form.Get("lang")
	l, ok := i18n.Parse(raw)
	if !ok && raw != "" {
		cur := web.PageLang(c, signin.User(c))
		web.Fail(c, web.NewError(http.StatusUnprocessableEntity, cur.T("account.language.title"), cur.T("account.language.invalid")).
			WithLink(views.PathAccount, cur.T("nav.account")))
		return
	}
	u := signin.User(c)
	if err := a.st.SetLanguage(c.Request.Context(), u.ID, string(l)); err != nil {
		web.Fail(c, err)
		return
	}
	// The notice is read on the next page, in the language just chosen.
	web.DoneRedirect(c, i18n.Negotiate(l, c.GetHeader("Accept-Language")).T("account.language.saved"), views.PathAccount)
}
