package views

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"

	"estimator/store"
)

// Paths of estimating ahead and notes (issue 28).
func GroupAheadPath(g int64) string           { return GroupPath(g) + "/ahead" }
func GroupAcceptConsensusPath(g int64) string { return GroupPath(g) + "/accept-consensus" }
func IssueNotePath(i int64) string            { return IssuePath(i) + "/note" }

// GroupAheadAfterPath is the walk through the issues waiting for a vote,
// starting after issue i (a skipped one).
func GroupAheadAfterPath(g, i int64) string { return GroupAheadPath(g) + "?after=" + id(i) }

// AheadThen is the value of the estimate form's then field that sends a
// vote from the walk back to it (the next issue) instead of the room.
const AheadThen = "ahead"

// AheadView is the walk through the issues that wait for one person's vote.
type AheadView struct {
	Group store.Group
	Seat  store.Seat
	// Queue is every issue that waits for the vote, oldest first; Issue the
	// one shown now (zero ID: none waits).
	Queue []store.Issue
	Issue store.Issue
	// Note is the note sent back with an error; Errors are the form's.
	Note   string
	Errors FieldErrors
}

// position is the shown issue's place in the queue (1-based).
func (v AheadView) position() int {
	for i, is := range v.Queue {
		if is.ID == v.Issue.ID {
			return i + 1
		}
	}
	return 1
}

// skipTo is the issue after the shown one (wrapping), or 0 when it is alone.
func (v AheadView) skipTo() int64 {
	if len(v.Queue) < 2 {
		return 0
	}
	return v.Issue.ID
}

// AheadForm is the facilitator's "open ahead" form sent back with errors.
type AheadForm struct {
	Hours  string
	Errors FieldErrors
}

// aheadSummary is what the group page tells those who run the meeting about
// the issues estimated ahead.
type aheadSummary struct {
	// Open are the issues taking votes ahead now, with the earliest deadline.
	Open  int
	Until time.Time
	// Consensus are revealed (not accepted) results with consensus; Discuss
	// the revealed others; Short the rounds left open at the deadline.
	Consensus, Discuss, Short int
}

func summarizeAhead(issues []store.IssueSummary) aheadSummary {
	var s aheadSummary
	for _, is := range issues {
		switch {
		case is.State == store.StateOpen && !is.AheadUntil.IsZero() && !is.AheadFired:
			s.Open++
			if s.Until.IsZero() || is.AheadUntil.Before(s.Until) {
				s.Until = is.AheadUntil
			}
		case is.State == store.StateOpen && is.AheadFired:
			s.Short++
		case is.State == store.StateRevealed && hasConsensus(is.Result):
			s.Consensus++
		case is.State == store.StateRevealed:
			s.Discuss++
		}
	}
	return s
}

// readyText tells those who run the meeting what the deadline left them.
func (s aheadSummary) readyText(ctx context.Context) string {
	data := map[string]any{"Discuss": Lang(ctx).Int(s.Discuss)}
	if s.Short > 0 {
		data["Short"] = Lang(ctx).Int(s.Short)
		data["Min"] = store.MinRevealVotes
		return tn(ctx, "ahead.ready.short", s.Consensus, data)
	}
	return tn(ctx, "ahead.ready", s.Consensus, data)
}

func hasConsensus(r store.Result) bool { return r.HasNumbers() && r.Consensus() }

// OpenAheadIssues are the issues that can be opened ahead.
func OpenAheadIssues(issues []store.IssueSummary) []store.IssueSummary {
	var out []store.IssueSummary
	for _, is := range issues {
		if is.State == store.StateOpen {
			out = append(out, is)
		}
	}
	return out
}

// shuffled is the round's notes in a random order, drawn again at each
// rendering: the stored order (by card and text) is not shown either.
func shuffled(notes []store.Note) []store.Note {
	out := slices.Clone(notes)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func noteCard(ctx context.Context, r store.Result, n store.Note) string {
	if n.Card.Special != "" {
		return specialLabel(ctx, n.Card.Special)
	}
	return r.Label(n.Card.Value)
}

// noteFieldPad pads the note field so the panel that holds it has the same
// length whatever the note (as the cards do, see pad): its size on the wire
// must not tell one person's note from another's. The widest a note can be
// written is every character escaped (5 bytes, "&#39;") or 4 bytes of UTF-8.
const noteFieldWidth = 5 * store.NoteMax

func notePad(note string) string {
	return strings.Repeat("0", max(0, noteFieldWidth-len(templ.EscapeString(note))))
}

// NoteHash stands for the note a form showed (note_was): a vote whose note
// is the one its form showed leaves the stored note alone, so a second tab
// opened before the note was written does not wipe it with its empty field.
// Of one length whatever the note (the panel's length must not depend on it).
func NoteHash(note string) string {
	h := sha256.Sum256([]byte(note))
	return hex.EncodeToString(h[:8])
}

// Invitation is the viewer's own invitation to add a note after the reveal
// (store.Invitation), found from the token their browser holds.
type Invitation = store.Invitation

// NoteInvite renders the room's invitation block: the same number of bytes
// whether the viewer is invited (lowest or highest), has added their note,
// or is not invited, so neither the page nor its size tells anyone else who
// was invited. The room's page goes out uncompressed (showStatus).
func NoteInvite(issueID int64, r store.Result, inv Invitation, note string, errs FieldErrors) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		variants := []templ.Component{
			noteInviteForm(issueID, r, Invitation{Card: r.Max()}, note, errs),
			noteInviteForm(issueID, r, Invitation{Card: r.Min(), Lowest: true}, note, errs),
			noteInviteDone(),
			templ.NopComponent,
		}
		var shown templ.Component = templ.NopComponent
		switch {
		case inv.Used:
			shown = noteInviteDone()
		case inv.Card != 0:
			shown = noteInviteForm(issueID, r, inv, note, errs)
		}
		widest := 0
		for _, c := range variants {
			s, err := templ.ToGoHTML(ctx, c)
			if err != nil {
				return err
			}
			widest = max(widest, len(s))
		}
		body, err := templ.ToGoHTML(ctx, shown)
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(`<div id="note-invite" data-testid="note-invite" data-pad="` +
			strings.Repeat("0", widest-len(body)) + `">` + string(body) + `</div>`))
		return err
	})
}

// inviteWords are the invitation's words: NoteInvite renders the lowest's
// and the highest's with one ctx, so their lengths are compared in the
// viewer's own language.
func inviteWords(ctx context.Context, inv Invitation) string {
	if inv.Lowest {
		return t(ctx, "ahead.invite.lowest")
	}
	return t(ctx, "ahead.invite.highest")
}
