package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
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
	// ID names the error in the message files: its title is ID+".title",
	// its message ID, filled from Data; Title and Msg are then the English
	// ones (what Error and the log say). BackID names the link's label.
	ID, BackID string
	Data       map[string]any
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

// NewErrorID is an answer with status whose title and message come from the
// message files (id+".title" and id, filled from data): each person reads it
// in their language.
func NewErrorID(status int, id string, data map[string]any) *Error {
	return &Error{Status: status, ID: id, Data: data, Title: i18n.EN.F(id+".title", data), Msg: i18n.EN.F(id, data)}
}

// In is the error's title, message and link label in language l.
func (e *Error) In(l i18n.Lang) (title, msg, backLabel string) {
	title, msg, backLabel = e.Title, e.Msg, e.BackLabel
	if e.ID != "" {
		title, msg = l.F(e.ID+".title", e.Data), l.F(e.ID, e.Data)
	}
	if e.BackID != "" {
		backLabel = l.F(e.BackID, e.Data)
	}
	return title, msg, backLabel
}

// WithLinkID is e offering a link whose label is the message labelID.
func (e *Error) WithLinkID(href, labelID string) *Error {
	c := *e
	c.Back, c.BackID, c.BackLabel = href, labelID, i18n.EN.F(labelID, e.Data)
	return &c
}

// WithLink is e offering a link (href, label) on its error page.
func (e *Error) WithLink(href, label string) *Error {
	c := *e
	c.Back, c.BackLabel = href, label
	return &c
}

var (
	ErrNotFound  = NewErrorID(http.StatusNotFound, "error.not_found", nil)
	ErrMethod    = NewErrorID(http.StatusMethodNotAllowed, "error.method", nil)
	ErrForbidden = NewErrorID(http.StatusForbidden, "error.forbidden", nil)
	// ErrForbiddenRun answers a member on a route of the room or the backlog.
	ErrForbiddenRun = NewErrorID(http.StatusForbidden, "error.forbidden_run", nil)
	ErrCrossSite    = NewErrorID(http.StatusForbidden, "error.cross_site", nil)
	ErrBadRequest   = NewErrorID(http.StatusBadRequest, "error.bad_request", nil)
	ErrTooLarge     = NewErrorID(http.StatusRequestEntityTooLarge, "error.too_large", nil)
	ErrMediaType    = NewErrorID(http.StatusUnsupportedMediaType, "error.media_type", nil)
	ErrUnavailable  = NewErrorID(http.StatusServiceUnavailable, "error.unavailable", nil)
	ErrInternal     = NewErrorID(http.StatusInternalServerError, "error.internal", nil)
)

// Fail records err for the error middleware and stops the chain.
func Fail(c *gin.Context, err error) {
	c.Error(err)
	c.Abort()
}
