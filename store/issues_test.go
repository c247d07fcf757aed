package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestIssueKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner")
	second2 := newUser(t, s, "Second")
	g1, g2 := newGroup(t, s, owner, "One", second2), newGroup(t, s, owner, "Two")
	first := newIssue(t, s, g1.ID, "SHOP-1")
	if first.State != StateOpen || first.Round != 1 || first.GroupID != g1.ID {
		t.Errorf("new issue = %+v", first)
	}

	tests := []struct {
		name    string
		group   int64
		in      IssueInput
		wantErr error
	}{
		{"same key", g1.ID, IssueInput{Key: "SHOP-1"}, ErrKeyTaken},
		{"other case", g1.ID, IssueInput{Key: "shop-1"}, ErrKeyTaken},
		{"full width", g1.ID, IssueInput{Key: "ＳＨＯＰ-1"}, ErrKeyTaken},
		{"surrounding spaces", g1.ID, IssueInput{Key: "  shop-1 "}, ErrKeyTaken},
		{"same key in another group", g2.ID, IssueInput{Key: "SHOP-1"}, nil},
		{"another key", g1.ID, IssueInput{Key: "SHOP-2"}, nil},
		{"empty key", g1.ID, IssueInput{Key: ""}, ErrInvalid},
		{"long key", g1.ID, IssueInput{Key: strings.Repeat("K", IssueKeyMax+1)}, ErrInvalid},
		{"long description", g1.ID, IssueInput{Key: "SHOP-3", Description: strings.Repeat("d", IssueDescriptionMax+1)}, ErrInvalid},
	}
	for _, tt := range tests {
		_, err := s.CreateIssue(ctx, tt.group, tt.in)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: CreateIssue = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE group_id = ?", g1.ID); n != 2 {
		t.Errorf("issues in group one = %d, want 2", n)
	}
	// The store keeps what it validated: trimmed, folded.
	spaced, err := s.CreateIssue(ctx, g1.ID, IssueInput{Key: "  SHOP-9  ", Description: " text \r\n"})
	if err != nil {
		t.Fatal(err)
	}
	got, _, _, _ := s.IssueFor(ctx, spaced.ID, owner.ID)
	if got.Key != "SHOP-9" || got.Description != "text" || spaced.Key != "SHOP-9" {
		t.Errorf("stored key %q, description %q; returned key %q", got.Key, got.Description, spaced.Key)
	}

	second := newIssue(t, s, g1.ID, "SHOP-4")
	if err := s.UpdateIssue(ctx, second.ID, IssueInput{Key: "Shop-1"}); !errors.Is(err, ErrKeyTaken) {
		t.Errorf("UpdateIssue to a taken key = %v, want ErrKeyTaken", err)
	}
	if err := s.UpdateIssue(ctx, second.ID, IssueInput{Key: " shop-1 "}); !errors.Is(err, ErrKeyTaken) {
		t.Errorf("UpdateIssue to a taken key with spaces = %v, want ErrKeyTaken", err)
	}
	if err := s.UpdateIssue(ctx, second.ID, IssueInput{Key: "shop-4", Description: "now lower case"}); err != nil {
		t.Errorf("UpdateIssue of its own key's case = %v", err)
	}
	if err := s.UpdateIssue(ctx, second.ID, IssueInput{Key: ""}); !errors.Is(err, ErrInvalid) {
		t.Errorf("UpdateIssue(empty key) = %v", err)
	}
	vote(t, s, second.ID, owner, 5)
	vote(t, s, second.ID, second2, 8)
	if _, err := s.Reveal(ctx, second.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateIssue(ctx, second.ID, IssueInput{Key: "SHOP-5"}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("UpdateIssue(revealed) = %v, want ErrNotOpen", err)
	}
	if err := s.DeleteIssue(ctx, second.ID); !errors.Is(err, ErrNotOpen) {
		t.Errorf("DeleteIssue(revealed) = %v, want ErrNotOpen", err)
	}
	vote(t, s, first.ID, owner, 3)
	if err := s.DeleteIssue(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(slots(t, s, first.ID)); n != 0 {
		t.Errorf("estimates of a deleted issue remain: %d", n)
	}
	if _, _, _, err := s.IssueFor(ctx, first.ID, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("IssueFor(deleted) = %v", err)
	}
	// Its key is free again.
	newIssue(t, s, g1.ID, "shop-1")
}

func TestEstimate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, m, outsider := newUser(t, s, "Owner"), newUser(t, s, "Member"), newUser(t, s, "Outsider")
	g := newGroup(t, s, owner, "Team", m)
	is := newIssue(t, s, g.ID, "E-1")

	tests := []struct {
		name    string
		issue   int64
		user    User
		value   int
		wantErr error
	}{
		{"member", is.ID, m, 5, nil},
		{"member changes", is.ID, m, 8, nil},
		{"member changes again", is.ID, m, 13, nil},
		{"owner", is.ID, owner, 100, nil},
		{"non-member", is.ID, outsider, 5, ErrNotMember},
		{"unknown issue", 9999, m, 5, ErrNotFound},
		{"zero", is.ID, m, 0, ErrInvalid},
		{"over 100", is.ID, m, 101, ErrInvalid},
		{"negative", is.ID, m, -1, ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := s.Estimate(ctx, tt.issue, tt.user.ID, Vote{Value: tt.value}); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Estimate = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	if n := len(slots(t, s, is.ID)); n != 2 {
		t.Errorf("estimate rows = %d, want 2 (one per member)", n)
	}
	if v, _ := s.OwnEstimate(ctx, is.ID, m.ID); v.Value != 13 {
		t.Errorf("OwnEstimate = %v, want the last one, 13", v)
	}
	if v, err := s.OwnEstimate(ctx, is.ID, outsider.ID); err != nil || !v.IsZero() {
		t.Errorf("OwnEstimate(no vote) = %v, %v", v, err)
	}

	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Estimate(ctx, is.ID, m.ID, Vote{Value: 3}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Estimate after reveal = %v, want ErrNotOpen", err)
	}
	if _, err := s.Estimate(ctx, is.ID, outsider.ID, Vote{Value: 3}); !errors.Is(err, ErrNotMember) {
		t.Errorf("non-member after reveal = %v, want ErrNotMember", err)
	}
	if _, err := s.Reveal(ctx, is.ID, owner); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Reveal twice = %v, want ErrNotOpen", err)
	}
	empty := newIssue(t, s, g.ID, "E-2")
	if _, err := s.Reveal(ctx, empty.ID, owner); !errors.Is(err, ErrTooFewVotes) {
		t.Errorf("Reveal without votes = %v, want ErrTooFewVotes", err)
	}
	if _, err := s.Reveal(ctx, 9999, owner); !errors.Is(err, ErrNotFound) {
		t.Errorf("Reveal(unknown) = %v, want ErrNotFound", err)
	}
}

// members makes n users and a group they all belong to (the first is the owner).
func members(t *testing.T, s *Store, n int) (Group, []User) {
	t.Helper()
	users := make([]User, n)
	for i := range n {
		users[i] = newUser(t, s, fmt.Sprintf("Voter %02d", i))
	}
	return newGroup(t, s, users[0], "Crowd", users[1:]...), users
}

func TestParallelEstimates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	const n = 30
	g, users := members(t, s, n)
	is := newIssue(t, s, g.ID, "P-1")
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, u := range users {
		wg.Go(func() {
			<-start
			// Everyone changes their mind once, concurrently with the others.
			if _, errs[i] = s.Estimate(ctx, is.ID, u.ID, Vote{Value: Scale[i%len(Scale)]}); errs[i] == nil {
				_, errs[i] = s.Estimate(ctx, is.ID, u.ID, Vote{Value: i + 1})
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("member %d: %v", i, err)
		}
	}
	if got := len(slots(t, s, is.ID)); got != n {
		t.Errorf("estimates = %d, want %d", got, n)
	}
	sum := 0
	for _, c := range slots(t, s, is.ID) {
		sum += int(c)
	}
	if got := sum; got != n*(n+1)/2 {
		t.Errorf("sum of estimates = %d, want %d (the last value of each)", got, n*(n+1)/2)
	}
	st, _ := s.IssueStatus(ctx, is.ID)
	if st.VotedCount() != n {
		t.Errorf("VotedCount = %d, want %d", st.VotedCount(), n)
	}
}

// TestVoteRacingReveal: members vote while the owner reveals. Every vote that
// was acknowledged is in the result; every other one was refused with
// ErrNotOpen. Several rounds make the interleavings vary.
func TestVoteRacingReveal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	const n = 16
	g, users := members(t, s, n+2)
	owner, early, voters := users[0], users[1], users[2:]
	is := newIssue(t, s, g.ID, "RACE-1")

	for round := 1; round <= 4; round++ {
		// So the reveal has enough votes whenever it runs.
		vote(t, s, is.ID, owner, 100)
		vote(t, s, is.ID, early, 99)
		errs := make([]error, n)
		var revealed Issue
		var revealErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range voters {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Estimate(ctx, is.ID, u.ID, Vote{Value: i + 1}) // value i+1 identifies the voter here
			})
			if i == n/2 {
				wg.Go(func() {
					<-start
					revealed, revealErr = s.Reveal(ctx, is.ID, owner)
				})
			}
		}
		close(start)
		wg.Wait()
		if revealErr != nil {
			t.Fatalf("round %d: Reveal: %v", round, revealErr)
		}

		want := []int{99, 100}
		for i, err := range errs {
			switch {
			case err == nil:
				want = append(want, i+1)
			case !errors.Is(err, ErrNotOpen):
				t.Errorf("round %d: voter %d: %v, want nil or ErrNotOpen", round, i, err)
			}
		}
		slices.Sort(want)
		t.Logf("round %d: %d of %d racing votes counted, the rest refused", round, len(want)-2, n)
		stored, _, _, err := s.IssueFor(ctx, is.ID, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []Result{revealed.Result, stored.Result} {
			if r.Votes != len(want) || !slices.Equal(r.Values(), want) {
				t.Errorf("round %d: result %v (%d votes), acknowledged votes %v", round, r.Values(), r.Votes, want)
			}
		}
		// Who took part matches the acknowledged votes, too.
		st, _ := s.IssueStatus(ctx, is.ID)
		for _, v := range st.Voters {
			i := slices.IndexFunc(voters, func(u User) bool { return u.ID == v.UserID })
			if i >= 0 && v.Voted != (errs[i] == nil) {
				t.Errorf("round %d: %s Voted=%v, Estimate returned %v", round, v.Nickname, v.Voted, errs[i])
			}
		}
		if err := s.Revote(ctx, is.ID, owner); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRevealDropsValues: after the reveal nothing at rest ties a value to a
// person; the status still says who voted, and never what.
func TestRevealDropsValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, a, b, idle := newUser(t, s, "Owner"), newUser(t, s, "Ada"), newUser(t, s, "Bea"), newUser(t, s, "Idle")
	g := newGroup(t, s, owner, "Team", a, b, idle)
	is := newIssue(t, s, g.ID, "R-1")
	other := newIssue(t, s, g.ID, "R-2")
	vote(t, s, is.ID, a, 89)
	vote(t, s, is.ID, b, 13)
	vote(t, s, is.ID, owner, 13)
	vote(t, s, other.ID, a, 2)

	st, err := s.IssueStatus(ctx, is.ID)
	if err != nil {
		t.Fatal(err)
	}
	voted := func(st Status) map[string]bool {
		out := map[string]bool{}
		for _, v := range st.Voters {
			out[v.Nickname] = v.Voted
		}
		return out
	}
	wantVoted := map[string]bool{"Owner": true, "Ada": true, "Bea": true, "Idle": false}
	if got := voted(st); !reflect.DeepEqual(got, wantVoted) {
		t.Errorf("Voted before reveal = %v, want %v", got, wantVoted)
	}
	var names []string
	for _, v := range st.Voters {
		names = append(names, v.Nickname)
	}
	if want := []string{"Ada", "Bea", "Idle", "Owner"}; !slices.Equal(names, want) {
		t.Errorf("voters in order %v, want %v", names, want)
	}
	if st.Group.ID != g.ID || st.Group.Name != "Team" || st.Issue.ID != is.ID {
		t.Errorf("status issue/group = %+v / %+v", st.Issue, st.Group)
	}

	rev, err := s.Reveal(ctx, is.ID, owner)
	if err != nil {
		t.Fatal(err)
	}
	if rev.State != StateRevealed || !slices.Equal(rev.Result.Values(), []int{13, 13, 89}) {
		t.Errorf("Reveal = %+v", rev)
	}
	if n := withCards(t, s, is.ID); n != 0 {
		t.Errorf("%d estimate rows still pair a user with a value after the reveal", n)
	}
	if n := len(slots(t, s, is.ID)); n != 3 {
		t.Errorf("participation rows = %d, want 3", n)
	}
	if v, _ := s.OwnEstimate(ctx, is.ID, a.ID); v.Value != 0 {
		t.Errorf("OwnEstimate after reveal = %v, want 0", v)
	}
	if v, _ := s.OwnEstimate(ctx, other.ID, a.ID); v.Value != 2 {
		t.Errorf("an open issue lost its values: %v", v)
	}
	st, _ = s.IssueStatus(ctx, is.ID)
	if got := voted(st); !reflect.DeepEqual(got, wantVoted) || st.VotedCount() != 3 {
		t.Errorf("Voted after reveal = %v (%d), want %v", got, st.VotedCount(), wantVoted)
	}
	if st.Issue.Result.Votes != 3 || st.Issue.State != StateRevealed {
		t.Errorf("status after reveal = %+v", st.Issue)
	}
	if _, err := s.IssueStatus(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("IssueStatus(unknown) = %v", err)
	}

	// Voter has no field that could carry a value.
	var fields []string
	vt := reflect.TypeFor[Voter]()
	for i := range vt.NumField() {
		fields = append(fields, vt.Field(i).Name)
	}
	if want := []string{"UserID", "Nickname", "Role", "Seat", "Voted"}; !slices.Equal(fields, want) {
		t.Errorf("Voter fields = %v, want %v: does a new one carry a value?", fields, want)
	}

	list, err := s.GroupIssues(ctx, g.ID)
	if err != nil || len(list) != 2 || list[0].Votes != 3 || list[1].Votes != 1 || list[0].Result.Votes != 3 {
		t.Errorf("GroupIssues = %+v, %v", list, err)
	}
}

func TestAccept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	is := newIssue(t, s, g.ID, "A-1")
	vote(t, s, is.ID, owner, 8)
	vote(t, s, is.ID, m, 5)

	steps := []struct {
		name    string
		reveal  bool
		issue   int64
		final   int
		wantErr error
	}{
		{"open issue", false, is.ID, 8, ErrNotRevealed},
		{"unknown issue", false, 9999, 8, ErrNotFound},
		{"zero", true, is.ID, 0, ErrInvalid},
		{"over 100", false, is.ID, 101, ErrInvalid},
		{"revealed", false, is.ID, 8, nil},
		{"accepted again, changed", false, is.ID, 100, nil},
		{"lowest", false, is.ID, 1, nil},
	}
	for _, st := range steps {
		if st.reveal {
			if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Accept(ctx, st.issue, owner, st.final); !errors.Is(err, st.wantErr) {
			t.Errorf("%s: Accept = %v, want %v", st.name, err, st.wantErr)
		}
	}
	got, _, _, _ := s.IssueFor(ctx, is.ID, owner.ID)
	if got.State != StateAccepted || got.Final != 1 || got.Result.Votes != 2 {
		t.Errorf("accepted issue = %+v", got)
	}
	if err := s.Revote(ctx, is.ID, owner); !errors.Is(err, ErrNotRevealed) {
		t.Errorf("Revote(accepted) = %v, want ErrNotRevealed", err)
	}
}

func TestRevote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	again, kept := newIssue(t, s, g.ID, "V-1"), newIssue(t, s, g.ID, "V-2")
	open := newIssue(t, s, g.ID, "V-3")
	for _, is := range []Issue{again, kept} {
		vote(t, s, is.ID, owner, 5)
		vote(t, s, is.ID, m, 8)
		if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
			t.Fatal(err)
		}
	}
	vote(t, s, open.ID, m, 3)
	keptBefore, _, _, _ := s.IssueFor(ctx, kept.ID, owner.ID)

	if err := s.Revote(ctx, again.ID, owner); err != nil {
		t.Fatal(err)
	}
	got, _, _, _ := s.IssueFor(ctx, again.ID, owner.ID)
	if got.State != StateOpen || got.Round != 2 || !got.Result.Empty() || got.Final != 0 {
		t.Errorf("after revote = %+v", got)
	}
	if n := len(slots(t, s, again.ID)); n != 0 {
		t.Errorf("estimates of the revoted issue = %d, want 0", n)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE id = ? AND result IS NULL", again.ID); n != 1 {
		t.Error("the stored result was not cleared")
	}
	keptAfter, _, _, _ := s.IssueFor(ctx, kept.ID, owner.ID)
	if !reflect.DeepEqual(keptAfter, keptBefore) {
		t.Errorf("another revealed issue changed: %+v, was %+v", keptAfter, keptBefore)
	}
	if n := len(slots(t, s, kept.ID)); n != 2 {
		t.Errorf("another issue's participation rows = %d, want 2", n)
	}
	if v, _ := s.OwnEstimate(ctx, open.ID, m.ID); v.Value != 3 {
		t.Errorf("an open issue's estimate = %v, want 3", v)
	}
	if err := s.Revote(ctx, again.ID, owner); !errors.Is(err, ErrNotRevealed) {
		t.Errorf("Revote(open) = %v, want ErrNotRevealed", err)
	}
	if err := s.Revote(ctx, 9999, owner); !errors.Is(err, ErrNotRevealed) {
		t.Errorf("Revote(unknown) = %v, want ErrNotRevealed", err)
	}

	// Round 2 works like round 1 and counts from its own votes only.
	vote(t, s, again.ID, m, 21)
	vote(t, s, again.ID, owner, 34)
	rev, err := s.Reveal(ctx, again.ID, owner)
	if err != nil || rev.Round != 2 || !slices.Equal(rev.Result.Values(), []int{21, 34}) {
		t.Errorf("round 2 reveal = %+v, %v", rev, err)
	}
	if err := s.Revote(ctx, again.ID, owner); err != nil {
		t.Fatal(err)
	}
	if got, _, _, _ := s.IssueFor(ctx, again.ID, owner.ID); got.Round != 3 {
		t.Errorf("round = %d, want 3", got.Round)
	}
}

