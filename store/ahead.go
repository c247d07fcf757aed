package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Estimating ahead (issue 28): the owner or a facilitator opens issues for
// votes until a deadline (OpenAhead); voters vote whenever they like; at the
// deadline the server reveals, through the same reveal as the owner's
// button, each round with at least MinRevealVotes numeric votes, with nobody
// connected (FireDeadlines, run by the same loop as the timers: the deadline
// is kept in the database, and decided again under each issue's lock, so
// several instances fire it once). The others stay open and say why.

// Ahead's bounds: the deadline is 1 hour to 14 days away.
const (
	AheadHoursMin = 1
	AheadHoursMax = 336
)

// RevealByDeadline reveals a round at its ahead deadline.
const RevealByDeadline RevealCause = "deadline"

// ActAhead is the audit action of OpenAhead.
const ActAhead = "issues.ahead"

// AheadRefused says why OpenAhead changed nothing: an issue that is not an
// open issue of the group (another group's, revealed, deleted, or none).
type AheadRefused struct{ Issue int64 }

func (e AheadRefused) Error() string {
	return "issue " + strconv.FormatInt(e.Issue, 10) + " is not an open issue of this group"
}

// OpenAhead opens the group's issues for votes ahead of the meeting, until
// hours from now (AheadHoursMin–AheadHoursMax). All or nothing: an issue that
// is not an open issue of the group is AheadRefused, and nothing changes. An
// issue opened ahead already gets the new deadline.
func (s *Store) OpenAhead(ctx context.Context, groupID int64, issueIDs []int64, hours int, by User) (time.Time, error) {
	if hours < AheadHoursMin || hours > AheadHoursMax || len(issueIDs) == 0 {
		return time.Time{}, ErrInvalid
	}
	ids := slices.Clone(issueIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	until := s.now().Add(time.Duration(hours) * time.Hour).Truncate(time.Millisecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ph := "?" + strings.Repeat(", ?", len(ids)-1)
		args := make([]any, 0, len(ids)+1)
		for _, id := range ids {
			args = append(args, id)
		}
		if err := s.lockIssues(ctx, tx, "id IN ("+ph+")", args...); err != nil {
			return err
		}
		for _, id := range ids {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM issues WHERE id = ? AND group_id = ? AND state = 'open'", id, groupID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return AheadRefused{Issue: id}
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE issues SET ahead_until = ?, ahead_fired = 0 WHERE id IN ("+ph+")",
			append([]any{until.UnixMilli()}, args...)...); err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, groupID, 0, ActAhead, fmt.Sprintf("%d issues, %dh", len(ids), hours))
	})
	if err != nil {
		return time.Time{}, err
	}
	for _, id := range ids {
		s.tell(Change{Kind: IssueChanged, Group: groupID, Issue: id})
	}
	return until, nil
}

// DeadlineOutcome is what a passed deadline did to an issue.
type DeadlineOutcome struct {
	IssueID, GroupID int64
	// Revealed is false when the round had too few numeric votes: it stays
	// open, and says so.
	Revealed bool
}

// FireDeadlines handles every ahead deadline that has passed, each issue in
// its own transaction, decided again under its lock (another instance's loop
// may have handled it since the query).
func (s *Store) FireDeadlines(ctx context.Context) ([]DeadlineOutcome, error) {
	now := s.now().UnixMilli()
	rows, err := s.query(ctx, `SELECT id FROM issues WHERE ahead_until IS NOT NULL AND ahead_fired = 0 AND ahead_until <= ? AND state = 'open' ORDER BY id`, now)
	if err != nil {
		return nil, err
	}
	var due []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		due = append(due, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	var out []DeadlineOutcome
	revealed := false
	for _, id := range due {
		o := DeadlineOutcome{IssueID: id}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			o = DeadlineOutcome{IssueID: id}
			if err := s.lockIssues(ctx, tx, "id = ?", id); err != nil {
				return err
			}
			var until int64
			err := tx.QueryRowContext(ctx, `SELECT group_id, ahead_until FROM issues
				WHERE id = ? AND state = 'open' AND ahead_fired = 0 AND ahead_until IS NOT NULL`, id).Scan(&o.GroupID, &until)
			if errors.Is(err, sql.ErrNoRows) || err == nil && until > now {
				o.IssueID = 0
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE issues SET ahead_fired = 1 WHERE id = ?", id); err != nil {
				return err
			}
			_, err = s.revealTx(ctx, tx, id, User{}, RevealByDeadline)
			switch {
			case err == nil:
				o.Revealed = true
				return nil
			case errors.Is(err, ErrTooFewVotes):
				return nil
			}
			return err
		})
		if err != nil {
			return out, err
		}
		if o.IssueID == 0 {
			continue
		}
		out = append(out, o)
		if o.Revealed {
			revealed = true
			s.tell(Change{Kind: RoundRevealed, Group: o.GroupID, Issue: o.IssueID})
		} else {
			s.tell(Change{Kind: IssueChanged, Group: o.GroupID, Issue: o.IssueID})
		}
	}
	if revealed {
		s.scrubFiles(ctx)
	}
	return out, nil
}

