package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error is an answer with a status and a message for the person. Handlers
// record it with Fail; the app's error middleware renders it (an error page,
// or a notice fragment for htmx).
type Error struct {
	Status int
	Title  string
	Msg    string
	// Back is a link offered on the error page.
	Back, BackLabel string
	// AnonCap: a row for a visitor who is not signed in was refused (a cap).
	AnonCap bool
}

// IsAnonCap reports a refusal to store a row for a visitor who is not signed
// in (over a per-address or total cap): nothing was stored.
func IsAnonCap(err error) bool {
	var he *Error
	return errors.As(err, &he) && he.AnonCap
}

func (e *Error) Error() string { return e.Msg }

// NewError is an answer with status, a title and a message.
func NewError(status int, title, msg string) *Error {
	return &Error{Status: status, Title: title, Msg: msg}
}

// WithLink is e offering a link (href, label) on its error page.
func (e *Error) WithLink(href, label string) *Error {
	c := *e
	c.Back, c.BackLabel = href, label
	return &c
}

var (
	ErrNotFound  = NewError(http.StatusNotFound, "Not found", "There is nothing here, or it is not visible to you.")
	ErrMethod    = NewError(http.StatusMethodNotAllowed, "Method not allowed", "This address does not take that kind of request.")
	ErrForbidden = NewError(http.StatusForbidden, "Not allowed", "Only the group’s owner can do that.")
	// ErrForbiddenRun answers a member on a route of the room or the backlog.
	ErrForbiddenRun = NewError(http.StatusForbidden, "Not allowed", "Only the group’s owner or a facilitator can do that.")
	ErrCrossSite    = NewError(http.StatusForbidden, "Request refused", "This request came from another site and was refused. Nothing was changed.")
	ErrBadRequest   = NewError(http.StatusBadRequest, "Bad request", "The request could not be read.")
	ErrTooLarge     = NewError(http.StatusRequestEntityTooLarge, "Too large", "What was sent is larger than this app accepts. Nothing was changed.")
	ErrMediaType    = NewError(http.StatusUnsupportedMediaType, "Unsupported form", "Forms here are sent as plain URL-encoded forms; file uploads are not accepted.")
	ErrUnavailable  = NewError(http.StatusServiceUnavailable, "Temporarily unavailable", "The database cannot take this right now. Nothing was lost; please try again in a moment.")
	ErrInternal     = NewError(http.StatusInternalServerError, "Something went wrong", "The server failed to answer. The cause was logged; please try again.")
)

// Fail records err for the error middleware and stops the chain.
func Fail(c *gin.Context, err error) {
	c.Error(err)
	c.Abort()
}
