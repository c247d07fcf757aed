package handlers

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// The htmx request headers this app reads, and the answers it gives: the one
// place that knows them.

func isHTMX(c *gin.Context) bool { return c.GetHeader("HX-Request") == "true" }

func isBoosted(c *gin.Context) bool { return c.GetHeader("HX-Boosted") == "true" }

func isHistoryRestore(c *gin.Context) bool {
	return c.GetHeader("HX-History-Restore-Request") == "true"
}

// wantsFragment: only a plain (not boosted, not history-restoring) htmx request
// gets a fragment; everything else gets a whole page. The answer depends on
// HX-Request, so caches are told.
func wantsFragment(c *gin.Context) bool {
	c.Writer.Header().Add("Vary", "HX-Request")
	return isHTMX(c) && !isBoosted(c) && !isHistoryRestore(c)
}

// currentPagePath is the path (and query) of the page an htmx request came from,
// when HX-Current-URL names a page of this site; "" otherwise.
func currentPagePath(c *gin.Context) string {
	raw := c.GetHeader("HX-Current-URL")
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

// redirect sends the browser to a path of this site: 303 for a plain request,
// HX-Redirect with 200 for htmx (a 3xx would be followed inside fetch and its
// page swapped into a fragment). The target is checked; off-site goes to "/".
func redirect(c *gin.Context, target string) {
	target = safeNext(target)
	if isHTMX(c) {
		c.Header("HX-Redirect", target)
		c.Header("Vary", "HX-Request")
		c.Status(http.StatusOK)
		return
	}
	c.Redirect(http.StatusSeeOther, target)
}
