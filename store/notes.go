package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

// Notes: a vote may carry a note (up to NoteMax characters). The rules are
// the votes' (ballot.go), for the same reasons:
//
//   - While the round is open a note is tied to its voter, who may change it:
//     one open_notes row per issue, slots of noteSlotSize bytes sorted by user
//     id whatever the note's length (8-byte user id, 2-byte length, the text
//     padded with zeros), so the row's size and place follow from how many
//     wrote a note and nothing else.
//   - At the reveal the notes are joined with their cards, detached from
//     persons and kept in the round (issue_rounds.notes) as a list sorted by
//     card and text: no person, no time, no order. The open_notes row is
//     deleted in the reveal's transaction; secure_delete and the reveal's
//     checkpoint scrub its bytes, as they do the cards.
//
// After the reveal the voters of the lowest and of the highest number (when
// they differ) are invited to add one note each. Knowing who was invited
// means knowing who voted the lowest or the highest, so the server must not
// keep it. Instead each open round has a random key (note_keys); the answer to
// a vote hands the voter's browser a token, HMAC(key, user id), in a cookie.
// At the reveal the server keeps, for the invited voters only, the hash of
// their token and the card they came with (note_rights, sorted by hash), and
// deletes the key: from then on nobody, the server's operator included, can
// compute anyone's token, so a hash names no person. A note posted after the
// reveal must come with an unused token of the round; its hash is marked used
// (the card byte set to 0, same size), so one note per person and round. The
// room finds the invitation from the cookie the viewer's browser sends.
//
// Limits (said in the README too): the invitation reaches the browser that
// voted (another device of the same person, or a browser that cleared its
// cookies, is not invited); an operator who records the cookies of requests
// while a round is open could pair tokens with persons, as one who records
// the requests themselves could pair votes with them — what is stored says
// nothing once the round is revealed.

// NoteMax is the longest note, in characters.
const NoteMax = 280

const (
	noteBytesMax = 4 * NoteMax // UTF-8, at most 4 bytes a character
	noteSlotSize = 8 + 2 + noteBytesMax
	rightSize    = 16 + 1
)

// Note is a note of a revealed round: the card it came with and its text,
// never a person.
type Note struct {
	Card Vote
	Text string
}

// NormalizeNote trims a note and checks it (at most NoteMax characters, plain
// text); the message (in English) says what is wrong.
func NormalizeNote(raw string) (string, string) {
	n, p := CheckNote(raw)
	return n, p.String()
}

// CheckNote is NormalizeNote with the problem in any language.
func CheckNote(raw string) (string, Problem) {
	return normalizeText(raw, false, NoteMax, "note", false)
}

// Errors of notes.
var (
	// ErrNoteNotInvited refuses a note after the reveal from someone without
	// an unused invitation of this round.
	ErrNoteNotInvited = errors.New("not invited to add a note")
	// ErrNoteUsed refuses a second note after the reveal.
	ErrNoteUsed = errors.New("the note of this round was added already")
)

// noteSlots are an open round's notes.
type noteSlots []byte

func (n noteSlots) len() int { return len(n) / noteSlotSize }

func (n noteSlots) user(i int) int64 {
	return int64(binary.BigEndian.Uint64(n[i*noteSlotSize:]))
}

func (n noteSlots) text(i int) string {
	at := i * noteSlotSize
	l := int(binary.BigEndian.Uint16(n[at+8:]))
	return string(n[at+10 : at+10+l])
}

