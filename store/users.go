package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// User is a person known by a nickname. The zero User is the anonymous visitor.
// The methods mirror Flask-Login's UserMixin / AnonymousUserMixin.
type User struct {
	ID        int64
	Nickname  string
	Active    bool
	CreatedAt time.Time
	// Lang is the interface language the person chose ("de"), or "" to
	// follow their browser.
	Lang string
}

// Anonymous is the user value of a visitor who is not signed in.
var Anonymous = User{}

// IsAuthenticated reports whether this is a signed-in user.
func (u User) IsAuthenticated() bool { return u.ID != 0 }

// IsActive reports whether the user may use the app (never true when anonymous).
func (u User) IsActive() bool { return u.ID != 0 && u.Active }

// IsAnonymous reports whether this is the anonymous visitor.
func (u User) IsAnonymous() bool { return u.ID == 0 }

const (
	NicknameMin = 2
	NicknameMax = 32
)

// NormalizeNickname trims a nickname, folds runs of white space into one space and
// puts it in Unicode NFC, then validates it. It returns the nickname to store and
// a message for the person (in English) when it is not acceptable.
func NormalizeNickname(raw string) (string, string) {
	nick, p := CheckNickname(raw)
	return nick, p.String()
}

// CheckNickname is NormalizeNickname with the problem in any language.
func CheckNickname(raw string) (string, Problem) {
	if !utf8.ValidString(raw) {
		return "", problem("rule.nickname.plain", nil)
	}
	nick := strings.Join(strings.Fields(norm.NFC.String(raw)), " ")
	n := utf8.RuneCountInString(nick)
	switch {
	case n == 0:
		return "", problem("rule.nickname.empty", nil)
	case n < NicknameMin:
		return "", problem("rule.nickname.short", map[string]any{"Min": NicknameMin})
	case n > NicknameMax:
		return "", problem("rule.nickname.long", map[string]any{"Max": NicknameMax})
	}
	var prev rune
	seen := false // a letter or a digit that reads as one
	marks := 0    // combining marks in a row, up to r
	for _, r := range nick {
		if blankLetter(r) {
			return "", problem("rule.nickname.invisible", map[string]any{"Code": codePoint(r)})
		}
		// Combining marks belong to the letter before them (नमस्ते, ế).
		mark := unicode.IsMark(r) && (unicode.IsLetter(prev) || unicode.IsMark(prev))
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || mark || r == ' ' || r == '-' || r == '_' || r == '.') {
			return "", notAllowed(r)
		}
		if marks++; !unicode.IsMark(r) {
			marks = 0
		}
		if marks > maxStackedMarks {
			return "", problem("rule.nickname.marks", nil)
		}
		seen = seen || unicode.IsLetter(r) && !lookalikePunctuation(r) || unicode.IsDigit(r)
		prev = r
	}
	if !seen {
		// "..", "- -", "_ _": nothing anyone could tell apart or read out.
		return "", problem("rule.nickname.no_letter", nil)
	}
	if a, b := MixedScripts(nick); a != "" {
		return "", problem("rule.nickname.scripts", map[string]any{"A": scriptName(a), "B": scriptName(b)})
	}
	return nick, Problem{}
}

// maxStackedMarks bounds the combining marks on one letter: Tibetan stacks
// three, text written over its neighbours ("Zalgo") dozens.
const maxStackedMarks = 4

// lookalikePunctuation reports a letter that reads as a dot, a bar or a
// stroke rather than a letter: the modifier letters (ー, ˈ, ʻ, the Arabic
// tatweel) and a few others (the click letters ǀ ǁ ǂ ǃ, Hangul's araea ㆍ,
// the syllabics' middle dot ᐧ). They may stand in a name beside letters
// (ラーメン), never alone: "ーー" reads as nothing anyone could say.
func lookalikePunctuation(r rune) bool {
	switch r {
	case 0x01c0, 0x01c1, 0x01c2, 0x01c3, 0x318d, 0x119e, 0x1427:
		return true
	}
	return unicode.Is(unicode.Lm, r)
}

// blankLetter reports a code point that shows as nothing though Unicode calls it
// a letter or a mark: the Hangul fillers (U+3164, U+115F, U+1160, U+FFA0) and
// the other default-ignorable code points (U+034F, U+17B4), and the variation
// selectors. A nickname made of them looks blank, or like another one.
func blankLetter(r rune) bool {
	return unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || unicode.Is(unicode.Variation_Selector, r)
}

