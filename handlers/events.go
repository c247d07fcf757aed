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

// hub is the in-process broker of live updates. Handlers tell it after a change
// is committed; per topic (an issue's room, or a group's page), one renderer
// goroutine loads the state once and renders the panel once per role, already
// encoded as an event; then every
// subscriber is woken through a one-slot channel. Publishing never blocks, a slow
// client only ever gets the latest state (coalesced), and no subscriber can stall
// another.
type hub struct {
	a          *App
	ctx        context.Context
	cancel     context.CancelFunc
	mu         sync.Mutex
	topics     map[topicKey]*topic
	total      int
	perSession map[int64]int
	closed     bool
}

// topicKey names a topic: an issue's room, or (issue 0) a group's page.
type topicKey struct{ issueID, groupID int64 }

func keyOf(issueID, groupID int64) topicKey {
	if issueID != 0 {
		return topicKey{issueID: issueID}
	}
	return topicKey{groupID: groupID}
}

type topic struct {
	// issueID is 0 for a group page's topic.
	issueID, groupID int64
	// guarded by hub.mu
	subs      map[*subscriber]struct{}
	dirty     bool
	rendering bool
	// current is the latest rendered state; nil until the first render.
	current atomic.Pointer[frameSet]
	version uint64 // last version rendered; only the renderer touches it
}

// frameSet is one state of an issue as events, ready to write: one per role, and
// who has which role (a subscriber who is no longer a member gets nothing).
type frameSet struct {
	version uint64
	wire    map[store.Role][]byte
	roles   map[int64]store.Role
}

type subscriber struct {
	t         *topic
	userID    int64
	sessionID int64
	wake      chan struct{}
	done      chan struct{}
	once      sync.Once
	// navigate is where the browser should go when the stream is closed on it
	// (sign-in after a sign-out, the start page after a removal); "" to just end.
	navigate string
}

func newHub(a *App) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{a: a, ctx: ctx, cancel: cancel, topics: map[topicKey]*topic{}, perSession: map[int64]int{}}
	go h.checkSessions()
	return h
}

var (
	errTooManyStreams = newError(http.StatusServiceUnavailable, "Too many live pages",
		"The server has as many live pages open as it can serve. The page still works: refresh it to see changes.")
	errTooManySessionStreams = newError(http.StatusTooManyRequests, "Too many live pages",
		"This browser has too many live pages open. Close some tabs, or refresh this page to see changes.")
)

// subscribe opens a stream on an issue's room, or with issueID 0 on the group's
// page.
func (h *hub) subscribe(issueID, groupID, userID, sessionID int64) (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed || h.total >= h.a.cfg.MaxStreams:
		return nil, errTooManyStreams
	case h.perSession[sessionID] >= h.a.cfg.MaxStreamsPerSession:
		return nil, errTooManySessionStreams
	}
	t := h.topics[keyOf(issueID, groupID)]
	if t == nil {
		t = &topic{issueID: issueID, groupID: groupID, subs: map[*subscriber]struct{}{}}
		h.topics[keyOf(issueID, groupID)] = t
	}
	s := &subscriber{t: t, userID: userID, sessionID: sessionID,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.wake <- struct{}{} // send the current state at once, if there is one
	wasPresent := t.hasUserLocked(userID)
	t.subs[s] = struct{}{}
	h.total++
	h.perSession[sessionID]++
	if !wasPresent || t.current.Load() == nil {
		h.changedLocked(t) // presence changed (or nothing rendered yet)
	}
	return s, nil
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := s.t
	if _, ok := t.subs[s]; !ok {
		return
	}
	delete(t.subs, s)
	h.total--
	if h.perSession[s.sessionID]--; h.perSession[s.sessionID] <= 0 {
		delete(h.perSession, s.sessionID)
	}
	if len(t.subs) == 0 {
		delete(h.topics, keyOf(t.issueID, t.groupID))
		return
	}
	if !t.hasUserLocked(s.userID) {
		h.changedLocked(t) // presence changed
	}
}

