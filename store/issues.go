package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// IssueState is where an issue is in its round.
type IssueState string

const (
	StateOpen     IssueState = "open"
	StateRevealed IssueState = "revealed"
	StateAccepted IssueState = "accepted"
)

// Issue is a story to estimate.
type Issue struct {
	ID          int64
	GroupID     int64
	Key         string
	Description string
	State       IssueState
	Round       int
	Final       int // 0 until accepted
	Result      Result
	CreatedAt   time.Time
}

// IssueSummary is a row of a group's issue table.
type IssueSummary struct {
	Issue
	Votes int
}

// Voter is a member as the status page shows them: a name and whether they voted.
// There is deliberately no value here.
type Voter struct {
	UserID   int64
	Nickname string
	Role     Role
	Voted    bool
}

// Status is everything the status page of an issue shows, for everyone alike.
type Status struct {
	Issue  Issue
	Group  Group
	Voters []Voter
}

// VotedCount is how many members have voted.
func (st Status) VotedCount() int {
	n := 0
	for _, v := range st.Voters {
		if v.Voted {
			n++
		}
	}
	return n
}

const (
	IssueKeyMax         = 32
	IssueDescriptionMax = 2000
)

// IssueInput is a validated issue form.
type IssueInput struct {
	Key, Description string
}

// ValidateIssue checks an issue form and returns messages per field.
func ValidateIssue(key, description string) (IssueInput, map[string]string) {
	errs := map[string]string{}
	in := IssueInput{}
	var msg string
	if in.Key, msg = normalizeText(key, 1, IssueKeyMax, "a key", true); msg != "" {
		errs["key"] = msg
	}
	if in.Description, msg = normalizeText(description, 0, IssueDescriptionMax, "a description", false); msg != "" {
		errs["description"] = msg
	}
	return in, errs
}

const issueCols = "i.id, i.group_id, i.key, i.description, i.state, i.round, COALESCE(i.final_estimate, 0), COALESCE(i.result, ''), i.created_at"

