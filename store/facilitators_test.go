package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// TestFacilitatorIsSetByRulesAndTold: a member becomes a facilitator and back;
// the owner, a stranger and someone removed are refused; setting what is set
// changes nothing; each real change is told as GroupChanged.
func TestFacilitatorIsSetByRulesAndTold(t *testing.T) {
	t.Parallel()
	s, _, h := newHeardStore(t)
	ctx := context.Background()
	owner := newUser(t, s, "Owner-of-the-backlog-32-chars-ab")
	ann, bob, stranger := newUser(t, s, "ann"), newUser(t, s, "bob"), newUser(t, s, "stranger")
	g := newGroup(t, s, owner, "Team Phoenix", ann, bob)
	is := newIssue(t, s, g.ID, "PHX-1")
	if _, err := s.RemoveMember(ctx, g.ID, bob.ID, owner); err != nil {
		t.Fatal(err)
	}
	h.take()

	if err := s.SetFacilitator(ctx, g.ID, ann.ID, true, owner); err != nil {
		t.Fatal(err)
	}
	if got := h.take(); !reflect.DeepEqual(got, []Change{{Kind: GroupChanged, Group: g.ID}}) {
		t.Fatalf("told %+v, want one GroupChanged", got)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, ann.ID); role != RoleFacilitator || !role.CanFacilitate() {
		t.Fatalf("GroupFor role = %q, want facilitator", role)
	}
	if _, _, role, _ := s.IssueFor(ctx, is.ID, ann.ID); role != RoleFacilitator {
		t.Fatalf("IssueFor role = %q, want facilitator", role)
	}
	ms, _ := s.Members(ctx, g.ID)
	if len(ms) != 2 || ms[0].Role != RoleOwner || ms[1].Role != RoleFacilitator {
		t.Fatalf("Members = %+v", ms)
	}
	// Again: nothing changes, nothing is told.
	if err := s.SetFacilitator(ctx, g.ID, ann.ID, true, owner); err != nil {
		t.Fatal(err)
	}
	if got := h.take(); len(got) != 0 {
		t.Fatalf("a repeat told %+v", got)
	}

	for _, c := range []struct {
		name string
		uid  int64
		want error
	}{
		{"the owner", owner.ID, ErrIsOwner},
		{"a stranger", stranger.ID, ErrNotMember},
		{"a removed member", bob.ID, ErrNotMember},
		{"nobody", 987654, ErrNotMember},
	} {
		if err := s.SetFacilitator(ctx, g.ID, c.uid, true, owner); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if got := h.take(); len(got) != 0 {
		t.Fatalf("refusals told %+v", got)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM memberships WHERE facilitator = 1"); n != 1 {
		t.Fatalf("%d facilitators after refusals, want 1", n)
	}

	// Handed the group, a facilitator is its owner and no longer flagged; the
	// old owner is a plain member.
	if err := s.TransferOwnership(ctx, g.ID, owner, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, ann.ID); role != RoleOwner {
		t.Fatalf("new owner's role %q", role)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, owner.ID); role != RoleMember {
		t.Fatalf("old owner's role %q", role)
	}
	if err := s.SetFacilitator(ctx, g.ID, owner.ID, true, ann); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFacilitator(ctx, g.ID, owner.ID, false, ann); err != nil {
		t.Fatal(err)
	}
	if _, role, _ := s.GroupFor(ctx, g.ID, owner.ID); role != RoleMember {
		t.Fatalf("after off: %q", role)
	}
}

// TestQuickVoteKeysAreNeverGivenTwice; Q-2 deleted, the next is
// Q-3 (a team may have written Q-2 down); a key taken by hand is skipped; each
// quick vote is current at once and told as added and moved.
func TestQuickVoteKeysAreNeverGivenTwice(t *testing.T) {
	t.Parallel()
	s, _, h := newHeardStore(t)
	ctx := context.Background()
	owner := newUser(t, s, "owner")
	g := newGroup(t, s, owner, "Team")
	quick := func(desc string) Issue {
		t.Helper()
		is, made, err := s.QuickVote(ctx, owner.ID, g.ID, desc, Once{}, owner)
		if err != nil || !made {
			t.Fatalf("QuickVote: %v made %v", err, made)
		}
		g2, _, _ := s.GroupFor(ctx, g.ID, owner.ID)
		if g2.CurrentIssueID != is.ID {
			t.Fatalf("current %d, want the quick vote %d", g2.CurrentIssueID, is.ID)
		}
		return is
	}
	q1 := quick("Is the login page done?")
	h.take()
	q2 := quick("")
	if got := h.take(); !reflect.DeepEqual(got, []Change{{Kind: IssuesAdded, Group: g.ID, Issue: q2.ID}, {Kind: GroupMoved, Group: g.ID, Issue: q2.ID}}) {
		t.Fatalf("told %+v", got)
	}
	if q1.Key != "Q-1" || q2.Key != "Q-2" || q1.Description != "Is the login page done?" {
		t.Fatalf("keys %q %q (%q)", q1.Key, q2.Key, q1.Description)
	}
	if err := s.DeleteIssue(ctx, q2.ID); err != nil {
		t.Fatal(err)
	}
	if q3 := quick(""); q3.Key != "Q-3" {
		t.Fatalf("after deleting Q-2: %q, want Q-3", q3.Key)
	}
	newIssue(t, s, g.ID, "q-4") // by hand, in another case
	if q5 := quick(""); q5.Key != "Q-5" {
		t.Fatalf("with q-4 taken by hand: %q, want Q-5", q5.Key)
	}
	// Refused: nothing taken.
	if _, _, err := s.QuickVote(ctx, owner.ID, g.ID, "bad\x00text", Once{}, owner); !errors.Is(err, ErrInvalid) {
		t.Fatalf("control character: %v", err)
	}
	if _, _, err := s.QuickVote(ctx, owner.ID, 987654, "", Once{}, owner); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no such group: %v", err)
	}
	if q6 := quick(""); q6.Key != "Q-6" {
		t.Fatalf("after refusals: %q, want Q-6", q6.Key)
	}
	// The same once twice: one issue, the first's.
	o := NewOnce("tok-quick", "quick")
	a, made1, err1 := s.QuickVote(ctx, owner.ID, g.ID, "", o, owner)
	b, made2, err2 := s.QuickVote(ctx, owner.ID, g.ID, "", o, owner)
	if err1 != nil || err2 != nil || !made1 || made2 || a.ID != b.ID || b.Key != "Q-7" {
		t.Fatalf("once twice: %+v %v %v / %+v %v %v", a, made1, err1, b, made2, err2)
	}
}

