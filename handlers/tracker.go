package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/store"
	"estimator/tracker"
	"estimator/views"
	"estimator/web"
)

// trackerStore is the part of the store the issue trackers use.
type trackerStore interface {
	ConnectTracker(ctx context.Context, groupID int64, c store.TrackerConn, by store.User) error
	DisconnectTracker(ctx context.Context, groupID int64, by store.User) error
	GroupTracker(ctx context.Context, groupID int64) (store.TrackerConn, error)
	PreviewTrackerImport(ctx context.Context, groupID int64, issues []store.TrackerIssue) ([]store.TrackerPreviewRow, error)
	ImportTrackerIssues(ctx context.Context, userID, groupID int64, issues []store.TrackerIssue, once store.Once) (added, updated int, made bool, err error)
	ClaimTrackerWrites(ctx context.Context, lease time.Duration, limit int) ([]store.TrackerWrite, error)
	FinishTrackerWrite(ctx context.Context, w store.TrackerWrite, o store.TrackerOutcome) error
	RetryTrackerWrite(ctx context.Context, issueID int64) error
}

// routeTrackerConnect is the one route that is never kept for after a
// sign-in: its form carries a token.
const routeTrackerConnect = "/groups/:id/tracker"

var (
	errNoTracker = web.NewErrorID(http.StatusConflict, "error.no_tracker", nil)
)

// Limits of the tracker forms.
const (
	trackerTokenMax   = 2000
	trackerProjectMax = 200
	trackerFieldMax   = 100
	trackerQueryMax   = 1000
)

// trackerView is the tracker section of a group page for a viewer who runs
// the meeting (empty when trackers are off).
func (a *App) trackerView(ctx context.Context, groupID int64) (views.TrackerView, error) {
	if a.trackers == nil {
		return views.TrackerView{}, nil
	}
	v := views.TrackerView{}
	for _, b := range a.trackers.Allowed() {
		v.Allowed = append(v.Allowed, views.TrackerBase{Kind: string(b.Kind), URL: b.URL})
	}
	conn, err := a.st.GroupTracker(ctx, groupID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return v, err
	default:
		v.Conn, v.Connected = conn, true
	}
	return v, nil
}

// connectTracker checks the connection with one call or two (the token, the
// project, Jira's field) and keeps it. The token is never sent back: a form
// with a problem comes back without it.
func (a *App) connectTracker(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, role := groupOf(c)
	lang := langOf(c)
	f := views.TrackerForm{URL: strings.TrimSpace(form.Get("url")), Project: strings.TrimSpace(form.Get("project")),
		Field: form.Get("field"), Errors: views.FieldErrors{}}
	token := strings.TrimSpace(form.Get("token"))
	base, allowed := a.trackers.Allowed().Find(f.URL)
	switch {
	case f.URL == "":
		f.Errors["url"] = lang.T("error.form.tracker_choose")
	case !allowed:
		f.Errors["url"] = lang.T("error.form.tracker_not_listed")
	}
	switch {
	case token == "":
		f.Errors["token"] = lang.T("error.form.token_missing")
	case len(token) > trackerTokenMax || strings.ContainsAny(token, "\r\n\x00"):
		f.Errors["token"] = lang.T("error.form.token_bad")
	}
	switch {
	case f.Project == "":
		f.Errors["project"] = lang.T("error.form.project_missing")
	case utf8.RuneCountInString(f.Project) > trackerProjectMax || strings.ContainsAny(f.Project, "\r\n\x00"):
		f.Errors["project"] = lang.T("error.form.project_long")
	}
	if utf8.RuneCountInString(f.Field) > trackerFieldMax || strings.ContainsAny(f.Field, "\r\n\x00") {
		f.Errors["field"] = lang.T("error.form.field_long")
	}
	conn := tracker.Conn{Kind: base.Kind, Base: base.URL, Token: token, Project: f.Project, Field: f.Field}
	if allowed {
		switch base.Kind {
		case tracker.Jira:
			if conn.Field = strings.TrimSpace(f.Field); conn.Field == "" {
				conn.Field = tracker.DefaultJiraField
			}
		case tracker.GitHub:
			if strings.TrimSpace(f.Field) == "" {
				conn.Field = tracker.DefaultLabelPrefix
			}
		case tracker.GitLab:
			conn.Field = ""
		}
	}
	status := http.StatusUnprocessableEntity
	if len(f.Errors) == 0 {
		if err := a.trackers.Check(c.Request.Context(), conn); err != nil {
			field := "token"
			var te *tracker.Error
			if errors.As(err, &te) {
				if te.Temporary {
					// The tracker is down or slow: not the owner's mistake.
					status, field = http.StatusBadGateway, "url"
				}
				switch {
				case te.Status == http.StatusNotFound:
					field = "project"
				case strings.Contains(te.Msg, "no field"):
					field = "field"
				case te.Status == 0 && !te.Temporary:
					field = "url"
				}
			}
			f.Errors[field] = lang.F("error.form.tracker_check", map[string]any{"Err": err.Error()})
		}
	}
	if len(f.Errors) > 0 {
		v, err := a.trackerView(c.Request.Context(), g.ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		v.Form = f
		v.Connected = false
		a.pages.Page(c, status, views.TrackerPage(g, v, role == store.RoleOwner))
		return
	}
	sc := store.TrackerConn{Kind: string(conn.Kind), BaseURL: conn.Base, Token: conn.Token, Project: conn.Project, Field: conn.Field}
	if err := a.st.ConnectTracker(c.Request.Context(), g.ID, sc, signin.User(c)); err != nil {
		web.Fail(c, err)
		return
	}
	notice := langOf(c).F("notice.tracker_connected", map[string]any{"Tracker": conn.Kind.Title(), "Project": conn.Project})
	if end := sc.TokenEnd(); end != "" {
		notice = langOf(c).F("notice.tracker_connected_token", map[string]any{"Tracker": conn.Kind.Title(), "Project": conn.Project, "End": end})
	}
	web.DoneRedirect(c, notice, views.GroupPath(g.ID))
}

func (a *App) disconnectTracker(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	err := a.st.DisconnectTracker(c.Request.Context(), g.ID, signin.User(c))
	if errors.Is(err, store.ErrNotFound) {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusNotFound, "error.tracker_not_connected", nil), g))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).T("notice.tracker_disconnected"), views.GroupPath(g.ID))
}

