package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"
)

// Session is a server-side session row. The token that names it lives only in the
// browser's cookie; the row keeps its hash.
type Session struct {
	ID         int64
	UserID     int64
	Remember   bool
	Data       []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// BrowserKey is the browser key a sign-in used (never stored: the session
	// row points at the key's tie to the user, so revoking the key ends it).
	BrowserKey string
}

// SessionPolicy says how long sessions live, measured on server-side timestamps.
type SessionPolicy struct {
	// Idle ends a session not used for this long (sessions without "remember me").
	Idle time.Duration
	// Lifetime is the absolute lifetime of a session without "remember me".
	Lifetime time.Duration
	// Remember is the absolute lifetime of a "remember me" session.
	Remember time.Duration
	// Anonymous ends a session nobody signed in to (it holds a kept form, a
	// provider sign-in under way, a notice) not used for this long; 0: Idle.
	Anonymous time.Duration
}

// DefaultSessionPolicy: 12 hours idle, 7 days at most, 30 days when
// remembered; 30 minutes idle for a session nobody signed in to.
var DefaultSessionPolicy = SessionPolicy{Idle: 12 * time.Hour, Lifetime: 7 * 24 * time.Hour, Remember: 30 * 24 * time.Hour,
	Anonymous: 30 * time.Minute}

// ErrAnonymousFull: the sessions nobody signed in to are at their cap
// (Options.AnonymousSessionsMax); no more is stored until some expire.
var ErrAnonymousFull = errors.New("no room for more sessions of visitors who are not signed in")

// idle is how long a session may go unused: anonymous, one nobody signed in to.
func (p SessionPolicy) idle(anonymous bool) time.Duration {
	if anonymous && p.Anonymous > 0 {
		return p.Anonymous
	}
	return p.Idle
}

// touchEvery limits last_seen_at writes: idle time is measured to this precision.
const touchEvery = time.Minute

// LoadSession finds the live session named by token and its user. An unknown,
// expired or idle session is ErrNotFound (and an expired row is removed). The user
// is Anonymous when the session has none, or when it is gone or deactivated.
func (s *Store) LoadSession(ctx context.Context, token string, p SessionPolicy) (Session, User, error) {
	if token == "" {
		return Session{}, Anonymous, ErrNotFound
	}
	key := [32]byte(HashToken(token))
	gen, cached := s.generation(ctx)
	var r sessionRow
	hit := false
	if cached {
		r, hit = s.cache.sessions.get(gen, key)
	}
	if !hit {
		var err error
		if r, err = s.sessionRow(ctx, key[:]); err != nil {
			return Session{}, Anonymous, err
		}
		if cached {
			s.cache.sessions.put(gen, key, r)
		}
	}
	ss := r.ss
	ss.Data = slices.Clone(r.ss.Data)
	now := s.now()
	if idle := p.idle(r.anonymous); !now.Before(ss.ExpiresAt) || (!ss.Remember && idle > 0 && now.Sub(ss.LastSeenAt) >= idle) {
		// Expired either way; if the row cannot be removed now, Purge will.
		s.exec(ctx, "DELETE FROM sessions WHERE id = ?", ss.ID)
		return Session{}, Anonymous, ErrNotFound
	}
	if now.Sub(ss.LastSeenAt) >= touchEvery {
		// A database that takes no writes (read-only, full) still serves pages:
		// the idle clock just is not moved this time.
		if _, err := s.exec(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id = ?", now.Unix(), ss.ID); err == nil {
			ss.LastSeenAt = time.Unix(now.Unix(), 0)
		}
	}
	u := Anonymous
	if r.user.ID != 0 && r.user.Active {
		ss.UserID = r.user.ID
		u = r.user
	}
	return ss, u, nil
}

// sessionRow is a session row and its user as stored, before the rules of
// time and deactivation: what the cache keeps.
type sessionRow struct {
	ss   Session
	user User // zero ID: no user
	// anonymous: nobody signed in to it (no user_id).
	anonymous bool
}

func (s *Store) sessionRow(ctx context.Context, tokenHash []byte) (sessionRow, error) {
	row, err := s.queryRow(ctx, `SELECT s.id, s.remember, s.data, s.created_at, s.last_seen_at, s.expires_at, s.user_id IS NULL,
			u.id, u.nickname, u.active, u.created_at, u.lang
		FROM sessions s LEFT JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ?`, tokenHash)
	if err != nil {
		return sessionRow{}, err
	}
	var (
		r                      sessionRow
		created, seen, expires int64
		uid, ucreated          sql.NullInt64
		nick, lang             sql.NullString
		active                 sql.NullBool
	)
	err = row.Scan(&r.ss.ID, &r.ss.Remember, &r.ss.Data, &created, &seen, &expires, &r.anonymous, &uid, &nick, &active, &ucreated, &lang)
	if errors.Is(err, sql.ErrNoRows) {
		return sessionRow{}, ErrNotFound
	}
	if err != nil {
		return sessionRow{}, wrap(err)
	}
	r.ss.CreatedAt, r.ss.LastSeenAt, r.ss.ExpiresAt = time.Unix(created, 0), time.Unix(seen, 0), time.Unix(expires, 0)
	if uid.Valid {
		r.user = User{ID: uid.Int64, Nickname: nick.String, Active: active.Bool, CreatedAt: time.Unix(ucreated.Int64, 0), Lang: lang.String}
	}
	return r, nil
}

