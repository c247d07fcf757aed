package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock tests move by hand; safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

// epoch is a fixed, whole-second start so stored Unix seconds compare exactly.
var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *testClock {
	c := &testClock{}
	c.ns.Store(epoch.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// newStore opens a fresh database file with the real migrations and a clock the
// test controls.
func newStore(t testing.TB) (*Store, *testClock) {
	t.Helper()
	clk := newClock()
	s := openStore(t, newDB(t, "estimator.db"), Options{Now: clk.Now})
	return s, clk
}

func openStore(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newUser signs a fresh nickname in from a fresh browser.
func newUser(t testing.TB, s *Store, nick string) User {
	t.Helper()
	u, created, err := s.ClaimNickname(context.Background(), nick, NewToken())
	if err != nil || !created {
		t.Fatalf("ClaimNickname(%q) = %v, created %v", nick, err, created)
	}
	return u
}

// newGroup makes a group owned by owner with the given members joined.
func newGroup(t testing.TB, s *Store, owner User, name string, members ...User) Group {
	t.Helper()
	ctx := context.Background()
	g, err := s.CreateGroup(ctx, owner, name)
	if err != nil {
		t.Fatalf("CreateGroup(%q): %v", name, err)
	}
	for _, m := range members {
		if _, err := s.Join(ctx, g.InviteToken, m); err != nil {
			t.Fatalf("Join(%s): %v", m.Nickname, err)
		}
	}
	return g
}

func newIssue(t testing.TB, s *Store, groupID int64, key string) Issue {
	t.Helper()
	is, err := s.CreateIssue(context.Background(), groupID, IssueInput{Key: key})
	if err != nil {
		t.Fatalf("CreateIssue(%q): %v", key, err)
	}
	return is
}

func vote(t testing.TB, s *Store, issueID int64, u User, value int) {
	t.Helper()
	if _, err := s.Estimate(context.Background(), issueID, u.ID, Vote{Value: value}); err != nil {
		t.Fatalf("Estimate(%s, %d): %v", u.Nickname, value, err)
	}
}

// count runs a COUNT(*)-style query straight on the database file's rows.
func count(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// slots reads an issue's ballot: each voter's card (cardNone once revealed).
func slots(t testing.TB, s *Store, issueID int64) map[int64]slotCard {
	t.Helper()
	out := map[int64]slotCard{}
	rows, err := s.r.Query("SELECT votes FROM ballots WHERE issue_id = ?", issueID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		b := ballot(raw)
		for i := range b.len() {
			out[b.user(i)] = b.card(i)
		}
	}
	return out
}

// withCards counts the slots of an issue's ballot that still hold a card
// (issueID 0: of every ballot).
func withCards(t testing.TB, s *Store, issueID int64) int {
	t.Helper()
	n := 0
	for _, id := range ballotIssues(t, s) {
		if issueID != 0 && id != issueID {
			continue
		}
		for _, c := range slots(t, s, id) {
			if c != cardNone {
				n++
			}
		}
	}
	return n
}

// ballotsOf counts the ballots that hold a slot of userID.
func ballotsOf(t testing.TB, s *Store, userID int64) int {
	t.Helper()
	n := 0
	for _, id := range ballotIssues(t, s) {
		if _, ok := slots(t, s, id)[userID]; ok {
			n++
		}
	}
	return n
}

func ballotIssues(t testing.TB, s *Store) []int64 {
	t.Helper()
	rows, err := s.r.Query("SELECT issue_id FROM ballots ORDER BY issue_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}