func (t *topic) hasUserLocked(userID int64) bool {
	for s := range t.subs {
		if s.userID == userID {
			return true
		}
	}
	return false
}

// changedLocked marks the topic changed and makes sure its renderer runs.
// Changes while a render is under way coalesce into one more render.
func (h *hub) changedLocked(t *topic) {
	t.dirty = true
	if !t.rendering && !h.closed {
		t.rendering = true
		go h.render(t)
	}
}

// render loads and renders the topic's state until no change is pending, and
// wakes every subscriber after each render.
func (h *hub) render(t *topic) {
	for {
		h.mu.Lock()
		if !t.dirty || h.closed {
			t.rendering = false
			h.mu.Unlock()
			return
		}
		t.dirty = false
		present := map[int64]bool{}
		for s := range t.subs {
			present[s.userID] = true
		}
		h.mu.Unlock()

		fs, err := h.renderFrames(t, present)
		if errors.Is(err, store.ErrNotFound) {
			if t.issueID != 0 {
				h.issueDeleted(t.issueID)
			} else {
				h.groupDeleted(t.groupID)
			}
			continue
		}
		if err != nil {
			if h.ctx.Err() == nil {
				h.a.log.Warn("live update render failed; retrying", "issue", t.issueID, "err", err)
			}
			select {
			case <-h.ctx.Done():
			case <-time.After(time.Second):
			}
			h.mu.Lock()
			t.dirty = true
			h.mu.Unlock()
			continue
		}
		t.current.Store(fs)
		h.mu.Lock()
		for s := range t.subs {
			if _, member := fs.roles[s.userID]; !member {
				s.close(views.PathHome)
				continue
			}
			select {
			case s.wake <- struct{}{}:
			default: // already woken: it will read the latest state
			}
		}
		h.mu.Unlock()
	}
}

func (h *hub) renderFrames(t *topic, present map[int64]bool) (*frameSet, error) {
	if t.issueID == 0 {
		return h.renderGroupFrames(t)
	}
	st, err := h.a.st.IssueStatus(h.ctx, t.issueID)
	if err != nil {
		return nil, err
	}
	t.version++
	fs := &frameSet{version: t.version, wire: map[store.Role][]byte{}, roles: map[int64]store.Role{}}
	for _, v := range st.Voters {
		fs.roles[v.UserID] = v.Role
	}
	var buf bytes.Buffer
	for _, role := range []store.Role{store.RoleOwner, store.RoleMember} {
		buf.Reset()
		view := views.StatusView{Status: st, Role: role, Present: present, Now: h.a.st.Now()}
		if err := views.StatusPanel(view).Render(h.ctx, &buf); err != nil {
			return nil, err
		}
		fs.wire[role] = encodeEvent("", strconv.FormatUint(fs.version, 10), buf.Bytes())
	}
	return fs, nil
}

// renderGroupFrames renders the live part of a group's page: where the group
// is, and its issues (with how many voted, never what).
func (h *hub) renderGroupFrames(t *topic) (*frameSet, error) {
	g, _, err := h.a.st.GroupFor(h.ctx, t.groupID, 0)
	if err != nil {
		return nil, err
	}
	members, err := h.a.st.Members(h.ctx, t.groupID)
	if err != nil {
		return nil, err
	}
	issues, err := h.a.st.GroupIssues(h.ctx, t.groupID)
	if err != nil {
		return nil, err
	}
	t.version++
	fs := &frameSet{version: t.version, wire: map[store.Role][]byte{}, roles: map[int64]store.Role{}}
	for _, m := range members {
		fs.roles[m.UserID] = m.Role
	}
	var buf bytes.Buffer
	for _, role := range []store.Role{store.RoleOwner, store.RoleMember} {
		buf.Reset()
		view := views.GroupLiveView{GroupID: g.ID, Current: g.CurrentIssueID, Issues: issues, Owner: role == store.RoleOwner}
		if err := views.GroupLive(view).Render(h.ctx, &buf); err != nil {
			return nil, err
		}
		fs.wire[role] = encodeEvent("", strconv.FormatUint(fs.version, 10), buf.Bytes())
	}
	return fs, nil
}

