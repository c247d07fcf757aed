package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

// hub is the in-process broker of live updates: subscribers per issue, told
// after each committed change. Publishing never blocks: each subscriber has a
// one-slot wake-up channel, so a slow client is coalesced to the latest state
// and never stalls others. The status panel is rendered once per change and
// role, and shared by every subscriber that needs it.
type hub struct {
	a          *App
	mu         sync.Mutex
	topics     map[int64]*topic
	total      int
	perSession map[int64]int
	closed     bool
}

type topic struct {
	issueID, groupID int64
	subs             map[*subscriber]struct{} // guarded by hub.mu
	version          atomic.Uint64            // bumped on every change
	members          atomic.Uint64            // bumped when memberships change

	frameMu      sync.Mutex
	frameVersion uint64
	status       store.Status
	frames       map[store.Role][]byte
}

type subscriber struct {
	t         *topic
	userID    int64
	sessionID int64
	role      store.Role
	members   uint64 // the membership version the role was read at
	wake      chan struct{}
	done      chan struct{}
	once      sync.Once
	// navigate is where the browser should go when the stream is closed on it
	// (sign-in after a sign-out, the start page after a removal); "" to just end.
	navigate string
}

func newHub(a *App) *hub {
	return &hub{a: a, topics: map[int64]*topic{}, perSession: map[int64]int{}}
}

var (
	errTooManyStreams = newError(http.StatusServiceUnavailable, "Too many live pages",
		"The server has as many live pages open as it can serve. The page still works: refresh it to see changes.")
	errTooManySessionStreams = newError(http.StatusTooManyRequests, "Too many live pages",
		"This browser has too many live pages open. Close some tabs, or refresh this page to see changes.")
)

