package handlers

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

var (
	errTooManyStreams = newError(http.StatusServiceUnavailable, "Too many live pages",
		"The server has as many live pages open as it can serve. The page still works: refresh it to see changes.")
	errTooManySessionStreams = newError(http.StatusTooManyRequests, "Too many live pages",
		"This browser has too many live pages open. Close some tabs, or refresh this page to see changes.")
)

// events streams the issue's status panel as server-sent events: the current
// state on connect (so a reconnect is always right), then one event per change,
// and a heartbeat comment while idle. A stream whose session ended tells the
// browser to go to the sign-in page, then closes.
//
// Once the stream is set up, the connection is taken over (hijacked) and served
// by a small goroutine of its own, so an idle stream costs a few KiB instead of
// a whole request's goroutine stack and buffers.
func (a *App) events(c *gin.Context) {
	id, ok := parseID(c, "id")
	if !ok {
		a.fail(c, errNotFound)
		return
	}
	u := currentUser(c)
	if !u.IsAuthenticated() {
		a.streamNavigate(c, views.LoginPath(views.IssuePath(id), ""))
		return
	}
	is, g, role, err := a.st.IssueFor(c.Request.Context(), id, u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	if role == store.RoleNone {
		a.fail(c, errNotFound)
		return
	}
	_, st := session(c)
	sub, err := a.hub.subscribe(is.ID, g.ID, u.ID, st.rec.ID)
	if err != nil {
		if errors.Is(err, errTooManySessionStreams) {
			c.Header("Retry-After", "30")
		}
		a.fail(c, err)
		return
	}
	setStreamHeaders(c)
	if conn, ok := hijack(c); ok {
		gone := make(chan struct{})
		go watchClose(conn, gone)
		go a.hub.pump(sub, &connWriter{conn: conn}, gone)
		return
	}
	// No hijacking (HTTP/2, tests with a recorder): serve in this goroutine.
	c.Status(http.StatusOK)
	a.hub.pump(sub, &responseWriter{c: c, rc: http.NewResponseController(c.Writer)}, c.Request.Context().Done())
}

// streamNavigate answers a stream request with one event that sends the
// browser elsewhere (used when the session has ended).
func (a *App) streamNavigate(c *gin.Context, target string) {
	setStreamHeaders(c)
	c.Status(http.StatusOK)
	c.Writer.Write(encodeEvent("navigate", "", []byte(safeNext(target))))
}

func setStreamHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
}
