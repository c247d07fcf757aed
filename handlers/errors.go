package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// handleErrors turns the errors recorded with web.Fail (here and in signin)
// into one kind of answer: an error page, or a notice fragment for htmx. 5xx
// causes are logged; a cancelled request is not an error.
func (a *App) handleErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 {
		return
	}
	err := c.Errors.Last().Err
	he := a.classify(c, err)
	if he == nil || c.Writer.Written() {
		return
	}
	c.Header("Cache-Control", "no-store")
	if he.Status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", "5")
	}
	page := a.pages.Info(c)
	title, msg, label := he.In(page.Lang)
	if web.WantsFragment(c) {
		// htmx 4 swaps every status: send the message to the notice area.
		c.Header("HX-Retarget", "#notice")
		c.Header("HX-Reswap", "innerHTML")
		web.Render(c, he.Status, views.ErrorFragment(msg), page)
		return
	}
	back := he.Back
	if back == "" {
		back, label = views.PathHome, page.Lang.T("error.back_home")
	}
	// An error page leaves a pending one-time notice for the next real page.
	web.Render(c, he.Status, views.ErrorPage(he.Status, title, msg, back, label), page)
}

func (a *App) classify(c *gin.Context, err error) *web.Error {
	var he *web.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &mbe):
		return web.ErrTooLarge
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		return nil // the client went away; nobody to answer
	case errors.Is(err, store.ErrNotFound):
		return web.ErrNotFound
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		a.metrics.DatabaseError()
		a.log.Error("database unavailable", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		return web.ErrUnavailable
	default:
		a.log.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		return web.ErrInternal
	}
}