// TestAuditHasNoValues: the audit trail records reveal, accept, revote,
// ownership changes and deactivation, and none of its lines holds a voted value.
// The votes are 89 and 13, values that appear nowhere else in this test.
func TestAuditHasNoValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner, m := newUser(t, s, "Owner"), newUser(t, s, "Member")
	g := newGroup(t, s, owner, "Team", m)
	is := newIssue(t, s, g.ID, "AUD-X")
	vote(t, s, is.ID, owner, 89)
	vote(t, s, is.ID, m, 13)
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Revote(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	vote(t, s, is.ID, owner, 89)
	vote(t, s, is.ID, m, 13)
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(ctx, is.ID, owner, 55); err != nil {
		t.Fatal(err)
	}
	if err := s.TransferOwnership(ctx, g.ID, owner, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetActive(ctx, "Owner", false); err != nil {
		t.Fatal(err)
	}

	events, err := s.GroupEvents(ctx, g.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	userEvents, err := s.UserEvents(ctx, owner.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range append(events, userEvents...) {
		actions[e.Action]++
	}
	for _, want := range []string{ActReveal, ActAccept, ActRevote, ActOwnershipChange, "user.deactivated"} {
		if actions[want] == 0 {
			t.Errorf("no %q event in %v", want, actions)
		}
	}
	if n := count(t, s, "SELECT COUNT(*) FROM events WHERE action = ?", ActReveal); n != 2 {
		t.Errorf("%d reveal events, want 2", n)
	}
	// The group's lines and the person's own (Account page) both name the issue.
	withIssue := 0
	for _, e := range append(events, userEvents...) {
		if e.IssueID != 0 {
			withIssue++
			if e.IssueKey != "AUD-X" {
				t.Errorf("event %s: IssueKey %q", e.Action, e.IssueKey)
			}
		}
	}
	if withIssue == 0 {
		t.Errorf("no event names the issue")
	}

	// Every text column of the events table, straight from the file.
	rows, err := s.r.Query("SELECT action, nickname, detail FROM events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	lines := 0
	for rows.Next() {
		var action, nick, detail string
		if err := rows.Scan(&action, &nick, &detail); err != nil {
			t.Fatal(err)
		}
		lines++
		for _, v := range []int{89, 13} {
			for _, text := range []string{action, nick, detail} {
				if strings.Contains(text, strconv.Itoa(v)) {
					t.Errorf("event %q holds the voted value %d: %q", action, v, text)
				}
			}
		}
	}
	if lines < 6 {
		t.Errorf("only %d events written", lines)
	}
}

// OwnPart reads in one query what the room's status and the own vote say of
// one person: the same issue, group, seat and vote, before and after the
// reveal, for a voter, a spectator, a member who has not voted and somebody
// who is no member, with 32-character nicknames and a hyphenated key.
func TestOwnPartAgreesWithTheRoom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owner := newUser(t, s, "Owner-with-a-rather-long-name-32")
	voter, unsure, quiet := newUser(t, s, "Voter-with-a-rather-long-name-32"), newUser(t, s, "Unsure"), newUser(t, s, "Quiet")
	watcher, outsider := newUser(t, s, "Watcher"), newUser(t, s, "Outsider")
	g := newGroup(t, s, owner, "Team", voter, unsure, quiet, watcher)
	is := newIssue(t, s, g.ID, "PLAT-1234-api-gateway")
	if _, err := s.SetSeat(ctx, g.ID, watcher.ID, SeatSpectator); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		st, err := s.IssueStatus(ctx, is.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []User{owner, voter, unsure, quiet, watcher, outsider} {
			gotIs, gotG, seat, vote, err := s.OwnPart(ctx, is.ID, u.ID)
			if err != nil {
				t.Fatalf("%s, %s: %v", when, u.Nickname, err)
			}
			want, err := s.OwnEstimate(ctx, is.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if gotIs.ID != st.Issue.ID || gotIs.State != st.Issue.State || gotIs.Key != st.Issue.Key || gotIs.Round != st.Issue.Round ||
				gotG.ID != st.Group.ID || gotG.Settings.Deck.Spec() != st.Group.Settings.Deck.Spec() {
				t.Errorf("%s, %s: issue %+v / group %+v, the room says %+v / %+v", when, u.Nickname, gotIs, gotG, st.Issue, st.Group)
			}
			if seat != st.SeatOf(u.ID) || vote != want {
				t.Errorf("%s, %s: seat %q vote %+v, want %q %+v", when, u.Nickname, seat, vote, st.SeatOf(u.ID), want)
			}
		}
	}
	check("before any vote")
	for _, v := range []struct {
		u User
		v Vote
	}{{voter, Vote{Value: 8}}, {unsure, Vote{Special: CardUnsure}}, {owner, Vote{Value: 5}}} {
		if _, err := s.Estimate(ctx, is.ID, v.u.ID, v.v); err != nil {
			t.Fatal(err)
		}
	}
	check("votes cast")
	if _, _, _, v, _ := s.OwnPart(ctx, is.ID, voter.ID); v.Value != 8 {
		t.Errorf("voter's own vote %+v, want 8", v)
	}
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	check("revealed")
	if _, _, _, _, err := s.OwnPart(ctx, 987654, voter.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("OwnPart of a missing issue: %v, want ErrNotFound", err)
	}
}
