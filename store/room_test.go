package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func special(t testing.TB, s *Store, issueID int64, u User, card string) {
	t.Helper()
	if _, err := s.Estimate(context.Background(), issueID, u.ID, Vote{Special: card}); err != nil {
		t.Fatalf("Estimate(%s, %s): %v", u.Nickname, card, err)
	}
}

func mustStatus(t testing.TB, s *Store, issueID int64) Status {
	t.Helper()
	st, err := s.IssueStatus(context.Background(), issueID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestGroupSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner")
	g := newGroup(t, s, owner, "Team")
	got, _, err := s.GroupFor(ctx, g.ID, owner.ID)
	if err != nil || got.Settings != DefaultSettings() || got.Settings.Deck.Name != DeckFibonacci || got.CurrentIssueID != 0 {
		t.Fatalf("new group's settings = %+v, %v", got.Settings, err)
	}
	want, errs := ValidateSettings("custom", "13, 2, 5", "1", "120")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if err := s.SaveSettings(ctx, g.ID, want, owner); err != nil {
		t.Fatal(err)
	}
	is := newIssue(t, s, g.ID, "S-1")
	for name, load := range map[string]func() (Group, error){
		"GroupFor":    func() (Group, error) { g, _, err := s.GroupFor(ctx, g.ID, owner.ID); return g, err },
		"IssueFor":    func() (Group, error) { _, g, _, err := s.IssueFor(ctx, is.ID, owner.ID); return g, err },
		"IssueStatus": func() (Group, error) { st, err := s.IssueStatus(ctx, is.ID); return st.Group, err },
	} {
		if got, err := load(); err != nil || got.Settings != want {
			t.Errorf("%s: settings %+v, %v; want %+v", name, got.Settings, err, want)
		}
	}
	bad := want
	bad.TimerSeconds = TimerMax + 1
	if err := s.SaveSettings(ctx, g.ID, bad, owner); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveSettings(timer 3601) = %v, want ErrInvalid", err)
	}
	if err := s.SaveSettings(ctx, 9999, want, owner); !errors.Is(err, ErrNotFound) {
		t.Errorf("SaveSettings(unknown group) = %v", err)
	}
	if got, _, _ := s.GroupFor(ctx, g.ID, owner.ID); got.Settings != want {
		t.Errorf("a refused change changed the settings: %+v", got.Settings)
	}
}

func TestSpectators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a, b := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob")
	g := newGroup(t, s, owner, "Team", a, b)
	open, other := newIssue(t, s, g.ID, "W-1"), newIssue(t, s, g.ID, "W-2")
	vote(t, s, open.ID, a, 5)
	vote(t, s, open.ID, b, 8)
	vote(t, s, other.ID, b, 3)

	ch, err := s.SetSeat(ctx, g.ID, b.ID, SeatSpectator)
	if err != nil || !slices.Equal(ch.Changed, []int64{open.ID, other.ID}) || len(ch.Revealed) != 0 {
		t.Fatalf("SetSeat = %+v, %v", ch, err)
	}
	if n := ballotsOf(t, s, b.ID); n != 0 {
		t.Errorf("a spectator's votes on open issues remain: %d", n)
	}
	if _, err := s.Estimate(ctx, open.ID, b.ID, Vote{Value: 13}); !errors.Is(err, ErrSpectator) {
		t.Errorf("a spectator's vote = %v, want ErrSpectator", err)
	}
	if _, err := s.Estimate(ctx, open.ID, b.ID, Vote{Special: CardCoffee}); !errors.Is(err, ErrSpectator) {
		t.Errorf("a spectator's coffee = %v, want ErrSpectator", err)
	}
	st := mustStatus(t, s, open.ID)
	if st.VoterCount() != 2 || st.VotedCount() != 1 || st.SeatOf(b.ID) != SeatSpectator || st.SeatOf(a.ID) != SeatVoter {
		t.Errorf("counts: %d of %d voted; seats %s %s", st.VotedCount(), st.VoterCount(), st.SeatOf(a.ID), st.SeatOf(b.ID))
	}
	ms, _ := s.Members(ctx, g.ID)
	for _, m := range ms {
		if (m.UserID == b.ID) != (m.Seat == SeatSpectator) {
			t.Errorf("member %s seat %s", m.Nickname, m.Seat)
		}
	}
	// The owner may watch too; back to voting works.
	if _, err := s.SetSeat(ctx, g.ID, owner.ID, SeatSpectator); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSeat(ctx, g.ID, b.ID, SeatVoter); err != nil {
		t.Fatal(err)
	}
	vote(t, s, open.ID, b, 13)
	if _, err := s.SetSeat(ctx, g.ID, newUser(t, s, "Stranger").ID, SeatSpectator); !errors.Is(err, ErrNotMember) {
		t.Errorf("SetSeat(stranger) = %v", err)
	}
	if _, err := s.SetSeat(ctx, g.ID, a.ID, Seat("owner")); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetSeat(bad seat) = %v", err)
	}
}

