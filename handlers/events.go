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

// events streams the issue's status panel as server-sent events (live.Serve
// says how). A stream whose session ended tells the browser to go to the
// sign-in page, then closes. HEAD answers the headers a stream would get and
// opens nothing: no subscriber, no presence.
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
	if isHead(c) {
		live.SetHeaders(c.Writer.Header())
		c.Status(http.StatusOK)
		return
	}
	_, st := session(c)
	sub, err := a.hub.Subscribe(is.ID, g.ID, live.Viewer{User: u.ID, Session: st.rec.ID})
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
// issues, and each topic belongs to the issue's group.
type hub struct{ *live.Broker }

func (h hub) issueChanged(issueID int64)           { h.TopicChanged(issueID) }
func (h hub) issueDeleted(issueID int64)           { h.TopicDeleted(issueID) }
func (h hub) groupChanged(groupID int64)           { h.GroupChanged(groupID) }
func (h hub) groupDeleted(groupID int64)           { h.GroupDeleted(groupID) }
func (h hub) memberLeft(groupID, userID int64)     { h.MemberLeft(groupID, userID) }
func (h hub) closeSessions(ids []int64)            { h.SessionsEnded(ids) }
func (h hub) present(issueID int64) map[int64]bool { return h.Present(issueID) }
func (h hub) subscribers() int                     { return h.Subscribers() }

// newHub builds the broker of the issue status pages: one topic per issue,
// rendered once per role. It is built from the store and the session policy,
// not from App: the broker holds nothing of the web layer.
func newHub(st *store.Store, cfg Config, log *slog.Logger, bus live.Bus) hub {
	return hub{live.New(live.Config{
		Bus:    bus,
		Render: statusFrames(st),
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

// statusFrames renders an issue's status panel for owners and for members;
// every voter's audience is their role.
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
		for _, role := range []store.Role{store.RoleOwner, store.RoleMember} {
			var buf bytes.Buffer
			view := views.StatusView{Status: status, Role: role, Present: present}
			if err := views.StatusPanel(view).Render(ctx, &buf); err != nil {
				return live.Frames{}, err
			}
			f.Bodies[string(role)] = buf.Bytes()
		}
		return f, nil
	}
}

// liveExit is where a page goes when its stream is closed on it.
func liveExit(why live.Reason, issueID, groupID int64) string {
	switch why {
	case live.SignedOut:
		return views.LoginPath(views.IssuePath(issueID), "")
	case live.TopicGone:
		return views.GroupPath(groupID)
	default:
		return views.PathHome
	}
}