// notAllowed refuses a character in a nickname, naming it so a person can
// find it: quoted when it can be seen, by its code point when it is invisible
// or a lone mark.
func notAllowed(r rune) Problem {
	switch {
	case unicode.IsMark(r):
		return problem("rule.nickname.lone_mark", map[string]any{"Code": codePoint(r)})
	case unicode.IsGraphic(r) && !unicode.IsSpace(r):
		return problem("rule.nickname.char", map[string]any{"Char": string(r)})
	}
	return problem("rule.nickname.invisible", map[string]any{"Code": codePoint(r)})
}

// scriptName is a script as the message names it: in the reader's language
// for the likely scripts, else by its Unicode name ("Thai").
func scriptName(name string) any {
	if contains(likelyScripts, name) {
		return problem("rule.script."+strings.ToLower(name), nil)
	}
	return name
}

// codePoint names a character by its code point: U+200B.
func codePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

// NicknameKey is the form in which nicknames are compared: case and width folded,
// so "Ana", "ANA" and "Ａｎａ" are one nickname.
func NicknameKey(nick string) string {
	return cases.Fold().String(norm.NFKC.String(nick))
}

// NewToken returns a URL-safe random token of 256 bits.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is how tokens are kept at rest.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

const userCols = "id, nickname, active, created_at, lang"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	err := row.Scan(&u.ID, &u.Nickname, &u.Active, &created, &u.Lang)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, wrap(err)
	}
	u.CreatedAt = time.Unix(created, 0)
	return u, nil
}

// UserByID loads a user.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	row, err := s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id)
	if err != nil {
		return User{}, err
	}
	return scanUser(row)
}

// UserByNickname loads a user by nickname, ignoring case and width.
func (s *Store) UserByNickname(ctx context.Context, nick string) (User, error) {
	row, err := s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE nickname_key = ?", NicknameKey(nick))
	if err != nil {
		return User{}, err
	}
	return scanUser(row)
}

// ClaimNickname signs a nickname in from a browser. A free nickname becomes a new
// user tied to browserKey. A taken one is accepted only when browserKey already
// belongs to it; otherwise ErrNicknameTaken. A deactivated user gets ErrInactive.
// created reports whether a new user was made.
func (s *Store) ClaimNickname(ctx context.Context, nick, browserKey string) (u User, created bool, err error) {
	return s.claimNickname(ctx, nick, browserKey, "")
}

// SignInNickname is ClaimNickname for a browser signing in: oldKey (the key
// in its cookie, "" if none) is the proof for a taken nickname, and on success
// the browser's key becomes newKey, in the same transaction: every nickname
// oldKey served moves to newKey (the same browser entries, with a new secret),
// the user is tied to newKey, and oldKey serves nobody any more. So a key that
// someone else also holds (planted in this browser, copied from it) never signs
// in as whoever signs in here.
func (s *Store) SignInNickname(ctx context.Context, nick, oldKey, newKey string) (u User, created bool, err error) {
	if newKey == "" {
		return User{}, false, ErrInvalid
	}
	return s.claimNickname(ctx, nick, oldKey, newKey)
}

