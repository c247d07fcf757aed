package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// issueStore is the part of the store used by an issue, its room and its votes.
type issueStore interface {
	Accept(ctx context.Context, issueID int64, by store.User, final int) error
	DeleteIssue(ctx context.Context, issueID int64) error
	Estimate(ctx context.Context, issueID, userID int64, v store.Vote) (revealed bool, err error)
	IssueFor(ctx context.Context, issueID, userID int64) (store.Issue, store.Group, store.Role, error)
	IssueStatus(ctx context.Context, issueID int64) (store.Status, error)
	Now() time.Time
	OwnEstimate(ctx context.Context, issueID, userID int64) (store.Vote, error)
	Reveal(ctx context.Context, issueID int64, by store.User) (store.Issue, error)
	Revote(ctx context.Context, issueID int64, by store.User) error
	RoomFacts(ctx context.Context, is store.Issue, g store.Group) (store.Status, error)
	SeatOf(ctx context.Context, groupID, userID int64) (store.Seat, error)
	UpdateIssue(ctx context.Context, issueID int64, in store.IssueInput) error
}

var (
	errNotRevealed = web.NewErrorID(http.StatusConflict, "error.not_revealed", nil)
)

// errTooFewVotes: with one number, alone or beside ? and coffee, the result
// would be that person's value.
var errTooFewVotes = web.NewErrorID(http.StatusConflict, "error.too_few_votes", nil)

var errClosed = web.NewErrorID(http.StatusConflict, "error.estimates_closed", nil)

// statusView gathers what the room's live part shows to this viewer.
func (a *App) statusView(c *gin.Context, issueID int64, role store.Role) (views.StatusView, error) {
	st, err := a.st.IssueStatus(c.Request.Context(), issueID)
	if err != nil {
		return views.StatusView{}, err
	}
	return views.StatusView{Status: st, Role: role, Present: a.hub.Present(issueID), Now: a.st.Now()}, nil
}

// pageLoaded counts a load of the room's page as the viewer's presence there
// for a minute: without JavaScript no stream says they are there (a vote
// without it lands back in the room, which counts again). A fragment comes
// from a page whose stream says it already; HEAD loads no page; the deck alone
// is not the room.
func (a *App) pageLoaded(c *gin.Context, issueID int64) {
	if !web.WantsFragment(c) && !isHead(c) {
		a.hub.Seen(issueID, signin.User(c).ID)
	}
}

// ownView is the viewer's own side of the room: their seat and vote.
func (a *App) ownView(c *gin.Context, is store.Issue, g store.Group, seat store.Seat) (views.EstimateView, error) {
	own, err := a.st.OwnEstimate(c.Request.Context(), is.ID, signin.User(c).ID)
	if err != nil {
		return views.EstimateView{}, err
	}
	v := views.EstimateView{Issue: is, Group: g, Seat: seat, Own: own}
	if is.State == store.StateOpen {
		v.Note, err = a.st.OwnNote(c.Request.Context(), is.ID, signin.User(c).ID)
	} else {
		v.Invite, err = a.invitation(c, is)
	}
	return v, err
}

func (a *App) issueStatus(c *gin.Context) {
	is, g, role := issueOf(c)
	a.pageLoaded(c, is.ID)
	if !web.WantsFragment(c) {
		a.roomPage(c, is, g, role)
		return
	}
	// issueAccess has just loaded the issue and its group: only the room's
	// other facts are left to read.
	st, err := a.st.RoomFacts(c.Request.Context(), is, g)
	if err != nil {
		web.Fail(c, err)
		return
	}
	v := views.StatusView{Status: st, Role: role, Present: a.hub.Present(is.ID), Now: a.st.Now()}
	a.showStatus(c, http.StatusOK, v)
}

// showStatus answers with the live panel and the backlog for htmx, the whole
// room otherwise.
func (a *App) showStatus(c *gin.Context, status int, v views.StatusView) {
	if web.WantsFragment(c) {
		a.pages.Fragment(c, status, views.RoomUpdate(v))
		return
	}
	own, err := a.ownView(c, v.Status.Issue, v.Status.Group, v.Status.SeatOf(signin.User(c).ID))
	if err != nil {
		web.Fail(c, err)
		return
	}
	// The room holds the viewer's cards: compressed, its size would depend on
	// the vote shown.
	web.SendUncompressed(c)
	a.pages.Page(c, status, views.IssueStatusPage(v, own))
}

