package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, stranger := newUser(t, s, "Olga"), newUser(t, s, "Stranger")

	g, err := s.CreateGroup(ctx, owner, "  Web   Team ")
	if err != nil || g.ID == 0 || g.Name != "Web Team" || len(g.InviteToken) != 22 {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", GroupNameMax+1), "a\x00b"} {
		if _, err := s.CreateGroup(ctx, owner, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateGroup(%.20q) = %v, want ErrInvalid", bad, err)
		}
	}
	if got, role, err := s.GroupFor(ctx, g.ID, owner.ID); err != nil || role != RoleOwner || got != g {
		t.Errorf("GroupFor(owner) = %+v, %q, %v", got, role, err)
	}
	if _, role, err := s.GroupFor(ctx, g.ID, stranger.ID); err != nil || role != RoleNone {
		t.Errorf("GroupFor(stranger) = %q, %v", role, err)
	}
	if _, _, err := s.GroupFor(ctx, 9999, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GroupFor(unknown) = %v", err)
	}
	if err := s.RenameGroup(ctx, g.ID, " Core  Team "); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GroupFor(ctx, g.ID, owner.ID); got.Name != "Core Team" {
		t.Errorf("after rename: %q", got.Name)
	}
	if err := s.RenameGroup(ctx, g.ID, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("RenameGroup(empty) = %v", err)
	}
	if err := s.RenameGroup(ctx, 9999, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RenameGroup(unknown) = %v", err)
	}
}

func TestJoin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, ann, bob := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob")
	g := newGroup(t, s, owner, "Team")

	inv, err := s.InviteByToken(ctx, g.InviteToken)
	if err != nil || inv.ID != g.ID || inv.Owner != "Owner" || inv.Members != 1 || inv.Name != "Team" {
		t.Fatalf("InviteByToken = %+v, %v", inv, err)
	}
	if got, err := s.Join(ctx, g.InviteToken, ann); err != nil || got.ID != g.ID {
		t.Fatalf("Join = %+v, %v", got, err)
	}
	for _, u := range []User{ann, owner} {
		if _, err := s.Join(ctx, g.InviteToken, u); !errors.Is(err, ErrAlreadyMember) {
			t.Errorf("Join again (%s) = %v, want ErrAlreadyMember", u.Nickname, err)
		}
	}
	if n := count(t, s, "SELECT COUNT(*) FROM memberships WHERE group_id = ?", g.ID); n != 2 {
		t.Errorf("memberships = %d, want 2", n)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, owner.ID); role != RoleOwner {
		t.Errorf("owner's role after joining again = %q", role)
	}

	old := g.InviteToken
	fresh, err := s.ReplaceInvite(ctx, g.ID)
	if err != nil || fresh == old || fresh == "" {
		t.Fatalf("ReplaceInvite = %q, %v", fresh, err)
	}
	if _, err := s.InviteByToken(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("InviteByToken(old) = %v, want ErrNotFound", err)
	}
	if _, err := s.Join(ctx, old, bob); !errors.Is(err, ErrNotFound) {
		t.Errorf("Join(old) = %v, want ErrNotFound", err)
	}
	if _, err := s.Join(ctx, fresh, bob); err != nil {
		t.Errorf("Join(new) = %v", err)
	}
	if inv, _ := s.InviteByToken(ctx, fresh); inv.Members != 3 {
		t.Errorf("Invite.Members = %d, want 3", inv.Members)
	}
	for _, tok := range []string{"", "nope"} {
		if _, err := s.InviteByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("InviteByToken(%q) = %v", tok, err)
		}
		if _, err := s.Join(ctx, tok, bob); !errors.Is(err, ErrNotFound) {
			t.Errorf("Join(%q) = %v", tok, err)
		}
	}
	if _, err := s.ReplaceInvite(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReplaceInvite(unknown) = %v", err)
	}

	members, err := s.Members(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range members {
		names = append(names, string(m.Role)+":"+m.Nickname)
	}
	if want := []string{"owner:Owner", "member:Ann", "member:Bob"}; !slices.Equal(names, want) {
		t.Errorf("Members = %v, want %v", names, want)
	}
}

