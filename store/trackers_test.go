package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func connectTracker(t *testing.T, s *Store, groupID int64) {
	t.Helper()
	if err := s.ConnectTracker(context.Background(), groupID, TrackerConn{Kind: "jira", BaseURL: "https://acme.atlassian.net",
		Token: "dana@example.com:ATATT3xFfGF0-secret-9z81", Project: "SHOP", Field: "customfield_10016"}, User{}); err != nil {
		t.Fatal(err)
	}
}

func importOne(t *testing.T, s *Store, u User, groupID int64, key string) Issue {
	t.Helper()
	ctx := context.Background()
	if _, _, _, err := s.ImportTrackerIssues(ctx, u.ID, groupID, []TrackerIssue{{Key: key, Title: "Checkout total", Body: "Body", Ref: key, URL: "https://acme.atlassian.net/browse/" + key}}, Once{}); err != nil {
		t.Fatal(err)
	}
	issues, err := s.GroupIssues(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issues {
		if is.Key == key {
			return is.Issue
		}
	}
	t.Fatalf("%s not imported", key)
	return Issue{}
}

// acceptWith accepts and lets TrackerSettle pass.
func acceptWith(t *testing.T, s *Store, clk *testClock, is Issue, owner, m User, final int) {
	t.Helper()
	ctx := context.Background()
	if is.State == StateOpen {
		vote(t, s, is.ID, owner, 8)
		vote(t, s, is.ID, m, 5)
		if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Accept(ctx, is.ID, owner, final); err != nil {
		t.Fatal(err)
	}
	clk.Advance(TrackerSettle)
}

func TestReimportUpdatesTheDescriptionInsteadOfFailing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner")
	g := newGroup(t, s, owner, "Team")
	connectTracker(t, s, g.ID)
	newIssue(t, s, g.ID, "shop-2") // typed by hand before the tracker
	rows := []TrackerIssue{{Key: "SHOP-1", Title: "Old title", Ref: "SHOP-1", URL: "https://x/browse/SHOP-1"}}
	if a, u, _, err := s.ImportTrackerIssues(ctx, owner.ID, g.ID, rows, Once{}); err != nil || a != 1 || u != 0 {
		t.Fatalf("first import: %d added, %d updated, %v", a, u, err)
	}
	rows = []TrackerIssue{{Key: "SHOP-1", Title: "New title", Body: "More", Ref: "SHOP-1", URL: "https://x/browse/SHOP-1"},
		{Key: "SHOP-2", Title: "Two", Ref: "SHOP-2", URL: "https://x/browse/SHOP-2"}}
	prev, err := s.PreviewTrackerImport(ctx, g.ID, rows)
	if err != nil || !prev[0].Update || !prev[1].Update {
		t.Fatalf("preview %+v %v", prev, err)
	}
	if a, u, _, err := s.ImportTrackerIssues(ctx, owner.ID, g.ID, rows, Once{}); err != nil || a != 0 || u != 2 {
		t.Fatalf("re-import: %d added, %d updated, %v", a, u, err)
	}
	issues, _ := s.GroupIssues(ctx, g.ID)
	if len(issues) != 2 || issues[1].Description != "New title\n\nMore" || issues[0].TrackerURL != "https://x/browse/SHOP-2" || issues[0].Key != "shop-2" {
		t.Fatalf("issues %+v", issues)
	}
}

func TestAcceptQueuesOneWriteAndANewValueReplacesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	connectTracker(t, s, g.ID)
	is := importOne(t, s, owner, g.ID, "SHOP-1")
	plain := newIssue(t, s, g.ID, "LOCAL-1")
	acceptWith(t, s, clk, plain, owner, m, 5)
	acceptWith(t, s, clk, is, owner, m, 8)
	ws, err := s.ClaimTrackerWrites(ctx, time.Minute, 10)
	if err != nil || len(ws) != 1 {
		t.Fatalf("claimed %+v %v (the hand-typed issue has nothing to write)", ws, err)
	}
	w := ws[0]
	if w.Value != 8 || w.Ref != "SHOP-1" || w.Conn.Project != "SHOP" || w.Conn.Token == "" {
		t.Fatalf("write %+v", w)
	}
	if again, _ := s.ClaimTrackerWrites(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	// Accepted again with another value while the first is under way.
	is, _, _, _ = s.IssueFor(ctx, is.ID, owner.ID)
	acceptWith(t, s, clk, is, owner, m, 13)
	if err := s.FinishTrackerWrite(ctx, w, TrackerOutcome{}); err != nil {
		t.Fatal(err)
	}
	is, _, _, _ = s.IssueFor(ctx, is.ID, owner.ID)
	if is.TrackerState != TrackerWaiting {
		t.Fatalf("the old value's success counted for the new: %q", is.TrackerState)
	}
	ws, _ = s.ClaimTrackerWrites(ctx, time.Minute, 10)
	if len(ws) != 1 || ws[0].Value != 13 {
		t.Fatalf("new value: %+v", ws)
	}
	// A temporary failure waits; a retry at its time is claimed again.
	if err := s.FinishTrackerWrite(ctx, ws[0], TrackerOutcome{Err: "The tracker limits how often it is called (429)", RetryIn: 42 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.ClaimTrackerWrites(ctx, time.Minute, 10); len(ws) != 0 {
		t.Fatal("claimed before Retry-After")
	}
	clk.Advance(43 * time.Second)
	ws, _ = s.ClaimTrackerWrites(ctx, time.Minute, 10)
	if len(ws) != 1 || ws[0].Attempts != 1 {
		t.Fatalf("after Retry-After: %+v", ws)
	}
	if err := s.FinishTrackerWrite(ctx, ws[0], TrackerOutcome{Err: "Not found (404)", Failed: true}); err != nil {
		t.Fatal(err)
	}
	is, _, _, _ = s.IssueFor(ctx, is.ID, owner.ID)
	if is.TrackerState != TrackerFailed || is.TrackerError != "Not found (404)" {
		t.Fatalf("failed: %+v", is)
	}
	if err := s.RetryTrackerWrite(ctx, is.ID); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.ClaimTrackerWrites(ctx, time.Minute, 10); len(ws) != 0 {
		t.Fatal("a retry was due before TrackerSettle")
	}
	clk.Advance(TrackerSettle)
	ws, _ = s.ClaimTrackerWrites(ctx, time.Minute, 10)
	if len(ws) != 1 {
		t.Fatal("retry not claimed")
	}
	s.FinishTrackerWrite(ctx, ws[0], TrackerOutcome{})
	is, _, _, _ = s.IssueFor(ctx, is.ID, owner.ID)
	if is.TrackerState != TrackerSent {
		t.Fatalf("sent: %+v", is)
	}
	if err := s.RetryTrackerWrite(ctx, is.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("retry of a sent write: %v", err)
	}
	if err := s.RetryTrackerWrite(ctx, plain.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retry of nothing: %v", err)
	}
}

func TestALapsedLeaseIsClaimedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	connectTracker(t, s, g.ID)
	acceptWith(t, s, clk, importOne(t, s, owner, g.ID, "SHOP-1"), owner, m, 8)
	if ws, _ := s.ClaimTrackerWrites(ctx, time.Minute, 10); len(ws) != 1 {
		t.Fatal("not claimed")
	}
	// The sender died holding it.
	clk.Advance(61 * time.Second)
	if ws, _ := s.ClaimTrackerWrites(ctx, time.Minute, 10); len(ws) != 1 {
		t.Fatal("a lapsed lease was not claimed again")
	}
}

func TestConcurrentClaimsTakeEachWriteOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	connectTracker(t, s, g.ID)
	for _, k := range []string{"SHOP-1", "SHOP-2", "SHOP-3", "SHOP-4", "SHOP-5", "SHOP-6"} {
		acceptWith(t, s, clk, importOne(t, s, owner, g.ID, k), owner, m, 3)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, err := s.ClaimTrackerWrites(ctx, time.Minute, 2)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, w := range ws {
				seen[w.IssueID]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 6 {
		t.Fatalf("claimed %d of 6", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("issue %d claimed %d times", id, n)
		}
	}
}

func TestDisconnectForgetsTheTokenAndFailsWaitingWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	connectTracker(t, s, g.ID)
	is := importOne(t, s, owner, g.ID, "SHOP-1")
	acceptWith(t, s, clk, is, owner, m, 8)
	if err := s.DisconnectTracker(ctx, g.ID, owner); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM group_trackers"); n != 0 {
		t.Fatal("the token is still stored")
	}
	is, _, _, _ = s.IssueFor(ctx, is.ID, owner.ID)
	if is.TrackerState != TrackerFailed {
		t.Fatalf("state %q", is.TrackerState)
	}
	if _, err := s.GroupTracker(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestTokensAreSealedWithTheServersKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newDB(t, "sealed.db")
	const token = "dana@example.com:ATATT3xFfGF0-sealed-SECRET-5e1f"
	s := openStore(t, path, Options{TrackerKey: []byte("0123456789abcdef0123456789abcdef-key-one")})
	owner := newUser(t, s, "Owner")
	g := newGroup(t, s, owner, "Team")
	if err := s.ConnectTracker(ctx, g.ID, TrackerConn{Kind: "jira", BaseURL: "https://acme.atlassian.net", Token: token, Project: "SHOP"}, owner); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM group_trackers WHERE token LIKE ?", "%SECRET%"); n != 0 {
		t.Fatal("the token is stored as given")
	}
	if c, err := s.GroupTracker(ctx, g.ID); err != nil || c.Token != token {
		t.Fatalf("opened %q %v", c.Token, err)
	}
	other := openStore(t, path, Options{TrackerKey: []byte("another key, of at least thirty-two bytes")})
	if c, err := other.GroupTracker(ctx, g.ID); err != nil || c.Token != "" || c.Project != "SHOP" {
		t.Fatalf("with another key: %+v %v", c, err)
	}
}

func TestAnEstimateGoesOnlyToTheTrackerItsIssueCameFrom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	connectTracker(t, s, g.ID)
	is := importOne(t, s, owner, g.ID, "SHOP-1")
	// The group moves to another project on GitHub; SHOP-1 is not one of it.
	if err := s.ConnectTracker(ctx, g.ID, TrackerConn{Kind: "github", BaseURL: "https://api.github.com", Token: "github_pat_11ABCDEFG0123456789", Project: "acme/shop"}, owner); err != nil {
		t.Fatal(err)
	}
	acceptWith(t, s, clk, is, owner, m, 8)
	if ws, _ := s.ClaimTrackerWrites(ctx, time.Minute, 10); len(ws) != 0 {
		t.Fatalf("SHOP-1's estimate would go to GitHub: %+v", ws)
	}
}
