package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/handlers/live"
	"estimator/store"
	"estimator/views"
)

var (
	errTooManyStreams = newError(http.StatusServiceUnavailable, "Too many live pages",
		"The server has as many live pages open as it can serve. The page still works: refresh it to see changes.")
	errTooManySessionStreams = newError(http.StatusTooManyRequests, "Too many live pages",
		"This browser has too many live pages open. Close some tabs, or refresh this page to see changes.")
)

// events streams the live part of the issue's room (live.Serve says how). A
// stream whose session ended tells the browser to go to the sign-in page, then
// closes; a move of the group to another issue sends the room there.
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

// stream subscribes the signed-in member to a topic (an issue, or 0 for the
// group's page) and serves it. HEAD answers the headers a stream would get and
// opens nothing: no subscriber, no presence.
func (a *App) stream(c *gin.Context, issueID, groupID int64) {
	if isHead(c) {
		live.SetHeaders(c.Writer.Header())
		c.Status(http.StatusOK)
		return
	}
	_, st := session(c)
	sub, err := a.hub.Subscribe(issueID, groupID, live.Viewer{User: currentUser(c).ID, Session: st.rec.ID})
	switch {
	case errors.Is(err, live.ErrSessionFull):
		c.Header("Retry-After", "30")
		a.fail(c, errTooManySessionStreams)
		return
	case err != nil:
		a.fail(c, errTooManyStreams)
		return
	}
	a.hub.Serve(c.Writer, c.Request, sub)
}

// streamNavigate answers a stream request with one event that sends the
// browser elsewhere (used when the session has ended).
func (a *App) streamNavigate(c *gin.Context, target string) {
	live.Navigate(c.Writer, safeNext(target))
}

// hub is the live-update broker as handlers speak of it: its topics are
// issues' rooms, each belonging to the issue's group, and (topic 0) each
// group's own page.
type hub struct{ *live.Broker }

func (h hub) issueChanged(issueID int64)           { h.TopicChanged(issueID) }
func (h hub) issueDeleted(issueID int64)           { h.TopicDeleted(issueID) }
func (h hub) groupPageChanged(groupID int64)       { h.GroupPageChanged(groupID) }
func (h hub) groupMoved(groupID, issueID int64)    { h.GroupMoved(groupID, issueID) }
func (h hub) groupChanged(groupID int64)           { h.GroupChanged(groupID) }
func (h hub) groupDeleted(groupID int64)           { h.GroupDeleted(groupID) }
func (h hub) memberLeft(gid, uid, sid int64)       { h.MemberLeft(gid, uid, sid) }
func (h hub) closeSessions(ids []int64)            { h.SessionsEnded(ids) }
func (h hub) present(issueID int64) map[int64]bool { return h.Present(issueID) }
func (h hub) seen(issueID, userID int64)           { h.Seen(issueID, userID) }
func (h hub) subscribers() int                     { return h.Subscribers() }

// newHub builds the broker of the rooms and group pages: one topic per issue,
// and one per group page, each rendered once per role. It is built from the
// store and the session policy, not from App: the broker holds nothing of the
// web layer.
func newHub(st *store.Store, cfg Config, log *slog.Logger, bus live.Bus) hub {
	room, group := statusFrames(st), groupFrames(st)
	return hub{live.New(live.Config{
		Bus: bus,
		Render: func(ctx context.Context, issueID, groupID int64, present map[int64]bool) (live.Frames, error) {
			if issueID == 0 {
				return group(ctx, groupID)
			}
			return room(ctx, issueID, present)
		},
		Alive: func(ctx context.Context, v live.Viewer) (bool, error) {
			return st.SessionAlive(ctx, v.Session, v.User, cfg.Sessions)
		},
		Exit:                 liveExit,
		MaxStreams:           cfg.MaxStreams,
		MaxStreamsPerSession: cfg.MaxStreamsPerSession,
		Heartbeat:            cfg.StreamHeartbeat,
		Logger:               log,
	})}
}

// roles are the audiences of a live page: it is rendered once for owners and
// once for members.
var roles = []store.Role{store.RoleOwner, store.RoleMember}

// statusFrames renders the live part of an issue's room for owners and for
// members; every member's audience is their role.
func statusFrames(st *store.Store) func(context.Context, int64, map[int64]bool) (live.Frames, error) {
	return func(ctx context.Context, issueID int64, present map[int64]bool) (live.Frames, error) {
		status, err := st.IssueStatus(ctx, issueID)
		if errors.Is(err, store.ErrNotFound) {
			return live.Frames{}, live.ErrGone
		}
		if err != nil {
			return live.Frames{}, err
		}
		f := live.Frames{Bodies: map[string][]byte{}, Audience: map[int64]string{}}
		for _, v := range status.Voters {
			f.Audience[v.UserID] = string(v.Role)
		}
		for _, role := range roles {
			var buf bytes.Buffer
			view := views.StatusView{Status: status, Role: role, Present: present, Now: st.Now()}
			if err := views.StatusPanel(view).Render(ctx, &buf); err != nil {
				return live.Frames{}, err
			}
			f.Bodies[string(role)] = buf.Bytes()
		}
		return f, nil
	}
}

// groupFrames renders the live part of a group's page for owners and for
// members: where the group is, and its issues (with how many voted, never
// what).
func groupFrames(st *store.Store) func(context.Context, int64) (live.Frames, error) {
	return func(ctx context.Context, groupID int64) (live.Frames, error) {
		g, _, err := st.GroupFor(ctx, groupID, 0)
		if errors.Is(err, store.ErrNotFound) {
			return live.Frames{}, live.ErrGone
		}
		if err != nil {
			return live.Frames{}, err
		}
		members, err := st.Members(ctx, groupID)
		if err != nil {
			return live.Frames{}, err
		}
		issues, err := st.GroupIssues(ctx, groupID)
		if err != nil {
			return live.Frames{}, err
		}
		f := live.Frames{Bodies: map[string][]byte{}, Audience: map[int64]string{}}
		for _, m := range members {
			f.Audience[m.UserID] = string(m.Role)
		}
		for _, role := range roles {
			var buf bytes.Buffer
			view := views.GroupLiveView{GroupID: g.ID, Current: g.CurrentIssueID, Issues: issues, Owner: role == store.RoleOwner}
			if err := views.GroupLive(view).Render(ctx, &buf); err != nil {
				return live.Frames{}, err
			}
			f.Bodies[string(role)] = buf.Bytes()
		}
		return f, nil
	}
}

// liveExit is where a page goes when its stream is closed on it. Issue 0 is
// the group's page.
func liveExit(why live.Reason, issueID, groupID int64) string {
	page := views.IssuePath(issueID)
	if issueID == 0 {
		page = views.GroupPath(groupID)
	}
	switch why {
	case live.SignedOut:
		return views.LoginPath(page, "")
	case live.Moved:
		return views.IssuePath(issueID)
	case live.TopicGone:
		if issueID == 0 {
			return views.PathHome // the group is gone
		}
		return views.GroupPath(groupID)
	default:
		return views.PathHome
	}
}
