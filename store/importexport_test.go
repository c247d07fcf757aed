package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestImportIssuesAllOrNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	owner := newUser(t, s, "owner")
	g := newGroup(t, s, owner, "Shop")
	newIssue(t, s, g.ID, "SHOP-1")

	rows := []ImportRow{
		{Line: 1, IssueInput: IssueInput{Key: "SHOP-2", Description: "two"}},
		{Line: 2, IssueInput: IssueInput{Key: "shop-1", Description: "clash"}},
		{Line: 3, IssueInput: IssueInput{Key: "SHOP-3", Description: "three"}},
	}
	var ie ImportErrors
	if err := s.CheckImport(ctx, g.ID, rows); !errors.As(err, &ie) || len(ie) != 1 || ie[0].Line != 2 || !strings.Contains(ie[0].Msg(), "already has an issue") {
		t.Fatalf("CheckImport = %v, want line 2 already taken", err)
	}
	if _, err := s.ImportIssues(ctx, g.ID, rows); !errors.As(err, &ie) || ie[0].Line != 2 {
		t.Fatalf("ImportIssues = %v, want line 2 refused", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE group_id = ?", g.ID); n != 1 {
		t.Fatalf("a refused import added issues: %d", n)
	}

	rows = []ImportRow{rows[0], rows[2]}
	rows[1].Line = 2
	if err := s.CheckImport(ctx, g.ID, rows); err != nil {
		t.Fatalf("CheckImport: %v", err)
	}
	n, err := s.ImportIssues(ctx, g.ID, rows)
	if err != nil || n != 2 {
		t.Fatalf("ImportIssues = %d, %v", n, err)
	}
	issues, err := s.GroupIssues(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, is := range issues {
		keys = append(keys, is.Key+"="+is.Description+"/"+string(is.State))
	}
	if got := strings.Join(keys, " "); got != "SHOP-1=/open SHOP-2=two/open SHOP-3=three/open" {
		t.Errorf("issues after import: %s", got)
	}
	groups, err := s.UserGroups(ctx, owner.ID)
	if err != nil || len(groups) != 1 || groups[0].OpenIssues != 3 {
		t.Errorf("open issue count after import: %+v, %v", groups, err)
	}

	// The same rows again (a second confirm): every one is refused, none added.
	if _, err := s.ImportIssues(ctx, g.ID, rows); !errors.As(err, &ie) || len(ie) != 2 {
		t.Fatalf("second import = %v, want both rows refused", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE group_id = ?", g.ID); n != 3 {
		t.Fatalf("issues after a refused second import: %d", n)
	}
}

// ImportIssues does not trust its caller: rows that did not come through
// the import parser (exchange.ParseImport) are checked by the same rules.
func TestImportIssuesChecksRowsItself(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	g := newGroup(t, s, newUser(t, s, "owner"), "Shop")
	rows := []ImportRow{
		{Line: 1, IssueInput: IssueInput{Key: "  A-1 ", Description: "ok"}},
		{Line: 2, IssueInput: IssueInput{Key: "a-1"}},
		{Line: 3, IssueInput: IssueInput{Key: ""}},
	}
	var ie ImportErrors
	if _, err := s.ImportIssues(ctx, g.ID, rows); !errors.As(err, &ie) || len(ie) != 2 || ie[0].Line != 2 || ie[1].Line != 3 {
		t.Fatalf("ImportIssues = %v, want lines 2 and 3 refused", err)
	}
	if _, err := s.ImportIssues(ctx, g.ID, nil); !errors.Is(err, ErrNothingToImport) {
		t.Errorf("empty import = %v", err)
	}
	n, err := s.ImportIssues(ctx, g.ID, rows[:1])
	if err != nil || n != 1 {
		t.Fatalf("ImportIssues = %d, %v", n, err)
	}
	issues, _ := s.GroupIssues(ctx, g.ID)
	if len(issues) != 1 || issues[0].Key != "A-1" {
		t.Errorf("stored %+v, want the normalized key A-1", issues)
	}
}

func TestGroupIssueRounds(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	owner, a, b := newUser(t, s, "owner"), newUser(t, s, "alice"), newUser(t, s, "bob")
	g := newGroup(t, s, owner, "Shop", a, b)
	open := newIssue(t, s, g.ID, "OPEN-1")
	vote(t, s, open.ID, a, 5)
	accepted := newIssue(t, s, g.ID, "ACC-1")
	vote(t, s, accepted.ID, owner, 3)
	vote(t, s, accepted.ID, a, 5)
	vote(t, s, accepted.ID, b, 8)
	if _, err := s.Reveal(ctx, accepted.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(ctx, accepted.ID, owner, 5); err != nil {
		t.Fatal(err)
	}
	// Three rounds: 1 and 2 revealed, the second with a ? and a coffee; then
	// round 3 opens and has votes, which are no result yet.
	multi := newIssue(t, s, g.ID, "REV-3")
	vote(t, s, multi.ID, a, 1)
	vote(t, s, multi.ID, b, 8)
	if _, err := s.Reveal(ctx, multi.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Revote(ctx, multi.ID, owner); err != nil {
		t.Fatal(err)
	}
	vote(t, s, multi.ID, a, 2)
	vote(t, s, multi.ID, b, 3)
	if _, err := s.Estimate(ctx, multi.ID, owner.ID, Vote{Special: CardUnsure}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reveal(ctx, multi.ID, owner); err != nil {
		t.Fatal(err)
	}
	if err := s.Revote(ctx, multi.ID, owner); err != nil {
		t.Fatal(err)
	}
	vote(t, s, multi.ID, a, 13)

	got, err := s.GroupIssueRounds(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d issues", len(got))
	}
	if o := got[0]; o.Key != "OPEN-1" || o.State != StateOpen || len(o.Rounds) != 0 || o.Final != 0 {
		t.Errorf("open issue: %+v (an open round's votes are not a result)", o)
	}
	acc := got[1]
	if acc.State != StateAccepted || acc.Final != 5 || len(acc.Rounds) != 1 {
		t.Fatalf("accepted issue: %+v", acc)
	}
	if r := acc.Rounds[0]; r.Number != 1 || r.Result.Votes != 3 || r.Result.Average() != "5.3" || r.Result.Median() != "5" {
		t.Errorf("accepted round: %+v", r)
	}
	m := got[2]
	if m.State != StateOpen || len(m.Rounds) != 2 {
		t.Fatalf("issue in its third round: %+v, want its two revealed rounds", m)
	}
	if r := m.Rounds[0]; r.Number != 1 || r.Result.Votes != 2 || r.Result.Median() != "4.5" || distributionOf(r.Result) != "1:1,8:1" {
		t.Errorf("round 1: %+v", r)
	}
	if r := m.Rounds[1]; r.Number != 2 || r.Result.Votes != 3 || r.Result.Numeric() != 2 || r.Result.Unsure != 1 || r.Result.Median() != "2.5" || distributionOf(r.Result) != "2:1,3:1" {
		t.Errorf("round 2: %+v", r)
	}
}

func distributionOf(r Result) string {
	parts := make([]string, len(r.Counts))
	for i, c := range r.Counts {
		parts[i] = strconv.Itoa(c.Value) + ":" + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, ",")
}

func TestMedianHalves(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values []int
		want   int
	}{
		{nil, 0},
		{[]int{5}, 10},
		{[]int{1, 100}, 101},
		{[]int{8, 1, 3}, 6},
		{[]int{2, 2, 3, 3}, 5},
		{[]int{1, 2, 3, 100}, 5},
	}
	for _, tc := range cases {
		if got := ComputeResult(tc.values).MedianHalves(); got != tc.want {
			t.Errorf("median of %v = %d halves, want %d", tc.values, got, tc.want)
		}
	}
}
