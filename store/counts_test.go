package store

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestGroupCountsFollowEveryChange checks the member and open-issue counts kept
// on the group row (migration 0004) against counting the rows, after every kind
// of change: joins, leaving, removal, ownership transfer, new, revealed,
// re-voted, accepted and deleted issues, a deleted user (cascade), and in
// another group that must not move.
func TestGroupCountsFollowEveryChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, newDB(t, "counts.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	user := func(nick string) User {
		t.Helper()
		u, _, err := s.ClaimNickname(ctx, nick, NewToken())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	owner, ann, bob, cy := user("owner"), user("ann"), user("bob"), user("cy")
	g, err := s.CreateGroup(ctx, owner, "Team")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateGroup(ctx, owner, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIssue(ctx, other.ID, IssueInput{Key: "O-1"}); err != nil {
		t.Fatal(err)
	}

	check := func(step string, wantMembers, wantOpen int) {
		t.Helper()
		gs, err := s.UserGroups(ctx, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, sum := range gs {
			var members, open int
			if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM memberships WHERE group_id = ?", sum.ID).Scan(&members); err != nil {
				t.Fatal(err)
			}
			if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM issues WHERE group_id = ? AND state = 'open'", sum.ID).Scan(&open); err != nil {
				t.Fatal(err)
			}
			if sum.Members != members || sum.OpenIssues != open {
				t.Errorf("%s: group %q shows %d members, %d open; rows say %d, %d", step, sum.Name, sum.Members, sum.OpenIssues, members, open)
			}
			if sum.ID == g.ID && (sum.Members != wantMembers || sum.OpenIssues != wantOpen) {
				t.Errorf("%s: %d members, %d open issues; want %d, %d", step, sum.Members, sum.OpenIssues, wantMembers, wantOpen)
			}
			if sum.ID == other.ID && (sum.Members != 1 || sum.OpenIssues != 1) {
				t.Errorf("%s: the other group moved: %d members, %d open", step, sum.Members, sum.OpenIssues)
			}
		}
	}
	check("created", 1, 0)
	for _, u := range []User{ann, bob, cy} {
		if _, err := s.Join(ctx, g.InviteToken, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Join(ctx, g.InviteToken, ann); err != ErrAlreadyMember {
		t.Fatalf("joining twice: %v", err)
	}
	check("joined", 4, 0)
	var issues []Issue
	for _, key := range []string{"A-1", "A-2", "A-3"} {
		is, err := s.CreateIssue(ctx, g.ID, IssueInput{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		issues = append(issues, is)
	}
	if _, err := s.CreateIssue(ctx, g.ID, IssueInput{Key: "a-1"}); err != ErrKeyTaken {
		t.Fatalf("duplicate key: %v", err)
	}
	check("issues added", 4, 3)
	if _, err := s.Estimate(ctx, issues[0].ID, ann.ID, Vote{Value: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Estimate(ctx, issues[0].ID, cy.ID, Vote{Value: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reveal(ctx, issues[0].ID, owner); err != nil {
		t.Fatal(err)
	}
	check("revealed", 4, 2)
	if err := s.Revote(ctx, issues[0].ID, owner); err != nil {
		t.Fatal(err)
	}
	check("re-vote", 4, 3)
	if _, err := s.Estimate(ctx, issues[0].ID, bob.ID, Vote{Value: 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Estimate(ctx, issues[0].ID, ann.ID, Vote{Value: 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reveal(ctx, issues[0].ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(ctx, issues[0].ID, owner, 8); err != nil {
		t.Fatal(err)
	}
	check("accepted", 4, 2)
	if err := s.DeleteIssue(ctx, issues[1].ID); err != nil {
		t.Fatal(err)
	}
	check("issue deleted", 4, 1)
	if _, err := s.LeaveGroup(ctx, g.ID, ann, 0); err != nil {
		t.Fatal(err)
	}
	check("left", 3, 1)
	if _, err := s.RemoveMember(ctx, g.ID, bob.ID, owner); err != nil {
		t.Fatal(err)
	}
	check("removed", 2, 1)
	if err := s.TransferOwnership(ctx, g.ID, owner, cy.ID); err != nil {
		t.Fatal(err)
	}
	check("ownership transferred", 2, 1)
	if err := s.DeleteUser(ctx, cy.ID); err != nil {
		t.Fatal(err)
	}
	check("member's account deleted", 1, 1)
	if err := s.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	check("group deleted", 0, 0)
}

// TestGroupCountsMigrateExistingRows checks that migration 0004 counts the rows
// a database already had.
func TestGroupCountsMigrateExistingRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, newDB(t, "old.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Back to the state before 0004, with data written then.
	rollback := []string{
		"DROP TRIGGER memberships_count_insert", "DROP TRIGGER memberships_count_delete", "DROP TRIGGER memberships_count_update",
		"DROP TRIGGER issues_open_insert", "DROP TRIGGER issues_open_delete", "DROP TRIGGER issues_open_update",
	}
	if s.pg {
		rollback = []string{
			"DROP TRIGGER memberships_count ON memberships", "DROP FUNCTION memberships_count",
			"DROP TRIGGER issues_open_count ON issues", "DROP FUNCTION issues_open_count",
		}
	}
	for _, q := range append(rollback,
		"ALTER TABLE groups DROP COLUMN member_count", "ALTER TABLE groups DROP COLUMN open_issues",
		"DELETE FROM schema_migrations WHERE version = 4",
	) {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	spec := SeedSpec{Users: 30, Groups: 5, Issues: 40, Members: 6, Rand: rand.New(rand.NewPCG(2, 2))}
	if _, err := Seed(ctx, s, spec); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var wrong int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM groups g WHERE
		g.member_count <> (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id) OR
		g.open_issues <> (SELECT COUNT(*) FROM issues i WHERE i.group_id = g.id AND i.state = 'open')`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	var open int
	if err := s.r.QueryRowContext(ctx, "SELECT SUM(open_issues) FROM groups").Scan(&open); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 || open == 0 {
		t.Errorf("after migrating: %d groups with wrong counts, %d open issues counted", wrong, open)
	}
}