func TestRevealNeedsTwoVotes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a := newUser(t, s, "Owner"), newUser(t, s, "Ann")
	g := newGroup(t, s, owner, "Team", a)
	is := newIssue(t, s, g.ID, "T-1")
	if _, err := s.Reveal(ctx, is.ID, owner); !errors.Is(err, ErrTooFewVotes) {
		t.Errorf("Reveal with no vote = %v", err)
	}
	vote(t, s, is.ID, a, 34)
	if _, err := s.Reveal(ctx, is.ID, owner); !errors.Is(err, ErrTooFewVotes) {
		t.Errorf("Reveal with one vote = %v, want ErrTooFewVotes", err)
	}
	st := mustStatus(t, s, is.ID)
	if st.Issue.State != StateOpen || len(st.Rounds) != 0 || !st.Issue.Result.Empty() {
		t.Errorf("a refused reveal changed the issue: %+v", st.Issue)
	}
	if v, _ := s.OwnEstimate(ctx, is.ID, a.ID); v.Value != 34 {
		t.Errorf("a refused reveal dropped the vote: %v", v)
	}
	// ? and coffee do not count: a number beside them is still one person's.
	special(t, s, is.ID, owner, CardCoffee)
	if _, err := s.Reveal(ctx, is.ID, owner); !errors.Is(err, ErrTooFewVotes) {
		t.Errorf("Reveal with a number and a coffee = %v, want ErrTooFewVotes", err)
	}
	b := newUser(t, s, "Bea")
	if _, err := s.Join(ctx, g.InviteToken, b); err != nil {
		t.Fatal(err)
	}
	vote(t, s, is.ID, b, 8)
	rev, err := s.Reveal(ctx, is.ID, owner)
	if err != nil || rev.Result.Votes != 3 || rev.Result.Coffee != 1 || rev.Result.Sum != 42 {
		t.Errorf("Reveal with two numbers and a coffee = %+v, %v", rev.Result, err)
	}
}

func TestSpecialCardsAreForgottenAtReveal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a, b, c := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob"), newUser(t, s, "Cyd")
	g := newGroup(t, s, owner, "Team", a, b, c)
	is := newIssue(t, s, g.ID, "C-1")
	special(t, s, is.ID, a, CardUnsure)
	special(t, s, is.ID, b, CardCoffee)
	vote(t, s, is.ID, owner, 8)
	vote(t, s, is.ID, c, 3)
	if v, _ := s.OwnEstimate(ctx, is.ID, a.ID); v != (Vote{Special: CardUnsure}) {
		t.Errorf("own ? = %+v", v)
	}
	// A change of mind replaces the special card with a number, and back.
	vote(t, s, is.ID, b, 5)
	special(t, s, is.ID, b, CardCoffee)
	if v, _ := s.OwnEstimate(ctx, is.ID, b.ID); v != (Vote{Special: CardCoffee}) {
		t.Errorf("own coffee = %+v", v)
	}
	rev, err := s.Reveal(ctx, is.ID, owner)
	if err != nil || rev.Result.Unsure != 1 || rev.Result.Coffee != 1 || rev.Result.Numeric() != 2 || rev.Result.Sum != 11 {
		t.Fatalf("result = %+v, %v", rev.Result, err)
	}
	if n := withCards(t, s, is.ID); n != 0 {
		t.Errorf("%d estimates still hold a value or a special card after the reveal", n)
	}
	if n := len(slots(t, s, is.ID)); n != 4 {
		t.Errorf("participation slots = %d, want 4", n)
	}
	if st := mustStatus(t, s, is.ID); st.VotedCount() != 4 {
		t.Errorf("after the reveal %d voted, want 4", st.VotedCount())
	}
}

