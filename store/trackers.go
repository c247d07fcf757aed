package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// sealedPrefix marks a token sealed with the server's key.
const sealedPrefix = "sealed1:"

func newSealer(key []byte) cipher.AEAD {
	if len(key) == 0 {
		return nil
	}
	k := sha256.Sum256(key)
	block, _ := aes.NewCipher(k[:])
	aead, _ := cipher.NewGCM(block)
	return aead
}

// seal is how a token is stored: sealed with the server's key if it has one.
func (s *Store) seal(token string) string {
	if s.sealer == nil {
		return token
	}
	nonce := make([]byte, s.sealer.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.sealer.Seal(nonce, nonce, []byte(token), []byte("tracker-token")))
}

// ErrTokenSealed is a stored token this server cannot open: it was sealed with
// another key, or this server has none.
var ErrTokenSealed = errors.New("the tracker's token was stored with another key (--tracker-key-file): connect the group again")

// open reads a stored token.
func (s *Store) open(stored string) (string, error) {
	b64, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if s.sealer == nil || err != nil || len(raw) < s.sealer.NonceSize() {
		return "", ErrTokenSealed
	}
	n := s.sealer.NonceSize()
	plain, err := s.sealer.Open(nil, raw[:n], raw[n:], []byte("tracker-token"))
	if err != nil {
		return "", ErrTokenSealed
	}
	return string(plain), nil
}

// TrackerState is where writing an accepted estimate back to the tracker
// stands.
type TrackerState string

const (
	TrackerWaiting TrackerState = "waiting"
	TrackerSent    TrackerState = "sent"
	TrackerFailed  TrackerState = "failed"
)

// TrackerConn is a group's connection to its issue tracker. Token is never
// shown again once stored: pages show TokenEnd.
type TrackerConn struct {
	Kind, BaseURL, Token, Project, Field string
	ConnectedAt                          time.Time
}

// TokenEnd is the last 4 characters of the token, all a page shows of it.
func (c TrackerConn) TokenEnd() string {
	r := []rune(c.Token)
	if len(r) <= 8 {
		return ""
	}
	return string(r[len(r)-4:])
}

// ConnectTracker connects a group to a tracker, replacing any connection it
// had. The caller has checked the connection with the tracker.
func (s *Store) ConnectTracker(ctx context.Context, groupID int64, c TrackerConn, by User) error {
	if c.Kind == "" || c.BaseURL == "" || c.Token == "" || c.Project == "" {
		return ErrInvalid
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO group_trackers (group_id, kind, base_url, token, project, field, connected_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (group_id) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, token = excluded.token,
				project = excluded.project, field = excluded.field, connected_at = excluded.connected_at`,
			groupID, c.Kind, c.BaseURL, s.seal(c.Token), c.Project, c.Field, s.unix())
		if err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, groupID, 0, ActTrackerConnected, c.Kind+" "+c.Project)
	})
	if err != nil {
		return err
	}
	s.tell(Change{Kind: GroupChanged, Group: groupID})
	return nil
}

// DisconnectTracker forgets a group's tracker and its token. Writes still
// waiting fail: there is nothing to write them to.
func (s *Store) DisconnectTracker(ctx context.Context, groupID int64, by User) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM group_trackers WHERE group_id = ?", groupID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE tracker_outbox SET state = 'failed', last_error = ?, lease_until = 0, updated_at = ?
			WHERE state = 'waiting' AND issue_id IN (SELECT id FROM issues WHERE group_id = ?)`,
			"The group was disconnected from its tracker.", s.unix(), groupID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, groupID, 0, ActTrackerDisconnected, "")
	})
	if err != nil {
		return err
	}
	s.tell(Change{Kind: GroupChanged, Group: groupID})
	return nil
}

// GroupTracker is a group's connection (ErrNotFound: none).
func (s *Store) GroupTracker(ctx context.Context, groupID int64) (TrackerConn, error) {
	row, err := s.queryRow(ctx, "SELECT kind, base_url, token, project, field, connected_at FROM group_trackers WHERE group_id = ?", groupID)
	if err != nil {
		return TrackerConn{}, err
	}
	var c TrackerConn
	var at int64
	err = row.Scan(&c.Kind, &c.BaseURL, &c.Token, &c.Project, &c.Field, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return TrackerConn{}, ErrNotFound
	}
	if err != nil {
		return TrackerConn{}, wrap(err)
	}
	c.ConnectedAt = time.Unix(at, 0)
	if c.Token, err = s.open(c.Token); err != nil {
		// Still connected: the page says so, and a new connection replaces it.
		c.Token = ""
	}
	return c, nil
}

// TrackerIssue is an issue read from a tracker, to import.
type TrackerIssue struct {
	Key, Title, Body string
	// Ref names it in the tracker's API, URL is its web page.
	Ref, URL string
}