func (s *Store) claimNickname(ctx context.Context, nick, browserKey, newKey string) (u User, created bool, err error) {
	nick, msg := NormalizeNickname(nick)
	if msg != "" {
		return User{}, false, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	key := NicknameKey(nick)
	kh := HashToken(browserKey)
	tieTo := kh // the key the user is tied to at the end
	if newKey != "" {
		tieTo = HashToken(newKey)
	}
	now := s.unix()
	// Every sign-in runs these, inside the writer's one transaction at a time:
	// prepared once, not parsed again each time.
	sts, err := s.writerStmts(ctx,
		"SELECT "+userCols+" FROM users WHERE nickname_key = ?",
		"INSERT INTO users (nickname, nickname_key, nickname_skeleton, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		"INSERT INTO browser_keys (key_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)",
		"UPDATE browser_keys SET last_used_at = ? WHERE (key_hash = ? OR prev_hash = ?) AND user_id = ?",
		"UPDATE browser_keys SET prev_hash = ?, key_hash = ? WHERE key_hash = ? OR prev_hash = ?")
	if err != nil {
		return User{}, false, err
	}
	claim := func(tx *sql.Tx) error {
		u, err = scanUser(tx.StmtContext(ctx, sts[0]).QueryRowContext(ctx, key))
		switch {
		case errors.Is(err, ErrNotFound):
			var id int64
			if err := tx.StmtContext(ctx, sts[1]).QueryRowContext(ctx, nick, key, NicknameSkeleton(nick), now).Scan(&id); err != nil {
				return err
			}
			u = User{ID: id, Nickname: nick, Active: true, CreatedAt: time.Unix(now, 0)}
			created = true
			if newKey != "" && browserKey != "" {
				// The browser's other nicknames go with it to the new key;
				// the new nickname is tied to the new key alone.
				if _, err := tx.StmtContext(ctx, sts[4]).ExecContext(ctx, kh, tieTo, kh, kh); err != nil {
					return err
				}
			}
			_, err = tx.StmtContext(ctx, sts[2]).ExecContext(ctx, tieTo, id, now, now)
			return err
		case err != nil:
			return err
		}
		if !u.Active {
			return ErrInactive
		}
		res, err := tx.StmtContext(ctx, sts[3]).ExecContext(ctx, now, kh, kh, u.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNicknameTaken
		}
		if newKey != "" {
			// Proven: the browser's entries (this one included) take the new
			// key, and keep the proven one as their previous key until the
			// browser shows it got the new one (ConfirmBrowserKey).
			_, err = tx.StmtContext(ctx, sts[4]).ExecContext(ctx, kh, tieTo, kh, kh)
		}
		return err
	}
	// Another instance may make this nickname's user between our read and our
	// insert: then the second run finds it. A unique index that still refuses
	// is the skeleton's: not this nickname, but one that looks the same
	// ("Zelda" and "ZeIda"), and whoever has that one would be taken for this
	// one.
	err = s.txRecheck(ctx, claim)
	if isUniqueViolation(err) {
		return User{}, false, ErrNicknameTaken
	}
	if err != nil {
		return User{}, false, err
	}
	return u, created, nil
}

// ConfirmBrowserKey is told that the browser holding browserKey has it: the
// first request of a session signed in with a new key carries it. The
// previous key of its entries stops proving their nicknames. Until then it
// still does, so a sign-in whose answer was lost (the browser still holds only
// the old key) does not lock the browser out of its own nicknames; a key that
// someone else also holds (planted, copied) proves nothing new by it, since it
// proved those nicknames already.
func (s *Store) ConfirmBrowserKey(ctx context.Context, browserKey string) error {
	_, err := s.exec(ctx, "UPDATE browser_keys SET prev_hash = NULL WHERE key_hash = ? AND prev_hash IS NOT NULL", HashToken(browserKey))
	return err
}

// RenewBrowserKey gives a browser that just signed in (by a personal link, a
// provider, a proxy) a key nobody else has seen: every nickname oldKey served
// moves to newKey (the same browser entries, with a new secret), and with tie
// the user is tied to newKey too. oldKey then serves nobody. It returns how
// many nicknames newKey serves (0: the browser needs no key).
func (s *Store) RenewBrowserKey(ctx context.Context, userID int64, oldKey, newKey string, tie bool) (int, error) {
	if newKey == "" {
		return 0, ErrInvalid
	}
	nh := HashToken(newKey)
	now := s.unix()
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if oldKey != "" {
			oh := HashToken(oldKey)
			if _, err := tx.ExecContext(ctx, "UPDATE browser_keys SET prev_hash = ?, key_hash = ? WHERE key_hash = ? OR prev_hash = ?", oh, nh, oh, oh); err != nil {
				return err
			}
		}
		if tie {
			if _, err := tx.ExecContext(ctx, `INSERT INTO browser_keys (key_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (key_hash, user_id) DO UPDATE SET last_used_at = excluded.last_used_at`, nh, userID, now, now); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM browser_keys WHERE key_hash = ?", nh).Scan(&n)
	})
	return n, err
}

// LinkBrowser ties browserKey to the user, so the nickname can be typed again here.
func (s *Store) LinkBrowser(ctx context.Context, userID int64, browserKey string) error {
	now := s.unix()
	_, err := s.exec(ctx, `INSERT INTO browser_keys (key_hash, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key_hash, user_id) DO UPDATE SET last_used_at = excluded.last_used_at`, HashToken(browserKey), userID, now, now)
	return err
}

// BrowserKeyLive reports whether browserKey is a key this server issued and
// that still serves a nickname. Any other value in the cookie (planted, revoked,
// forgotten) must not be adopted: whoever planted it could sign in with it later.
func (s *Store) BrowserKeyLive(ctx context.Context, browserKey string) (bool, error) {
	if browserKey == "" {
		return false, nil
	}
	row, err := s.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM browser_keys WHERE key_hash = ?)", HashToken(browserKey))
	if err != nil {
		return false, err
	}
	var live bool
	err = row.Scan(&live)
	return live, wrap(err)
}

