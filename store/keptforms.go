package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// A kept form: a POST that reached a protected endpoint while signed out, held
// server-side for its browser session until the person signs in.
type KeptForm struct {
	ID        int64
	SessionID int64
	Method    string
	Path      string
	Body      []byte
	CreatedAt time.Time
}

const (
	// KeptFormTTL is how long a kept form waits for its sign-in.
	KeptFormTTL = 15 * time.Minute
	// KeptFormMaxBytes caps a kept form's body.
	KeptFormMaxBytes = 64 << 10
	// keptFormsPerSession bounds what one browser session can park here.
	keptFormsPerSession = 10
)

// ErrKeptFormsFull: the kept forms of everyone together are at their cap
// (Options.KeptFormsMaxBytes); nothing more is kept until some expire.
var ErrKeptFormsFull = errors.New("no room for more kept forms")

// Why a kept form cannot be replayed.
var (
	ErrFormUsed    = errors.New("this form was already submitted")
	ErrFormExpired = errors.New("this form expired")
	ErrFormForeign = errors.New("this form belongs to another browser session")
)

// KeepForm stores a form for the session and returns the opaque reference to it.
func (s *Store) KeepForm(ctx context.Context, sessionID int64, method, path string, body []byte) (string, error) {
	if len(body) > KeptFormMaxBytes {
		return "", ErrInvalid
	}
	ref := NewToken()
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// An expired form's body is no longer needed (its row still says
		// "expired" for a while): it stops taking room now, not at the purge.
		if _, err := tx.ExecContext(ctx, "UPDATE kept_forms SET body = "+s.noBytes()+" WHERE expires_at <= ? AND length(body) > 0", now.Unix()); err != nil {
			return err
		}
		var used int64
		var rows int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(SUM(length(body)), 0), COUNT(*) FROM kept_forms WHERE length(body) > 0 OR expires_at > ?", now.Unix()).Scan(&used, &rows); err != nil {
			return err
		}
		if used+int64(len(body)) > s.keptMax || rows >= s.keptRows {
			return ErrKeptFormsFull
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kept_forms (ref_hash, session_id, method, path, body, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, HashToken(ref), sessionID, method, path, body, now.Unix(), now.Add(KeptFormTTL).Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM kept_forms WHERE session_id = ? AND id NOT IN
			(SELECT id FROM kept_forms WHERE session_id = ? ORDER BY id DESC LIMIT ?)`, sessionID, sessionID, keptFormsPerSession)
		return err
	})
	if err != nil {
		return "", err
	}
	return ref, nil
}

// TakeForm claims the kept form named by ref for the session, once: a second take,
// an expired form, another session's form or an unknown reference is an error and
// nothing changes.
func (s *Store) TakeForm(ctx context.Context, ref string, sessionID int64) (KeptForm, error) {
	var f KeptForm
	if ref == "" {
		return f, ErrNotFound
	}
	now := s.unix()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			created, expires int64
			used             sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT id, session_id, method, path, body, created_at, expires_at, used_at
			FROM kept_forms f WHERE ref_hash = ?`+s.rowLock("f"), HashToken(ref)).
			Scan(&f.ID, &f.SessionID, &f.Method, &f.Path, &f.Body, &created, &expires, &used)
		if err := replayable(err, f.SessionID, sessionID, used, expires, now); err != nil {
			return err
		}
		f.CreatedAt = time.Unix(created, 0)
		// The row stays a while to say "already submitted"; what was in the
		// form (a vote, say) does not.
		_, err = tx.ExecContext(ctx, "UPDATE kept_forms SET used_at = ?, body = "+s.noBytes()+" WHERE id = ?", now, f.ID)
		return err
	})
	if err != nil {
		return KeptForm{}, err
	}
	return f, nil
}

// PeekForm reads the kept form named by ref for the session without using
// it, for the page that shows what it would send; errors as TakeForm's.
func (s *Store) PeekForm(ctx context.Context, ref string, sessionID int64) (KeptForm, error) {
	var f KeptForm
	if ref == "" {
		return f, ErrNotFound
	}
	row, err := s.queryRow(ctx, `SELECT id, session_id, method, path, body, created_at, expires_at, used_at
		FROM kept_forms WHERE ref_hash = ?`, HashToken(ref))
	if err != nil {
		return f, err
	}
	var (
		created, expires int64
		used             sql.NullInt64
	)
	err = row.Scan(&f.ID, &f.SessionID, &f.Method, &f.Path, &f.Body, &created, &expires, &used)
	if err := replayable(err, f.SessionID, sessionID, used, expires, s.unix()); err != nil {
		return KeptForm{}, wrap(err)
	}
	f.CreatedAt = time.Unix(created, 0)
	return f, nil
}

