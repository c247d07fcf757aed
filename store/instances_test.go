package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// twoStores opens two stores on one database, as two instances of the app
// would (on SQLite: two processes on one file).
func twoStores(t *testing.T) (a, b *Store, clk *testClock) {
	t.Helper()
	clk = newClock()
	db := newDB(t, "shared.db")
	a = openStore(t, db, Options{Now: clk.Now})
	b = openStore(t, db, Options{Now: clk.Now})
	return a, b, clk
}

// TestInstancesShareSessions: a session made by one instance is the same
// session on the other, and its end on one is its end on both.
func TestInstancesShareSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, _ := twoStores(t)
	u := newUser(t, a, "Roamer")
	ss, tok, err := a.CreateSession(ctx, u.ID, false, []byte("kept"), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	got, gu, err := b.LoadSession(ctx, tok, testPolicy)
	if err != nil || got.ID != ss.ID || gu.ID != u.ID || string(got.Data) != "kept" {
		t.Fatalf("session on the other instance = %+v %+v, %v", got, gu, err)
	}
	ref, err := a.KeepForm(ctx, ss.ID, "POST", "/creategroup", []byte("name=Far"))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := b.TakeForm(ctx, ref, ss.ID); err != nil || string(f.Body) != "name=Far" {
		t.Errorf("kept form replayed on the other instance = %+v, %v", f, err)
	}
	if err := b.DeleteSession(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.LoadSession(ctx, tok, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("session signed out on B still loads on A: %v", err)
	}
}

// TestInstancesTakeOnce: one reference taken from both instances at once is
// taken exactly once, for kept forms and for sign-in flows (the OpenID Connect
// state): each instance's write transaction locks the row it checks.
func TestInstancesTakeOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, _ := twoStores(t)
	ss, _, err := a.CreateSession(ctx, 0, false, nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		ref := keep(t, a, ss.ID)
		flow, err := a.StartSigninFlow(ctx, SigninFlow{Kind: FlowOIDC, SessionID: ss.ID, Nonce: "n", Verifier: "v"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		formErrs, flowErrs := make([]error, n), make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			s := []*Store{a, b}[i%2]
			wg.Go(func() {
				<-start
				_, formErrs[i] = s.TakeForm(ctx, ref, ss.ID)
				_, flowErrs[i] = s.TakeSigninFlow(ctx, FlowOIDC, flow, ss.ID)
			})
		}
		close(start)
		wg.Wait()
		for what, c := range map[string]struct {
			errs  []error
			loser error
		}{"kept form": {formErrs, ErrFormUsed}, "sign-in flow": {flowErrs, ErrNotFound}} {
			wins := 0
			for i, err := range c.errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, c.loser):
					t.Errorf("%s take %d: %v, want nil or %v", what, i, err, c.loser)
				}
			}
			if wins != 1 {
				t.Errorf("%s taken %d times, want exactly once", what, wins)
			}
		}
	}
}