// trackerRow is the issue as Estimator keeps it: the description begins with
// the title, then the body, cut to fit.
func (t TrackerIssue) input() (IssueInput, bool) {
	desc := t.Title
	if t.Body != "" {
		desc += "\n\n" + t.Body
	}
	short := false
	if utf8.RuneCountInString(desc) > IssueDescriptionMax {
		desc = string([]rune(desc)[:IssueDescriptionMax-1]) + "…"
		short = true
	}
	in, _ := ValidateIssue(t.Key, desc)
	return in, short
}

// TrackerPreviewRow is a row of the import preview.
type TrackerPreviewRow struct {
	TrackerIssue
	Description string
	// Update: the group has this issue already; its description is updated.
	Update    bool
	Shortened bool
}

// PreviewTrackerImport says what importing the issues would do: add or
// update each.
func (s *Store) PreviewTrackerImport(ctx context.Context, groupID int64, issues []TrackerIssue) ([]TrackerPreviewRow, error) {
	keys, err := groupKeys(ctx, s.r, groupID)
	if err != nil {
		return nil, err
	}
	out := make([]TrackerPreviewRow, 0, len(issues))
	for _, t := range issues {
		in, short := t.input()
		_, have := keys[NicknameKey(in.Key)]
		out = append(out, TrackerPreviewRow{TrackerIssue: t, Description: in.Description, Update: have, Shortened: short})
	}
	return out, nil
}

// ImportTrackerIssues adds the issues to a group, in one transaction, each
// with its tracker reference and link; an issue the group has already (the
// same key) gets the tracker's description, reference and link instead of
// being refused. Sent again with the same once, nothing happens (made false).
func (s *Store) ImportTrackerIssues(ctx context.Context, userID, groupID int64, issues []TrackerIssue, once Once) (added, updated int, made bool, err error) {
	if len(issues) == 0 {
		return 0, 0, false, ErrNothingToImport
	}
	if len(issues) > ImportMaxRows {
		return 0, 0, false, ErrInvalid
	}
	for _, t := range issues {
		if in, _ := t.input(); in.Key == "" || t.Ref == "" {
			return 0, 0, false, ErrInvalid
		}
	}
	err = s.txRecheck(ctx, func(tx *sql.Tx) error {
		added, updated = 0, 0
		now := s.unix()
		first, isFirst, err := claimOnce(ctx, tx, now, userID, onceImport, once, "")
		if err != nil {
			return err
		}
		if made = isFirst; !made {
			added = int(first)
			return nil
		}
		keys, err := groupKeys(ctx, tx, groupID)
		if err != nil {
			return err
		}
		// Where the issues come from: their estimates go back there only,
		// not to a tracker connected later.
		var from string
		err = tx.QueryRowContext(ctx, "SELECT base_url || ' ' || project FROM group_trackers WHERE group_id = ?", groupID).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, t := range issues {
			in, _ := t.input()
			fold := NicknameKey(in.Key)
			if _, have := keys[fold]; have {
				if _, err := tx.ExecContext(ctx, "UPDATE issues SET description = ?, tracker_ref = ?, tracker_url = ?, tracker_from = ? WHERE group_id = ? AND key_fold = ?",
					in.Description, t.Ref, nullable(t.URL), from, groupID, fold); err != nil {
					return err
				}
				updated++
				continue
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO issues (group_id, key, key_fold, description, created_at, tracker_ref, tracker_url, tracker_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				groupID, in.Key, fold, in.Description, now, t.Ref, nullable(t.URL), from); err != nil {
				return err
			}
			keys[fold] = in.Key
			added++
		}
		return doneOnce(ctx, tx, userID, once, int64(added))
	})
	if err != nil {
		return 0, 0, false, err
	}
	if made {
		s.tell(Change{Kind: IssuesAdded, Group: groupID})
	}
	return added, updated, made, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TrackerSettle is how long a write waits after an accept or a retry before
// it is due: the answer to the click that queued it (saying "waiting")
// reaches the browser first, and the live update saying "sent" comes after
// it instead of being overwritten by it.
const TrackerSettle = time.Second

// queueTrackerWrite keeps the accepted value of an imported issue of a
// connected group for the tracker, in the accept's transaction. A new value
// replaces one not sent yet (seq grows, so a send of the old value under way
// does not count as the new one's).
func (s *Store) queueTrackerWrite(ctx context.Context, tx *sql.Tx, issueID int64, value int) error {
	now := s.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO tracker_outbox (issue_id, value, seq, state, attempts, next_at, last_error, updated_at)
		SELECT i.id, ?, 1, 'waiting', 0, ?, '', ? FROM issues i JOIN group_trackers t ON t.group_id = i.group_id
		WHERE i.id = ? AND i.tracker_ref IS NOT NULL AND i.tracker_from = t.base_url || ' ' || t.project
		ON CONFLICT (issue_id) DO UPDATE SET value = excluded.value, seq = tracker_outbox.seq + 1, state = 'waiting',
			attempts = 0, next_at = excluded.next_at, last_error = '', updated_at = excluded.updated_at`,
		value, now.Add(TrackerSettle).UnixMilli(), now.Unix(), issueID)
	return err
}

// TrackerWrite is an accepted estimate to write to a tracker, claimed by one
// sender until its lease lapses.
type TrackerWrite struct {
	IssueID, GroupID int64
	Value            int
	Seq              int64
	Attempts         int
	// Ref is the issue in the tracker; Conn the group's connection (Kind
	// empty: the group has none any more).
	Ref  string
	Conn TrackerConn
}

// ClaimTrackerWrites claims up to limit writes that are due, for lease: no
// other sender (on this instance or another) gets them until it lapses or
// the write is finished. On PostgreSQL, instances claiming at once skip each
// other's rows (FOR UPDATE SKIP LOCKED); SQLite's one writer claims alone.
func (s *Store) ClaimTrackerWrites(ctx context.Context, lease time.Duration, limit int) ([]TrackerWrite, error) {
	now := s.now().UnixMilli()
	skip := ""
	if s.pg {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var out []TrackerWrite
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE tracker_outbox SET lease_until = ?
			WHERE issue_id IN (SELECT issue_id FROM tracker_outbox WHERE state = 'waiting' AND next_at <= ? AND lease_until <= ?
				ORDER BY next_at LIMIT ?`+skip+`)
			AND state = 'waiting' AND lease_until <= ?
			RETURNING issue_id, value, seq, attempts`, now+lease.Milliseconds(), now, now, limit, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var w TrackerWrite
			if err := rows.Scan(&w.IssueID, &w.Value, &w.Seq, &w.Attempts); err != nil {
				rows.Close()
				return err
			}
			out = append(out, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			w := &out[i]
			err := tx.QueryRowContext(ctx, `SELECT i.group_id, COALESCE(i.tracker_ref, ''), COALESCE(t.kind, ''), COALESCE(t.base_url, ''),
					COALESCE(t.token, ''), COALESCE(t.project, ''), COALESCE(t.field, '')
				FROM issues i LEFT JOIN group_trackers t ON t.group_id = i.group_id AND i.tracker_from = t.base_url || ' ' || t.project
				WHERE i.id = ?`, w.IssueID).
				Scan(&w.GroupID, &w.Ref, &w.Conn.Kind, &w.Conn.BaseURL, &w.Conn.Token, &w.Conn.Project, &w.Conn.Field)
			if err != nil {
				return err
			}
			if w.Conn.Token, err = s.open(w.Conn.Token); err != nil {
				w.Conn.Token = "" // the sender fails it with ErrTokenSealed's words
			}
		}
		return nil
	})
	return out, err
}