// Browser is one browser that lets a user sign in by typing the nickname.
type Browser struct {
	ID        int64
	FirstUsed time.Time
	LastUsed  time.Time
	// This is the browser the list is shown in.
	This bool
}

// UserBrowsers lists the browsers tied to the user, most recently used first;
// current is the key of the browser asking.
func (s *Store) UserBrowsers(ctx context.Context, userID int64, current string) ([]Browser, error) {
	rows, err := s.query(ctx, `SELECT id, created_at, last_used_at, key_hash = ? FROM browser_keys
		WHERE user_id = ? ORDER BY last_used_at DESC, id DESC`, HashToken(current), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Browser
	for rows.Next() {
		var b Browser
		var first, last int64
		if err := rows.Scan(&b.ID, &first, &last, &b.This); err != nil {
			return nil, wrap(err)
		}
		b.FirstUsed, b.LastUsed = time.Unix(first, 0), time.Unix(last, 0)
		out = append(out, b)
	}
	return out, wrap(rows.Err())
}

// BrowserID is the id of the tie between browserKey and the user (ErrNotFound
// when there is none).
func (s *Store) BrowserID(ctx context.Context, userID int64, browserKey string) (int64, error) {
	row, err := s.queryRow(ctx, "SELECT id FROM browser_keys WHERE key_hash = ? AND user_id = ?", HashToken(browserKey), userID)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := row.Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrNotFound
		}
		return 0, wrap(err)
	}
	return id, nil
}

// Revocation is what revoking a browser ended.
type Revocation struct {
	// Sessions are the ids of the sessions that ended.
	Sessions []int64
}

// RevokeBrowser unties the user's browser id (only the user's own: ErrNotFound
// otherwise) and ends the sessions signed in with it, except keepSession (the
// browser revoking itself stays signed in until it signs out). The key no longer
// signs the nickname in.
func (s *Store) RevokeBrowser(ctx context.Context, userID, browserID, keepSession int64) (Revocation, error) {
	var rv Revocation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM browser_keys WHERE id = ? AND user_id = ?", browserID, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if rv.Sessions, err = deleteSessions(ctx, tx, "DELETE FROM sessions WHERE browser_key_id = ? AND id <> ? RETURNING id", browserID, keepSession); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM browser_keys WHERE id = ?", browserID)
		return err
	})
	if err == nil {
		s.sessionsEnded(rv.Sessions)
	}
	return rv, err
}

// SignOutEverywhere ends every session of the user and revokes every browser
// key of theirs but keepKey (the browser asking): a lost or stolen device can no
// longer sign in by nickname. It returns the ids of the sessions that ended.
func (s *Store) SignOutEverywhere(ctx context.Context, userID int64, keepKey string) ([]int64, error) {
	var ids []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ids, err = deleteSessions(ctx, tx, "DELETE FROM sessions WHERE user_id = ? RETURNING id", userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM browser_keys WHERE user_id = ? AND key_hash <> ?", userID, HashToken(keepKey))
		return err
	})
	if err == nil {
		s.sessionsEnded(ids)
	}
	return ids, err
}

// ForgetBrowser removes the tie between browserKey and the user. It reports how
// many nicknames the key still serves.
func (s *Store) ForgetBrowser(ctx context.Context, userID int64, browserKey string) (remaining int, err error) {
	kh := HashToken(browserKey)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM browser_keys WHERE key_hash = ? AND user_id = ?", kh, userID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM browser_keys WHERE key_hash = ?", kh).Scan(&remaining)
	})
	return remaining, err
}

// BrowserKnows reports whether browserKey is tied to the user.
func (s *Store) BrowserKnows(ctx context.Context, userID int64, browserKey string) (bool, error) {
	row, err := s.queryRow(ctx, "SELECT COUNT(*) FROM browser_keys WHERE key_hash = ? AND user_id = ?", HashToken(browserKey), userID)
	if err != nil {
		return false, err
	}
	var n int
	err = row.Scan(&n)
	return n > 0, wrap(err)
}

