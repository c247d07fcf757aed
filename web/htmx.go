package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// The htmx request headers this app reads, and the answers it gives: the one
// place that knows them.

// htmxRequest is what a request says about itself in htmx's headers, read
// once per request.
type htmxRequest struct {
	Request        bool   // HX-Request: sent by htmx
	Boosted        bool   // HX-Boosted: a boosted link or form (wants a whole page)
	HistoryRestore bool   // HX-History-Restore-Request: a history restore (whole page)
	CurrentURL     string // HX-Current-URL: the page the request came from, as sent
	Target         string // HX-Target: the element the answer is swapped into
}

func parseHTMX(r *http.Request) *htmxRequest {
	h := r.Header
	return &htmxRequest{
		Request:        h.Get("HX-Request") == "true",
		Boosted:        h.Get("HX-Boosted") == "true",
		HistoryRestore: h.Get("HX-History-Restore-Request") == "true",
		CurrentURL:     h.Get("HX-Current-URL"),
		Target:         h.Get("HX-Target"),
	}
}

const htmxKey = "estimator.htmx"

// ReadHTMX is the middleware that reads the htmx headers into the request's
// htmxRequest. Every answer of the app may depend on HX-Request (an error is a
// fragment for htmx, a page otherwise), so caches are told here, once.
func ReadHTMX(c *gin.Context) {
	c.Set(htmxKey, parseHTMX(c.Request))
	c.Header("Vary", "HX-Request")
	c.Writer.Header().Add("Vary", "Accept-Language")
	c.Next()
}

// htmxOf is the request's htmxRequest (read now for an answer given before
// ReadHTMX ran).
func htmxOf(c *gin.Context) *htmxRequest {
	if v, ok := c.Get(htmxKey); ok {
		return v.(*htmxRequest)
	}
	h := parseHTMX(c.Request)
	c.Set(htmxKey, h)
	return h
}

// IsHTMX reports a request sent by htmx.
func IsHTMX(c *gin.Context) bool { return htmxOf(c).Request }

// WantsFragment: only a plain (not boosted, not history-restoring) htmx request
// gets a fragment; everything else gets a whole page.
func WantsFragment(c *gin.Context) bool {
	h := htmxOf(c)
	return h.Request && !h.Boosted && !h.HistoryRestore
}

// CurrentPagePath is the path (and query) of the page an htmx request came from,
// when HX-Current-URL names a page of this site; "" otherwise.
func CurrentPagePath(c *gin.Context) string {
	raw := htmxOf(c).CurrentURL
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host != c.Request.Host || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return ""
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	if safe, ok := SafePath(p); ok {
		return safe
	}
	return ""
}

// Redirect sends the browser to a path of this site: 303 for a plain request,
// HX-Redirect with 200 for htmx (a 3xx would be followed inside fetch and its
// page swapped into a fragment). The target is checked; off-site goes to "/".
func Redirect(c *gin.Context, target string) {
	target = SafeNext(target)
	if IsHTMX(c) {
		c.Header("HX-Redirect", target)
		c.Status(http.StatusOK)
		return
	}
	c.Redirect(http.StatusSeeOther, target)
}
