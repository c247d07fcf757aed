package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
)

// ReadForm parses a URL-encoded POST body: 415 for any other kind of body
// (multipart included), 413 past the size cap, 400 when it cannot be read. When a
// field is sent more than once, its first value counts.
func ReadForm(c *gin.Context) (url.Values, error) {
	ct := c.ContentType()
	if ct != "application/x-www-form-urlencoded" && c.Request.ContentLength != 0 {
		return nil, ErrMediaType
	}
	if err := c.Request.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ErrTooLarge
		}
		return nil, ErrBadRequest
	}
	return c.Request.PostForm, nil
}

// ParseID reads a positive numeric id from the path; anything else does not
// exist (404).
func ParseID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Param(name) {
		return 0, false
	}
	return id, true
}
