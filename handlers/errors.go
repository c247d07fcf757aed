package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

// httpError is an answer with a status and a message for the person.
type httpError struct {
	status int
	title  string
	msg    string
	// back is a link offered on the error page.
	back, backLabel string
	// anonCap: a row for a visitor who is not signed in was refused (a cap).
	anonCap bool
}

// isAnonCap reports a refusal to store a row for a visitor who is not signed
// in (over a per-address or total cap): nothing was stored.
func isAnonCap(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.anonCap
}

func (e *httpError) Error() string { return e.msg }

func newError(status int, title, msg string) *httpError {
	return &httpError{status: status, title: title, msg: msg}
}

func (e *httpError) withLink(href, label string) *httpError {
	c := *e
	c.back, c.backLabel = href, label
	return &c
}

var (
	errNotFound  = newError(http.StatusNotFound, "Not found", "There is nothing here, or it is not visible to you.")
	errMethod    = newError(http.StatusMethodNotAllowed, "Method not allowed", "This address does not take that kind of request.")
	errForbidden = newError(http.StatusForbidden, "Not allowed", "Only the group’s owner can do that.")
	// errForbiddenRun answers a member on a route of the room or the backlog.
	errForbiddenRun = newError(http.StatusForbidden, "Not allowed", "Only the group’s owner or a facilitator can do that.")
	errCrossSite    = newError(http.StatusForbidden, "Request refused", "This request came from another site and was refused. Nothing was changed.")
	errBadRequest   = newError(http.StatusBadRequest, "Bad request", "The request could not be read.")
	errTooLarge     = newError(http.StatusRequestEntityTooLarge, "Too large", "What was sent is larger than this app accepts. Nothing was changed.")
	errMediaType    = newError(http.StatusUnsupportedMediaType, "Unsupported form", "Forms here are sent as plain URL-encoded forms; file uploads are not accepted.")
	errUnavailable  = newError(http.StatusServiceUnavailable, "Temporarily unavailable", "The database cannot take this right now. Nothing was lost; please try again in a moment.")
	errInternal     = newError(http.StatusInternalServerError, "Something went wrong", "The server failed to answer. The cause was logged; please try again.")
)

// fail records err for the error middleware and stops the chain.
func (a *App) fail(c *gin.Context, err error) {
	c.Error(err)
	c.Abort()
}

// handleErrors turns the errors handlers record into one kind of answer: an
// error page, or a notice fragment for htmx. 5xx causes are logged; a cancelled
// request is not an error.
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
	if he.status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", "5")
	}
	if wantsFragment(c) {
		// htmx 4 swaps every status: send the message to the notice area.
		c.Header("HX-Retarget", "#notice")
		c.Header("HX-Reswap", "innerHTML")
		a.renderWith(c, he.status, views.ErrorFragment(he.msg), a.pageInfo(c))
		return
	}
	back, label := he.back, he.backLabel
	if back == "" {
		back, label = views.PathHome, "Go to the start page"
	}
	// An error page leaves a pending one-time notice for the next real page.
	a.renderWith(c, he.status, views.ErrorPage(he.status, he.title, he.msg, back, label), a.pageInfo(c))
}

func (a *App) classify(c *gin.Context, err error) *httpError {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		return nil // the client went away; nobody to answer
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		a.metrics.DatabaseError()
		a.log.Error("database unavailable", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		return errUnavailable
	default:
		a.log.Error("request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		return errInternal
	}
}