// CreateSession stores a new session and returns the token that names it.
func (s *Store) CreateSession(ctx context.Context, userID int64, remember bool, data []byte, p SessionPolicy) (Session, string, error) {
	return s.CreateSessionFrom(ctx, Session{UserID: userID, Remember: remember, Data: data}, p)
}

// CreateSessionFrom stores a new session with the user, "remember" setting, data
// and browser key of ss, and returns it with the token that names it.
func (s *Store) CreateSessionFrom(ctx context.Context, ss Session, p SessionPolicy) (Session, string, error) {
	tok := NewToken()
	now := s.now()
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = now, now, now.Add(p.lifetime(ss.Remember))
	var id int64
	var err error
	if ss.UserID == 0 {
		// Nobody signed in: stored only under the cap of such rows, counted in
		// the same transaction (the writer's one at a time, on SQLite).
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM sessions WHERE user_id IS NULL LIMIT ?) a", s.anonMax).Scan(&n); err != nil {
				return err
			}
			if n >= s.anonMax {
				return ErrAnonymousFull
			}
			return tx.QueryRowContext(ctx, `INSERT INTO sessions (token_hash, user_id, remember, data, created_at, last_seen_at, expires_at)
				VALUES (?, NULL, ?, ?, ?, ?, ?) RETURNING id`, HashToken(tok), ss.Remember, ss.Data, now.Unix(), now.Unix(), ss.ExpiresAt.Unix()).Scan(&id)
		})
	} else {
		id, err = s.insert(ctx, `INSERT INTO sessions (token_hash, user_id, remember, data, created_at, last_seen_at, expires_at, browser_key_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, `+browserKeyIDOf+`) RETURNING id`, HashToken(tok), nullID(ss.UserID), ss.Remember, ss.Data, now.Unix(), now.Unix(), ss.ExpiresAt.Unix(),
			browserKeyHash(ss.BrowserKey), ss.UserID)
	}
	if err != nil {
		return Session{}, "", err
	}
	ss.ID = id
	return ss, tok, nil
}

// UpdateSession stores the session's data, for the holder of token only: a
// request still carrying a token that a sign-in has since replaced (another tab)
// cannot write over the signed-in session (ErrNotFound). With rotate the session
// also gets its user and "remember" setting and a new token (returned), and its
// lifetime starts again: this is how sign-in changes the session identifier
// while what is bound to the row (kept forms) stays.
func (s *Store) UpdateSession(ctx context.Context, ss Session, token string, rotate bool, p SessionPolicy) (string, error) {
	if !rotate {
		res, err := s.exec(ctx, "UPDATE sessions SET data = ? WHERE id = ? AND token_hash = ?", ss.Data, ss.ID, HashToken(token))
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "", ErrNotFound
		}
		return "", nil
	}
	tok := NewToken()
	now := s.now()
	res, err := s.exec(ctx, `UPDATE sessions SET token_hash = ?, user_id = ?, remember = ?, data = ?,
		created_at = ?, last_seen_at = ?, expires_at = ?, browser_key_id = `+browserKeyIDOf+` WHERE id = ? AND token_hash = ?`,
		HashToken(tok), nullID(ss.UserID), ss.Remember, ss.Data, now.Unix(), now.Unix(), now.Add(p.lifetime(ss.Remember)).Unix(),
		browserKeyHash(ss.BrowserKey), ss.UserID, ss.ID, HashToken(token))
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", ErrNotFound
	}
	return tok, nil
}

// DeleteSession ends a session; what was bound to it (kept forms) goes with it.
func (s *Store) DeleteSession(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, "DELETE FROM sessions WHERE id = ?", id)
	if err == nil {
		s.sessionsEnded([]int64{id})
	}
	return err
}

// DeleteUserSessions ends every session of a user ("sign out everywhere") and
// returns the ids of the sessions that ended.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) ([]int64, error) {
	var ids []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = deleteSessions(ctx, tx, "DELETE FROM sessions WHERE user_id = ? RETURNING id", userID)
		return err
	})
	if err == nil {
		s.sessionsEnded(ids)
	}
	return ids, err
}

// deleteSessions runs a DELETE … RETURNING id on sessions and collects the ids.
func deleteSessions(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SessionAlive reports whether the session row still exists and belongs to userID;
// long-lived streams use it to notice a sign-out or deactivation elsewhere.
func (s *Store) SessionAlive(ctx context.Context, id, userID int64, p SessionPolicy) (bool, error) {
	row, err := s.queryRow(ctx, `SELECT s.remember, s.last_seen_at, s.expires_at, u.active
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.user_id = ?`, id, userID)
	if err != nil {
		return false, err
	}
	var (
		remember, active bool
		seen, expires    int64
	)
	if err := row.Scan(&remember, &seen, &expires, &active); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, wrap(err)
	}
	now := s.now()
	if !active || now.Unix() >= expires || (!remember && p.Idle > 0 && now.Sub(time.Unix(seen, 0)) >= p.Idle) {
		return false, nil
	}
	return true, nil
}

func (p SessionPolicy) lifetime(remember bool) time.Duration {
	if remember {
		return p.Remember
	}
	return p.Lifetime
}

// browserKeyIDOf finds the tie of a browser key (hash, then user id) to its
// user, for a session to point at; NULL when there is none.
const browserKeyIDOf = "(SELECT id FROM browser_keys WHERE key_hash = ? AND user_id = ?)"

func browserKeyHash(key string) []byte {
	if key == "" {
		return nil
	}
	return HashToken(key)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
