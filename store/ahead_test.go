package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// aheadTeam is a group of an owner and three voters with 32-character
// nicknames, and three issues.
func aheadTeam(t *testing.T, s *Store) (owner User, voters []User, g Group, issues []Issue) {
	t.Helper()
	owner = newUser(t, s, "Facilitator-of-the-planning-day1")
	for _, n := range []string{"Ana-Maria-from-the-backend-team1", "Bertrand-of-the-mobile-squad-xyz", "Chiara.di.Lorenzo_frontend-0042a"} {
		voters = append(voters, newUser(t, s, n))
	}
	g = newGroup(t, s, owner, "Ahead of the planning meeting", voters...)
	for _, k := range []string{"SHOP-101", "SHOP-102", "SHOP-103"} {
		issues = append(issues, newIssue(t, s, g.ID, k))
	}
	return
}

func TestOpenAheadRefusesBadHoursAndOtherGroupsIssuesChangingNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, _, g, issues := aheadTeam(t, s)
	other := newGroup(t, s, owner, "Another team")
	foreign := newIssue(t, s, other.ID, "OTHER-1")
	for _, h := range []int{0, 337, -1} {
		if _, err := s.OpenAhead(ctx, g.ID, []int64{issues[0].ID}, h, owner); !errors.Is(err, ErrInvalid) {
			t.Errorf("hours %d: %v, want ErrInvalid", h, err)
		}
	}
	if _, err := s.OpenAhead(ctx, g.ID, nil, 24, owner); !errors.Is(err, ErrInvalid) {
		t.Errorf("no issue: %v", err)
	}
	var refused AheadRefused
	if _, err := s.OpenAhead(ctx, g.ID, []int64{issues[0].ID, foreign.ID}, 24, owner); !errors.As(err, &refused) || refused.Issue != foreign.ID {
		t.Errorf("another group's issue: %v", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE ahead_until IS NOT NULL"); n != 0 {
		t.Errorf("%d issues opened ahead by refused calls", n)
	}
	until, err := s.OpenAhead(ctx, g.ID, []int64{issues[0].ID, issues[1].ID, issues[0].ID}, 336, owner)
	if err != nil {
		t.Fatal(err)
	}
	if got := until.Sub(s.Now()); got != 336*time.Hour {
		t.Errorf("deadline in %v", got)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE ahead_until = ?", until.UnixMilli()); n != 2 {
		t.Errorf("%d issues opened ahead, want 2", n)
	}
}

