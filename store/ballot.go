package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
)

// A round's votes live in one row per issue (ballots), not one row per person:
// the bytes a database keeps, and where it keeps them, must not tell who voted
// what, nor in which order. The ballot is a run of slots sorted by user id,
// each slotSize bytes whatever the card: the user id (8 bytes, big-endian) and
// the card (1 byte: cardNone, a number 1–100, cardUnsure, cardCoffee). Every
// vote rewrites the row: a changed vote keeps its size (SQLite overwrites the
// cell in place), a new voter adds one slot. So the row's size, and where the
// database places it, follow from how many have voted and nothing else.
//
// The reveal rewrites the ballot in place with every card cardNone: the slots
// then say who took part (the room shows it), in user-id order, and no more;
// secure_delete and the checkpoint scrub the old bytes (scrubFiles).
type ballot []byte

const slotSize = 9

// The card byte of a slot besides the numbers 1–100.
const (
	cardNone   = 0 // took part in a revealed round: no value any more
	cardUnsure = 101
	cardCoffee = 102
)

func cardOf(v Vote) byte {
	switch v.Special {
	case CardUnsure:
		return cardUnsure
	case CardCoffee:
		return cardCoffee
	}
	return byte(v.Value)
}

func (c slotCard) vote() Vote {
	switch c {
	case cardUnsure:
		return Vote{Special: CardUnsure}
	case cardCoffee:
		return Vote{Special: CardCoffee}
	}
	return Vote{Value: int(c)}
}

type slotCard byte

func (b ballot) len() int { return len(b) / slotSize }

func (b ballot) user(i int) int64 {
	return int64(binary.BigEndian.Uint64(b[i*slotSize:]))
}

func (b ballot) card(i int) slotCard { return slotCard(b[i*slotSize+8]) }

// set returns the ballot with userID's card set (a slot added if new).
func (b ballot) set(userID int64, card byte) ballot {
	i, ok := b.index(userID)
	if ok {
		out := ballot(bytes.Clone(b))
		out[i*slotSize+8] = card
		return out
	}
	out := make(ballot, 0, len(b)+slotSize)
	out = append(out, b[:i*slotSize]...)
	out = binary.BigEndian.AppendUint64(out, uint64(userID))
	out = append(out, card)
	return append(out, b[i*slotSize:]...)
}

// without returns the ballot without userID's slot (and whether it had one).
func (b ballot) without(userID int64) (ballot, bool) {
	i, ok := b.index(userID)
	if !ok {
		return b, false
	}
	out := make(ballot, 0, len(b)-slotSize)
	out = append(out, b[:i*slotSize]...)
	return append(out, b[(i+1)*slotSize:]...), true
}

// index is the slot of userID, or where it would go (binary search: the slots
// are sorted by user id).
func (b ballot) index(userID int64) (int, bool) {
	lo, hi := 0, b.len()
	for lo < hi {
		m := (lo + hi) / 2
		switch u := b.user(m); {
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

// has reports whether userID has a slot (voted, or took part once revealed).
func (b ballot) has(userID int64) bool {
	_, ok := b.index(userID)
	return ok
}

// votes are the cards of the ballot, in user-id order (never tied to anyone
// by the caller: the tally only counts them).
func (b ballot) votes() []Vote {
	var out []Vote
	for i := range b.len() {
		if c := b.card(i); c != cardNone {
			out = append(out, c.vote())
		}
	}
	return out
}

// revealed is the ballot with every card dropped: the same size, so the
// reveal overwrites the row where it lies.
func (b ballot) revealed() ballot {
	out := ballot(bytes.Clone(b))
	for i := range out.len() {
		out[i*slotSize+8] = cardNone
	}
	return out
}

// loadBallot reads an issue's ballot in a write transaction (nil: none yet).
func loadBallot(ctx context.Context, tx *sql.Tx, issueID int64) (ballot, error) {
	var b []byte
	err := tx.QueryRowContext(ctx, "SELECT votes FROM ballots WHERE issue_id = ?", issueID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return ballot(b), err
}

// saveBallot writes an issue's ballot; an empty one deletes the row.
func saveBallot(ctx context.Context, tx *sql.Tx, issueID int64, b ballot) error {
	if b.len() == 0 {
		_, err := tx.ExecContext(ctx, "DELETE FROM ballots WHERE issue_id = ?", issueID)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ballots (issue_id, votes) VALUES (?, ?)
		ON CONFLICT (issue_id) DO UPDATE SET votes = excluded.votes`, issueID, []byte(b))
	return err
}

// dropVoter removes userID's slot from the ballots of the issues the query
// (issue ids, in a write transaction holding their locks) names, and returns
// the issues it was removed from.
func dropVoter(ctx context.Context, tx *sql.Tx, userID int64, issuesQuery string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT b.issue_id, b.votes FROM ballots b WHERE b.issue_id IN ("+issuesQuery+") ORDER BY b.issue_id", args...)
	if err != nil {
		return nil, err
	}
	type pending struct {
		id int64
		b  ballot
	}
	var todo []pending
	for rows.Next() {
		var p pending
		var raw []byte
		if err := rows.Scan(&p.id, &raw); err != nil {
			rows.Close()
			return nil, err
		}
		if nb, ok := ballot(raw).without(userID); ok {
			p.b = nb
			todo = append(todo, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var ids []int64
	for _, p := range todo {
		if err := saveBallot(ctx, tx, p.id, p.b); err != nil {
			return nil, err
		}
		// The voter's note goes with their vote (notes.go).
		n, err := loadNotes(ctx, tx, p.id)
		if err != nil {
			return nil, err
		}
		if nn := n.set(userID, ""); len(nn) != len(n) {
			if err := saveNotes(ctx, tx, p.id, nn); err != nil {
				return nil, err
			}
		}
		ids = append(ids, p.id)
	}
	return ids, nil
}