// issueChanged is called after a change to an issue is committed.
func (h *hub) issueChanged(issueID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[keyOf(issueID, 0)]; t != nil {
		h.changedLocked(t)
	}
}

// groupPageChanged is called after a change that the group's page shows (an
// issue's state or vote count, the current issue).
func (h *hub) groupPageChanged(groupID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[keyOf(0, groupID)]; t != nil {
		h.changedLocked(t)
	}
}

// groupMoved takes every open room and group page of the group to the issue it
// estimates now; the room of that issue itself stays and is rendered again.
func (h *hub) groupMoved(groupID, issueID int64) {
	h.closeWhere(func(s *subscriber) bool { return s.t.groupID == groupID && s.t.issueID != issueID },
		func(*subscriber) string { return views.IssuePath(issueID) })
	h.issueChanged(issueID)
}

// groupChanged is called after memberships or roles in a group changed: every
// live issue of the group is rendered again, with everyone's role re-read.
func (h *hub) groupChanged(groupID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		if t.groupID == groupID {
			h.changedLocked(t)
		}
	}
}

// memberLeft closes the streams of a member who left or was removed, then
// updates the group's live issues for everyone else.
func (h *hub) memberLeft(groupID, userID int64) {
	h.closeWhere(func(s *subscriber) bool { return s.t.groupID == groupID && s.userID == userID },
		func(*subscriber) string { return views.PathHome })
	h.groupChanged(groupID)
}

func (h *hub) groupDeleted(groupID int64) {
	h.closeWhere(func(s *subscriber) bool { return s.t.groupID == groupID },
		func(*subscriber) string { return views.PathHome })
}

func (h *hub) issueDeleted(issueID int64) {
	h.closeWhere(func(s *subscriber) bool { return issueID != 0 && s.t.issueID == issueID },
		func(s *subscriber) string { return views.GroupPath(s.t.groupID) })
}

// closeSessions ends the streams of sessions that were signed out; their pages
// go to the sign-in page, and back to the issue after.
func (h *hub) closeSessions(ids []int64) {
	set := map[int64]bool{}
	for _, id := range ids {
		set[id] = true
	}
	h.closeWhere(func(s *subscriber) bool { return set[s.sessionID] }, signInAgain)
}

func signInAgain(s *subscriber) string { return views.LoginPath(s.t.page(), "") }

// page is the page a topic's streams belong to.
func (t *topic) page() string {
	if t.issueID == 0 {
		return views.GroupPath(t.groupID)
	}
	return views.IssuePath(t.issueID)
}

// closeAll ends every stream (shutdown) and refuses new ones.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.closeWhere(func(*subscriber) bool { return true }, func(*subscriber) string { return "" })
}

func (h *hub) closeWhere(match func(*subscriber) bool, navigate func(*subscriber) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		for s := range t.subs {
			if match(s) {
				s.close(navigate(s))
			}
		}
	}
}

func (s *subscriber) close(navigate string) {
	s.once.Do(func() {
		s.navigate = navigate
		close(s.done)
	})
}

// checkSessions notices, once per heartbeat, sessions that ended outside this
// process's sign-out (expiry, an operator's deactivation) and closes their
// streams: the page goes to sign-in.
func (h *hub) checkSessions() {
	t := time.NewTicker(h.a.cfg.StreamHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		type key struct{ session, user int64 }
		h.mu.Lock()
		seen := map[key]bool{}
		for _, tp := range h.topics {
			for s := range tp.subs {
				seen[key{s.sessionID, s.userID}] = true
			}
		}
		h.mu.Unlock()
		var dead []int64
		for k := range seen {
			alive, err := h.a.st.SessionAlive(h.ctx, k.session, k.user, h.a.cfg.Sessions)
			if err == nil && !alive {
				dead = append(dead, k.session)
			}
		}
		if len(dead) > 0 {
			h.closeSessions(dead)
		}
	}
}

// present is the set of users looking at the issue right now.
func (h *hub) present(issueID int64) map[int64]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int64]bool{}
	if t := h.topics[keyOf(issueID, 0)]; t != nil {
		for s := range t.subs {
			out[s.userID] = true
		}
	}
	return out
}

