package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
)

// languageStore is the part of the store the language choice uses.
type languageStore interface {
	SetLanguage(ctx context.Context, userID int64, lang string) error
}

// pageLang is the language of the answer: the person's own choice, else the
// browser's Accept-Language (every answer says it varies with it: readHTMX).
func pageLang(c *gin.Context, u store.User) i18n.Lang {
	return i18n.Negotiate(i18n.Lang(u.Lang), c.GetHeader("Accept-Language"))
}

// setLanguage keeps the interface language a person chose
// (POST /account/language, lang = en, de, fr, es or pt-BR; empty to follow
// the browser again). Anything else is 422 and changes nothing.
func (a *App) setLanguage(c *gin.Context) {
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	raw := form.Get("lang")
	l, ok := i18n.Parse(raw)
	if !ok && raw != "" {
		cur := pageLang(c, currentUser(c))
		a.fail(c, newError(http.StatusUnprocessableEntity, cur.T("account.language.title"), cur.T("account.language.invalid")).
			withLink(views.PathAccount, cur.T("nav.account")))
		return
	}
	u := currentUser(c)
	if err := a.st.SetLanguage(c.Request.Context(), u.ID, string(l)); err != nil {
		a.fail(c, err)
		return
	}
	// The notice is read on the next page, in the language just chosen.
	a.doneRedirect(c, i18n.Negotiate(l, c.GetHeader("Accept-Language")).T("account.language.saved"), views.PathAccount)
}
