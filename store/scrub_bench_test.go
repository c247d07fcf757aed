package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkRevealScrub measures what the reveal's anonymity costs: a reveal of
// 8 votes on a seeded database with its checkpoint (TRUNCATE) and secure_delete,
// against the same reveal with the checkpoint left out, and the checkpoint of a
// WAL holding one round's pages alone.
func BenchmarkRevealScrub(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*Store, Group, []User) {
		s, err := Open(ctx, filepath.Join(b.TempDir(), "scrub.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		owner := newUser(b, s, "Owner")
		var voters []User
		for i := range 8 {
			voters = append(voters, newUser(b, s, "Voter "+strconv.Itoa(i)))
		}
		return s, newGroup(b, s, owner, "Bench", voters...), append(voters, owner)
	}
	round := func(b *testing.B, s *Store, g Group, voters []User, n int) int64 {
		is, err := s.CreateIssue(ctx, g.ID, IssueInput{Key: "B-" + strconv.Itoa(n)})
		if err != nil {
			b.Fatal(err)
		}
		for i, v := range voters[:8] {
			if _, err := s.Estimate(ctx, is.ID, v.ID, Vote{Value: Scale[i%len(Scale)]}); err != nil {
				b.Fatal(err)
			}
		}
		return is.ID
	}
	for _, withCheckpoint := range []bool{true, false} {
		name := "reveal+checkpoint"
		if !withCheckpoint {
			name = "reveal-only"
		}
		b.Run(name, func(b *testing.B) {
			s, g, voters := setup(b)
			owner := voters[len(voters)-1]
			n := 0
			for b.Loop() {
				b.StopTimer()
				id := round(b, s, g, voters, n)
				n++
				b.StartTimer()
				if withCheckpoint {
					if _, err := s.Reveal(ctx, id, owner); err != nil {
						b.Fatal(err)
					}
					continue
				}
				err := s.tx(ctx, func(tx *sql.Tx) error {
					_, err := s.revealTx(ctx, tx, id, owner, RevealByOwner)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("checkpoint-alone", func(b *testing.B) {
		s, g, voters := setup(b)
		n := 0
		for b.Loop() {
			b.StopTimer()
			round(b, s, g, voters, n)
			n++
			b.StartTimer()
			if err := s.scrubFiles(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
