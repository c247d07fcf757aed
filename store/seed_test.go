package store

import (
	"context"
	"math/rand/v2"
	"testing"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	spec := SeedSpec{Users: 30, Groups: 4, Issues: 24, Members: 6, Rand: rand.New(rand.NewPCG(1, 2))}
	sum, err := Seed(ctx, s, spec)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Users != 30 || sum.Groups != 4 || sum.Memberships != 24 || sum.Issues != 24 || sum.Estimates == 0 {
		t.Errorf("summary = %+v", sum)
	}
	for _, c := range []struct {
		name  string
		query string
		want  int
	}{
		{"users", "SELECT COUNT(*) FROM users", sum.Users},
		{"groups", "SELECT COUNT(*) FROM groups", sum.Groups},
		{"memberships", "SELECT COUNT(*) FROM memberships", sum.Memberships},
		{"issues", "SELECT COUNT(*) FROM issues", sum.Issues},
		{"estimates", "SELECT COALESCE(SUM(length(votes)), 0) / 9 FROM ballots", sum.Estimates},
		{"groups without exactly one owner", "SELECT COUNT(*) FROM groups g WHERE (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id AND m.role = 'owner') != 1", 0},
		{"revealed without a result", "SELECT COUNT(*) FROM issues WHERE state != 'open' AND result IS NULL", 0},
		{"accepted without a final", "SELECT COUNT(*) FROM issues WHERE state = 'accepted' AND final_estimate IS NULL", 0},
	} {
		if got := count(t, s, c.query); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// Values kept after a reveal, open votes without a value, votes of
	// non-members: none.
	for _, id := range ballotIssues(t, s) {
		open := count(t, s, "SELECT COUNT(*) FROM issues WHERE id = ? AND state = 'open'", id) == 1
		for uid, c := range slots(t, s, id) {
			if open != (c != cardNone) {
				t.Errorf("issue %d (open %v): user %d's card %d", id, open, uid, c)
			}
			if count(t, s, "SELECT COUNT(*) FROM memberships m JOIN issues i ON i.group_id = m.group_id WHERE i.id = ? AND m.user_id = ?", id, uid) != 1 {
				t.Errorf("issue %d: a vote of user %d, not a member", id, uid)
			}
		}
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE state != 'open'"); n == 0 {
		t.Error("no revealed or accepted issues seeded")
	}

	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v", res, err)
	}
	if !s.pg { // PostgreSQL enforces foreign keys on every statement
		rows, err := s.r.Query("PRAGMA foreign_key_check")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			t.Error("foreign_key_check reports a violation")
		}
		rows.Close()
	}

	// Every stored result decodes, and its vote count matches who took part.
	for g := int64(1); g <= int64(sum.Groups); g++ {
		list, err := s.GroupIssues(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range list {
			if is.State != StateOpen && is.Result.Votes != is.Votes {
				t.Errorf("%s: result has %d votes, %d took part", is.Key, is.Result.Votes, is.Votes)
			}
		}
	}

	// A second run adds to the first without clashing.
	more, err := Seed(ctx, s, SeedSpec{Users: 5, Groups: 1, Issues: 2, Members: 3, Rand: rand.New(rand.NewPCG(3, 4))})
	if err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM users"); n != sum.Users+more.Users {
		t.Errorf("users after two runs = %d", n)
	}
}