// TestJoinRaceSameUser: one person double-clicking "join" from many tabs ends
// with one membership.
func TestJoinRaceSameUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, u := newUser(t, s, "Owner"), newUser(t, s, "Clicker")
	g := newGroup(t, s, owner, "Team")
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Join(ctx, g.InviteToken, u)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrAlreadyMember):
			t.Errorf("join %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d joins succeeded, want 1", wins)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM memberships WHERE group_id = ? AND user_id = ?", g.ID, u.ID); n != 1 {
		t.Errorf("memberships of the user = %d, want 1", n)
	}
}

func TestJoinRaceManyUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner")
	g := newGroup(t, s, owner, "Team")
	const n = 20
	users := make([]User, n)
	for i := range n {
		users[i] = newUser(t, s, fmt.Sprintf("Joiner %02d", i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Join(ctx, g.InviteToken, users[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("join %d: %v", i, err)
		}
	}
	if got := count(t, s, "SELECT COUNT(*) FROM memberships WHERE group_id = ?", g.ID); got != n+1 {
		t.Errorf("memberships = %d, want %d", got, n+1)
	}
}

func TestDeleteGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Doomed", m)
	keep := newGroup(t, s, owner, "Kept", m)
	for _, grp := range []Group{g, keep} {
		open, revealed := newIssue(t, s, grp.ID, "OPEN-1"), newIssue(t, s, grp.ID, "DONE-1")
		vote(t, s, open.ID, m, 5)
		vote(t, s, revealed.ID, m, 8)
		vote(t, s, revealed.ID, owner, 3)
		if _, err := s.Reveal(ctx, revealed.ID, owner); err != nil {
			t.Fatal(err)
		}
	}

	tables := []struct{ name, query string }{
		{"issues", "SELECT COUNT(*) FROM issues WHERE group_id = ?"},
		{"estimates", "SELECT COALESCE(SUM(length(votes)), 0) / 9 FROM ballots WHERE issue_id IN (SELECT id FROM issues WHERE group_id = ?)"},
		{"memberships", "SELECT COUNT(*) FROM memberships WHERE group_id = ?"},
		{"events", "SELECT COUNT(*) FROM events WHERE group_id = ?"},
		{"groups", "SELECT COUNT(*) FROM groups WHERE id = ?"},
	}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb.name] = count(t, s, tb.query, keep.ID)
		if n := count(t, s, tb.query, g.ID); n == 0 {
			t.Fatalf("setup: no %s for the group", tb.name)
		}
	}
	totalEstimates := count(t, s, "SELECT COALESCE(SUM(length(votes)), 0) / 9 FROM ballots")

	if err := s.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if n := count(t, s, tb.query, g.ID); n != 0 {
			t.Errorf("%d %s of the deleted group remain", n, tb.name)
		}
		if n := count(t, s, tb.query, keep.ID); n != before[tb.name] {
			t.Errorf("%s of another group: %d, was %d", tb.name, n, before[tb.name])
		}
	}
	if n := count(t, s, "SELECT COALESCE(SUM(length(votes)), 0) / 9 FROM ballots"); n != totalEstimates-3 {
		t.Errorf("estimates = %d, want %d (orphans left?)", n, totalEstimates-3)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM ballots WHERE issue_id NOT IN (SELECT id FROM issues)"); n != 0 {
		t.Errorf("%d orphaned estimates", n)
	}
	for _, u := range []User{owner, m} {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			t.Errorf("a member's user went with the group: %v", err)
		}
	}
	if err := s.DeleteGroup(ctx, g.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteGroup again = %v, want ErrNotFound", err)
	}
	if _, err := s.InviteByToken(ctx, g.InviteToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("invite of a deleted group = %v", err)
	}
}

