package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// aheadStore is the part of the store used to estimate ahead of the meeting,
// and by notes (issue 28).
type aheadStore interface {
	AcceptConsensus(ctx context.Context, groupID int64, by store.User) (store.ConsensusAccepted, error)
	AddNote(ctx context.Context, issueID int64, token, text string) error
	AheadQueue(ctx context.Context, groupID, userID int64) ([]store.Issue, error)
	Cast(ctx context.Context, issueID, userID int64, v store.Vote, note *string) (store.Cast, error)
	FireDeadlines(ctx context.Context) ([]store.DeadlineOutcome, error)
	NoteInvitation(ctx context.Context, issueID int64, token string) (store.Invitation, error)
	OpenAhead(ctx context.Context, groupID int64, issueIDs []int64, hours int, by store.User) (time.Time, error)
	OwnNote(ctx context.Context, issueID, userID int64) (string, error)
}

// noteCookie names the cookie that holds a browser's note token for an
// issue's round (store/notes.go). Its path is the issue's, so it goes only
// where it is needed.
func noteCookie(issueID int64) string { return "note-" + strconv.FormatInt(issueID, 10) }

// noteCookieAge outlives the longest ahead deadline by a day.
const noteCookieAge = (store.AheadHoursMax + 24) * 3600

// setNoteCookie hands the voter's browser the round's note token of the
// issue with the answer to their vote (store.Cast reads it in the vote's
// transaction): the same header, of the same length, whatever the vote;
// nothing for "" (the vote completed the round).
func (a *App) setNoteCookie(c *gin.Context, issueID int64, tok string) {
	if tok == "" {
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: noteCookie(issueID), Value: tok, Path: views.IssuePath(issueID),
		MaxAge: noteCookieAge, HttpOnly: true, Secure: c.Request.TLS != nil || a.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// invitation is the viewer's invitation to add a note to the revealed round
// of is, from the token their browser sent.
func (a *App) invitation(c *gin.Context, is store.Issue) (store.Invitation, error) {
	if is.State == store.StateOpen {
		return store.Invitation{}, nil
	}
	ck, err := c.Request.Cookie(noteCookie(is.ID))
	if err != nil {
		return store.Invitation{}, nil
	}
	return a.st.NoteInvitation(c.Request.Context(), is.ID, ck.Value)
}

// decodeNote reads the optional note field: nil when the form has none (a
// vote without it keeps the note) or when it is the note the form showed
// (note_was), else the note, with a message when it is too long or not plain
// text.
func decodeNote(v url.Values, l i18n.Lang) (note *string, raw, msg string) {
	vals, ok := v["note"]
	if !ok {
		return nil, "", ""
	}
	raw = strings.Join(vals, "")
	n, p := store.CheckNote(raw)
	msg = p.In(l)
	if was, ok := v["note_was"]; ok && msg == "" && len(was) == 1 && was[0] == views.NoteHash(n) {
		// The note as its form showed it: left as stored (another tab may
		// have changed it since this one was shown).
		return nil, raw, ""
	}
	return &n, raw, msg
}

// aheadHoursMessage asks for the hours again, in language l.
func aheadHoursMessage(l i18n.Lang) string {
	return l.F("error.form.ahead_hours", map[string]any{"Min": l.Int(store.AheadHoursMin), "Max": l.Int(store.AheadHoursMax)})
}

// openAhead opens issues for votes until a deadline (owner or facilitator).
func (a *App) openAhead(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	lang := langOf(c)
	f := views.AheadForm{Hours: form.Get("hours"), Errors: views.FieldErrors{}}
	hours, err := strconv.Atoi(strings.TrimSpace(f.Hours))
	if err != nil || hours < store.AheadHoursMin || hours > store.AheadHoursMax {
		f.Errors["hours"] = aheadHoursMessage(lang)
	}
	var ids []int64
	for _, raw := range form["issue"] {
		id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || id <= 0 {
			f.Errors["issue"] = lang.T("error.form.ahead_pick")
			break
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 && f.Errors["issue"] == "" {
		f.Errors["issue"] = lang.T("error.form.ahead_none")
	}
	if len(f.Errors) == 0 {
		_, err = a.st.OpenAhead(c.Request.Context(), g.ID, ids, hours, signin.User(c))
		var refused store.AheadRefused
		switch {
		case errors.As(err, &refused):
			f.Errors["issue"] = lang.T("error.form.ahead_refused")
		case errors.Is(err, store.ErrInvalid):
			f.Errors["hours"] = aheadHoursMessage(lang)
		case err != nil:
			web.Fail(c, err)
			return
		}
	}
	if len(f.Errors) > 0 {
		issues, err := a.st.GroupIssues(c.Request.Context(), g.ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		a.pages.Page(c, http.StatusUnprocessableEntity, views.AheadOpenPage(g, views.OpenAheadIssues(issues), f))
		return
	}
	web.DoneRedirect(c, langOf(c).N("notice.ahead_opened", len(ids), map[string]any{"Hours": langOf(c).Int(hours)}), views.GroupPath(g.ID))
}

// aheadPage walks the viewer through the issues waiting for their vote: the
// first one after ?after= (a skipped one), else the first.
func (a *App) aheadPage(c *gin.Context) {
	g, _ := groupOf(c)
	a.showAhead(c, http.StatusOK, g, 0, "", nil)
}

// showAhead shows the walk on issue at (when it still waits), else on the
// first waiting one after ?after=, else on the first.
func (a *App) showAhead(c *gin.Context, status int, g store.Group, at int64, note string, errs views.FieldErrors) {
	ctx := c.Request.Context()
	u := signin.User(c)
	seat, err := a.st.SeatOf(ctx, g.ID, u.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	queue, err := a.st.AheadQueue(ctx, g.ID, u.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	v := views.AheadView{Group: g, Seat: seat, Queue: queue, Note: note, Errors: errs}
	if len(queue) > 0 {
		v.Issue = queue[0]
		after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
		if at != 0 {
			after = at - 1
		}
		for _, is := range queue {
			if is.ID > after {
				v.Issue = is
				break
			}
		}
	}
	a.pages.Page(c, status, views.AheadPage(v))
}

// acceptConsensus accepts every revealed result with consensus, and takes
// the group to the first one left to discuss.
func (a *App) acceptConsensus(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	u := signin.User(c)
	res, err := a.st.AcceptConsensus(c.Request.Context(), g.ID, u)
	if err != nil {
		web.Fail(c, err)
		return
	}
	lang := langOf(c)
	notice := lang.N("notice.consensus_accepted", len(res.Accepted), nil)
	if res.Discuss.ID == 0 {
		web.DoneRedirect(c, notice, views.GroupPath(g.ID))
		return
	}
	if _, err := a.st.StartIssue(c.Request.Context(), res.Discuss.ID, u); err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, notice+" "+lang.F("notice.next_to_discuss", map[string]any{"Key": res.Discuss.Key}), views.IssuePath(res.Discuss.ID))
}

var (
	errNoteTooEarly   = web.NewErrorID(http.StatusConflict, "error.note_too_early", nil)
	errNoteNotInvited = web.NewErrorID(http.StatusForbidden, "error.note_not_invited", nil)
	errNoteUsed       = web.NewErrorID(http.StatusConflict, "error.note_used", nil)
)

// addNote adds an invited voter's note after the reveal, with the token
// their browser holds (store/notes.go).
func (a *App) addNote(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	is, g, _ := issueOf(c)
	u := signin.User(c)
	ctx := c.Request.Context()
	back := func(e *web.Error) { web.Fail(c, e.WithLinkID(views.IssuePath(is.ID), "error.back_to_room")) }
	seat, err := a.st.SeatOf(ctx, g.ID, u.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	if seat == store.SeatSpectator {
		back(errSpectator)
		return
	}
	if is.State == store.StateOpen {
		back(errNoteTooEarly)
		return
	}
	var token string
	if ck, err := c.Request.Cookie(noteCookie(is.ID)); err == nil {
		token = ck.Value
	}
	note, raw, msg := decodeNote(form, langOf(c))
	if note != nil && msg == "" && *note == "" {
		msg = langOf(c).T("error.form.note_empty")
	}
	if note == nil {
		msg = langOf(c).T("error.form.note_empty")
	}
	if msg != "" {
		inv, err := a.invitation(c, is)
		if err != nil {
			web.Fail(c, err)
			return
		}
		switch {
		case inv.Used:
			back(errNoteUsed)
			return
		case inv.Card == 0:
			back(errNoteNotInvited)
			return
		}
		st, err := a.st.RoomFacts(ctx, is, g)
		if err != nil {
			web.Fail(c, err)
			return
		}
		_, _, role := issueOf(c)
		own := views.EstimateView{Issue: is, Group: g, Seat: seat, Invite: inv, Note: raw, Errors: views.FieldErrors{"note": msg}}
		web.SendUncompressed(c)
		a.pages.Page(c, http.StatusUnprocessableEntity, views.IssueStatusPage(views.StatusView{Status: st, Role: role, Present: a.hub.Present(is.ID), Now: a.st.Now()}, own))
		return
	}
	err = a.st.AddNote(ctx, is.ID, token, *note)
	switch {
	case errors.Is(err, store.ErrNotRevealed):
		back(errNoteTooEarly)
		return
	case errors.Is(err, store.ErrNoteUsed):
		back(errNoteUsed)
		return
	case errors.Is(err, store.ErrNoteNotInvited):
		back(errNoteNotInvited)
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).T("notice.note_added"), views.IssuePath(is.ID))
}
