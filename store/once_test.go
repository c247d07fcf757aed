package store

import (
	"context"
	"sync"
	"testing"
)

// Forms act once: the same once from the same person makes one thing, also
// when the requests arrive at the same moment (a double click through a slow
// network), on both engines.
func TestSameOnceAtTheSameMomentCreatesOnce(t *testing.T) {
	s, _ := newStore(t)
	ana := newUser(t, s, "Ana Double-Clicker_2026.long.x")
	ctx := context.Background()
	const clicks = 8

	run := func(f func() (int64, bool, error)) (ids []int64, made int) {
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		for range clicks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, m, err := f()
				if err != nil {
					t.Errorf("a click failed: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids = append(ids, id)
				if m {
					made++
				}
			}()
		}
		wg.Wait()
		return ids, made
	}
	same := func(what string, ids []int64, made int) {
		t.Helper()
		if made != 1 || len(ids) != clicks {
			t.Fatalf("%s: %d of %d clicks made something, want 1", what, made, len(ids))
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("%s: the clicks were answered with %v, want one and the same", what, ids)
			}
		}
	}

	once := NewOnce("tok-group-1", "/creategroup", "Team Phoenix")
	ids, made := run(func() (int64, bool, error) {
		g, m, err := s.CreateGroupOnce(ctx, ana, "Team Phoenix", once)
		return g.ID, m, err
	})
	same("create group", ids, made)
	if n := count(t, s, "SELECT COUNT(*) FROM groups WHERE name = 'Team Phoenix'"); n != 1 {
		t.Fatalf("%d groups named Team Phoenix, want 1", n)
	}
	gid := ids[0]

	iOnce := NewOnce("tok-issue-1", "PHX-12")
	ids, made = run(func() (int64, bool, error) {
		is, m, err := s.CreateIssueOnce(ctx, ana.ID, gid, IssueInput{Key: "PHX-12", Description: "Pay with a saved card"}, iOnce)
		return is.ID, m, err
	})
	same("add issue", ids, made)

	rows := []ImportRow{{Line: 1, IssueInput: IssueInput{Key: "PHX-20", Description: "one"}}, {Line: 2, IssueInput: IssueInput{Key: "PHX-21", Description: "two"}}}
	ids, made = run(func() (int64, bool, error) {
		n, m, err := s.ImportIssuesOnce(ctx, ana.ID, gid, rows, NewOnce("tok-import-1", "rows"))
		return int64(n), m, err
	})
	same("import", ids, made)
	if ids[0] != 2 {
		t.Fatalf("the import's repeat said %d issues, want 2", ids[0])
	}
	if n := count(t, s, "SELECT COUNT(*) FROM issues WHERE group_id = ?", gid); n != 3 {
		t.Fatalf("%d issues, want 3", n)
	}

	// The same token with other content is another form: it acts.
	g2, m, err := s.CreateGroupOnce(ctx, ana, "Team Dragon", NewOnce("tok-group-1", "/creategroup", "Team Dragon"))
	if err != nil || !m || g2.ID == gid {
		t.Fatalf("same token, other name: %+v made %v err %v", g2, m, err)
	}
	// Another person's token is theirs alone.
	bo := newUser(t, s, "Bo")
	g3, m, err := s.CreateGroupOnce(ctx, bo, "Team Phoenix", once)
	if err != nil || !m || g3.ID == gid {
		t.Fatalf("another person, same token: %+v made %v err %v", g3, m, err)
	}
	// What the first made is gone: the form makes it anew.
	if err := s.DeleteGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	g4, m, err := s.CreateGroupOnce(ctx, ana, "Team Phoenix", once)
	if err != nil || !m || g4.ID == gid {
		t.Fatalf("after the group was deleted: %+v made %v err %v", g4, m, err)
	}
}