// LastNickname is the nickname last signed in with browserKey, among the active
// users it is tied to; "" when it knows none. The sign-in form offers it, so a
// returning person need not retype it.
func (s *Store) LastNickname(ctx context.Context, browserKey string) (string, error) {
	kh := HashToken(browserKey)
	row, err := s.queryRow(ctx, `SELECT u.nickname FROM browser_keys b JOIN users u ON u.id = b.user_id
		WHERE (b.key_hash = ? OR b.prev_hash = ?) AND u.active = 1 ORDER BY b.last_used_at DESC, u.id DESC LIMIT 1`, kh, kh)
	if err != nil {
		return "", err
	}
	var nick string
	err = row.Scan(&nick)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return nick, wrap(err)
}

// ReplaceSigninToken makes a new personal sign-in token for the user and returns
// it; the previous token stops working. Only its hash is stored, so the token can
// be shown only now.
func (s *Store) ReplaceSigninToken(ctx context.Context, userID int64) (string, error) {
	tok := NewToken()
	res, err := s.exec(ctx, "UPDATE users SET signin_token_hash = ? WHERE id = ?", HashToken(tok), userID)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", ErrNotFound
	}
	return tok, nil
}

// HasSigninToken reports whether the user has a personal sign-in link.
func (s *Store) HasSigninToken(ctx context.Context, userID int64) (bool, error) {
	row, err := s.queryRow(ctx, "SELECT signin_token_hash IS NOT NULL FROM users WHERE id = ?", userID)
	if err != nil {
		return false, err
	}
	var has bool
	if err := row.Scan(&has); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, ErrNotFound
		}
		return false, wrap(err)
	}
	return has, nil
}

// UserBySigninToken finds the owner of a personal sign-in token.
func (s *Store) UserBySigninToken(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrNotFound
	}
	row, err := s.queryRow(ctx, "SELECT "+userCols+" FROM users WHERE signin_token_hash = ?", HashToken(token))
	if err != nil {
		return User{}, err
	}
	return scanUser(row)
}

// SetLanguage keeps the interface language a person chose ("" to follow the
// browser again). The handler checks lang against the languages spoken.
func (s *Store) SetLanguage(ctx context.Context, userID int64, lang string) error {
	res, err := s.exec(ctx, "UPDATE users SET lang = ? WHERE id = ?", lang, userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetActive activates or deactivates a user by nickname. Deactivation ends every
// session of that user.
func (s *Store) SetActive(ctx context.Context, nick string, active bool) (User, error) {
	var u User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE nickname_key = ?", NicknameKey(nick)))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET active = ? WHERE id = ?", active, u.ID); err != nil {
			return err
		}
		u.Active = active
		if !active {
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", u.ID); err != nil {
				return err
			}
		}
		action := "user.activated"
		if !active {
			action = "user.deactivated"
		}
		return audit(ctx, tx, s.unix(), u, 0, 0, action, "")
	})
	return u, err
}

// DeleteUser removes a user; their sessions become anonymous, their memberships
// and unrevealed estimates go.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Their slots leave the ballots of their groups' issues (open:
		// the vote goes; revealed: they took part no more), under the open
		// issues' locks as a vote takes them.
		const theirs = "SELECT i.id FROM issues i JOIN memberships m ON m.group_id = i.group_id WHERE m.user_id = ?"
		if err := s.lockIssues(ctx, tx, "state = 'open' AND id IN ("+theirs+")", id); err != nil {
			return err
		}
		if _, err := dropVoter(ctx, tx, id, theirs, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id)
		return err
	})
}

// fillSkeletons stores the look-alike skeleton of users made before it was kept
// (migration 5). Oldest first: when two existing nicknames look alike, the older
// one holds the skeleton and the younger keeps none (it stays usable; it just
// does not block others).
func (s *Store) fillSkeletons(ctx context.Context) error {
	var missing bool
	if err := s.w.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE nickname_skeleton IS NULL)").Scan(&missing); err != nil || !missing {
		return wrap(err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id, nickname FROM users WHERE nickname_skeleton IS NULL ORDER BY id")
		if err != nil {
			return err
		}
		type pending struct {
			id   int64
			nick string
		}
		var todo []pending
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.nick); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(todo) == 0 {
			return err
		}
		// A skeleton another user holds is left NULL; checked in the statement,
		// as PostgreSQL ends a transaction at its first failed statement.
		st, err := tx.PrepareContext(ctx, `UPDATE users SET nickname_skeleton = ? WHERE id = ?
			AND NOT EXISTS (SELECT 1 FROM users o WHERE o.nickname_skeleton = ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range todo {
			sk := NicknameSkeleton(p.nick)
			if _, err := st.ExecContext(ctx, sk, p.id, sk); err != nil && !isUniqueViolation(err) {
				return err
			}
		}
		return nil
	})
}
