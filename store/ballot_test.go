package store

import (
	"context"
	"testing"
)

// TestVotesMigrateIntoBallots: migration 0010 moves the per-person estimates
// rows of a database into ballots: an open round's cards, and who took part in
// a revealed one (without cards), in user-id order; then the old table goes.
func TestVotesMigrateIntoBallots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, newDB(t, "old.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	owner, a, b := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob")
	g := newGroup(t, s, owner, "Team", a, b)
	open, revealed := newIssue(t, s, g.ID, "OPEN-1"), newIssue(t, s, g.ID, "DONE-1")
	// Back to the state before 0010, with rows written then.
	old := `CREATE TABLE estimates (
		issue_id INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
		user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		value INTEGER, updated_at INTEGER NOT NULL, special TEXT,
		PRIMARY KEY (issue_id, user_id))`
	if s.pg {
		old = `CREATE TABLE estimates (
			issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
			user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			value INTEGER, updated_at BIGINT NOT NULL, special TEXT,
			PRIMARY KEY (issue_id, user_id))`
	}
	for _, q := range []string{"DROP TABLE ballots", old, "DELETE FROM schema_migrations WHERE version = 10"} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if s.pg {
		s.w.ExecContext(ctx, "DROP TABLE IF EXISTS scrub_due")
	}
	for _, r := range []struct {
		issue, user int64
		value       any
		special     any
	}{
		{open.ID, b.ID, 13, nil}, {open.ID, owner.ID, nil, "coffee"}, {open.ID, a.ID, nil, "?"},
		{revealed.ID, a.ID, nil, nil}, {revealed.ID, owner.ID, nil, nil},
	} {
		if _, err := s.w.ExecContext(ctx, "INSERT INTO estimates (issue_id, user_id, value, special, updated_at) VALUES (?, ?, ?, ?, 1)",
			r.issue, r.user, r.value, r.special); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE issues SET state = 'revealed', result = '13:2' WHERE id = ?", revealed.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got := slots(t, s, open.ID)
	if len(got) != 3 || got[b.ID].vote() != (Vote{Value: 13}) || got[owner.ID].vote() != (Vote{Special: CardCoffee}) || got[a.ID].vote() != (Vote{Special: CardUnsure}) {
		t.Errorf("open round's ballot %v", got)
	}
	if v, _ := s.OwnEstimate(ctx, open.ID, a.ID); v != (Vote{Special: CardUnsure}) {
		t.Errorf("own vote after the migration %+v", v)
	}
	if got := slots(t, s, revealed.ID); len(got) != 2 || got[a.ID] != cardNone || got[owner.ID] != cardNone {
		t.Errorf("revealed round's ballot %v", got)
	}
	var raw []byte
	if err := s.r.QueryRowContext(ctx, "SELECT votes FROM ballots WHERE issue_id = ?", open.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bl := ballot(raw); bl.len() != 3 || !(bl.user(0) < bl.user(1) && bl.user(1) < bl.user(2)) {
		t.Errorf("slots not in user-id order: %x", raw)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM ballots"); n != 2 {
		t.Errorf("%d ballots, want 2", n)
	}
}

// TestDeletedAccountsVoteLeavesTheRound: deleting an account takes its vote
// out of the open round's ballot (as the cascade took its estimates row), so
// neither the count nor the result holds it, and out of a revealed round's
// list of who took part.
func TestDeletedAccountsVoteLeavesTheRound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a, b, c := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob"), newUser(t, s, "Cyd")
	g := newGroup(t, s, owner, "Team", a, b, c)
	done, open := newIssue(t, s, g.ID, "DONE-1"), newIssue(t, s, g.ID, "OPEN-1")
	vote(t, s, done.ID, a, 1)
	vote(t, s, done.ID, c, 2)
	if _, err := s.Reveal(ctx, done.ID, owner); err != nil {
		t.Fatal(err)
	}
	vote(t, s, open.ID, a, 3)
	vote(t, s, open.ID, b, 5)
	vote(t, s, open.ID, c, 100)
	if err := s.DeleteUser(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := ballotsOf(t, s, c.ID); n != 0 {
		t.Errorf("the deleted account is in %d ballots", n)
	}
	is, err := s.GroupIssues(ctx, g.ID)
	if err != nil || len(is) != 2 || is[1].Votes != 2 {
		t.Fatalf("GroupIssues = %+v, %v; want 2 votes on the open issue", is, err)
	}
	rev, err := s.Reveal(ctx, open.ID, owner)
	if err != nil || rev.Result.Votes != 2 || rev.Result.Sum != 8 {
		t.Errorf("Reveal = %+v, %v; want the 2 remaining votes", rev.Result, err)
	}
	if got := slots(t, s, done.ID); len(got) != 1 {
		t.Errorf("the revealed round's ballot %v, want Ann only", got)
	}
}
