package store

import (
	"context"
	"database/sql"
	"time"
)

// AuditEvent is one line of the audit trail: who did what, when. It never holds an
// estimate value.
type AuditEvent struct {
	ID       int64
	At       time.Time
	Nickname string
	GroupID  int64
	IssueID  int64
	IssueKey string
	Action   string
	Detail   string
}

// Audit actions.
const (
	ActSignIn          = "user.signed_in"
	ActSignOut         = "user.signed_out"
	ActSignOutAll      = "user.signed_out_everywhere"
	ActBrowserRevoked  = "user.browser_revoked"
	ActOwnershipChange = "group.owner_changed"
	ActReveal          = "issue.revealed"
	ActAccept          = "issue.accepted"
	ActRevote          = "issue.new_round"
	// An issue tracker connected (detail: "jira SHOP", its kind and project)
	// or disconnected.
	ActTrackerConnected    = "group.tracker_connected"
	ActTrackerDisconnected = "group.tracker_disconnected"
)

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const insertEvent = `INSERT INTO events (at, user_id, nickname, group_id, issue_id, action, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`

func audit(ctx context.Context, tx execer, at int64, u User, groupID, issueID int64, action, detail string) error {
	_, err := tx.ExecContext(ctx, insertEvent, at, nullID(u.ID), u.Nickname, nullID(groupID), nullID(issueID), action, detail)
	return err
}

// Audit records an event outside of another transaction, with a prepared
// statement: every sign-in writes one.
func (s *Store) Audit(ctx context.Context, u User, groupID, issueID int64, action, detail string) error {
	_, err := s.exec(ctx, insertEvent, s.unix(), nullID(u.ID), u.Nickname, nullID(groupID), nullID(issueID), action, detail)
	return err
}

// GroupEvents lists the newest audit events of a group, newest first.
func (s *Store) GroupEvents(ctx context.Context, groupID int64, limit int) ([]AuditEvent, error) {
	rows, err := s.query(ctx, `SELECT e.id, e.at, e.nickname, COALESCE(e.group_id, 0), COALESCE(e.issue_id, 0), COALESCE(i.key, ''), e.action, e.detail
		FROM events e LEFT JOIN issues i ON i.id = e.issue_id
		WHERE e.group_id = ? ORDER BY e.id DESC LIMIT ?`, groupID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Nickname, &e.GroupID, &e.IssueID, &e.IssueKey, &e.Action, &e.Detail); err != nil {
			return nil, wrap(err)
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, wrap(rows.Err())
}

// UserEvents lists the newest audit events about a user, newest first.
func (s *Store) UserEvents(ctx context.Context, userID int64, limit int) ([]AuditEvent, error) {
	rows, err := s.query(ctx, `SELECT e.id, e.at, e.nickname, COALESCE(e.group_id, 0), COALESCE(e.issue_id, 0), COALESCE(i.key, ''), e.action, e.detail
		FROM events e LEFT JOIN issues i ON i.id = e.issue_id
		WHERE e.user_id = ? ORDER BY e.id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Nickname, &e.GroupID, &e.IssueID, &e.IssueKey, &e.Action, &e.Detail); err != nil {
			return nil, wrap(err)
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, wrap(rows.Err())
}