func scanIssue(row interface{ Scan(...any) error }, extra ...any) (Issue, error) {
	var is Issue
	var result string
	var created int64
	err := row.Scan(append([]any{&is.ID, &is.GroupID, &is.Key, &is.Description, &is.State, &is.Round, &is.Final, &result, &created}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Issue{}, ErrNotFound
	}
	if err != nil {
		return Issue{}, wrap(err)
	}
	is.CreatedAt = time.Unix(created, 0)
	if is.Result, err = decodeResult(result); err != nil {
		return Issue{}, err
	}
	return is, nil
}

// CreateIssue adds an issue to a group. A key already used in the group (ignoring
// case) is ErrKeyTaken.
func (s *Store) CreateIssue(ctx context.Context, groupID int64, in IssueInput) (Issue, error) {
	// Store the normalized form: key uniqueness (key_fold) must not depend on the
	// caller having trimmed the key.
	in, errs := ValidateIssue(in.Key, in.Description)
	if len(errs) > 0 {
		return Issue{}, ErrInvalid
	}
	now := s.unix()
	id, err := s.insert(ctx, "INSERT INTO issues (group_id, key, key_fold, description, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
		groupID, in.Key, NicknameKey(in.Key), in.Description, now)
	if isUniqueViolation(err) {
		return Issue{}, ErrKeyTaken
	}
	if err != nil {
		return Issue{}, err
	}
	return Issue{ID: id, GroupID: groupID, Key: in.Key, Description: in.Description, State: StateOpen, Round: 1, CreatedAt: time.Unix(now, 0)}, nil
}

// UpdateIssue changes an open issue's key and description.
func (s *Store) UpdateIssue(ctx context.Context, issueID int64, in IssueInput) error {
	in, errs := ValidateIssue(in.Key, in.Description)
	if len(errs) > 0 {
		return ErrInvalid
	}
	res, err := s.exec(ctx, "UPDATE issues SET key = ?, key_fold = ?, description = ? WHERE id = ? AND state = 'open'",
		in.Key, NicknameKey(in.Key), in.Description, issueID)
	if isUniqueViolation(err) {
		return ErrKeyTaken
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotOpen
	}
	return nil
}

// DeleteIssue removes an open issue and its estimates.
func (s *Store) DeleteIssue(ctx context.Context, issueID int64) error {
	res, err := s.exec(ctx, "DELETE FROM issues WHERE id = ? AND state = 'open'", issueID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotOpen
	}
	return nil
}

// IssueFor loads an issue, its group and the role of userID in that group, in one
// query. A missing issue is ErrNotFound; RoleNone means not a member.
func (s *Store) IssueFor(ctx context.Context, issueID, userID int64) (Issue, Group, Role, error) {
	row, err := s.queryRow(ctx, `SELECT `+issueCols+`, g.name, g.invite_token, g.created_at, COALESCE(m.role, '')
		FROM issues i JOIN groups g ON g.id = i.group_id
		LEFT JOIN memberships m ON m.group_id = i.group_id AND m.user_id = ?
		WHERE i.id = ?`, userID, issueID)
	if err != nil {
		return Issue{}, Group{}, RoleNone, err
	}
	var g Group
	var role Role
	var gcreated int64
	is, err := scanIssue(row, &g.Name, &g.InviteToken, &gcreated, &role)
	if err != nil {
		return Issue{}, Group{}, RoleNone, err
	}
	g.ID, g.CreatedAt = is.GroupID, time.Unix(gcreated, 0)
	return is, g, role, nil
}

// GroupIssues lists a group's issues, oldest first, with how many have voted.
func (s *Store) GroupIssues(ctx context.Context, groupID int64) ([]IssueSummary, error) {
	rows, err := s.query(ctx, `SELECT `+issueCols+`, (SELECT COUNT(*) FROM estimates e WHERE e.issue_id = i.id)
		FROM issues i WHERE i.group_id = ? ORDER BY i.id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []IssueSummary
	for rows.Next() {
		var sum IssueSummary
		is, err := scanIssue(rows, &sum.Votes)
		if err != nil {
			return nil, err
		}
		sum.Issue = is
		out = append(out, sum)
	}
	return out, wrap(rows.Err())
}

// IssueStatus loads the status page's facts: the issue, its group, and every
// member with whether they voted — never what.
func (s *Store) IssueStatus(ctx context.Context, issueID int64) (Status, error) {
	var st Status
	row, err := s.queryRow(ctx, `SELECT `+issueCols+`, g.name, g.invite_token, g.created_at
		FROM issues i JOIN groups g ON g.id = i.group_id WHERE i.id = ?`, issueID)
	if err != nil {
		return st, err
	}
	var gcreated int64
	if st.Issue, err = scanIssue(row, &st.Group.Name, &st.Group.InviteToken, &gcreated); err != nil {
		return st, err
	}
	st.Group.ID, st.Group.CreatedAt = st.Issue.GroupID, time.Unix(gcreated, 0)
	st.Voters, err = s.Voters(ctx, issueID, st.Issue.GroupID)
	return st, err
}

// Voters lists the members of groupID with whether each has voted on issueID —
// never what. A caller that has just loaded the issue (IssueFor) needs only this
// part of IssueStatus.
func (s *Store) Voters(ctx context.Context, issueID, groupID int64) ([]Voter, error) {
	rows, err := s.query(ctx, `SELECT u.id, u.nickname, m.role, e.user_id IS NOT NULL
		FROM memberships m JOIN users u ON u.id = m.user_id
		LEFT JOIN estimates e ON e.issue_id = ? AND e.user_id = m.user_id
		WHERE m.group_id = ? ORDER BY u.nickname_key, u.id`, issueID, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var voters []Voter
	for rows.Next() {
		var v Voter
		if err := rows.Scan(&v.UserID, &v.Nickname, &v.Role, &v.Voted); err != nil {
			return nil, wrap(err)
		}
		voters = append(voters, v)
	}
	return voters, wrap(rows.Err())
}

// OwnEstimate is the caller's own current estimate on an open issue (0 if none).
func (s *Store) OwnEstimate(ctx context.Context, issueID, userID int64) (int, error) {
	row, err := s.queryRow(ctx, "SELECT COALESCE(value, 0) FROM estimates WHERE issue_id = ? AND user_id = ?", issueID, userID)
	if err != nil {
		return 0, err
	}
	var v int
	if err := row.Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return 0, wrap(err)
	}
	return v, nil
}

// Estimate records or changes the estimate of userID (who must be a member) on an
// open issue. One statement checks state and membership and writes, so a vote
// racing a reveal is either in the result or refused with ErrNotOpen.
func (s *Store) Estimate(ctx context.Context, issueID, userID int64, value int) error {
	if value < EstimateMin || value > EstimateMax {
		return ErrInvalid
	}
	res, err := s.exec(ctx, `INSERT INTO estimates (issue_id, user_id, value, updated_at)
		SELECT i.id, m.user_id, ?, ? FROM issues i JOIN memberships m ON m.group_id = i.group_id AND m.user_id = ?
		WHERE i.id = ? AND i.state = 'open'`+s.rowShare("i, m")+`
		ON CONFLICT (issue_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		value, s.unix(), userID, issueID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, _, role, err := s.IssueFor(ctx, issueID, userID)
		switch {
		case err != nil:
			return err
		case role == RoleNone:
			return ErrNotMember
		}
		return ErrNotOpen
	}
	return nil
}

// Reveal closes the round of an open issue: the anonymous distribution is kept on
// the issue and the values are dropped from the estimates.
func (s *Store) Reveal(ctx context.Context, issueID int64, by User) (Issue, error) {
	var is Issue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		is, err = scanIssue(tx.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues i WHERE i.id = ?"+s.rowLock("i"), issueID))
		if err != nil {
			return err
		}
		if is.State != StateOpen {
			return ErrNotOpen
		}
		rows, err := tx.QueryContext(ctx, "SELECT value FROM estimates WHERE issue_id = ? AND value IS NOT NULL", issueID)
		if err != nil {
			return err
		}
		var values []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			values = append(values, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(values) == 0 {
			return ErrNoVotes
		}
		is.Result = ComputeResult(values)
		is.State = StateRevealed
		if _, err := tx.ExecContext(ctx, "UPDATE issues SET state = 'revealed', result = ? WHERE id = ?", is.Result.encode(), issueID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE estimates SET value = NULL WHERE issue_id = ?", issueID); err != nil {
			return err
		}
		if err := forgetVoters(ctx, tx, issueID, s.unix()); err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, is.GroupID, issueID, ActReveal, fmt.Sprintf("round %d, %d votes", is.Round, is.Result.Votes))
	})
	if err == nil {
		s.scrubFiles(ctx)
	}
	return is, err
}

// forgetVoters runs in a reveal's transaction, after the anonymous result is
// kept: nothing stored may still tie a value, or the time of a vote, to a person.
// The values go, every estimate of the issue gets the reveal's time (so the rows
// still say who took part, not when each voted), and the forms kept for the
// issue's estimate from signed-out browsers (a vote waiting for its sign-in)
// are deleted.
func forgetVoters(ctx context.Context, tx *sql.Tx, issueID, now int64) error {
	if _, err := tx.ExecContext(ctx, "UPDATE estimates SET value = NULL, updated_at = ? WHERE issue_id = ?", now, issueID); err != nil {
		return err
	}
	// The path the estimate form posts to (views.IssueEstimatePath).
	_, err := tx.ExecContext(ctx, "DELETE FROM pending_forms WHERE path = ?", "/issues/"+strconv.FormatInt(issueID, 10)+"/estimate")
	return err
}

// scrubFiles runs after a reveal's commit: the write-ahead log still holds the
// pages as they were before (with the values), so it is checkpointed into the
// database file, whose overwritten and freed content secure_delete has zeroed,
// and truncated. A checkpoint that cannot finish now (a read holding an old
// snapshot past the busy timeout, a full disk) is tried again by the next Purge;
// the reveal stands either way.
//
// On PostgreSQL the values are gone from the tables at the reveal's commit just
// the same, but the server keeps their old row versions until a vacuum, and its
// write-ahead log (and any archive or replica of it) until it is recycled: the
// next Purge vacuums the two tables that held values, and the rest is the
// operator's (see the README).
func (s *Store) scrubFiles(ctx context.Context) error {
	if s.pg {
		s.scrubDue.Store(true)
		return nil
	}
	var busy, frames, done int
	err := s.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done)
	if err == nil && busy != 0 {
		err = fmt.Errorf("%w: checkpoint blocked by a reader", ErrUnavailable)
	}
	s.scrubDue.Store(err != nil)
	return wrap(err)
}