func (h *hub) subscribe(issueID, groupID, userID, sessionID int64, role store.Role) (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed || h.total >= h.a.cfg.MaxStreams:
		return nil, errTooManyStreams
	case h.perSession[sessionID] >= h.a.cfg.MaxStreamsPerSession:
		return nil, errTooManySessionStreams
	}
	t := h.topics[issueID]
	if t == nil {
		t = &topic{issueID: issueID, groupID: groupID, subs: map[*subscriber]struct{}{}}
		h.topics[issueID] = t
	}
	s := &subscriber{t: t, userID: userID, sessionID: sessionID, role: role, members: t.members.Load(),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	wasPresent := t.hasUserLocked(userID)
	t.subs[s] = struct{}{}
	h.total++
	h.perSession[sessionID]++
	if !wasPresent {
		h.bumpLocked(t)
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
		delete(h.topics, t.issueID)
		return
	}
	if !t.hasUserLocked(s.userID) {
		h.bumpLocked(t) // presence changed
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

// bumpLocked marks a change and wakes every subscriber without blocking.
func (h *hub) bumpLocked(t *topic) {
	t.version.Add(1)
	for s := range t.subs {
		select {
		case s.wake <- struct{}{}:
		default: // already woken: it will read the latest state
		}
	}
}

// issueChanged is called after a change to an issue is committed.
func (h *hub) issueChanged(issueID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[issueID]; t != nil {
		h.bumpLocked(t)
	}
}

// groupChanged is called after memberships or roles of a group changed: every
// live issue of the group updates, and subscribers re-read their role.
func (h *hub) groupChanged(_ context.Context, groupID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		if t.groupID == groupID {
			t.members.Add(1)
			h.bumpLocked(t)
		}
	}
}

// memberLeft closes the streams of a member who left or was removed, then
// updates the group's live issues.
func (h *hub) memberLeft(ctx context.Context, groupID, userID int64) {
	h.closeWhere(func(s *subscriber) bool { return s.t.groupID == groupID && s.userID == userID },
		func(*subscriber) string { return views.PathHome })
	h.groupChanged(ctx, groupID)
}

func (h *hub) groupDeleted(groupID int64) {
	h.closeWhere(func(s *subscriber) bool { return s.t.groupID == groupID },
		func(*subscriber) string { return views.PathHome })
}

func (h *hub) issueDeleted(issueID int64) {
	h.closeWhere(func(s *subscriber) bool { return s.t.issueID == issueID },
		func(s *subscriber) string { return views.GroupPath(s.t.groupID) })
}

// closeSessions ends the streams of sessions that were signed out; their pages
// go to the sign-in page, and back to the issue after.
func (h *hub) closeSessions(ids []int64) {
	set := map[int64]bool{}
	for _, id := range ids {
		set[id] = true
	}
	h.closeWhere(func(s *subscriber) bool { return set[s.sessionID] },
		func(s *subscriber) string { return views.LoginPath(views.IssuePath(s.t.issueID), "") })
}

// closeAll ends every stream (shutdown) and refuses new ones.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
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

// present is the set of users looking at the issue right now.
func (h *hub) present(issueID int64) map[int64]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int64]bool{}
	if t := h.topics[issueID]; t != nil {
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

// frame is the status panel for role at the topic's current version, loaded and
// rendered once per version and role.
func (h *hub) frame(ctx context.Context, t *topic, role store.Role) (uint64, []byte, error) {
	t.frameMu.Lock()
	defer t.frameMu.Unlock()
	v := t.version.Load()
	if t.frames == nil || t.frameVersion != v {
		st, err := h.a.st.IssueStatus(ctx, t.issueID)
		if err != nil {
			return 0, nil, err
		}
		t.status, t.frames, t.frameVersion = st, map[store.Role][]byte{}, v
	}
	if b, ok := t.frames[role]; ok {
		return v, b, nil
	}
	var buf bytes.Buffer
	view := views.StatusView{Status: t.status, Role: role, Present: h.present(t.issueID)}
	if err := views.StatusPanel(view).Render(ctx, &buf); err != nil {
		return 0, nil, err
	}
	t.frames[role] = buf.Bytes()
	return v, buf.Bytes(), nil
}

// events streams the issue's status panel as server-sent events: the current
// state on connect (so a reconnect is always right), then one event per change,
// a heartbeat comment while idle. A stream whose session ended tells the browser
// to go to the sign-in page, then closes.
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
	ctx := c.Request.Context()
	is, g, role, err := a.st.IssueFor(ctx, id, u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	if role == store.RoleNone {
		a.fail(c, errNotFound)
		return
	}
	_, st := session(c)
	sub, err := a.hub.subscribe(is.ID, g.ID, u.ID, st.rec.ID, role)
	if err != nil {
		if errors.Is(err, errTooManySessionStreams) {
			c.Header("Retry-After", "30")
		}
		a.fail(c, err)
		return
	}
	defer a.hub.unsubscribe(sub)

	w := newEventWriter(c)
	heartbeat := time.NewTicker(a.cfg.StreamHeartbeat)
	defer heartbeat.Stop()
	sent := uint64(0)
	send := func() error {
		v, body, err := a.hub.frame(ctx, sub.t, sub.role)
		if err != nil {
			return err
		}
		if v == sent {
			return nil
		}
		sent = v
		return w.event("", strconv.FormatUint(v, 10), body)
	}
	if err := send(); err != nil {
		a.log.Warn("event stream failed", "err", err)
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.done:
			if sub.navigate != "" {
				w.event("navigate", "", []byte(sub.navigate))
			}
			return
		case <-sub.wake:
			if m := sub.t.members.Load(); m != sub.members {
				_, _, role, err := a.st.IssueFor(ctx, is.ID, u.ID)
				if err != nil || role == store.RoleNone {
					w.event("navigate", "", []byte(views.PathHome))
					return
				}
				sub.role, sub.members = role, m
			}
			if err := send(); err != nil {
				return // client gone or too slow: it reconnects and gets the current state
			}
		case <-heartbeat.C:
			alive, err := a.st.SessionAlive(ctx, st.rec.ID, u.ID, a.cfg.Sessions)
			if err == nil && !alive {
				w.event("navigate", "", []byte(views.LoginPath(views.IssuePath(is.ID), "")))
				return
			}
			if err := w.comment("ping"); err != nil {
				return
			}
		}
	}
}

// streamNavigate answers a stream request with one event that sends the
// browser elsewhere (used when the session has ended).
func (a *App) streamNavigate(c *gin.Context, target string) {
	w := newEventWriter(c)
	w.event("navigate", "", []byte(safeNext(target)))
}

// eventWriter writes server-sent events, each with a write deadline so a client
// that stops reading is dropped instead of holding a goroutine forever.
type eventWriter struct {
	c  *gin.Context
	rc *http.ResponseController
}

const eventWriteTimeout = 10 * time.Second

func newEventWriter(c *gin.Context) *eventWriter {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	return &eventWriter{c: c, rc: http.NewResponseController(c.Writer)}
}

func (w *eventWriter) event(name, id string, data []byte) error {
	var b bytes.Buffer
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
	return w.write(b.Bytes())
}

func (w *eventWriter) comment(text string) error {
	return w.write([]byte(": " + text + "\n\n"))
}

func (w *eventWriter) write(p []byte) error {
	w.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	if _, err := w.c.Writer.Write(p); err != nil {
		return err
	}
	return w.rc.Flush()
}