// importFromTracker searches the tracker and shows what the import will add
// or update; confirmed, it searches again and imports what it finds (the
// tracker is the source: nothing of the preview is trusted back).
func (a *App) importFromTracker(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, role := groupOf(c)
	ctx := c.Request.Context()
	query := strings.TrimSpace(form.Get("query"))
	sc, err := a.st.GroupTracker(ctx, g.ID)
	if errors.Is(err, store.ErrNotFound) {
		web.Fail(c, backToGroup(errNoTracker, g))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	problem := func(status int, msg string) {
		v, err := a.trackerView(ctx, g.ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		v.Query, v.Problem = query, msg
		a.pages.Page(c, status, views.TrackerPage(g, v, role == store.RoleOwner))
	}
	if sc.Token == "" {
		problem(http.StatusConflict, langOf(c).T("error.form.token_sealed"))
		return
	}
	if utf8.RuneCountInString(query) > trackerQueryMax || strings.ContainsAny(query, "\x00") {
		problem(http.StatusUnprocessableEntity, langOf(c).T("error.form.query_long"))
		return
	}
	conn := tracker.Conn{Kind: tracker.Kind(sc.Kind), Base: sc.BaseURL, Token: sc.Token, Project: sc.Project, Field: sc.Field}
	found, err := a.trackers.Search(ctx, conn, query, store.ImportMaxRows)
	if err != nil {
		status := http.StatusUnprocessableEntity
		if te := (*tracker.Error)(nil); errors.As(err, &te) && te.Temporary {
			status = http.StatusBadGateway
		}
		problem(status, langOf(c).F("error.form.import_failed", map[string]any{"Err": err.Error()}))
		return
	}
	if len(found) == 0 {
		problem(http.StatusUnprocessableEntity, langOf(c).T("error.form.query_empty"))
		return
	}
	issues := make([]store.TrackerIssue, len(found))
	for i, t := range found {
		issues[i] = store.TrackerIssue{Key: t.Key, Title: t.Title, Body: t.Body, Ref: t.Ref, URL: t.URL}
	}
	if form.Get("confirmed") != "1" {
		rows, err := a.st.PreviewTrackerImport(ctx, g.ID, issues)
		if err != nil {
			web.Fail(c, err)
			return
		}
		a.pages.Page(c, http.StatusOK, views.TrackerPreviewPage(views.TrackerPreview{Group: g, Kind: sc.Kind, Query: query, Rows: rows, Once: store.NewToken()}))
		return
	}
	once, err := readOnce(form, strconv.FormatInt(g.ID, 10), "tracker", query)
	if err != nil {
		web.Fail(c, err)
		return
	}
	added, updated, made, err := a.st.ImportTrackerIssues(ctx, signin.User(c).ID, g.ID, issues, once)
	if errors.Is(err, store.ErrInvalid) {
		problem(http.StatusUnprocessableEntity, langOf(c).T("error.form.tracker_invalid"))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	lang := langOf(c)
	notice := importedNotice(lang, added)
	if !made {
		notice = lang.T("notice.tracker_imported_already")
	} else if updated > 0 {
		notice += " " + lang.N("notice.tracker_updated", updated, nil)
	}
	web.DoneRedirect(c, notice, views.GroupPath(g.ID))
}

// retryTrackerWrite sends an issue's estimate to the tracker again now.
func (a *App) retryTrackerWrite(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	is, _, role := issueOf(c)
	err := a.st.RetryTrackerWrite(c.Request.Context(), is.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		web.Fail(c, web.NewErrorID(http.StatusNotFound, "error.nothing_to_send", nil).WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	case errors.Is(err, store.ErrInvalid):
		web.Fail(c, web.NewErrorID(http.StatusConflict, "error.sent_already", nil).WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	a.afterOwnerAction(c, is.ID, role, langOf(c).F("notice.tracker_resend", map[string]any{"Key": is.Key}))
}

// Write-back: how often the outbox is looked at, how many writes a look
// takes, how often a write is tried before it fails for good, and the
// back-off between tries.
const (
	trackerBatch       = 10
	trackerMaxAttempts = 8
	trackerBackoffBase = 5 * time.Second
	trackerBackoffMax  = time.Hour
)

// runTrackerWrites sends the accepted estimates waiting in the outbox, on
// every instance: each write is claimed by one sender (a lease), so it is
// sent once however many instances run, and a sender that dies leaves it to
// another once the lease lapses.
func (a *App) runTrackerWrites() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.stop
		cancel()
	}()
	t := time.NewTicker(a.cfg.TrackerPoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		err := a.sendTrackerWrites(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			a.log.Warn("tracker outbox could not be read; retrying", "err", err)
			failing = true
		case err == nil:
			failing = false
		}
	}
}

// sendTrackerWrites claims the writes due and sends each.
func (a *App) sendTrackerWrites(ctx context.Context) error {
	// The lease outlasts the whole batch sent one after another, each call
	// taking at most TrackerTimeout (GitHub's two): no write of it can be
	// claimed by another sender while this one may still send it.
	lease := time.Duration(2*trackerBatch+1)*a.cfg.TrackerTimeout + 30*time.Second
	ws, err := a.st.ClaimTrackerWrites(ctx, lease, trackerBatch)
	if err != nil {
		return err
	}
	for _, w := range ws {
		o := a.sendTrackerWrite(ctx, w)
		if ctx.Err() != nil {
			return nil // stopping: the lease lapses and the write is sent later
		}
		if err := a.st.FinishTrackerWrite(ctx, w, o); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) sendTrackerWrite(ctx context.Context, w store.TrackerWrite) store.TrackerOutcome {
	kind := w.Conn.Kind
	if kind == "" {
		a.metrics.TrackerWrite(kind, "failed")
		return store.TrackerOutcome{Err: "The group is no longer connected to a tracker.", Failed: true}
	}
	if w.Conn.Token == "" {
		a.metrics.TrackerWrite(kind, "failed")
		return store.TrackerOutcome{Err: "The " + store.ErrTokenSealed.Error() + ".", Failed: true}
	}
	conn := tracker.Conn{Kind: tracker.Kind(kind), Base: w.Conn.BaseURL, Token: w.Conn.Token, Project: w.Conn.Project, Field: w.Conn.Field}
	err := a.trackers.Write(ctx, conn, w.Ref, w.Value)
	if err == nil {
		a.metrics.TrackerWrite(kind, "sent")
		return store.TrackerOutcome{}
	}
	var te *tracker.Error
	temporary := errors.As(err, &te) && te.Temporary
	if !temporary || w.Attempts+1 >= trackerMaxAttempts {
		a.metrics.TrackerWrite(kind, "failed")
		a.log.Warn("tracker write failed", "kind", kind, "issue", w.IssueID, "err", err)
		return store.TrackerOutcome{Err: err.Error(), Failed: true}
	}
	wait := min(trackerBackoffBase<<w.Attempts, trackerBackoffMax)
	if te.RetryAfter > wait {
		wait = min(te.RetryAfter, 24*time.Hour)
	}
	a.metrics.TrackerWrite(kind, "retry")
	return store.TrackerOutcome{Err: err.Error(), RetryIn: wait}
}

// trackerTitle is how a sentence names a tracker's kind.
func trackerTitle(kind string) string { return tracker.Kind(kind).Title() }
