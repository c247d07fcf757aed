package store

// Benchmarks of the queries behind the hot pages, on a real SQLite file seeded
// like the load run (500 users, 100 groups of 10, 2,000 issues). They show where
// a page's time goes; handlers/bench_test.go measures the pages themselves.

import (
	"context"
	"math/rand/v2"
	"testing"
)

type benchData struct {
	s       *Store
	user    User // a member of 20 groups
	token   string
	issues  []int64
	writers []User
}

func newBenchData(b *testing.B) benchData {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, newDB(b, "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := Seed(ctx, s, SeedSpec{Users: 500, Groups: 100, Issues: 2000, Members: 10, Rand: rand.New(rand.NewPCG(1, 1))}); err != nil {
		b.Fatal(err)
	}
	u, _, err := s.ClaimNickname(ctx, "bench-main", NewToken())
	if err != nil {
		b.Fatal(err)
	}
	d := benchData{s: s, user: u}
	for gid := int64(1); gid <= 20; gid++ {
		g, _, err := s.GroupFor(ctx, gid, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Join(ctx, g.InviteToken, u); err != nil {
			b.Fatal(err)
		}
		is, err := s.GroupIssues(ctx, gid)
		if err != nil {
			b.Fatal(err)
		}
		for _, i := range is {
			d.issues = append(d.issues, i.ID)
		}
	}
	if _, d.token, err = s.CreateSession(ctx, u.ID, false, nil, DefaultSessionPolicy); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkQueries times each hot query alone, in parallel over the read pool.
func BenchmarkQueries(b *testing.B) {
	d := newBenchData(b)
	ctx := context.Background()
	b.Run("LoadSession", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := d.s.LoadSession(ctx, d.token, DefaultSessionPolicy); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("UserGroups-20", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				gs, err := d.s.UserGroups(ctx, d.user.ID)
				if err != nil || len(gs) != 20 {
					b.Errorf("%d groups, %v", len(gs), err)
					return
				}
			}
		})
	})
	// The status page: the access check's query, then the voters.
	b.Run("IssueFor+Voters", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				id := d.issues[i%len(d.issues)]
				is, _, _, err := d.s.IssueFor(ctx, id, d.user.ID)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := d.s.Voters(ctx, id, is.GroupID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