// TrackerOutcome is how a write ended: sent (Err ""), to try again after
// RetryIn, or failed for good.
type TrackerOutcome struct {
	Err     string
	RetryIn time.Duration
	Failed  bool
}

// FinishTrackerWrite records how a claimed write ended. A value accepted
// since the claim (another seq) stays waiting, to be sent next.
func (s *Store) FinishTrackerWrite(ctx context.Context, w TrackerWrite, o TrackerOutcome) error {
	state, next := TrackerSent, int64(0)
	switch {
	case o.Err == "":
	case o.Failed:
		state = TrackerFailed
	default:
		state, next = TrackerWaiting, s.now().Add(max(o.RetryIn, time.Millisecond)).UnixMilli()
	}
	msg := o.Err
	if utf8.RuneCountInString(msg) > 500 {
		msg = string([]rune(msg)[:499]) + "…"
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tracker_outbox SET state = ?, attempts = attempts + 1, next_at = CASE WHEN CAST(? AS BIGINT) > 0 THEN CAST(? AS BIGINT) ELSE next_at END,
				lease_until = 0, last_error = ?, updated_at = ?
			WHERE issue_id = ? AND seq = ?`, state, next, next, msg, s.unix(), w.IssueID, w.Seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = tx.ExecContext(ctx, "UPDATE tracker_outbox SET lease_until = 0 WHERE issue_id = ?", w.IssueID)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.tell(Change{Kind: IssueChanged, Group: w.GroupID, Issue: w.IssueID})
	return nil
}

// RetryTrackerWrite sends an issue's failed (or waiting) write again now.
// ErrNotFound: there is nothing to write; ErrInvalid: it was sent.
func (s *Store) RetryTrackerWrite(ctx context.Context, issueID int64) error {
	var groupID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state TrackerState
		err := tx.QueryRowContext(ctx, "SELECT i.group_id, o.state FROM tracker_outbox o JOIN issues i ON i.id = o.issue_id WHERE o.issue_id = ?"+s.rowLock("o"), issueID).Scan(&groupID, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state == TrackerSent {
			return ErrInvalid
		}
		_, err = tx.ExecContext(ctx, "UPDATE tracker_outbox SET state = 'waiting', attempts = 0, next_at = ?, last_error = '', updated_at = ? WHERE issue_id = ?",
			s.now().Add(TrackerSettle).UnixMilli(), s.unix(), issueID)
		return err
	})
	if err != nil {
		return err
	}
	s.tell(Change{Kind: IssueChanged, Group: groupID, Issue: issueID})
	return nil
}