// TestConcurrentQuickVotesGetDistinctKeys: eight quick votes of one group at
// the same moment take eight different keys (both backends: the group row's
// counter, the unique key_fold index behind it).
func TestConcurrentQuickVotesGetDistinctKeys(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	owner := newUser(t, s, "owner")
	g := newGroup(t, s, owner, "Team")
	const n = 8
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			is, _, err := s.QuickVote(ctx, owner.ID, g.ID, fmt.Sprintf("vote %d", i), Once{}, owner)
			keys[i], errs[i] = is.Key, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(keys)
	want := []string{"Q-1", "Q-2", "Q-3", "Q-4", "Q-5", "Q-6", "Q-7", "Q-8"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
}

// TestQuickRoomIsAGroupWithAFirstQuickVote: one call makes the group, its
// owner and Q-1 as the current issue; the same once again makes nothing and
// answers with the same group and issue.
func TestQuickRoomIsAGroupWithAFirstQuickVote(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	owner := newUser(t, s, "Owner-of-the-backlog-32-chars-ab")
	o := NewOnce("tok-room", "/quick")
	g, is, made, err := s.QuickRoom(ctx, owner, owner.Nickname+"’s room", o)
	if err != nil || !made {
		t.Fatal(err, made)
	}
	if is.Key != "Q-1" || g.CurrentIssueID != is.ID {
		t.Fatalf("group %+v issue %+v", g, is)
	}
	got, role, err := s.GroupFor(ctx, g.ID, owner.ID)
	if err != nil || role != RoleOwner || got.CurrentIssueID != is.ID || got.Name != "Owner-of-the-backlog-32-chars-ab’s room" {
		t.Fatalf("GroupFor = %+v %q %v", got, role, err)
	}
	g2, is2, made2, err := s.QuickRoom(ctx, owner, owner.Nickname+"’s room", o)
	if err != nil || made2 || g2.ID != g.ID || is2.ID != is.ID || g2.InviteToken != g.InviteToken {
		t.Fatalf("again: %+v %+v %v %v", g2, is2, made2, err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM groups"); n != 1 {
		t.Fatalf("%d groups", n)
	}
	if _, _, _, err := s.QuickRoom(ctx, owner, "  ", Once{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
}
