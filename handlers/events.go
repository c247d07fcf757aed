package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/live"
	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// liveStore is the part of the store used by the event streams and the live
// pages they render.
type liveStore interface {
	GroupFor(ctx context.Context, groupID, userID int64) (store.Group, store.Role, error)
	GroupIssues(ctx context.Context, groupID int64) ([]store.IssueSummary, error)
	IssueFor(ctx context.Context, issueID, userID int64) (store.Issue, store.Group, store.Role, error)
	RoomState(ctx context.Context, issueID int64) (store.Status, error)
	Voted(ctx context.Context, issueID int64, voters []store.Voter) ([]store.Voter, error)
	Members(ctx context.Context, groupID int64) ([]store.Member, error)
	Now() time.Time
	OwnPart(ctx context.Context, issueID, userID int64) (store.Issue, store.Group, store.Seat, store.Vote, error)
	SessionAlive(ctx context.Context, id, userID int64, p store.SessionPolicy) (bool, error)
}

var (
	errTooManyStreams        = web.NewErrorID(http.StatusServiceUnavailable, "error.streams_full", nil)
	errTooManySessionStreams = web.NewErrorID(http.StatusTooManyRequests, "error.streams_browser", nil)
)

// events streams the live part of the issue's room (live.Serve says how). A
// stream whose session ended tells the browser to go to the sign-in page, then
// closes; when the group moves to another issue, the stream stays open and
// follows it (the room's new head and cards first: live.Config.Enter).
func (a *App) events(c *gin.Context) {
	id, ok := web.ParseID(c, "id")
	if !ok {
		web.Fail(c, web.ErrNotFound)
		return
	}
	u := signin.User(c)
	if !u.IsAuthenticated() {
		a.streamNavigate(c, views.LoginPath(views.IssuePath(id), ""))
		return
	}
	is, g, role, err := a.st.IssueFor(c.Request.Context(), id, u.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	if role == store.RoleNone {
		web.Fail(c, web.ErrNotFound)
		return
	}
	issueID, missed := a.followed(c, is, g, u.ID)
	a.stream(c, issueID, g.ID, missed)
}

// followed is the issue a room's stream serves: the one in its address, or,
// when the page moved with its group before this reconnect, the one it shows
// now, which the last event it got names (its id, "ISSUE-VERSION", with "-c"
// when that issue was the group's current one), if the viewer may see it and
// it is of the same group. A page that was with its group and missed a move
// (its stream was closed meanwhile: a tab in the background) gets the
// group's current issue, as a moved page does (missed).
func (a *App) followed(c *gin.Context, is store.Issue, g store.Group, userID int64) (issueID int64, missed bool) {
	parts := strings.Split(c.GetHeader("Last-Event-ID"), "-")
	if len(parts) < 2 || len(parts) > 3 {
		return is.ID, false
	}
	shown, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || shown <= 0 {
		return is.ID, false
	}
	if shown != is.ID {
		other, og, role, err := a.st.IssueFor(c.Request.Context(), shown, userID)
		if err != nil || role == store.RoleNone || og.ID != g.ID {
			return is.ID, false
		}
		is, g = other, og
	}
	if len(parts) == 3 && parts[2] == currentTag && g.CurrentIssueID != 0 && g.CurrentIssueID != is.ID {
		return g.CurrentIssueID, true
	}
	return is.ID, false
}

// currentTag marks the events of a room that is its group's current one.
const currentTag = "c"

// groupEvents streams the live part of a group's page, like events does an
// issue's room; a move to another issue sends the page there.
func (a *App) groupEvents(c *gin.Context) {
	id, ok := web.ParseID(c, "id")
	if !ok {
		web.Fail(c, web.ErrNotFound)
		return
	}
	u := signin.User(c)
	if !u.IsAuthenticated() {
		a.streamNavigate(c, views.LoginPath(views.GroupPath(id), ""))
		return
	}
	g, role, err := a.st.GroupFor(c.Request.Context(), id, u.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	if role == store.RoleNone {
		web.Fail(c, web.ErrNotFound)
		return
	}
	a.stream(c, live.GroupPage, g.ID, false)
}

// stream subscribes the signed-in member to a topic (an issue, or
// live.GroupPage for the group's page) and serves it; missed: the page missed
// the group's move to the issue, and starts as a moved one. HEAD answers the
// headers a stream would get and opens nothing: no subscriber, no presence.
func (a *App) stream(c *gin.Context, issueID, groupID int64, missed bool) {
	if isHead(c) {
		live.SetHeaders(c.Writer.Header())
		c.Status(http.StatusOK)
		return
	}
	subscribe := a.hub.Subscribe
	if missed {
		subscribe = a.hub.SubscribeMoved
	}
	u := signin.User(c)
	sub, err := subscribe(issueID, groupID, live.Viewer{User: u.ID, Session: signin.SessionID(c), Lang: string(web.PageLang(c, u)), Tab: pageTab(c)})
	switch {
	case errors.Is(err, live.ErrSessionFull):
		c.Header("Retry-After", "30")
		web.Fail(c, errTooManySessionStreams)
		return
	case err != nil:
		web.Fail(c, errTooManyStreams)
		return
	}
	a.hub.Serve(c.Writer, c.Request, sub)
}

// streamNavigate answers a stream request with one event that sends the
// browser elsewhere (used when the session has ended).
func (a *App) streamNavigate(c *gin.Context, target string) {
	live.Navigate(c.Writer, web.SafeNext(target))
}

// newHub builds the broker of the rooms and group pages: one topic per issue
// (its room), and one per group page (live.GroupPage), each rendered once per
// role and language watched. It is built from the store and the session policy, not from App: the
// broker holds nothing of the web layer.
func newHub(st liveStore, cfg Config, log *slog.Logger, bus live.Bus) *live.Broker {
	kept := newRoomCache()
	room, group := statusFrames(st, kept), groupFrames(st)
	enter, own := enterFrames(st, kept), ownCards(st)
	return live.New(live.Config{
		Bus:       bus,
		GroupNews: kept.drop,
		Render: func(ctx context.Context, issueID, groupID int64, present map[int64]bool) (live.Frames, error) {
			if issueID == live.GroupPage {
				return group(ctx, groupID)
			}
			return room(ctx, issueID, present)
		},
		Enter: enter,
		Own:   own,
		Alive: func(ctx context.Context, v live.Viewer) (bool, error) {
			return st.SessionAlive(ctx, v.Session, v.User, cfg.Sessions)
		},
		Exit:                 liveExit,
		MaxStreams:           cfg.MaxStreams,
		MaxStreamsPerSession: cfg.MaxStreamsPerSession,
		Heartbeat:            cfg.StreamHeartbeat,
		Logger:               log,
	})
}

// The room a live frame is rendered into at first: about what it takes with
// ten people and twenty issues, so that its buffer does not grow by doubling
// from nothing on every render (a third of the server's allocations at 500
// rooms).
const (
	stateFrameSize = 8 << 10  // a room's state, a move's head and cards
	listFrameSize  = 16 << 10 // a room's backlog, a group page's live part
	ownFrameSize   = 4 << 10  // a person's cards
)

// TabHeader names the page tab a request comes from: app.js makes up an id
// when a page loads and sends it with every htmx request, the page's event
// stream included, so that a vote's answer and its stream can be told to be
// one page's (live.Viewer.Tab).
const TabHeader = "X-Estimator-Tab"

// pageTab is the page tab the request names ("" for none, or for anything
// that is no tab id).
func pageTab(c *gin.Context) string {
	if tab := c.GetHeader(TabHeader); live.IsTab(tab) {
		return tab
	}
	return ""
}

// inLang is the context a live frame is rendered with: a page of nobody in
// particular, written in lang (the broker's language of the frame's
// watchers, taken from web.PageLang when they subscribed).
func inLang(ctx context.Context, lang string) context.Context {
	return views.WithPage(ctx, &views.Page{Lang: i18n.Lang(lang)})
}

// statusFrames loads the live part of an issue's room, rendered for each
// role (every member's audience is their role) in each language watched. The
// room's state and the group's backlog come from kept, read again only after
// a change of the group; after a vote, only who has voted is read.
func statusFrames(st liveStore, kept *roomCache) func(context.Context, int64, map[int64]bool) (live.Frames, error) {
	return func(ctx context.Context, issueID int64, present map[int64]bool) (live.Frames, error) {
		status, fresh, err := kept.room(ctx, issueID, st.RoomState)
		if errors.Is(err, store.ErrNotFound) {
			return live.Frames{}, live.ErrGone
		}
		if err != nil {
			return live.Frames{}, err
		}
		if !fresh {
			if status.Voters, err = st.Voted(ctx, issueID, status.Voters); err != nil {
				return live.Frames{}, err
			}
		}
		var read uint64
		if status.Backlog, read, err = kept.backlogOf(ctx, status.Group.ID, st.GroupIssues); err != nil {
			return live.Frames{}, err
		}
		f := live.Frames{Audience: map[int64]string{}}
		if status.Current.ID == issueID {
			f.Tag = currentTag
		}
		for _, v := range status.Voters {
			f.Audience[v.UserID] = string(v.Role)
		}
		now := st.Now()
		f.Body = func(ctx context.Context, role, lang string) ([]byte, error) {
			buf := bytes.NewBuffer(make([]byte, 0, stateFrameSize))
			view := views.StatusView{Status: status, Role: store.Role(role), Present: present, Now: now}
			if err := views.StatusPanel(view).Render(inLang(ctx, lang), buf); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
		// The backlog: the group's issues as this read of them says, the one
		// the group is on marked (the room's own issue and the role do not
		// change within a topic's faces).
		f.SideKey = strconv.FormatUint(read, 10) + "-" + strconv.FormatInt(status.Current.ID, 10)
		f.Side = func(ctx context.Context, role, lang string) ([]byte, error) {
			buf := bytes.NewBuffer(make([]byte, 0, listFrameSize))
			view := views.StatusView{Status: status, Role: store.Role(role), Now: now}
			if err := views.BacklogUpdate(view).Render(inLang(ctx, lang), buf); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
		return f, nil
	}
}

// enterFrames loads what a room page gets when its group moves to the
// issue: the room's head and the cards without a vote, rendered once per seat
// (a move's audiences: the head is everyone's, the cards are a voter's or a
// spectator's) and language, never per person; and who voted there already
// (they get ownCards next).
func enterFrames(st liveStore, kept *roomCache) func(context.Context, int64, int64) (live.Frames, error) {
	return func(ctx context.Context, issueID, _ int64) (live.Frames, error) {
		// The head and the cards: no backlog. The room read here is kept
		// for the render of its state that follows.
		status, fresh, err := kept.room(ctx, issueID, st.RoomState)
		if errors.Is(err, store.ErrNotFound) {
			return live.Frames{}, live.ErrGone
		}
		if err != nil {
			return live.Frames{}, err
		}
		if !fresh {
			if status.Voters, err = st.Voted(ctx, issueID, status.Voters); err != nil {
				return live.Frames{}, err
			}
		}
		f := live.Frames{Audience: map[int64]string{}, Own: map[int64]bool{}}
		for _, v := range status.Voters {
			f.Audience[v.UserID] = string(v.Seat)
			if v.Voted {
				f.Own[v.UserID] = true
			}
		}
		f.Body = func(ctx context.Context, seat, lang string) ([]byte, error) {
			buf := bytes.NewBuffer(make([]byte, 0, stateFrameSize))
			if err := views.RoomMove(status, store.Seat(seat)).Render(inLang(ctx, lang), buf); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
		return f, nil
	}
}

// ownCards renders one person's own cards of an issue, with their vote, in a
// language of their streams: the broker sends them to that person's streams
// of the issue in that language only. moved: the page has just moved there
// (nothing was just saved).
func ownCards(st liveStore) func(context.Context, int64, int64, string, bool) ([]byte, error) {
	return func(ctx context.Context, issueID, userID int64, lang string, moved bool) ([]byte, error) {
		is, g, seat, vote, err := st.OwnPart(ctx, issueID, userID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, live.ErrGone
		}
		if err != nil {
			return nil, err
		}
		v := views.EstimateView{Issue: is, Group: g, Seat: seat, Own: vote, Saved: !moved && !vote.IsZero()}
		buf := bytes.NewBuffer(make([]byte, 0, ownFrameSize))
		if err := views.OwnCards(v).Render(inLang(ctx, lang), buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
}

// groupFrames loads the live part of a group's page, rendered for each role
// in each language watched: where the group is, its issues (with how many
// voted, never what) and its members.
func groupFrames(st liveStore) func(context.Context, int64) (live.Frames, error) {
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
		f := live.Frames{Audience: map[int64]string{}}
		for _, m := range members {
			f.Audience[m.UserID] = string(m.Role)
		}
		f.Body = func(ctx context.Context, r, lang string) ([]byte, error) {
			buf := bytes.NewBuffer(make([]byte, 0, listFrameSize))
			role := store.Role(r)
			view := views.GroupLiveView{GroupID: g.ID, Current: g.CurrentIssueID, Issues: issues, Facilitates: role.CanFacilitate()}
			page := views.GroupView{Group: g, Role: role, Members: members}
			if err := views.GroupLiveFrame(view, page).Render(inLang(ctx, lang), buf); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
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