// KeptFormsRoom reports whether a kept form of n bytes would fit under the cap
// now; KeepForm checks again when it stores one.
func (s *Store) KeptFormsRoom(ctx context.Context, n int) (bool, error) {
	row, err := s.queryRow(ctx, "SELECT COALESCE(SUM(length(body)), 0), COUNT(*) FROM kept_forms WHERE expires_at > ?", s.unix())
	if err != nil {
		return false, err
	}
	var used int64
	var rows int
	if err := row.Scan(&used, &rows); err != nil {
		return false, wrap(err)
	}
	return used+int64(n) <= s.keptMax && rows < s.keptRows, nil
}

// CheckForm tells, without using it, whether ref names a form the session can
// still replay (nil), or why not.
func (s *Store) CheckForm(ctx context.Context, ref string, sessionID int64) error {
	row, err := s.queryRow(ctx, "SELECT session_id, expires_at, used_at FROM kept_forms WHERE ref_hash = ?", HashToken(ref))
	if err != nil {
		return err
	}
	var (
		sid, expires int64
		used         sql.NullInt64
	)
	err = row.Scan(&sid, &expires, &used)
	return wrap(replayable(err, sid, sessionID, used, expires, s.unix()))
}

// replayable says why a kept form read with scanErr cannot be replayed by
// sessionID now, or nil when it can.
func replayable(scanErr error, owner, sessionID int64, used sql.NullInt64, expires, now int64) error {
	switch {
	case errors.Is(scanErr, sql.ErrNoRows):
		return ErrNotFound
	case scanErr != nil:
		return scanErr
	case owner != sessionID:
		return ErrFormForeign
	case used.Valid:
		return ErrFormUsed
	case now >= expires:
		return ErrFormExpired
	}
	return nil
}

// KeptFormCount counts the unused kept forms of a session.
func (s *Store) KeptFormCount(ctx context.Context, sessionID int64) (int, error) {
	row, err := s.queryRow(ctx, "SELECT COUNT(*) FROM kept_forms WHERE session_id = ? AND used_at IS NULL", sessionID)
	if err != nil {
		return 0, err
	}
	var n int
	return n, wrap(row.Scan(&n))
}

// Purge removes what has expired: sessions past their lifetime or idle limit
// (their kept forms go with them), kept forms an hour past their expiry (so a
// late reference still says "expired" or "already submitted" for a while rather
// than "unknown"), and browser keys unused for keyAge.
func (s *Store) Purge(ctx context.Context, p SessionPolicy, keyAge time.Duration) (int64, error) {
	now := s.now()
	var total int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			// Idle 0 means no idle limit, as in LoadSession.
			{"DELETE FROM sessions WHERE expires_at <= ? OR (remember = 0 AND CAST(? AS BIGINT) > 0 AND last_seen_at <= ?)", []any{now.Unix(), int64(p.Idle), now.Add(-p.Idle).Unix()}},
			// Sessions nobody signed in to go after their own, shorter idle time.
			{"DELETE FROM sessions WHERE user_id IS NULL AND remember = 0 AND CAST(? AS BIGINT) > 0 AND last_seen_at <= ?", []any{int64(p.idle(true)), now.Add(-p.idle(true)).Unix()}},
			{"DELETE FROM kept_forms WHERE expires_at <= ?", []any{now.Add(-time.Hour).Unix()}},
			{"UPDATE kept_forms SET body = " + s.noBytes() + " WHERE expires_at <= ? AND length(body) > 0", []any{now.Unix()}},
			{"DELETE FROM browser_keys WHERE last_used_at <= ?", []any{now.Add(-keyAge).Unix()}},
			{"DELETE FROM once_tokens WHERE created_at <= ?", []any{now.Add(-onceTTL).Unix()}},
		} {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	if err == nil && s.scrubDue.Load() {
		err = s.scrubFiles(ctx)
		if s.pg {
			err = s.vacuumValues(ctx, true)
		}
	}
	return total, err
}
