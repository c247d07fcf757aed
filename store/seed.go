package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
)

// SeedSpec describes a demo data set.
type SeedSpec struct {
	Users, Groups, Issues, Members int
	Rand                           *rand.Rand
}

// SeedSummary counts what Seed made.
type SeedSummary struct {
	Users, Groups, Memberships, Issues, Estimates int
}

// Seed fills the store with users "user-0001"…, groups with Members members each,
// and Issues issues spread over the groups: a third revealed or accepted, the
// rest open with some estimates. It writes in one transaction.
func Seed(ctx context.Context, s *Store, spec SeedSpec) (SeedSummary, error) {
	var sum SeedSummary
	r := spec.Rand
	now := s.unix()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var offset int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM users").Scan(&offset); err != nil {
			return err
		}
		userIDs := make([]int64, spec.Users)
		for i := range spec.Users {
			nick := fmt.Sprintf("user-%05d", offset+int64(i)+1)
			if err := tx.QueryRowContext(ctx, "INSERT INTO users (nickname, nickname_key, nickname_skeleton, created_at) VALUES (?, ?, ?, ?) RETURNING id",
				nick, NicknameKey(nick), NicknameSkeleton(nick), now).Scan(&userIDs[i]); err != nil {
				return err
			}
			sum.Users++
		}
		groupMembers := make([][]int64, spec.Groups)
		groupIDs := make([]int64, spec.Groups)
		for g := range spec.Groups {
			if err := tx.QueryRowContext(ctx, "INSERT INTO groups (name, invite_token, created_at) VALUES (?, ?, ?) RETURNING id",
				fmt.Sprintf("Team %d", g+1), newInviteToken(), now).Scan(&groupIDs[g]); err != nil {
				return err
			}
			sum.Groups++
			for j, idx := range r.Perm(len(userIDs))[:spec.Members] {
				role := RoleMember
				if j == 0 {
					role = RoleOwner
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
					groupIDs[g], userIDs[idx], role, now); err != nil {
					return err
				}
				groupMembers[g] = append(groupMembers[g], userIDs[idx])
				sum.Memberships++
			}
		}
		for i := range spec.Issues {
			if spec.Groups == 0 {
				break
			}
			g := i % spec.Groups
			key := fmt.Sprintf("ISSUE-%d", i+1)
			var values []int
			voters := groupMembers[g][:r.IntN(len(groupMembers[g])+1)]
			for range voters {
				values = append(values, Scale[r.IntN(len(Scale))])
			}
			state, result, final := StateOpen, sql.NullString{}, sql.NullInt64{}
			if len(values) > 0 && i%3 == 0 {
				res := ComputeResult(values)
				state, result = StateRevealed, sql.NullString{String: res.encode(), Valid: true}
				if i%2 == 0 {
					state, final = StateAccepted, sql.NullInt64{Int64: int64(res.NearestCard()), Valid: true}
				}
			}
			var issueID int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO issues (group_id, key, key_fold, description, state, result, final_estimate, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, groupIDs[g], key, NicknameKey(key), "Seeded issue "+key, state, result, final, now).Scan(&issueID); err != nil {
				return err
			}
			sum.Issues++
			var b ballot
			for k, uid := range voters {
				card := byte(values[k])
				if state != StateOpen {
					card = cardNone
				}
				b = b.set(uid, card)
				sum.Estimates++
			}
			if err := saveBallot(ctx, tx, issueID, b); err != nil {
				return err
			}
		}
		return nil
	})
	return sum, err
}