func TestRemoveMember(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, leaver, stays := newUser(t, s, "Owner"), newUser(t, s, "Leaver"), newUser(t, s, "Stays")
	g := newGroup(t, s, owner, "Team", leaver, stays)
	other := newGroup(t, s, owner, "Other", leaver)

	open1, open2, revealed := newIssue(t, s, g.ID, "A-1"), newIssue(t, s, g.ID, "A-2"), newIssue(t, s, g.ID, "A-3")
	stillOpen := newIssue(t, s, g.ID, "A-4")
	elsewhere := newIssue(t, s, other.ID, "B-1")
	vote(t, s, open1.ID, leaver, 13)
	vote(t, s, open1.ID, stays, 3)
	vote(t, s, open2.ID, leaver, 21)
	vote(t, s, revealed.ID, leaver, 89)
	vote(t, s, revealed.ID, stays, 1)
	vote(t, s, elsewhere.ID, leaver, 5)
	vote(t, s, stillOpen.ID, stays, 2)
	rev, err := s.Reveal(ctx, revealed.ID, owner)
	if err != nil {
		t.Fatal(err)
	}

	changed, err := s.RemoveMember(ctx, g.ID, leaver.ID, owner)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(changed)
	if want := []int64{open1.ID, open2.ID}; !slices.Equal(changed, want) {
		t.Errorf("changed issues = %v, want %v", changed, want)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, leaver.ID); role != RoleNone {
		t.Errorf("role after removal = %q", role)
	}
	for _, is := range []Issue{open1, open2} {
		if _, ok := slots(t, s, is.ID)[leaver.ID]; ok {
			t.Errorf("%s: the removed member's estimate on an open issue remains", is.Key)
		}
	}
	if v, _ := s.OwnEstimate(ctx, open1.ID, stays.ID); v.Value != 3 {
		t.Errorf("another member's estimate = %v, want 3", v)
	}
	after, _, _, err := s.IssueFor(ctx, revealed.ID, owner.ID)
	if err != nil || !reflect.DeepEqual(after.Result, rev.Result) || after.Result.Votes != 2 {
		t.Errorf("revealed result after removal = %+v, want %+v (%v)", after.Result, rev.Result, err)
	}
	if v, _ := s.OwnEstimate(ctx, elsewhere.ID, leaver.ID); v.Value != 5 {
		t.Errorf("estimate in another group = %v, want 5", v)
	}
	// The result of open1 is now made of the remaining member's estimate only:
	// one vote is too few to reveal (it would be that person's value).
	if _, err := s.Reveal(ctx, open1.ID, owner); !errors.Is(err, ErrTooFewVotes) {
		t.Errorf("reveal of one remaining vote = %v, want ErrTooFewVotes", err)
	}
	vote(t, s, open1.ID, owner, 8)
	if is, err := s.Reveal(ctx, open1.ID, owner); err != nil || is.Result.Votes != 2 || is.Result.Sum != 11 {
		t.Errorf("reveal after removal = %+v, %v", is.Result, err)
	}

	if _, err := s.RemoveMember(ctx, g.ID, leaver.ID, owner); !errors.Is(err, ErrNotMember) {
		t.Errorf("removing again = %v, want ErrNotMember", err)
	}
	if _, err := s.RemoveMember(ctx, g.ID, owner.ID, owner); !errors.Is(err, ErrOwnerCannotLeave) {
		t.Errorf("removing the owner = %v, want ErrOwnerCannotLeave", err)
	}
	if _, err := s.LeaveGroup(ctx, g.ID, owner, 0); !errors.Is(err, ErrOwnerCannotLeave) {
		t.Errorf("owner leaving = %v, want ErrOwnerCannotLeave", err)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, owner.ID); role != RoleOwner {
		t.Errorf("owner's role after refused leave = %q", role)
	}
	// Stays' open estimate is on A-4 only (A-1 was revealed above).
	if changed, err := s.LeaveGroup(ctx, g.ID, stays, 0); err != nil || !slices.Equal(changed, []int64{stillOpen.ID}) {
		t.Errorf("LeaveGroup = %v, %v; want [%d]", changed, err, stillOpen.ID)
	}
	events, _ := s.GroupEvents(ctx, g.ID, 10)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action+" "+e.Detail)
	}
	for _, want := range []string{"member.removed Leaver", "member.left Stays"} {
		if !slices.Contains(actions, want) {
			t.Errorf("events %v lack %q", actions, want)
		}
	}
}

