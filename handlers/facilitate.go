package handlers

import (
	"context"
	"errors"
	"github.com/a-h/templ"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// roomStore is the part of the store used by the facilitator's flow: starting,
// timers, settings, seats.
type roomStore interface {
	FireTimers(ctx context.Context) ([]store.TimerOutcome, error)
	GroupRoom(ctx context.Context, groupID int64) (int64, error)
	IssueFor(ctx context.Context, issueID, userID int64) (store.Issue, store.Group, store.Role, error)
	SaveSettings(ctx context.Context, groupID int64, set store.GroupSettings, by store.User) error
	SetSeat(ctx context.Context, groupID, userID int64, seat store.Seat) (store.SeatChange, error)
	SetTimer(ctx context.Context, issueID int64, seconds int, by store.User) (store.Issue, error)
	StartIssue(ctx context.Context, issueID int64, by store.User) (store.Issue, error)
}

// The facilitator's flow around the room: starting an issue, the timer, the
// group's settings, and a member's seat.

// startIssue makes the issue the one the group estimates now; every open room
// and group page of the group follows it there.
func (a *App) startIssue(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	is, _, _ := issueOf(c)
	if _, err := a.st.StartIssue(c.Request.Context(), is.ID, signin.User(c)); err != nil {
		web.Fail(c, err)
		return
	}
	notice := langOf(c).F("notice.estimating_now", map[string]any{"Key": is.Key})
	if web.WantsFragment(c) {
		// From a room with its script: the page moves there in place over
		// its stream, as everyone's does (app.js goes there itself if it has
		// not moved after a while); the answer is the notice alone.
		a.pages.ActionDone(c, templ.NopComponent, notice)
		return
	}
	web.DoneRedirect(c, notice, views.IssuePath(is.ID))
}

// setTimer starts (seconds 1–3600) or stops (0) the round's countdown.
func (a *App) setTimer(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	is, _, role := issueOf(c)
	if is.State != store.StateOpen {
		web.Fail(c, errTimerClosed.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	f, seconds := decodeTimer(form, langOf(c))
	if len(f.Errors) > 0 {
		v, err := a.statusView(c, is.ID, role)
		if err != nil {
			web.Fail(c, err)
			return
		}
		v.Timer = f
		a.showStatus(c, http.StatusUnprocessableEntity, v)
		return
	}
	_, err = a.st.SetTimer(c.Request.Context(), is.ID, seconds, signin.User(c))
	if errors.Is(err, store.ErrNotOpen) {
		web.Fail(c, errTimerClosed.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	// Said in the past: the notice stays on the page while the countdown runs
	// out, and must still be true beside "Time is up".
	lang := langOf(c)
	notice := lang.F("notice.timer_stopped", map[string]any{"Key": is.Key})
	if seconds > 0 {
		notice = lang.F("notice.timer_started", map[string]any{"Key": is.Key, "Duration": views.Duration(lang, seconds)})
	}
	a.afterOwnerAction(c, is.ID, role, notice)
}

var errTimerClosed = web.NewErrorID(http.StatusConflict, "error.timer_closed", nil)

// setRole makes the signed-in member a voter or a spectator, then goes back to
// the page the form was on.
func (a *App) setRole(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	seat, ok := decodeRole(form)
	if !ok {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusBadRequest, "error.role_choice", nil), g))
		return
	}
	_, err = a.st.SetSeat(c.Request.Context(), g.ID, signin.User(c).ID, seat)
	if err != nil {
		web.Fail(c, err)
		return
	}
	notice := langOf(c).F("notice.seat_voter", map[string]any{"Group": g.Name})
	if seat == store.SeatSpectator {
		notice = langOf(c).F("notice.seat_spectator", map[string]any{"Group": g.Name})
	}
	web.DoneRedirect(c, notice, a.backTo(c, g))
}

// backTo is the page of this group a form was sent from (the room of one of
// its issues, or its page); the group page when that is not known.
func (a *App) backTo(c *gin.Context, g store.Group) string {
	from := web.CurrentPagePath(c)
	if from == "" {
		if ref, err := url.Parse(c.GetHeader("Referer")); err == nil && ref.Host == c.Request.Host {
			from, _ = web.SafePath(ref.EscapedPath())
		}
	}
	if id, ok := issuePathID(from); ok {
		if is, _, role, err := a.st.IssueFor(c.Request.Context(), id, signin.User(c).ID); err == nil && role != store.RoleNone && is.GroupID == g.ID {
			return views.IssuePath(id)
		}
	}
	return views.GroupPath(g.ID)
}

// issuePathID reads N from /issues/N.
func issuePathID(p string) (int64, bool) {
	rest, ok := strings.CutPrefix(p, "/issues/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == rest
}

// saveSettings changes the group's deck, auto-reveal and default timer; invalid
// settings are shown again with messages (422) and nothing changes.
func (a *App) saveSettings(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, role := groupOf(c)
	f, set := decodeSettings(form, langOf(c))
	if len(f.Errors) > 0 {
		a.renderGroupWith(c, http.StatusUnprocessableEntity, views.GroupView{Group: g, Role: role, RenameForm: views.GroupForm{Name: g.Name}, SettingsForm: f})
		return
	}
	err = a.st.SaveSettings(c.Request.Context(), g.ID, set, signin.User(c))
	var inUse store.DeckInUse
	if errors.As(err, &inUse) {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusConflict, "error.deck_in_use", map[string]any{"Keys": strings.Join(inUse.Keys, ", ")}), g))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).T("notice.settings_saved"), views.GroupPath(g.ID))
}

// groupRoom sends the member to the issue the group estimates now.
func (a *App) groupRoom(c *gin.Context) {
	g, role := groupOf(c)
	id, err := a.st.GroupRoom(c.Request.Context(), g.ID)
	if errors.Is(err, store.ErrNotFound) {
		a.pages.Page(c, http.StatusOK, views.NoRoomPage(g, role.CanFacilitate()))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.Redirect(c, views.IssuePath(id))
}

// timerTick is how often the server looks for countdowns that have ended: the
// reveal comes at most this late.
const timerTick = 200 * time.Millisecond

// runTimers reveals rounds whose countdown has ended, with or without anyone
// connected, through the same reveal and the same live updates as the owner's
// button, until the app closes.
func (a *App) runTimers() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.stop
		cancel()
	}()
	t := time.NewTicker(timerTick)
	defer t.Stop()
	var failing bool
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		_, err := a.st.FireTimers(ctx)
		if err == nil {
			// Ahead deadlines: the same loop, the same once-only reveal.
			_, err = a.st.FireDeadlines(ctx)
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			// Once per run of failures: the database may be down for a while.
			a.log.Warn("timers could not be checked; retrying", "err", err)
			failing = true
		case err == nil:
			failing = false
		}
	}
}
