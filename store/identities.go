package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// HeaderIssuer is the issuer of identities named by the trusted proxy header: the
// proxy vouches for the name the way a provider vouches for a subject.
const HeaderIssuer = "header"

// UserByIdentity finds the user linked to the provider's (issuer, subject). A
// deactivated user is returned too (Active false): the caller refuses them with
// the right message. Unknown: ErrNotFound.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (User, error) {
	row, err := s.queryRow(ctx, `SELECT u.id, u.nickname, u.active, u.created_at, u.lang
		FROM identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = ? AND i.subject = ?`, issuer, subject)
	if err != nil {
		return User{}, err
	}
	return scanUser(row)
}

// ClaimIdentity makes the user for a first sign-in of (issuer, subject) with the
// nickname nick, and links them. The nickname goes through ClaimNickname, so the
// same rules and the same "taken" check apply as on the nickname form; it is
// offered a browser key that no browser holds (and that is dropped at once), so
// the claim can only make a new user, never match an existing one: a provider's
// user never becomes a guest who happened to pick the same name. Errors:
// ErrInvalid, ErrNicknameTaken (a deactivated user's nickname included). When
// the identity was linked meanwhile (a second tab), that user is returned.
func (s *Store) ClaimIdentity(ctx context.Context, issuer, subject, nick string) (User, error) {
	if issuer == "" || subject == "" {
		return User{}, ErrInvalid
	}
	if u, err := s.UserByIdentity(ctx, issuer, subject); err == nil {
		return u, nil
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	u, created, err := s.ClaimNickname(ctx, nick, NewToken())
	switch {
	case errors.Is(err, ErrInactive):
		return User{}, ErrNicknameTaken
	case err != nil:
		return User{}, err
	case !created:
		// Unreachable with a key nobody holds; refused rather than linked.
		return User{}, ErrNicknameTaken
	}
	now := s.unix()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)",
			issuer, subject, u.ID, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM browser_keys WHERE user_id = ?", u.ID)
		return err
	})
	if err != nil {
		// Nobody can sign in as the user just made: take it back, so the
		// nickname is free again.
		if derr := s.DeleteUser(ctx, u.ID); derr != nil {
			return User{}, errors.Join(err, derr)
		}
		if isUniqueViolation(err) {
			return s.UserByIdentity(ctx, issuer, subject)
		}
		return User{}, err
	}
	return u, nil
}

// IdentityCount counts the identities linked to a user.
func (s *Store) IdentityCount(ctx context.Context, userID int64) (int, error) {
	row, err := s.queryRow(ctx, "SELECT COUNT(*) FROM identities WHERE user_id = ?", userID)
	if err != nil {
		return 0, err
	}
	var n int
	return n, wrap(row.Scan(&n))
}

// Kinds of sign-in flow.
const (
	// FlowOIDC is an OpenID Connect round trip, named by its state.
	FlowOIDC = "oidc"
	// FlowChoice is a verified identity waiting for its nickname.
	FlowChoice = "choice"
)

const (
	// SigninFlowTTL is how long a sign-in may take, at the provider or choosing a
	// nickname.
	SigninFlowTTL = 15 * time.Minute
	// signinFlowsPerSession bounds what one browser session can park here.
	signinFlowsPerSession = 5
)

// SigninFlow is a sign-in in progress.
type SigninFlow struct {
	Kind      string
	SessionID int64
	// Nonce and Verifier (PKCE) of an OpenID Connect round trip.
	Nonce, Verifier string
	// Issuer and Subject of a verified identity, and the nickname its provider
	// proposed.
	Issuer, Subject, Proposed string
	// Next is where to go after signing in, Kept the kept form to replay.
	Next, Kept string
	Remember   bool
}

// StartSigninFlow stores a flow for its session and returns the token naming it
// (the OpenID Connect state, or the nickname choice's reference). The session's
// oldest flows beyond a few are dropped, and so are expired ones.
func (s *Store) StartSigninFlow(ctx context.Context, f SigninFlow) (string, error) {
	if (f.Kind != FlowOIDC && f.Kind != FlowChoice) || f.SessionID == 0 {
		return "", ErrInvalid
	}
	if f.Next == "" {
		f.Next = "/"
	}
	tok := NewToken()
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM signin_flows WHERE expires_at <= ?", now.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO signin_flows (kind, token_hash, session_id, nonce, verifier,
				issuer, subject, proposed, next, kept, remember, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.Kind, HashToken(tok), f.SessionID, f.Nonce, f.Verifier, f.Issuer, f.Subject, f.Proposed,
			f.Next, f.Kept, f.Remember, now.Unix(), now.Add(SigninFlowTTL).Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_flows WHERE session_id = ? AND id NOT IN
			(SELECT id FROM signin_flows WHERE session_id = ? ORDER BY id DESC LIMIT ?)`, f.SessionID, f.SessionID, signinFlowsPerSession)
		return err
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

const flowCols = "kind, session_id, nonce, verifier, issuer, subject, proposed, next, kept, remember, expires_at"

func scanFlow(row interface{ Scan(...any) error }, sessionID, now int64) (SigninFlow, error) {
	var (
		f       SigninFlow
		expires int64
	)
	err := row.Scan(&f.Kind, &f.SessionID, &f.Nonce, &f.Verifier, &f.Issuer, &f.Subject, &f.Proposed,
		&f.Next, &f.Kept, &f.Remember, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SigninFlow{}, ErrNotFound
	case err != nil:
		return SigninFlow{}, wrap(err)
	case f.SessionID != sessionID || now >= expires:
		// Another browser's flow, or a stale one: as if unknown, so a stolen or
		// late state tells nothing.
		return SigninFlow{}, ErrNotFound
	}
	return f, nil
}

// TakeSigninFlow claims the flow of this kind named by token for the session,
// once: whatever comes of it, the token cannot be used again. Unknown, used,
// expired or another session's: ErrNotFound.
func (s *Store) TakeSigninFlow(ctx context.Context, kind, token string, sessionID int64) (SigninFlow, error) {
	if token == "" || sessionID == 0 {
		return SigninFlow{}, ErrNotFound
	}
	now := s.unix()
	var f SigninFlow
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// A token offered by another session is not consumed: a stranger who
		// learnt it cannot spoil the owner's sign-in.
		var err error
		f, err = scanFlow(tx.QueryRowContext(ctx, "SELECT "+flowCols+" FROM signin_flows f WHERE token_hash = ? AND kind = ?"+s.rowLock("f"),
			HashToken(token), kind), sessionID, now)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM signin_flows WHERE token_hash = ?", HashToken(token))
		return err
	})
	return f, err
}

// SigninFlow reads the flow of this kind named by token for the session without
// using it up (a nickname choice stays open until a nickname is accepted).
func (s *Store) SigninFlow(ctx context.Context, kind, token string, sessionID int64) (SigninFlow, error) {
	if token == "" || sessionID == 0 {
		return SigninFlow{}, ErrNotFound
	}
	row, err := s.queryRow(ctx, "SELECT "+flowCols+" FROM signin_flows WHERE token_hash = ? AND kind = ?", HashToken(token), kind)
	if err != nil {
		return SigninFlow{}, err
	}
	return scanFlow(row, sessionID, s.unix())
}

// SigninFlowCount counts the flows of a session.
func (s *Store) SigninFlowCount(ctx context.Context, sessionID int64) (int, error) {
	row, err := s.queryRow(ctx, "SELECT COUNT(*) FROM signin_flows WHERE session_id = ?", sessionID)
	if err != nil {
		return 0, err
	}
	var n int
	return n, wrap(row.Scan(&n))
}