func (a *App) estimatePage(c *gin.Context) {
	is, g, _ := issueOf(c)
	seat, err := a.st.SeatOf(c.Request.Context(), g.ID, signin.User(c).ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	v, err := a.ownView(c, is, g, seat)
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.showEstimate(c, http.StatusOK, v)
}

func (a *App) showEstimate(c *gin.Context, status int, v views.EstimateView) {
	// Compressed, the size of the answer would depend on the value shown.
	web.SendUncompressed(c)
	if web.WantsFragment(c) {
		a.pages.Fragment(c, status, views.EstimatePanel(v))
		return
	}
	a.pages.Page(c, status, views.EstimatePage(v))
}

var (
	errSpectator = web.NewErrorID(http.StatusForbidden, "error.spectator", nil)
)

// estimatePost records a vote. It is not behind issueAccess: the vote's own
// transaction reads the issue, its group and the voter's seat, and refuses a
// non-member as issueAccess does (404), so a vote reads them once. A vote
// refused for its form reads them first (access), to show the cards again.
func (a *App) estimatePost(c *gin.Context) {
	id, ok := web.ParseID(c, "id")
	if !ok {
		web.Fail(c, web.ErrNotFound)
		return
	}
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	u := signin.User(c)
	ctx := c.Request.Context()
	// access loads the issue as issueAccess does; false: answered.
	access := func() bool {
		if !a.loadIssue(c, id, anyMember) {
			return false
		}
		if is, _, _ := issueOf(c); is.State != store.StateOpen {
			web.Fail(c, errClosed.WithLinkID(views.IssuePath(is.ID), "error.see_result"))
			return false
		}
		return true
	}
	// retry shows the cards again with the message (422); a spectator, who has
	// no cards, is refused (403).
	var retryNote string
	retry := func(typed string, errs views.FieldErrors) {
		if !access() {
			return
		}
		is, g, _ := issueOf(c)
		seat, err := a.st.SeatOf(ctx, g.ID, u.ID)
		if err == nil && seat == store.SeatSpectator {
			web.Fail(c, errSpectator.WithLinkID(views.IssuePath(is.ID), "error.back_to_room"))
			return
		}
		v, err := a.ownView(c, is, g, store.SeatVoter)
		if err != nil {
			web.Fail(c, err)
			return
		}
		v.Typed, v.Errors = typed, errs
		if errs.Has("note") {
			v.Note = retryNote
		}
		a.showEstimate(c, http.StatusUnprocessableEntity, v)
	}
	ahead := form.Get("then") == views.AheadThen
	vote, typed, errs := decodeVote(form, langOf(c))
	note, rawNote, noteMsg := decodeNote(form, langOf(c))
	if noteMsg != "" {
		if errs == nil {
			errs = views.FieldErrors{}
		}
		errs["note"] = noteMsg
	}
	if len(errs) > 0 && ahead {
		if access() {
			_, g, _ := issueOf(c)
			a.showAhead(c, http.StatusUnprocessableEntity, g, id, rawNote, errs)
		}
		return
	}
	if len(errs) > 0 {
		retryNote = rawNote
		retry(typed, errs)
		return
	}
	// The page tab that votes shows its cards from this answer.
	cast, err := a.st.Cast(store.WithTab(ctx, pageTab(c)), id, u.ID, vote, note)
	revealed := cast.Revealed
	switch {
	case errors.Is(err, store.ErrNotOpen):
		web.Fail(c, errClosed.WithLinkID(views.IssuePath(id), "error.see_result"))
		return
	case errors.Is(err, store.ErrNotMember):
		web.Fail(c, web.ErrNotFound)
		return
	case errors.Is(err, store.ErrSpectator):
		web.Fail(c, errSpectator.WithLinkID(views.IssuePath(id), "error.back_to_room"))
		return
	case errors.Is(err, store.ErrNotOnDeck):
		// A free number on a deck of cards only: the store refuses it (the
		// deck is known there).
		retry(typed, views.FieldErrors{"estimate": langOf(c).T("form.not_on_deck")})
		return
	case errors.Is(err, store.ErrNotFound):
		web.Fail(c, web.ErrNotFound)
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	is, g := cast.Issue, cast.Group
	a.metrics.Vote()
	// The browser that voted holds the round's note token (store/notes.go).
	a.setNoteCookie(c, is.ID, cast.NoteToken)
	// The same words whether or not this vote completed the round: where the
	// notice is written to the session's row (PostgreSQL; on SQLite it stays
	// in memory), that is after the reveal's scrub, and words of their own
	// would tell the log who voted last. The room shows the result either way.
	notice := langOf(c).F("notice.estimate_saved", map[string]any{"Key": is.Key})
	if web.WantsFragment(c) {
		if revealed {
			// The vote completed the round: the cards close, as everyone's do.
			if is, _, _, err = a.st.IssueFor(ctx, is.ID, u.ID); err != nil {
				web.Fail(c, err)
				return
			}
		}
		// Compressed, the size of the answer would depend on the vote shown.
		own := views.EstimateView{Issue: is, Group: g, Seat: store.SeatVoter, Own: vote, Saved: true}
		if note != nil {
			own.Note = *note
		} else if is.State == store.StateOpen {
			own.Note = cast.Note
		}
		web.SendUncompressed(c)
		a.pages.Fragment(c, http.StatusOK, views.EstimatePanel(own))
		return
	}
	if ahead {
		// From the walk: on to the next issue waiting for the vote.
		web.DoneRedirect(c, signin.ReplayNotice(c, notice), views.GroupAheadPath(g.ID))
		return
	}
	web.DoneRedirect(c, signin.ReplayNotice(c, notice), views.IssuePath(is.ID))
}

func (a *App) reveal(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	is, _, role := issueOf(c)
	revealed := langOf(c).F("notice.revealed", map[string]any{"Key": is.Key})
	if is.State != store.StateOpen {
		// A second reveal (a double click, a retry, the timer first) answers
		// like the first: the result, no error.
		a.afterRoundChange(c, is.ID, role, revealed)
		return
	}
	// Without JavaScript there is no confirm dialog: ask on a page first when not
	// everyone has voted. (htmx asks with hx-confirm before sending.)
	if !web.IsHTMX(c) && form.Get("confirmed") != "1" {
		v, err := a.statusView(c, is.ID, role)
		if err != nil {
			web.Fail(c, err)
			return
		}
		// Too few votes: nothing to confirm, the reveal below answers 409.
		if n := v.Status.VotedCount(); n >= store.MinRevealVotes && n < v.Status.VoterCount() {
			a.pages.Page(c, http.StatusOK, views.RevealConfirmPage(v))
			return
		}
	}
	_, err = a.st.Reveal(c.Request.Context(), is.ID, signin.User(c))
	switch {
	case errors.Is(err, store.ErrNotOpen):
		// Revealed meanwhile (the other click of a double click): the same answer.
		a.afterRoundChange(c, is.ID, role, revealed)
		return
	case errors.Is(err, store.ErrTooFewVotes):
		web.Fail(c, errTooFewVotes.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	a.afterRoundChange(c, is.ID, role, revealed)
}

// afterOwnerAction answers an owner's change in the room: the fresh live panel
// and backlog for htmx, PRG otherwise.
func (a *App) afterOwnerAction(c *gin.Context, issueID int64, role store.Role, notice string) {
	a.answerOwnerAction(c, issueID, role, notice, false)
}

// afterRoundChange is afterOwnerAction for a change that ends or starts a
// round (a reveal, a new round): the htmx answer also brings the person's own
// cards for it, so they change with the room in one swap. Fetched after it
// (app.js does for a live update), the cards above the room changed height a
// moment later, and the room moved under the pointer of the person who had
// just revealed and was about to accept.
func (a *App) afterRoundChange(c *gin.Context, issueID int64, role store.Role, notice string) {
	a.answerOwnerAction(c, issueID, role, notice, true)
}

func (a *App) answerOwnerAction(c *gin.Context, issueID int64, role store.Role, notice string, cards bool) {
	if !web.WantsFragment(c) {
		web.DoneRedirect(c, notice, views.IssuePath(issueID))
		return
	}
	v, err := a.statusView(c, issueID, role)
	if err != nil {
		web.Fail(c, err)
		return
	}
	if !cards {
		a.pages.ActionDone(c, views.RoomUpdate(v), notice)
		return
	}
	own, err := a.ownView(c, v.Status.Issue, v.Status.Group, v.Status.SeatOf(signin.User(c).ID))
	if err != nil {
		web.Fail(c, err)
		return
	}
	// Compressed, the size of the answer would depend on the vote shown.
	web.SendUncompressed(c)
	a.pages.ActionDone(c, views.RoomUpdateWithCards(v, own), notice)
}

func (a *App) accept(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	is, _, role := issueOf(c)
	f, final := decodeFinal(form, is.Result, langOf(c))
	// An open issue has no accept form to show a message in: 409 whatever was sent.
	if is.State == store.StateOpen {
		web.Fail(c, errNotRevealed.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	if len(f.Errors) > 0 {
		v, err := a.statusView(c, is.ID, role)
		if err != nil {
			web.Fail(c, err)
			return
		}
		v.Final = f
		a.showStatus(c, http.StatusUnprocessableEntity, v)
		return
	}
	err = a.st.Accept(c.Request.Context(), is.ID, signin.User(c), final)
	if errors.Is(err, store.ErrNotRevealed) {
		web.Fail(c, errNotRevealed.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.afterOwnerAction(c, is.ID, role, langOf(c).F("notice.final_estimate", map[string]any{"Key": is.Key, "Value": is.Result.Label(final)}))
}

func (a *App) revote(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	is, _, role := issueOf(c)
	err := a.st.Revote(c.Request.Context(), is.ID, signin.User(c))
	if errors.Is(err, store.ErrNotRevealed) {
		web.Fail(c, web.NewErrorID(http.StatusConflict, "error.revote_not_revealed", nil).WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.afterRoundChange(c, is.ID, role, langOf(c).F("notice.round_started", map[string]any{"Round": is.Round + 1, "Key": is.Key}))
}

var errNotEditable = web.NewErrorID(http.StatusConflict, "error.not_editable", nil)

func (a *App) editIssuePage(c *gin.Context) {
	is, g, _ := issueOf(c)
	if is.State != store.StateOpen {
		web.Fail(c, errNotEditable.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	a.pages.Page(c, http.StatusOK, views.IssueEditPage(is, g, views.IssueForm{Key: is.Key, Description: is.Description}))
}

func (a *App) editIssue(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	is, g, _ := issueOf(c)
	f, in := decodeIssue(form, langOf(c))
	if len(f.Errors) == 0 {
		err = a.st.UpdateIssue(c.Request.Context(), is.ID, in)
		switch {
		case errors.Is(err, store.ErrKeyTaken):
			f.Errors["key"] = issueKeyTakenMessage(langOf(c), in.Key)
		case errors.Is(err, store.ErrNotOpen):
			web.Fail(c, errNotEditable.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
			return
		case err != nil:
			web.Fail(c, err)
			return
		}
	}
	if len(f.Errors) > 0 {
		a.pages.Page(c, http.StatusUnprocessableEntity, views.IssueEditPage(is, g, f))
		return
	}
	web.DoneRedirect(c, langOf(c).F("notice.issue_saved", map[string]any{"Key": in.Key}), views.GroupPath(g.ID))
}

// deleteIssuePage asks before deleting (the page without JavaScript).
func (a *App) deleteIssuePage(c *gin.Context) {
	is, g, _ := issueOf(c)
	if is.State != store.StateOpen {
		web.Fail(c, errNotEditable.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	a.pages.Page(c, http.StatusOK, views.IssueDeletePage(is, g))
}

func (a *App) deleteIssue(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	is, g, _ := issueOf(c)
	err := a.st.DeleteIssue(c.Request.Context(), is.ID)
	if errors.Is(err, store.ErrNotOpen) {
		web.Fail(c, errNotEditable.WithLinkID(views.IssuePath(is.ID), "error.back_to_issue"))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).F("notice.issue_deleted", map[string]any{"Key": is.Key}), views.GroupPath(g.ID))
}