// TestInstancesRevealOnce: the owner's reveal sent to both instances at once
// (a double click behind a load balancer) reveals once, with one audit line;
// votes arriving on either instance meanwhile are in the result or refused.
func TestInstancesRevealOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, _ := twoStores(t)
	g, users := members(t, a, 9)
	owner, voters := users[0], users[1:]
	for round := range 3 {
		is := newIssue(t, a, g.ID, "TWICE-"+string(rune('A'+round)))
		// Two votes first: a round is revealed with two votes or more.
		vote(t, a, is.ID, owner, 5)
		vote(t, b, is.ID, voters[0], 5)
		voteErrs := make([]error, len(voters)-1)
		revealErrs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range voters[1:] {
			s := []*Store{a, b}[i%2]
			wg.Go(func() { <-start; _, voteErrs[i] = s.Estimate(ctx, is.ID, u.ID, Vote{Value: 8}) })
		}
		for i, s := range []*Store{a, b} {
			wg.Go(func() { <-start; _, revealErrs[i] = s.Reveal(ctx, is.ID, owner) })
		}
		close(start)
		wg.Wait()
		ok, want := 0, 2
		for i, err := range revealErrs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrNotOpen):
				t.Errorf("reveal %d: %v", i, err)
			}
		}
		for i, err := range voteErrs {
			switch {
			case err == nil:
				want++
			case !errors.Is(err, ErrNotOpen):
				t.Errorf("vote %d: %v", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d reveals succeeded, want 1", round, ok)
		}
		if n := count(t, a, "SELECT COUNT(*) FROM events WHERE issue_id = ? AND action = ?", is.ID, ActReveal); n != 1 {
			t.Errorf("round %d: %d reveal audit lines, want 1", round, n)
		}
		stored, _, _, err := b.IssueFor(ctx, is.ID, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Result.Votes != want {
			t.Errorf("round %d: result counts %d votes, %d were acknowledged", round, stored.Result.Votes, want)
		}
		if n := withCards(t, a, is.ID); n != 0 {
			t.Errorf("round %d: %d values stored after the reveal", round, n)
		}
	}
}

// TestInstancesFireTimersOnce: both instances' timer loops find the same ended
// countdown at once while the last voters vote on either instance with
// auto-reveal on. The round is revealed exactly once, by the timer or by the
// last vote: one audit line, one stored round, and every acknowledged vote in
// its result.
func TestInstancesFireTimersOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, clk := twoStores(t)
	const n = 8
	g, users := members(t, a, n)
	set := DefaultSettings()
	set.AutoReveal = true
	if err := a.SaveSettings(ctx, g.ID, set, users[0]); err != nil {
		t.Fatal(err)
	}
	for round := range 6 {
		is := newIssue(t, a, g.ID, fmt.Sprintf("TIMER-%d", round))
		if _, err := b.SetTimer(ctx, is.ID, 1, users[0]); err != nil {
			t.Fatal(err)
		}
		vote(t, a, is.ID, users[0], 1)
		vote(t, b, is.ID, users[1], 2)
		clk.Advance(time.Second)
		voteErrs := make([]error, n)
		autoRevealed := make([]bool, n)
		const loops = 4
		fired := make([][]TimerOutcome, loops)
		fireErrs := make([]error, loops)
		var wg sync.WaitGroup
		start := make(chan struct{})
		// Even rounds: every voter races the timers, so the last vote may
		// auto-reveal first; odd rounds: one voter stays out, the timer reveals.
		last := n
		if round%2 == 1 {
			last = n - 1
		}
		for i := 2; i < last; i++ {
			s := []*Store{a, b}[i%2]
			wg.Go(func() {
				<-start
				autoRevealed[i], voteErrs[i] = s.Estimate(ctx, is.ID, users[i].ID, Vote{Value: i})
			})
		}
		for i := range loops {
			s := []*Store{a, b}[i%2]
			wg.Go(func() { <-start; fired[i], fireErrs[i] = s.FireTimers(ctx) })
		}
		close(start)
		wg.Wait()
		reveals, acknowledged := 0, 2
		for i, err := range fireErrs {
			if err != nil {
				t.Fatalf("FireTimers %d: %v", i, err)
			}
			for _, o := range fired[i] {
				if o.IssueID != is.ID {
					t.Errorf("round %d: a timer fired for issue %d", round, o.IssueID)
				}
				if o.Revealed {
					reveals++
				} else {
					t.Errorf("round %d: the timer found too few votes: %+v", round, o)
				}
			}
		}
		for i := 2; i < last; i++ {
			switch err := voteErrs[i]; {
			case err == nil:
				acknowledged++
				if autoRevealed[i] {
					reveals++
				}
			case !errors.Is(err, ErrNotOpen):
				t.Errorf("round %d: vote %d: %v", round, i, err)
			}
		}
		if reveals != 1 {
			t.Errorf("round %d: revealed %d times, want once", round, reveals)
		}
		if n := count(t, a, "SELECT COUNT(*) FROM events WHERE issue_id = ? AND action = ?", is.ID, ActReveal); n != 1 {
			t.Errorf("round %d: %d reveal audit lines, want 1", round, n)
		}
		if n := count(t, b, "SELECT COUNT(*) FROM issue_rounds WHERE issue_id = ?", is.ID); n != 1 {
			t.Errorf("round %d: %d stored rounds, want 1", round, n)
		}
		st, err := b.IssueStatus(ctx, is.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Issue.State != StateRevealed || st.Issue.Result.Votes != acknowledged || !st.Issue.TimerEndsAt.IsZero() {
			t.Errorf("round %d: %s with %d votes in the result (timer %v), %d acknowledged", round, st.Issue.State, st.Issue.Result.Votes, st.Issue.TimerEndsAt, acknowledged)
		}
		if out, err := a.FireTimers(ctx); err != nil || len(out) != 0 {
			t.Errorf("round %d: a later loop fired again: %v, %v", round, out, err)
		}
	}
}

// TestInstancesVoteRacingRemoval: a vote on one instance and the voter's
// removal on the other, at the same moment, many times: the vote is either
// refused (not a member) or made and then deleted with the membership; no
// estimate of someone outside the group is ever left.
func TestInstancesVoteRacingRemoval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, _ := twoStores(t)
	owner := newUser(t, a, "Racer")
	g := newGroup(t, a, owner, "Race")
	is := newIssue(t, a, g.ID, "R-1")
	for i := range 30 {
		m := newUser(t, a, fmt.Sprintf("voter%d", i))
		joined, err := a.Join(ctx, g.InviteToken, m)
		if err != nil || joined.ID != g.ID {
			t.Fatalf("join: %+v %v", joined, err)
		}
		var wg sync.WaitGroup
		var voteErr, removeErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, voteErr = a.Estimate(ctx, is.ID, m.ID, Vote{Value: 5})
		}()
		go func() {
			defer wg.Done()
			_, removeErr = b.RemoveMember(ctx, g.ID, m.ID, owner)
		}()
		wg.Wait()
		if removeErr != nil {
			t.Fatalf("remove: %v", removeErr)
		}
		if voteErr != nil && !errors.Is(voteErr, ErrNotMember) {
			t.Fatalf("vote: %v", voteErr)
		}
		if n := ballotsOf(t, a, m.ID); n != 0 {
			t.Fatalf("round %d: %d estimates left of a removed member (vote: %v)", i, n, voteErr)
		}
	}
}