func TestEstimateOnADeckOfLabels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner")
	g := newGroup(t, s, owner, "Team")
	set := DefaultSettings()
	set.Deck, _ = ParseDeck(DeckTShirt, "")
	if err := s.SaveSettings(ctx, g.ID, set, owner); err != nil {
		t.Fatal(err)
	}
	is := newIssue(t, s, g.ID, "L-1")
	if _, err := s.Estimate(ctx, is.ID, owner.ID, Vote{Value: 4}); !errors.Is(err, ErrNotOnDeck) {
		t.Errorf("4 on the T-shirt deck = %v, want ErrNotOnDeck", err)
	}
	vote(t, s, is.ID, owner, 13)
	for _, bad := range []Vote{{Value: 0}, {Value: 101}, {Special: "tea"}, {Value: 3, Special: CardCoffee}} {
		if _, err := s.Estimate(ctx, is.ID, owner.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Estimate(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if v, _ := s.OwnEstimate(ctx, is.ID, owner.ID); v.Value != 13 {
		t.Errorf("a refused vote changed the vote: %+v", v)
	}
}

func TestAutoReveal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a, b, watcher := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob"), newUser(t, s, "Watcher")
	g := newGroup(t, s, owner, "Team", a, b, watcher)
	set := DefaultSettings()
	set.AutoReveal = true
	if err := s.SaveSettings(ctx, g.ID, set, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSeat(ctx, g.ID, watcher.ID, SeatSpectator); err != nil {
		t.Fatal(err)
	}
	is := newIssue(t, s, g.ID, "A-1")
	for _, u := range []User{owner, a} {
		if revealed, err := s.Estimate(ctx, is.ID, u.ID, Vote{Value: 5}); err != nil || revealed {
			t.Fatalf("%s: revealed %v, %v", u.Nickname, revealed, err)
		}
	}
	revealed, err := s.Estimate(ctx, is.ID, b.ID, Vote{Special: CardUnsure})
	if err != nil || !revealed {
		t.Fatalf("the last voter's vote: revealed %v, %v (the spectator must not be waited for)", revealed, err)
	}
	st := mustStatus(t, s, is.ID)
	if st.Issue.State != StateRevealed || st.Issue.Result.Votes != 3 || st.Issue.Result.Unsure != 1 || len(st.Rounds) != 1 {
		t.Errorf("after auto-reveal: %+v, rounds %v", st.Issue, st.Rounds)
	}
	events, _ := s.GroupEvents(ctx, g.ID, 10)
	if !slices.ContainsFunc(events, func(e AuditEvent) bool { return e.Action == ActReveal && strings.Contains(e.Detail, "auto-reveal") }) {
		t.Errorf("no audit line says auto-reveal: %+v", events)
	}
	if _, err := s.Estimate(ctx, is.ID, b.ID, Vote{Value: 3}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("a vote after auto-reveal = %v, want ErrNotOpen", err)
	}

	// With everyone but one voter done, that voter turning spectator completes
	// the round.
	next := newIssue(t, s, g.ID, "A-2")
	vote(t, s, next.ID, owner, 1)
	vote(t, s, next.ID, a, 2)
	ch, err := s.SetSeat(ctx, g.ID, b.ID, SeatSpectator)
	if err != nil || !slices.Equal(ch.Revealed, []int64{next.ID}) {
		t.Errorf("SetSeat = %+v, %v; want A-2 revealed", ch, err)
	}

	// Alone, a single voter's vote is never revealed by itself.
	solo := newIssue(t, s, g.ID, "A-3")
	if _, err := s.SetSeat(ctx, g.ID, a.ID, SeatSpectator); err != nil {
		t.Fatal(err)
	}
	if revealed, err := s.Estimate(ctx, solo.ID, owner.ID, Vote{Value: 8}); err != nil || revealed {
		t.Errorf("one voter, one vote: revealed %v, %v", revealed, err)
	}
	if st := mustStatus(t, s, solo.ID); st.Issue.State != StateOpen {
		t.Errorf("a single vote was revealed: %+v", st.Issue)
	}
}

func TestTimer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, a := newUser(t, s, "Owner"), newUser(t, s, "Ann")
	g := newGroup(t, s, owner, "Team", a)
	is, lonely := newIssue(t, s, g.ID, "T-1"), newIssue(t, s, g.ID, "T-2")

	for _, bad := range []int{-1, TimerMax + 1} {
		if _, err := s.SetTimer(ctx, is.ID, bad, owner); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetTimer(%d) = %v", bad, err)
		}
	}
	got, err := s.SetTimer(ctx, is.ID, 2, owner)
	if err != nil || !got.TimerEndsAt.Equal(clk.Now().Add(2*time.Second)) {
		t.Fatalf("SetTimer = %v, %v", got.TimerEndsAt, err)
	}
	if _, err := s.SetTimer(ctx, lonely.ID, 2, owner); err != nil {
		t.Fatal(err)
	}
	vote(t, s, is.ID, owner, 3)
	vote(t, s, is.ID, a, 5)
	vote(t, s, lonely.ID, a, 13)

	clk.Advance(1999 * time.Millisecond)
	if out, err := s.FireTimers(ctx); err != nil || len(out) != 0 {
		t.Fatalf("before the end: %+v, %v", out, err)
	}
	clk.Advance(time.Millisecond)
	out, err := s.FireTimers(ctx)
	want := []TimerOutcome{{IssueID: is.ID, GroupID: g.ID, Revealed: true}, {IssueID: lonely.ID, GroupID: g.ID}}
	if err != nil || !slices.Equal(out, want) {
		t.Fatalf("at the end: %+v, %v; want %+v", out, err, want)
	}
	st := mustStatus(t, s, is.ID)
	if st.Issue.State != StateRevealed || st.Issue.Result.Sum != 8 || !st.Issue.TimerEndsAt.IsZero() || st.Issue.TimeUp {
		t.Errorf("revealed by the timer: %+v", st.Issue)
	}
	st = mustStatus(t, s, lonely.ID)
	if st.Issue.State != StateOpen || !st.Issue.TimeUp {
		t.Errorf("one vote when time is up: %+v; want open, time up", st.Issue)
	}
	if v, _ := s.OwnEstimate(ctx, lonely.ID, a.ID); v.Value != 13 {
		t.Errorf("the vote of a round out of time = %+v", v)
	}
	if out, err := s.FireTimers(ctx); err != nil || len(out) != 0 {
		t.Errorf("a timer fired twice: %+v, %v", out, err)
	}
	// The owner can reveal by hand once a second vote is in; votes still count.
	vote(t, s, lonely.ID, owner, 21)
	if _, err := s.Reveal(ctx, lonely.ID, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTimer(ctx, lonely.ID, 30, owner); !errors.Is(err, ErrNotOpen) {
		t.Errorf("SetTimer(revealed) = %v", err)
	}

	stopped := newIssue(t, s, g.ID, "T-3")
	vote(t, s, stopped.ID, owner, 1)
	vote(t, s, stopped.ID, a, 1)
	if _, err := s.SetTimer(ctx, stopped.ID, 1, owner); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SetTimer(ctx, stopped.ID, 0, owner); err != nil || !got.TimerEndsAt.IsZero() {
		t.Fatalf("stop = %+v, %v", got, err)
	}
	clk.Advance(time.Hour)
	if out, _ := s.FireTimers(ctx); len(out) != 0 {
		t.Errorf("a stopped timer fired: %+v", out)
	}
}

func TestStartIssueAndDefaultTimer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, a := newUser(t, s, "Owner"), newUser(t, s, "Ann")
	g := newGroup(t, s, owner, "Team", a)
	first, second := newIssue(t, s, g.ID, "F-1"), newIssue(t, s, g.ID, "F-2")
	if _, err := s.GroupRoom(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GroupRoom before any start = %v", err)
	}
	if is, err := s.StartIssue(ctx, first.ID, owner); err != nil || !is.TimerEndsAt.IsZero() {
		t.Fatalf("StartIssue without a default timer = %+v, %v", is, err)
	}
	if id, err := s.GroupRoom(ctx, g.ID); err != nil || id != first.ID {
		t.Errorf("GroupRoom = %d, %v", id, err)
	}
	set := DefaultSettings()
	set.TimerSeconds = 60
	if err := s.SaveSettings(ctx, g.ID, set, owner); err != nil {
		t.Fatal(err)
	}
	is, err := s.StartIssue(ctx, second.ID, owner)
	if err != nil || !is.TimerEndsAt.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("StartIssue with a default timer = %v, %v", is.TimerEndsAt, err)
	}
	if g2, _, _ := s.GroupFor(ctx, g.ID, a.ID); g2.CurrentIssueID != second.ID {
		t.Errorf("current issue = %d", g2.CurrentIssueID)
	}
	// Starting it again does not restart a running countdown.
	clk.Advance(10 * time.Second)
	if again, _ := s.StartIssue(ctx, second.ID, owner); !again.TimerEndsAt.Equal(is.TimerEndsAt) {
		t.Errorf("the countdown restarted: %v, was %v", again.TimerEndsAt, is.TimerEndsAt)
	}
	// A new round starts the default timer again.
	vote(t, s, second.ID, owner, 1)
	vote(t, s, second.ID, a, 2)
	if _, err := s.Reveal(ctx, second.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Revote(ctx, second.ID, owner); err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, s, second.ID); !st.Issue.TimerEndsAt.Equal(clk.Now().Add(time.Minute)) {
		t.Errorf("round 2's countdown ends %v", st.Issue.TimerEndsAt)
	}
	if _, err := s.StartIssue(ctx, 9999, owner); !errors.Is(err, ErrNotFound) {
		t.Errorf("StartIssue(unknown) = %v", err)
	}
	// Deleting the current issue leaves the group with none.
	if err := s.Revote(ctx, second.ID, owner); err == nil {
		t.Fatal("revote of an open issue worked")
	}
	if err := s.DeleteIssue(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GroupRoom(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GroupRoom after deleting the current issue = %v", err)
	}
}

func TestRoundsKeepOnlyAnonymousResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a, b := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob")
	g := newGroup(t, s, owner, "Team", a, b)
	is := newIssue(t, s, g.ID, "R-1")
	rounds := [][]int{{1, 3, 100}, {3, 5, 5}, {5, 5, 5}}
	for i, values := range rounds {
		for j, u := range []User{owner, a, b} {
			vote(t, s, is.ID, u, values[j])
		}
		if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
			t.Fatal(err)
		}
		if i < len(rounds)-1 {
			if err := s.Revote(ctx, is.ID, owner); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Accept(ctx, is.ID, owner, 5); err != nil {
		t.Fatal(err)
	}
	got, err := s.Rounds(ctx, is.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("Rounds = %+v, %v", got, err)
	}
	for i, r := range got {
		if r.Number != i+1 || !slices.Equal(r.Result.Values(), rounds[i]) {
			t.Errorf("round %d = %+v, want values %v", i+1, r, rounds[i])
		}
	}
	st := mustStatus(t, s, is.ID)
	if st.Issue.State != StateAccepted || st.Issue.Final != 5 || !slices.Equal(st.Issue.Result.Values(), []int{5, 5, 5}) || len(st.Rounds) != 3 {
		t.Errorf("accepted issue %+v with %d rounds", st.Issue, len(st.Rounds))
	}
	// The table has no column that could name a person or a time.
	columns := "SELECT name FROM pragma_table_info('issue_rounds') ORDER BY cid"
	if s.pg {
		columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'issue_rounds' ORDER BY ordinal_position"
	}
	rows, err := s.r.QueryContext(ctx, columns)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	if want := []string{"issue_id", "round", "result", "notes"}; !slices.Equal(cols, want) {
		t.Errorf("issue_rounds columns %v, want %v", cols, want)
	}
}