// vacuumValues frees the dead row versions that held values or kept forms on
// PostgreSQL (VACUUM runs outside a transaction; SKIP_LOCKED leaves a table
// another vacuum holds for the next Purge).
func (s *Store) vacuumValues(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, "VACUUM (SKIP_LOCKED) estimates, pending_forms")
	if err == nil {
		s.scrubDue.Store(false)
	}
	return wrap(err)
}

// Accept stores the final estimate of a revealed (or already accepted) issue.
func (s *Store) Accept(ctx context.Context, issueID int64, by User, final int) error {
	if final < EstimateMin || final > EstimateMax {
		return ErrInvalid
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var groupID int64
		err := tx.QueryRowContext(ctx, "SELECT group_id FROM issues WHERE id = ?", issueID).Scan(&groupID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE issues SET state = 'accepted', final_estimate = ? WHERE id = ? AND state IN ('revealed', 'accepted')", final, issueID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotRevealed
		}
		return audit(ctx, tx, s.unix(), by, groupID, issueID, ActAccept, "final "+strconv.Itoa(final))
	})
}

// Revote starts a new round on a revealed issue: its estimates and result are
// cleared; no other issue is touched.
func (s *Store) Revote(ctx context.Context, issueID int64, by User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var groupID int64
		var round int
		err := tx.QueryRowContext(ctx, "UPDATE issues SET state = 'open', round = round + 1, result = NULL, final_estimate = NULL WHERE id = ? AND state = 'revealed' RETURNING group_id, round", issueID).Scan(&groupID, &round)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotRevealed
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM estimates WHERE issue_id = ?", issueID); err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, groupID, issueID, ActRevote, "round "+strconv.Itoa(round))
	})
}
