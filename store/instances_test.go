package store

import (
	"context"
	"errors"
	"sync"
	"testing"
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
		vote(t, a, is.ID, owner, 5)
		voteErrs := make([]error, len(voters))
		revealErrs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range voters {
			s := []*Store{a, b}[i%2]
			wg.Go(func() { <-start; voteErrs[i] = s.Estimate(ctx, is.ID, u.ID, 8) })
		}
		for i, s := range []*Store{a, b} {
			wg.Go(func() { <-start; _, revealErrs[i] = s.Reveal(ctx, is.ID, owner) })
		}
		close(start)
		wg.Wait()
		ok, want := 0, 1
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
		if n := count(t, a, "SELECT COUNT(*) FROM estimates WHERE issue_id = ? AND value IS NOT NULL", is.ID); n != 0 {
			t.Errorf("round %d: %d values stored after the reveal", round, n)
		}
	}
}