// TestVotesRacingTimerAndAutoReveal: voters vote while the timer ends and the
// last vote auto-reveals. Every acknowledged vote is in the result; every other
// one was refused with ErrNotOpen. None is lost.
func TestVotesRacingTimerAndAutoReveal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	const n = 12
	g, users := members(t, s, n)
	set := DefaultSettings()
	set.AutoReveal = true
	if err := s.SaveSettings(ctx, g.ID, set, users[0]); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 4; round++ {
		is := newIssue(t, s, g.ID, fmt.Sprintf("RACE-%d", round))
		if _, err := s.SetTimer(ctx, is.ID, 1, users[0]); err != nil {
			t.Fatal(err)
		}
		vote(t, s, is.ID, users[0], 100)
		vote(t, s, is.ID, users[1], 99)
		clk.Advance(time.Second)
		errs := make([]error, n)
		var fired []TimerOutcome
		var fireErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 2; i < n; i++ {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Estimate(ctx, is.ID, users[i].ID, Vote{Value: i}) // value i names the voter here
			})
			if i == n/2 {
				wg.Go(func() {
					<-start
					fired, fireErr = s.FireTimers(ctx)
				})
			}
		}
		close(start)
		wg.Wait()
		if fireErr != nil {
			t.Fatal(fireErr)
		}
		want := []int{99, 100}
		for i := 2; i < n; i++ {
			switch err := errs[i]; {
			case err == nil:
				want = append(want, i)
			case !errors.Is(err, ErrNotOpen):
				t.Errorf("round %d: voter %d: %v", round, i, err)
			}
		}
		slices.Sort(want)
		st := mustStatus(t, s, is.ID)
		if st.Issue.State != StateRevealed || !slices.Equal(st.Issue.Result.Values(), want) {
			t.Errorf("round %d: result %v, acknowledged %v (%s)", round, st.Issue.Result.Values(), want, st.Issue.State)
		}
		t.Logf("round %d: %d of %d racing votes counted, timer fired %v", round, len(want)-2, n-2, fired)
	}
}

