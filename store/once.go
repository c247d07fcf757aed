package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Once is a creating form's one-time field: the token the form carried and a
// digest of what it asked. The same Once from the same person takes effect
// once; a repeat answers with what the first made. The zero Once (a form
// without the field) always acts.
type Once struct {
	Token  string
	Digest string
}

// OnceTokenMax bounds the field's length; a longer value is not a token.
const OnceTokenMax = 64

// onceTTL is how long a once is remembered.
const onceTTL = 24 * time.Hour

// NewOnce is the Once of a form: its token and the digest of parts (what the
// form asks: its address and fields).
func NewOnce(token string, parts ...string) Once {
	if token == "" {
		return Once{}
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return Once{Token: token, Digest: hex.EncodeToString(h[:16])}
}

// Kinds of once.
const (
	onceGroup  = "group"
	onceIssue  = "issue"
	onceImport = "import"
)

// claimOnce runs in a write transaction before the creating work: first is true
// when the caller is to act (and then calls doneOnce with what it made); false
// with the first's target when this form was already acted on. still, when
// set, is a query that finds the target still there for the user (two ?: its
// id, the user's): a target gone since, or no longer the user's to see (a
// group deleted, or handed over and left), is made anew. Two at once: SQLite's single writer
// takes them in turn; on PostgreSQL the second insert waits on the first's row
// and then sees it.
func claimOnce(ctx context.Context, tx *sql.Tx, now, userID int64, kind string, o Once, still string) (target int64, first bool, err error) {
	if o.Token == "" {
		return 0, true, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO once_tokens (user_id, token, kind, digest, target, created_at)
		VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`, userID, o.Token, kind, o.Digest, now)
	if err != nil {
		return 0, false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return 0, true, nil
	}
	var k, digest string
	if err := tx.QueryRowContext(ctx, "SELECT kind, digest, target FROM once_tokens WHERE user_id = ? AND token = ?", userID, o.Token).
		Scan(&k, &digest, &target); err != nil {
		return 0, false, err
	}
	if k == kind && digest == o.Digest && target != 0 {
		if still == "" {
			return target, false, nil
		}
		var one int
		switch err := tx.QueryRowContext(ctx, still, target, userID).Scan(&one); {
		case err == nil:
			return target, false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, false, err
		}
	}
	// The token with other content (a form rendered once and sent for
	// something else): this one acts, and a repeat of it finds it.
	_, err = tx.ExecContext(ctx, "UPDATE once_tokens SET kind = ?, digest = ?, target = 0, created_at = ? WHERE user_id = ? AND token = ?",
		kind, o.Digest, now, userID, o.Token)
	return 0, true, err
}

// doneOnce records what the first use of o made.
func doneOnce(ctx context.Context, tx *sql.Tx, userID int64, o Once, target int64) error {
	if o.Token == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE once_tokens SET target = ? WHERE user_id = ? AND token = ?", target, userID, o.Token)
	return err
}