// TestDeadlineRevealsWithTheServerRestartedInBetween: three people vote ahead
// on three issues; the store closes and opens again (a restart); the clock
// passes the deadline; with nobody connected, the rounds with 2 numeric votes
// are revealed, the one with one number stays open and says so; a second
// pass (another instance) does nothing.
func TestDeadlineRevealsWithTheServerRestartedInBetween(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	path := newDB(t, "ahead.db")
	s, err := Open(ctx, path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	owner, v, g, is := aheadTeam(t, s)
	if _, err := s.OpenAhead(ctx, g.ID, []int64{is[0].ID, is[1].ID, is[2].ID}, 2, owner); err != nil {
		t.Fatal(err)
	}
	for _, u := range v {
		vote(t, s, is[0].ID, u, 5) // consensus
	}
	vote(t, s, is[1].ID, v[0], 3)
	vote(t, s, is[1].ID, v[1], 13)
	vote(t, s, is[2].ID, v[0], 8) // one number only
	if _, err := s.Estimate(ctx, is[2].ID, v[1].ID, Vote{Special: CardCoffee}); err != nil {
		t.Fatal(err)
	}
	if w, err := s.AheadWaiting(ctx, v[2].ID); err != nil || w[g.ID] != 2 {
		t.Errorf("waiting for the third voter: %v, %v", w, err)
	}
	if q, err := s.AheadQueue(ctx, g.ID, v[2].ID); err != nil || len(q) != 2 || q[0].ID != is[1].ID {
		t.Errorf("the third voter's queue: %+v, %v", q, err)
	}
	clk.Advance(time.Hour)
	if out, err := s.FireDeadlines(ctx); err != nil || len(out) != 0 {
		t.Fatalf("before the deadline: %+v, %v", out, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(61 * time.Minute)
	s2 := openStore(t, path, Options{Now: clk.Now})
	out, err := s2.FireDeadlines(ctx)
	if err != nil || len(out) != 3 {
		t.Fatalf("FireDeadlines = %+v, %v", out, err)
	}
	for i, want := range []bool{true, true, false} {
		if out[i].IssueID != is[i].ID || out[i].Revealed != want {
			t.Errorf("outcome %d: %+v, want revealed %v", i, out[i], want)
		}
	}
	st := mustStatus(t, s2, is[2].ID)
	if st.Issue.State != StateOpen || !st.Issue.AheadFired {
		t.Errorf("the round with one number: %s, fired %v", st.Issue.State, st.Issue.AheadFired)
	}
	if again, err := s2.FireDeadlines(ctx); err != nil || len(again) != 0 {
		t.Errorf("a second pass: %+v, %v", again, err)
	}
	if w, err := s2.AheadWaiting(ctx, v[2].ID); err != nil || len(w) != 0 {
		t.Errorf("after the deadline, still waiting: %v, %v", w, err)
	}
	res, err := s2.AcceptConsensus(ctx, g.ID, owner)
	if err != nil || len(res.Accepted) != 1 || res.Accepted[0].ID != is[0].ID || res.Discuss.ID != is[1].ID {
		t.Fatalf("AcceptConsensus = %+v, %v", res, err)
	}
	if st := mustStatus(t, s2, is[0].ID); st.Issue.State != StateAccepted || st.Issue.Final != 5 {
		t.Errorf("the consensus issue: %s, final %d", st.Issue.State, st.Issue.Final)
	}
	if st := mustStatus(t, s2, is[1].ID); st.Issue.State != StateRevealed {
		t.Errorf("the issue to discuss: %s", st.Issue.State)
	}
}

func TestNotesAreRefusedWhenTooLongAndDetachedAtTheReveal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, v, _, is := aheadTeam(t, s)
	long := strings.Repeat("é", NoteMax+1)
	if _, err := s.EstimateNote(ctx, is[0].ID, v[0].ID, Vote{Value: 3}, &long); !errors.Is(err, ErrInvalid) {
		t.Errorf("a note of 281 characters: %v", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM ballots"); n != 0 {
		t.Errorf("the refused vote was kept: %d ballots", n)
	}
	notes := []string{strings.Repeat("漢", NoteMax), "Only the API", "Needs a migration — see SHOP-7"}
	cards := []int{3, 13, 3}
	for i, u := range v {
		if _, err := s.EstimateNote(ctx, is[0].ID, u.ID, Vote{Value: cards[i]}, &notes[i]); err != nil {
			t.Fatal(err)
		}
	}
	if own, err := s.OwnNote(ctx, is[0].ID, v[1].ID); err != nil || own != notes[1] {
		t.Errorf("OwnNote = %q, %v", own, err)
	}
	// A vote without the note field keeps the note; an empty one removes it.
	if _, err := s.EstimateNote(ctx, is[0].ID, v[1].ID, Vote{Value: 13}, nil); err != nil {
		t.Fatal(err)
	}
	if own, _ := s.OwnNote(ctx, is[0].ID, v[1].ID); own != notes[1] {
		t.Errorf("a vote without a note dropped the note: %q", own)
	}
	if _, err := s.Reveal(ctx, is[0].ID, owner); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"open_notes", "note_keys"} {
		if n := count(t, s, "SELECT COUNT(*) FROM "+table+" WHERE issue_id = ?", is[0].ID); n != 0 {
			t.Errorf("%s still holds the revealed round", table)
		}
	}
	rs, err := s.Rounds(ctx, is[0].ID)
	if err != nil || len(rs) != 1 || len(rs[0].Result.Notes) != 3 {
		t.Fatalf("Rounds = %+v, %v", rs, err)
	}
	want := []Note{{Vote{Value: 3}, notes[2]}, {Vote{Value: 3}, notes[0]}, {Vote{Value: 13}, notes[1]}}
	for i, n := range rs[0].Result.Notes {
		if n != want[i] {
			t.Errorf("note %d: %+v, want %+v (sorted by card and text)", i, n, want[i])
		}
	}
}

// TestInvitedVotersAddOneNoteAfterTheRevealWithTheirToken: the lowest and
// the highest voters hold tokens that invite them; the middle one's token does
// not; a second note, a note before the reveal and a made-up token are
// refused.
func TestInvitedVotersAddOneNoteAfterTheRevealWithTheirToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, v, _, is := aheadTeam(t, s)
	id := is[0].ID
	tokens := map[int64]string{}
	for i, u := range v {
		vote(t, s, id, u, []int{2, 5, 13}[i])
		tok, err := s.NoteToken(ctx, id, u.ID)
		if err != nil || len(tok) != 43 {
			t.Fatalf("NoteToken = %q, %v", tok, err)
		}
		tokens[u.ID] = tok
	}
	if err := s.AddNote(ctx, id, tokens[v[0].ID], "Too early"); !errors.Is(err, ErrNotRevealed) {
		t.Errorf("a note before the reveal: %v", err)
	}
	if _, err := s.Reveal(ctx, id, owner); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.NoteToken(ctx, id, v[0].ID); tok != "" {
		t.Errorf("a token is still made after the reveal: %q", tok)
	}
	low, _ := s.NoteInvitation(ctx, id, tokens[v[0].ID])
	high, _ := s.NoteInvitation(ctx, id, tokens[v[2].ID])
	mid, _ := s.NoteInvitation(ctx, id, tokens[v[1].ID])
	if low.Card != 2 || !low.Lowest || high.Card != 13 || high.Lowest || mid.Card != 0 || mid.Used {
		t.Errorf("invitations: low %+v, high %+v, middle %+v", low, high, mid)
	}
	if err := s.AddNote(ctx, id, tokens[v[1].ID], "Not invited"); !errors.Is(err, ErrNoteNotInvited) {
		t.Errorf("the middle voter's note: %v", err)
	}
	if err := s.AddNote(ctx, id, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Made up"); !errors.Is(err, ErrNoteNotInvited) {
		t.Errorf("a made-up token: %v", err)
	}
	if err := s.AddNote(ctx, id, tokens[v[2].ID], strings.Repeat("x", NoteMax+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("281 characters: %v", err)
	}
	if err := s.AddNote(ctx, id, tokens[v[2].ID], "The payment provider has no sandbox"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNote(ctx, id, tokens[v[2].ID], "Again"); !errors.Is(err, ErrNoteUsed) {
		t.Errorf("a second note: %v", err)
	}
	if inv, _ := s.NoteInvitation(ctx, id, tokens[v[2].ID]); !inv.Used {
		t.Errorf("after the note: %+v", inv)
	}
	rs, _ := s.Rounds(ctx, id)
	if len(rs) != 1 || len(rs[0].Result.Notes) != 1 || rs[0].Result.Notes[0] != (Note{Vote{Value: 13}, "The payment provider has no sandbox"}) {
		t.Errorf("the round's notes: %+v", rs)
	}
	// A new round forgets the rights.
	if err := s.Revote(ctx, id, owner); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM note_rights"); n != 0 {
		t.Errorf("%d rights after a new round", n)
	}
}

// Cast reads, in the vote's own transaction, what NoteToken and OwnNote read
// after it: the voter's token and note of the open round, for a first vote, a
// changed one, one that keeps the note and one that removes it; nothing once
// the vote completed the round (auto-reveal).
func TestCastGivesTheTokenAndNoteOfTheOpenRound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner-with-a-rather-long-name-32")
	ana, bo := newUser(t, s, "Ana-Maria-from-the-backend-team1"), newUser(t, s, "Bo")
	g := newGroup(t, s, owner, "Team", ana, bo)
	is := newIssue(t, s, g.ID, "PLAT-1234-api-gateway")
	text := func(s string) *string { return &s }
	for i, step := range []struct {
		user User
		vote Vote
		note *string
		want string
	}{
		{ana, Vote{Value: 5}, text("Depends on https://example.com/a/very/long/link/to/the/spec"), "Depends on https://example.com/a/very/long/link/to/the/spec"},
		{ana, Vote{Value: 8}, nil, "Depends on https://example.com/a/very/long/link/to/the/spec"},
		{bo, Vote{Special: CardUnsure}, nil, ""},
		{ana, Vote{Value: 8}, text(""), ""},
	} {
		c, err := s.Cast(ctx, is.ID, step.user.ID, step.vote, step.note)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.NoteToken(ctx, is.ID, step.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		own, err := s.OwnNote(ctx, is.ID, step.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Revealed || c.NoteToken == "" || c.NoteToken != tok || c.Note != own || c.Note != step.want {
			t.Errorf("step %d: cast %+v; NoteToken %q, OwnNote %q, want note %q", i, c, tok, own, step.want)
		}
	}
	if err := s.SaveSettings(ctx, g.ID, GroupSettings{Deck: DefaultDeck(), AutoReveal: true}, owner); err != nil {
		t.Fatal(err)
	}
	c, err := s.Cast(ctx, is.ID, owner.ID, Vote{Value: 3}, text("the last one"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Revealed || c.NoteToken != "" || c.Note != "" {
		t.Errorf("the vote that completed the round: %+v, want revealed and no token or note", c)
	}
}