// Every way a round is revealed forgets who voted what and when (values and
// cards gone, every row at the reveal's time) in the reveal's transaction, and
// leaves no old page in the write-ahead log: it is checkpointed and truncated
// before the call returns.
func TestEveryRevealForgetsAndScrubs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, by := range []string{"owner", "auto-reveal", "timer", "seat"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			s, clk := newStore(t)
			owner, a, b, c := newUser(t, s, "owner"), newUser(t, s, "ann"), newUser(t, s, "ben"), newUser(t, s, "cyd")
			g := newGroup(t, s, owner, "Scrub", a, b, c)
			if by == "auto-reveal" || by == "seat" {
				if err := s.SaveSettings(ctx, g.ID, GroupSettings{Deck: DefaultDeck(), AutoReveal: true}, owner); err != nil {
					t.Fatal(err)
				}
			}
			is := newIssue(t, s, g.ID, "S-1")
			clk.Advance(time.Minute)
			vote(t, s, is.ID, owner, 8)
			clk.Advance(time.Minute)
			vote(t, s, is.ID, a, 5)
			clk.Advance(time.Minute)
			special(t, s, is.ID, c, CardUnsure)
			clk.Advance(time.Minute)
			// PostgreSQL has no write-ahead log file of the store's to check:
			// there the reveal leaves the vacuum of the tables that held
			// values due for the next Purge instead.
			wal := func() int64 {
				if s.pg {
					return 1
				}
				return walSize(t, s)
			}
			if wal() == 0 {
				t.Fatal("the WAL is empty before the reveal: the check would prove nothing")
			}
			switch by {
			case "owner":
				if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
					t.Fatal(err)
				}
			case "auto-reveal":
				if revealed, err := s.Estimate(ctx, is.ID, b.ID, Vote{Value: 3}); err != nil || !revealed {
					t.Fatalf("the last vote: revealed %v, %v", revealed, err)
				}
			case "timer":
				if _, err := s.SetTimer(ctx, is.ID, 5, owner); err != nil {
					t.Fatal(err)
				}
				clk.Advance(6 * time.Second)
				if out, err := s.FireTimers(ctx); err != nil || len(out) != 1 || !out[0].Revealed {
					t.Fatalf("FireTimers = %+v, %v", out, err)
				}
			case "seat":
				if ch, err := s.SetSeat(ctx, g.ID, b.ID, SeatSpectator); err != nil || !slices.Equal(ch.Revealed, []int64{is.ID}) {
					t.Fatalf("SetSeat = %+v, %v", ch, err)
				}
			}
			if got, _, _, _ := s.IssueFor(ctx, is.ID, owner.ID); got.State != StateRevealed {
				t.Fatalf("state %s after the reveal by %s", got.State, by)
			}
			if s.pg {
				if !s.scrubDue.Load() {
					t.Errorf("no vacuum due after the reveal by %s", by)
				}
			} else if n := wal(); n != 0 {
				t.Errorf("the WAL holds %d bytes after the reveal by %s", n, by)
			}
			if n := withCards(t, s, is.ID); n != 0 {
				t.Errorf("%d estimates keep a value, a card or their own time after the reveal by %s", n, by)
			}
		})
	}
}