// subscribers counts open streams (for tests and limits).
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

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
	a.stream(c, is.ID, g.ID)
}

// groupEvents streams the live part of a group's page, like events does an
// issue's room; a move to another issue sends the page there.
func (a *App) groupEvents(c *gin.Context) {
	id, ok := parseID(c, "id")
	if !ok {
		a.fail(c, errNotFound)
		return
	}
	u := currentUser(c)
	if !u.IsAuthenticated() {
		a.streamNavigate(c, views.LoginPath(views.GroupPath(id), ""))
		return
	}
	g, role, err := a.st.GroupFor(c.Request.Context(), id, u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	if role == store.RoleNone {
		a.fail(c, errNotFound)
		return
	}
	a.stream(c, 0, g.ID)
}

// stream subscribes the signed-in member to a topic and serves the stream.
func (a *App) stream(c *gin.Context, issueID, groupID int64) {
	u := currentUser(c)
	_, st := session(c)
	sub, err := a.hub.subscribe(issueID, groupID, u.ID, st.rec.ID)
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

// pump writes a subscriber's events until the client goes, the stream is closed
// on it, or it cannot keep up.
func (h *hub) pump(s *subscriber, w eventSink, gone <-chan struct{}) {
	defer w.close() // after unsubscribing: a client that saw the end sees it gone
	defer h.unsubscribe(s)
	heartbeat := time.NewTicker(h.a.cfg.StreamHeartbeat)
	defer heartbeat.Stop()
	var sent uint64
	for {
		select {
		case <-gone:
			return
		case <-s.done:
			if s.navigate != "" {
				w.write(encodeEvent("navigate", "", []byte(s.navigate)))
			}
			return
		case <-s.wake:
			fs := s.t.current.Load()
			if fs == nil || fs.version == sent {
				continue
			}
			role, ok := fs.roles[s.userID]
			if !ok {
				continue // the renderer closes it
			}
			sent = fs.version
			if w.write(fs.wire[role]) != nil {
				return // gone or too slow: it reconnects and gets the current state
			}
		case <-heartbeat.C:
			if w.write(heartbeatComment) != nil {
				return
			}
		}
	}
}

var heartbeatComment = []byte(": ping\n\n")

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

// encodeEvent is the wire form of one server-sent event.
func encodeEvent(name, id string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + 64)
	if name != "" {
		b.WriteString("event: " + name + "\n")
	}
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// eventWriteTimeout drops a client that stops reading.
const eventWriteTimeout = 10 * time.Second

type eventSink interface {
	write(p []byte) error
	close()
}

// hijack takes the connection over after writing the response head itself:
// HTTP/1.1, no length, the body ends when the connection closes.
func hijack(c *gin.Context) (net.Conn, bool) {
	if c.Request.ProtoMajor != 1 {
		return nil, false
	}
	hj, ok := c.Writer.(http.Hijacker)
	if !ok {
		return nil, false
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, false
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h := c.Writer.Header().Clone()
	h.Del("Content-Length")
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Write(&head)
	head.WriteString("\r\n")
	rw.Writer.Reset(conn)             // drop anything the server buffered
	conn.SetReadDeadline(time.Time{}) // the server's request deadlines no longer apply
	conn.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, false
	}
	return conn, true
}

// watchClose reports when the client closes the connection (a read fails).
func watchClose(conn net.Conn, gone chan<- struct{}) {
	var buf [64]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			close(gone)
			return
		}
	}
}

type connWriter struct{ conn net.Conn }

func (w *connWriter) write(p []byte) error {
	w.conn.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	_, err := w.conn.Write(p)
	return err
}

func (w *connWriter) close() { w.conn.Close() }

type responseWriter struct {
	c  *gin.Context
	rc *http.ResponseController
}

func (w *responseWriter) write(p []byte) error {
	w.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if _, err := w.c.Writer.Write(p); err != nil {
		return err
	}
	return w.rc.Flush()
}

func (w *responseWriter) close() {}