func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, heir, outsider := newUser(t, s, "Founder"), newUser(t, s, "Heir"), newUser(t, s, "Outsider")
	g := newGroup(t, s, owner, "Team", heir)

	owners := func() int {
		return count(t, s, "SELECT COUNT(*) FROM memberships WHERE group_id = ? AND role = 'owner'", g.ID)
	}
	refusals := []struct {
		name string
		from User
		to   int64
	}{
		{"to an outsider", owner, outsider.ID},
		{"to the owner itself", owner, owner.ID},
		{"from a member", heir, owner.ID},
		{"to an unknown user", owner, 9999},
	}
	for _, r := range refusals {
		if err := s.TransferOwnership(ctx, g.ID, r.from, r.to); !errors.Is(err, ErrNotMember) {
			t.Errorf("%s: %v, want ErrNotMember", r.name, err)
		}
		if owners() != 1 {
			t.Fatalf("%s: %d owners", r.name, owners())
		}
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, owner.ID); role != RoleOwner {
		t.Fatalf("refused transfers changed the owner")
	}

	if err := s.TransferOwnership(ctx, g.ID, owner, heir.ID); err != nil {
		t.Fatal(err)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, heir.ID); role != RoleOwner {
		t.Errorf("heir's role = %q", role)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, owner.ID); role != RoleMember {
		t.Errorf("former owner's role = %q", role)
	}
	if owners() != 1 {
		t.Errorf("%d owners after transfer", owners())
	}
	if inv, _ := s.InviteByToken(ctx, g.InviteToken); inv.Owner != "Heir" {
		t.Errorf("invite shows owner %q", inv.Owner)
	}
	// The former owner, now a member, may leave; the new owner may not.
	if _, err := s.LeaveGroup(ctx, g.ID, heir, 0); !errors.Is(err, ErrOwnerCannotLeave) {
		t.Errorf("new owner leaving = %v", err)
	}
	if _, err := s.LeaveGroup(ctx, g.ID, owner, 0); err != nil {
		t.Errorf("former owner leaving = %v", err)
	}
}

func TestUserGroups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	me, a, b := newUser(t, s, "Me"), newUser(t, s, "Aa"), newUser(t, s, "Bb")
	mine := newGroup(t, s, me, "Mine", a, b)
	theirs := newGroup(t, s, a, "Theirs", me)
	newGroup(t, s, b, "Not mine", a)

	newIssue(t, s, mine.ID, "M-1")
	newIssue(t, s, mine.ID, "M-2")
	revealed, accepted := newIssue(t, s, mine.ID, "M-3"), newIssue(t, s, mine.ID, "M-4")
	for _, is := range []Issue{revealed, accepted} {
		vote(t, s, is.ID, me, 5)
		vote(t, s, is.ID, a, 8)
		if _, err := s.Reveal(ctx, is.ID, me); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Accept(ctx, accepted.ID, me, 5); err != nil {
		t.Fatal(err)
	}
	newIssue(t, s, theirs.ID, "T-1")

	got, err := s.UserGroups(ctx, me.ID)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		Name          string
		Role          Role
		Members, Open int
	}
	var lines []line
	for _, gs := range got {
		lines = append(lines, line{gs.Name, gs.Role, gs.Members, gs.OpenIssues})
	}
	want := []line{{"Theirs", RoleMember, 2, 1}, {"Mine", RoleOwner, 3, 2}} // newest first
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("UserGroups = %+v, want %+v", lines, want)
	}
	if got, err := s.UserGroups(ctx, newUser(t, s, "Loner").ID); err != nil || len(got) != 0 {
		t.Errorf("UserGroups(no groups) = %v, %v", got, err)
	}
}