// Reveals at the same moment share checkpoints (each one holds the writer)
// and every one of them still returns only after a checkpoint that started
// after its commit: when the last has returned, the WAL is empty.
func TestConcurrentRevealsShareCheckpoints(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	if s.pg {
		t.Skip("PostgreSQL has no checkpoint of the store's: see TestEveryRevealForgetsAndScrubs")
	}
	ctx := context.Background()
	const rooms = 24
	var issues []int64
	owners := make([]User, rooms)
	for r := range rooms {
		owners[r] = newUser(t, s, fmt.Sprintf("owner%d", r))
		a := newUser(t, s, fmt.Sprintf("ann%d", r))
		g := newGroup(t, s, owners[r], fmt.Sprintf("Room %d", r), a)
		is := newIssue(t, s, g.ID, "R-1")
		vote(t, s, is.ID, owners[r], 5)
		vote(t, s, is.ID, a, 8)
		issues = append(issues, is.ID)
	}
	before := s.checkpoints.Load()
	var wg sync.WaitGroup
	errs := make(chan error, rooms)
	for r, id := range issues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Reveal(ctx, id, owners[r]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := walSize(t, s); n != 0 {
		t.Errorf("the WAL holds %d bytes after %d reveals returned", n, rooms)
	}
	ran := s.checkpoints.Load() - before
	if ran < 1 || ran >= rooms {
		t.Errorf("%d checkpoints for %d reveals at once: they should share", ran, rooms)
	}
	t.Logf("%d reveals at once: %d checkpoints", rooms, ran)
	if n := withCards(t, s, 0); n != 0 {
		t.Errorf("%d estimates keep a value", n)
	}
}

// walSize is the bytes of the SQLite store's write-ahead log file.
func walSize(t *testing.T, s *Store) int64 {
	t.Helper()
	fi, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A deck changes only while no open round has votes: votes 21 and 34 cast on
// Fibonacci, revealed on a T-shirt deck, would read "21–34" where every other
// word is a size. The timer and auto-reveal still change; the deck does once
// the round is revealed.
func TestDeckDoesNotChangeUnderAnOpenRound(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	owner, ann := newUser(t, s, "owner"), newUser(t, s, "ann")
	g := newGroup(t, s, owner, "Decks", ann)
	is := newIssue(t, s, g.ID, "DECK-1")
	newIssue(t, s, g.ID, "DECK-2") // open, no votes: no obstacle
	vote(t, s, is.ID, owner, 21)
	vote(t, s, is.ID, ann, 34)
	tshirt, err := ParseDeckSpec(DeckTShirt)
	if err != nil {
		t.Fatal(err)
	}
	var inUse DeckInUse
	if err := s.SaveSettings(ctx, g.ID, GroupSettings{Deck: tshirt}, owner); !errors.As(err, &inUse) || len(inUse.Keys) != 1 || inUse.Keys[0] != "DECK-1" {
		t.Fatalf("deck change under an open round with votes = %v, want DeckInUse naming DECK-1", err)
	}
	got, _, err := s.GroupFor(ctx, g.ID, owner.ID)
	if err != nil || got.Settings.Deck.Spec() != DeckFibonacci {
		t.Fatalf("the deck changed anyway: %q, %v", got.Settings.Deck.Spec(), err)
	}
	if err := s.SaveSettings(ctx, g.ID, GroupSettings{Deck: DefaultDeck(), TimerSeconds: 90}, owner); err != nil {
		t.Fatalf("the timer alone: %v", err)
	}
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(ctx, g.ID, GroupSettings{Deck: tshirt}, owner); err != nil {
		t.Fatalf("deck change once the round is revealed: %v", err)
	}
}
