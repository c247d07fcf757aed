package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The meeting's roles and quick votes (SPEC "The meeting"); the flow of a round (seats, start, timers) is in meeting.go.

// ActFacilitator records that the owner made a member a facilitator or took
// it back (detail: the member's nickname, then " on" or " off").
const ActFacilitator = "member.facilitator"

// SetFacilitator lets a member of the group run the meeting (on) or takes it
// back. userID must be a member (ErrNotMember) and not the owner, who runs it
// anyway (ErrIsOwner). Setting what is already set changes nothing and is
// not an error.
func (s *Store) SetFacilitator(ctx context.Context, groupID, userID int64, on bool, by User) error {
	changed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var role Role
		var nick string
		var was int
		err := tx.QueryRowContext(ctx, `SELECT m.role, m.facilitator, u.nickname FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = ? AND m.user_id = ?`+s.rowLock("m"), groupID, userID).Scan(&role, &was, &nick)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotMember
		}
		if err != nil {
			return err
		}
		if role == RoleOwner {
			return ErrIsOwner
		}
		flag, word := 0, " off"
		if on {
			flag, word = 1, " on"
		}
		if was == flag {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE memberships SET facilitator = ? WHERE group_id = ? AND user_id = ?", flag, groupID, userID); err != nil {
			return err
		}
		changed = true
		return audit(ctx, tx, s.unix(), by, groupID, 0, ActFacilitator, nick+word)
	})
	if err == nil && changed {
		s.tell(Change{Kind: GroupChanged, Group: groupID})
	}
	return err
}

// QuickKey is the key of the n-th quick vote of a group.
func QuickKey(n int64) string { return "Q-" + strconv.FormatInt(n, 10) }

// QuickVote adds an issue with the group's next quick-vote key (Q-1, Q-2, …)
// and makes it the one the group estimates now, in one transaction, for
// userID's form carrying once (sent again: nothing new, the first's issue,
// made false). The number is the group's counter, never given twice: after
// and deleting Q-2 the next is Q-3. A number whose key is taken (an
// issue added or imported by hand as "q-3") is skipped.
func (s *Store) QuickVote(ctx context.Context, userID, groupID int64, description string, once Once, by User) (is Issue, made bool, err error) {
	in, errs := ValidateIssue("Q", description)
	if len(errs) > 0 {
		return Issue{}, false, fmt.Errorf("%w: %s", ErrInvalid, errs["description"])
	}
	err = s.txRecheck(ctx, func(tx *sql.Tx) error {
		now := s.unix()
		first, isFirst, err := claimOnce(ctx, tx, now, userID, onceIssue, once,
			"SELECT 1 FROM issues i JOIN memberships m ON m.group_id = i.group_id WHERE i.id = ? AND m.user_id = ?")
		if err != nil {
			return err
		}
		if made = isFirst; !made {
			is, err = scanIssue(tx.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues i WHERE i.id = ?", first))
			return err
		}
		if is, err = s.insertQuick(ctx, tx, groupID, in.Description, now, by); err != nil {
			return err
		}
		return doneOnce(ctx, tx, userID, once, is.ID)
	})
	if err == nil && made {
		s.tell(Change{Kind: IssuesAdded, Group: groupID, Issue: is.ID})
		s.tell(Change{Kind: GroupMoved, Group: groupID, Issue: is.ID})
	}
	return is, made, err
}

// insertQuick takes the group's next free quick-vote number, adds its issue
// and makes it current, starting the group's default timer as StartIssue
// does. The counter's update locks the group's row: two quick votes of one
// group on PostgreSQL take their numbers in turn.
func (s *Store) insertQuick(ctx context.Context, tx *sql.Tx, groupID int64, description string, now int64, by User) (Issue, error) {
	var key string
	for {
		var n int64
		err := tx.QueryRowContext(ctx, "UPDATE groups SET quick_seq = quick_seq + 1 WHERE id = ? RETURNING quick_seq", groupID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return Issue{}, ErrNotFound
		}
		if err != nil {
			return Issue{}, err
		}
		key = QuickKey(n)
		var one int
		err = tx.QueryRowContext(ctx, "SELECT 1 FROM issues WHERE group_id = ? AND key_fold = ?", groupID, NicknameKey(key)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return Issue{}, err
		}
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO issues (group_id, key, key_fold, description, created_at, timer_ends_at)
		SELECT ?, ?, ?, ?, ?, CASE WHEN g.timer_seconds > 0 THEN CAST(? AS BIGINT) + 1000 * g.timer_seconds END
		FROM groups g WHERE g.id = ? RETURNING id`,
		groupID, key, NicknameKey(key), description, now, s.now().UnixMilli(), groupID).Scan(&id)
	if err != nil {
		return Issue{}, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE groups SET current_issue_id = ? WHERE id = ?", id, groupID); err != nil {
		return Issue{}, err
	}
	if err := audit(ctx, tx, now, by, groupID, id, ActStart, ""); err != nil {
		return Issue{}, err
	}
	return scanIssue(tx.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues i WHERE i.id = ?", id))
}

// QuickRoom makes a group owned by owner (named name) with a first quick vote
// (Q-1, current), for a form carrying once: sent again, it makes nothing and
// returns the group the first made and its current issue (made false).
func (s *Store) QuickRoom(ctx context.Context, owner User, name string, once Once) (g Group, is Issue, made bool, err error) {
	name, msg := NormalizeGroupName(name)
	if msg != "" {
		return Group{}, Issue{}, false, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := s.unix()
		g = Group{Name: name, InviteToken: newInviteToken(), CreatedAt: time.Unix(now, 0), Settings: DefaultSettings()}
		first, isFirst, err := claimOnce(ctx, tx, now, owner.ID, onceGroup, once, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?")
		if err != nil {
			return err
		}
		if made = isFirst; !made {
			var cur int64
			if err := tx.QueryRowContext(ctx, "SELECT name, invite_token, COALESCE(current_issue_id, 0) FROM groups WHERE id = ?", first).
				Scan(&g.Name, &g.InviteToken, &cur); err != nil {
				return err
			}
			g.ID, g.CurrentIssueID, is = first, cur, Issue{ID: cur, GroupID: first}
			return nil
		}
		if err := tx.QueryRowContext(ctx, "INSERT INTO groups (name, invite_token, created_at) VALUES (?, ?, ?) RETURNING id",
			g.Name, g.InviteToken, now).Scan(&g.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)", g.ID, owner.ID, now); err != nil {
			return err
		}
		if is, err = s.insertQuick(ctx, tx, g.ID, "", now, owner); err != nil {
			return err
		}
		g.CurrentIssueID = is.ID
		return doneOnce(ctx, tx, owner.ID, once, g.ID)
	})
	// A new group has no page open yet: nothing to tell (as CreateGroup).
	return g, is, made, err
}
