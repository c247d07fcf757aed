package handlers

import (
	"context"
	"fmt"
	"testing"

	"estimator/store"
)

// TestQueriesDoNotGrowWithRows is the guard against a query per row: for
// each dimension BenchmarkGrowth measures, every path it measures runs as many
// SQL statements with 100 rows as with 10 (counted by the driver, BEGIN and
// COMMIT included), with the read cache cold and warm, and at least the
// session's and the page's when cold.
func TestQueriesDoNotGrowWithRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dim := range growthDims {
		t.Run(string(dim), func(t *testing.T) {
			t.Parallel()
			// Per size, per path: the statements of a first run (the read
			// cache cold: every query the page needs) and of a second (what
			// the cache leaves, and what every later run costs).
			counts := map[int]map[string][2]int64{}
			for _, n := range []int{10, 100} {
				w := newGrowthWorld(t, dim, n)
				counts[n] = map[string][2]int64{}
				for _, p := range w.paths(dim) {
					var runs [2]int64
					for i := range 2 {
						cctx, cnt := withStmtCounter(ctx)
						size, err := p.do(cctx, i)
						if err != nil {
							t.Fatalf("%d rows, %s: %v", n, p.name, err)
						}
						if size == 0 {
							t.Fatalf("%d rows, %s: empty answer", n, p.name)
						}
						runs[i] = cnt.load()
					}
					counts[n][p.name] = runs
				}
			}
			for name, small := range counts[10] {
				big := counts[100][name]
				if small[0] < 2 {
					t.Errorf("%s: %d statements counted with 10 rows; the counter misses some", name, small[0])
				}
				if big != small {
					t.Errorf("%s: %v statements (cold, warm) with 100 rows, %v with 10: a query per row", name, big, small)
				}
			}
			t.Log(fmt.Sprint(counts[10]))
		})
	}
}

// TestStatementCounterCountsEachRun checks the counter the guard above relies
// on: a statement run k times counts k, rows read count nothing, a transaction
// counts its BEGIN and COMMIT, and a context without a counter counts nowhere.
func TestStatementCounterCountsEachRun(t *testing.T) {
	t.Parallel()
	w := newGrowthWorld(t, membersPerGroup, 10)
	st := w.ta.st
	cctx, cnt := withStmtCounter(context.Background())
	for range 3 {
		if _, _, err := st.GroupFor(cctx, w.groupID, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := cnt.load(); got != 3 {
		t.Fatalf("3 lookups counted %d", got)
	}
	members, err := st.Members(cctx, w.groupID)
	if err != nil {
		t.Fatal(err)
	}
	if got := cnt.load(); got != 4 || len(members) != 11 {
		t.Fatalf("one query for %d members counted %d in all, want 4", len(members), got)
	}
	if _, _, err := st.GroupFor(context.Background(), w.groupID, 0); err != nil {
		t.Fatal(err)
	}
	if got := cnt.load(); got != 4 {
		t.Fatalf("a lookup without the counter counted: %d", got)
	}
	grow, err := st.UserByNickname(context.Background(), "grow")
	if err != nil {
		t.Fatal(err)
	}
	tctx, tcnt := withStmtCounter(context.Background())
	if _, err := st.Estimate(tctx, w.issueID, grow.ID, store.Vote{Value: 5}); err != nil {
		t.Fatal(err)
	}
	// BEGIN, the issue with its seat and ballot, the upsert, COMMIT (no
	// count of the round: auto-reveal is off).
	if got := tcnt.load(); got < 4 {
		t.Fatalf("a vote (a transaction) counted %d statements, want at least 4", got)
	}
}