func (n noteSlots) index(userID int64) (int, bool) {
	lo, hi := 0, n.len()
	for lo < hi {
		m := (lo + hi) / 2
		switch u := n.user(m); {
		case u == userID:
			return m, true
		case u < userID:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo, false
}

// set returns the slots with userID's note set ("" removes it).
func (n noteSlots) set(userID int64, text string) noteSlots {
	i, ok := n.index(userID)
	if text == "" {
		if !ok {
			return n
		}
		out := make(noteSlots, 0, len(n)-noteSlotSize)
		out = append(out, n[:i*noteSlotSize]...)
		return append(out, n[(i+1)*noteSlotSize:]...)
	}
	slot := make([]byte, noteSlotSize)
	binary.BigEndian.PutUint64(slot, uint64(userID))
	binary.BigEndian.PutUint16(slot[8:], uint16(len(text)))
	copy(slot[10:], text)
	if ok {
		out := noteSlots(bytes.Clone(n))
		copy(out[i*noteSlotSize:], slot)
		return out
	}
	out := make(noteSlots, 0, len(n)+noteSlotSize)
	out = append(out, n[:i*noteSlotSize]...)
	out = append(out, slot...)
	return append(out, n[i*noteSlotSize:]...)
}

func loadNotes(ctx context.Context, tx *sql.Tx, issueID int64) (noteSlots, error) {
	var b []byte
	err := tx.QueryRowContext(ctx, "SELECT notes FROM open_notes WHERE issue_id = ?", issueID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return noteSlots(b), err
}

func saveNotes(ctx context.Context, tx *sql.Tx, issueID int64, n noteSlots) error {
	if n.len() == 0 {
		_, err := tx.ExecContext(ctx, "DELETE FROM open_notes WHERE issue_id = ?", issueID)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO open_notes (issue_id, notes) VALUES (?, ?)
		ON CONFLICT (issue_id) DO UPDATE SET notes = excluded.notes`, issueID, []byte(n))
	return err
}

// OwnNote is the caller's own note on an open round ("" if none).
func (s *Store) OwnNote(ctx context.Context, issueID, userID int64) (string, error) {
	row, err := s.queryRow(ctx, "SELECT notes FROM open_notes WHERE issue_id = ?", issueID)
	if err != nil {
		return "", err
	}
	var raw []byte
	if err := row.Scan(&raw); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return "", wrap(err)
	}
	n := noteSlots(raw)
	if i, ok := n.index(userID); ok {
		return n.text(i), nil
	}
	return "", nil
}

// roundKey is the open round's note key, made on its first vote.
func roundKey(ctx context.Context, tx *sql.Tx, issueID int64) ([]byte, error) {
	var key []byte
	err := tx.QueryRowContext(ctx, "SELECT key FROM note_keys WHERE issue_id = ?", issueID).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO note_keys (issue_id, key) VALUES (?, ?)", issueID, key)
	return key, err
}

func noteToken(key []byte, userID int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(userID)))
	return m.Sum(nil)
}

func tokenHash(token []byte) []byte {
	h := sha256.Sum256(token)
	return h[:16]
}

// NoteToken is the token the browser of userID holds for the open round of
// issueID (base64url), made with the round's key; "" once the round is
// revealed (the key is gone).
func (s *Store) NoteToken(ctx context.Context, issueID, userID int64) (string, error) {
	row, err := s.queryRow(ctx, "SELECT key FROM note_keys WHERE issue_id = ?", issueID)
	if err != nil {
		return "", err
	}
	var key []byte
	if err := row.Scan(&key); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return "", wrap(err)
	}
	return noteTokenText(key, userID), nil
}

// noteTokenText is a voter's note token of a round's key, as their browser
// holds it.
func noteTokenText(key []byte, userID int64) string {
	return base64.RawURLEncoding.EncodeToString(noteToken(key, userID))
}

// detachNotes runs in the reveal's transaction: the open notes are joined
// with the cards of the ballot b and returned sorted by card and text (no
// person); the open_notes row is deleted. The note key is replaced by the
// rights of the invited voters (the lowest and the highest number, when they
// differ) and deleted.
func detachNotes(ctx context.Context, tx *sql.Tx, issueID int64, b ballot, r Result) ([]Note, error) {
	n, err := loadNotes(ctx, tx, issueID)
	if err != nil {
		return nil, err
	}
	var notes []Note
	for i := range n.len() {
		j, ok := b.index(n.user(i))
		if !ok || b.card(j) == cardNone {
			continue
		}
		notes = append(notes, Note{Card: b.card(j).vote(), Text: n.text(i)})
	}
	sortNotes(notes)
	if n != nil {
		if _, err := tx.ExecContext(ctx, "DELETE FROM open_notes WHERE issue_id = ?", issueID); err != nil {
			return nil, err
		}
	}
	var key []byte
	err = tx.QueryRowContext(ctx, "SELECT key FROM note_keys WHERE issue_id = ?", issueID).Scan(&key)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if key != nil {
		if _, err := tx.ExecContext(ctx, "DELETE FROM note_keys WHERE issue_id = ?", issueID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM note_rights WHERE issue_id = ?", issueID); err != nil {
		return nil, err
	}
	if key == nil || !r.HasNumbers() || r.Min() == r.Max() {
		return notes, nil
	}
	var rights [][]byte
	for i := range b.len() {
		c := b.card(i)
		if c == cardNone || c == cardUnsure || c == cardCoffee || int(c) != r.Min() && int(c) != r.Max() {
			continue
		}
		rights = append(rights, append(tokenHash(noteToken(key, b.user(i))), byte(c)))
	}
	slices.SortFunc(rights, bytes.Compare)
	if len(rights) > 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO note_rights (issue_id, rights) VALUES (?, ?)", issueID, bytes.Join(rights, nil)); err != nil {
			return nil, err
		}
	}
	return notes, nil
}

func sortNotes(notes []Note) {
	slices.SortFunc(notes, func(a, b Note) int {
		return cmp.Or(cmp.Compare(cardOf(a.Card), cardOf(b.Card)), cmp.Compare(a.Text, b.Text))
	})
}

func encodeNotes(notes []Note) string {
	if len(notes) == 0 {
		return ""
	}
	out := make([][2]string, len(notes))
	for i, n := range notes {
		out[i] = [2]string{strconv.Itoa(int(cardOf(n.Card))), n.Text}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeNotes(s string) ([]Note, error) {
	if s == "" {
		return nil, nil
	}
	var raw [][2]string
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, errors.New("stored notes are malformed")
	}
	out := make([]Note, 0, len(raw))
	for _, r := range raw {
		c, err := strconv.Atoi(r[0])
		if err != nil || c < 1 || c > cardCoffee {
			return nil, errors.New("stored notes are malformed")
		}
		out = append(out, Note{Card: slotCard(c).vote(), Text: r[1]})
	}
	return out, nil
}

// Invitation is what the holder of a round's note token may do after the
// reveal.
type Invitation struct {
	// Card is the number the holder came with (the lowest or the highest);
	// 0 when not invited.
	Card int
	// Lowest tells the lowest from the highest.
	Lowest bool
	// Used: the holder added their note already.
	Used bool
}

// NoteInvitation looks up the token a browser sent for the revealed round of
// issueID. A token that matches nothing is no invitation.
func (s *Store) NoteInvitation(ctx context.Context, issueID int64, token string) (Invitation, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != sha256.Size {
		return Invitation{}, nil
	}
	row, err := s.queryRow(ctx, `SELECT n.rights, COALESCE(i.result, '') FROM note_rights n JOIN issues i ON i.id = n.issue_id
		WHERE n.issue_id = ? AND i.state <> 'open'`, issueID)
	if err != nil {
		return Invitation{}, err
	}
	var rights []byte
	var enc string
	if err := row.Scan(&rights, &enc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Invitation{}, nil
		}
		return Invitation{}, wrap(err)
	}
	r, err := decodeResult(enc)
	if err != nil {
		return Invitation{}, err
	}
	return lookupRight(rights, raw, r), nil
}

func lookupRight(rights, token []byte, r Result) Invitation {
	i, ok := findRight(rights, tokenHash(token))
	if !ok {
		return Invitation{}
	}
	c := int(rights[i*rightSize+16])
	if c == 0 {
		return Invitation{Used: true}
	}
	return Invitation{Card: c, Lowest: c == r.Min()}
}

func findRight(rights, h []byte) (int, bool) {
	lo, hi := 0, len(rights)/rightSize
	for lo < hi {
		m := (lo + hi) / 2
		switch c := bytes.Compare(rights[m*rightSize:m*rightSize+16], h); {
		case c == 0:
			return m, true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo, false
}

// AddNote adds a note after the reveal, with the token the browser holds
// (see the top of this file): once per token and round, beside the card the
// token came with. The note joins the round's notes, sorted with them.
func (s *Store) AddNote(ctx context.Context, issueID int64, token, text string) error {
	text, msg := NormalizeNote(text)
	if msg != "" || text == "" {
		return ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != sha256.Size {
		return ErrNoteNotInvited
	}
	var groupID int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockIssues(ctx, tx, "id = ?", issueID); err != nil {
			return err
		}
		var state IssueState
		var round int
		var enc string
		err := tx.QueryRowContext(ctx, "SELECT group_id, state, round, COALESCE(result, '') FROM issues WHERE id = ?", issueID).Scan(&groupID, &state, &round, &enc)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state == StateOpen {
			return ErrNotRevealed
		}
		var rights []byte
		err = tx.QueryRowContext(ctx, "SELECT rights FROM note_rights WHERE issue_id = ?", issueID).Scan(&rights)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoteNotInvited
		}
		if err != nil {
			return err
		}
		r, err := decodeResult(enc)
		if err != nil {
			return err
		}
		inv := lookupRight(rights, raw, r)
		switch {
		case inv.Used:
			return ErrNoteUsed
		case inv.Card == 0:
			return ErrNoteNotInvited
		}
		i, _ := findRight(rights, tokenHash(raw))
		rights = bytes.Clone(rights)
		rights[i*rightSize+16] = 0
		if _, err := tx.ExecContext(ctx, "UPDATE note_rights SET rights = ? WHERE issue_id = ?", rights, issueID); err != nil {
			return err
		}
		var stored string
		if err := tx.QueryRowContext(ctx, "SELECT notes FROM issue_rounds WHERE issue_id = ? AND round = ?", issueID, round).Scan(&stored); err != nil {
			return err
		}
		notes, err := decodeNotes(stored)
		if err != nil {
			return err
		}
		notes = append(notes, Note{Card: Vote{Value: inv.Card}, Text: text})
		sortNotes(notes)
		_, err = tx.ExecContext(ctx, "UPDATE issue_rounds SET notes = ? WHERE issue_id = ? AND round = ?", encodeNotes(notes), issueID, round)
		return err
	})
	if err == nil {
		s.tell(Change{Kind: IssueChanged, Group: groupID, Issue: issueID})
	}
	return err
}