// aheadOpen is the condition of an issue that takes votes ahead now.
const aheadOpen = "i.state = 'open' AND i.ahead_until IS NOT NULL AND i.ahead_fired = 0"

// AheadWaiting is, per group of userID where they vote, how many issues
// opened ahead wait for their vote (groups without any are left out).
func (s *Store) AheadWaiting(ctx context.Context, userID int64) (map[int64]int, error) {
	rows, err := s.query(ctx, `SELECT i.group_id, (SELECT b.votes FROM ballots b WHERE b.issue_id = i.id)
		FROM memberships m JOIN issues i ON i.group_id = m.group_id
		WHERE m.user_id = ? AND m.seat = 'voter' AND `+aheadOpen, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var g int64
		var raw []byte
		if err := rows.Scan(&g, &raw); err != nil {
			return nil, wrap(err)
		}
		if !ballot(raw).has(userID) {
			out[g]++
		}
	}
	return out, wrap(rows.Err())
}

// AheadQueue lists the group's issues opened ahead that wait for userID's
// vote, oldest first (none for a spectator).
func (s *Store) AheadQueue(ctx context.Context, groupID, userID int64) ([]Issue, error) {
	rows, err := s.query(ctx, `SELECT `+issueCols+`, (SELECT b.votes FROM ballots b WHERE b.issue_id = i.id)
		FROM issues i JOIN memberships m ON m.group_id = i.group_id AND m.user_id = ? AND m.seat = 'voter'
		WHERE i.group_id = ? AND `+aheadOpen+` ORDER BY i.id`, userID, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Issue
	for rows.Next() {
		var raw []byte
		is, err := scanIssue(rows, &raw)
		if err != nil {
			return nil, err
		}
		if !ballot(raw).has(userID) {
			out = append(out, is)
		}
	}
	return out, wrap(rows.Err())
}

// ConsensusAccepted is what AcceptConsensus did.
type ConsensusAccepted struct {
	// Accepted are the issues accepted, each with its consensus value.
	Accepted []Issue
	// Discuss is the first revealed issue without consensus (zero ID: none):
	// where the meeting goes on.
	Discuss IssueRef
}

// AcceptConsensus accepts every revealed (not yet accepted) issue of the
// group whose result has consensus, with that value, each through Accept (so
// whatever an accept does, such as writing to a tracker, happens for each),
// and leaves the others for the meeting.
func (s *Store) AcceptConsensus(ctx context.Context, groupID int64, by User) (ConsensusAccepted, error) {
	var out ConsensusAccepted
	issues, err := s.GroupIssues(ctx, groupID)
	if err != nil {
		return out, err
	}
	for _, is := range issues {
		if is.State != StateRevealed {
			continue
		}
		r := is.Result
		if !r.HasNumbers() || !r.Consensus() {
			if out.Discuss.ID == 0 {
				out.Discuss = IssueRef{ID: is.ID, Key: is.Key}
			}
			continue
		}
		switch err := s.Accept(ctx, is.ID, by, r.Min()); {
		case errors.Is(err, ErrNotRevealed):
			continue // a new round started meanwhile
		case err != nil:
			return out, err
		}
		is.Issue.State, is.Issue.Final = StateAccepted, r.Min()
		out.Accepted = append(out.Accepted, is.Issue)
	}
	return out, nil
}
