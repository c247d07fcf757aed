package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the estimation room, mapped by handlers with errors.Is.
var (
	// ErrTooFewVotes refuses a reveal (by hand, auto-reveal or timer) with fewer
	// than MinRevealVotes votes: the result would show one person's value.
	ErrTooFewVotes = errors.New("too few votes to reveal")
	// ErrSpectator refuses a spectator's vote.
	ErrSpectator = errors.New("spectators do not vote")
	// ErrNotOnDeck refuses a number that is not a card of a deck of labels.
	ErrNotOnDeck = errors.New("not a card of the deck")
)

// MinRevealVotes is the fewest numeric votes (? and coffee do not count) a
// round is revealed with.
const MinRevealVotes = 2

// Seat is how a member takes part in the room.
type Seat string

const (
	SeatVoter     Seat = "voter"
	SeatSpectator Seat = "spectator"
)

// ParseSeat reads the role field of POST /groups/{id}/role.
func ParseSeat(raw string) (Seat, bool) {
	switch s := Seat(raw); s {
	case SeatVoter, SeatSpectator:
		return s, true
	}
	return "", false
}

// RevealCause says who revealed a round (for the audit trail).
type RevealCause string

const (
	RevealByOwner RevealCause = "by the owner"
	RevealByAuto  RevealCause = "auto-reveal"
	RevealByTimer RevealCause = "timer"
)

// Audit actions of the room.
const (
	ActStart    = "issue.started"
	ActSettings = "group.settings_changed"
	ActTimer    = "issue.timer"
)

// groupRoomCols are the group's columns that IssueFor, GroupFor and
// IssueStatus load; groupRow scans them.
const groupRoomCols = "g.name, g.invite_token, g.created_at, g.deck, g.auto_reveal, g.timer_seconds, COALESCE(g.current_issue_id, 0)"

type groupRow struct {
	created int64
	deck    string
}

func (r *groupRow) dest(g *Group) []any {
	return []any{&g.Name, &g.InviteToken, &r.created, &r.deck, &g.Settings.AutoReveal, &g.Settings.TimerSeconds, &g.CurrentIssueID}
}

func (r *groupRow) fill(g *Group) error {
	g.CreatedAt = time.Unix(r.created, 0)
	d, err := ParseDeckSpec(r.deck)
	g.Settings.Deck = d
	return err
}

// DeckInUse refuses a change of deck while open rounds hold votes: cast on
// the old deck, they would be revealed on the new one as numbers no card of it
// shows (21 on a T-shirt deck). Keys are those rounds' issues.
type DeckInUse struct{ Keys []string }

func (e DeckInUse) Error() string { return "open rounds have votes: " + strings.Join(e.Keys, ", ") }

// SaveSettings changes a group's deck, auto-reveal and default timer. The deck
// changes only while no open round has votes (DeckInUse otherwise).
func (s *Store) SaveSettings(ctx context.Context, groupID int64, set GroupSettings, by User) error {
	if _, err := ParseDeckSpec(set.Deck.Spec()); err != nil || set.TimerSeconds < 0 || set.TimerSeconds > TimerMax {
		return ErrInvalid
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, "SELECT deck FROM groups WHERE id = ?", groupID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if cur != set.Deck.Spec() {
			// The open rounds first, as a vote takes them: a vote either came
			// before (and refuses the change) or sees the new deck.
			if err := s.lockIssues(ctx, tx, "group_id = ? AND state = 'open'", groupID); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT i.key FROM issues i JOIN ballots b ON b.issue_id = i.id
				WHERE i.group_id = ? AND i.state = 'open' ORDER BY i.id`, groupID)
			if err != nil {
				return err
			}
			var inUse DeckInUse
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return err
				}
				inUse.Keys = append(inUse.Keys, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(inUse.Keys) > 0 {
				return inUse
			}
		}
		res, err := tx.ExecContext(ctx, "UPDATE groups SET deck = ?, auto_reveal = ?, timer_seconds = ? WHERE id = ?",
			set.Deck.Spec(), set.AutoReveal, set.TimerSeconds, groupID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		detail := fmt.Sprintf("deck %s, auto-reveal %s, timer %ds", set.Deck.Spec(), onOff(set.AutoReveal), set.TimerSeconds)
		return audit(ctx, tx, s.unix(), by, groupID, 0, ActSettings, detail)
	})
	if err == nil {
		s.tell(Change{Kind: GroupChanged, Group: groupID})
	}
	return err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// SeatChange is what a change of seat did to the group's open issues.
type SeatChange struct {
	// Changed are the open issues whose room changed (a vote dropped, a count).
	Changed []int64
	// Revealed are the issues that auto-reveal revealed because of it.
	Revealed []int64
}

// SetSeat makes a member a voter or a spectator. A new spectator's votes on
// open issues are dropped (spectators never count); with auto-reveal on, a
// round whose remaining voters have all voted is revealed.
func (s *Store) SetSeat(ctx context.Context, groupID, userID int64, seat Seat) (SeatChange, error) {
	var out SeatChange
	if _, ok := ParseSeat(string(seat)); !ok {
		return out, ErrInvalid
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = SeatChange{}
		// The open issues first, before the seat: a vote on one of them then
		// either came before (and is dropped below) or sees the new seat.
		if err := s.lockIssues(ctx, tx, "group_id = ? AND state = 'open'", groupID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE memberships SET seat = ? WHERE group_id = ? AND user_id = ?", seat, groupID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotMember
		}
		if seat == SeatSpectator {
			if _, err := dropVoter(ctx, tx, userID, "SELECT id FROM issues WHERE group_id = ? AND state = 'open'", groupID); err != nil {
				return err
			}
		}
		ids, err := openIssues(ctx, tx, groupID)
		if err != nil {
			return err
		}
		out.Changed = ids
		for _, id := range ids {
			revealed, err := s.autoRevealTx(ctx, tx, id)
			if err != nil {
				return err
			}
			if revealed {
				out.Revealed = append(out.Revealed, id)
			}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	s.tell(Change{Kind: GroupChanged, Group: groupID})
	for _, id := range out.Revealed {
		s.tell(Change{Kind: RoundRevealed, Group: groupID, Issue: id})
	}
	if len(out.Revealed) > 0 {
		s.scrubFiles(ctx)
	}
	return out, nil
}

func openIssues(ctx context.Context, tx *sql.Tx, groupID int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM issues WHERE group_id = ? AND state = 'open' ORDER BY id", groupID)
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

// autoRevealTx reveals an open issue when its group has auto-reveal on, every
// voter has voted and there are enough votes; otherwise it changes nothing.
// An open round's ballot holds the votes of the group's voters only (a
// spectator's, a leaver's and a deleted user's slots are dropped with them).
func (s *Store) autoRevealTx(ctx context.Context, tx *sql.Tx, issueID int64) (bool, error) {
	if err := s.lockIssues(ctx, tx, "id = ?", issueID); err != nil {
		return false, err
	}
	var auto bool
	var voters, voted int
	err := tx.QueryRowContext(ctx, `SELECT g.auto_reveal,
			(SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id AND m.seat = 'voter'),
			COALESCE((SELECT length(b.votes) FROM ballots b WHERE b.issue_id = i.id), 0) / 9
		FROM issues i JOIN groups g ON g.id = i.group_id WHERE i.id = ? AND i.state = 'open'`, issueID).Scan(&auto, &voters, &voted)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || !auto || voted < voters || voted < MinRevealVotes {
		return false, err
	}
	// Too few numbers among the votes (? and coffee): the round stays open.
	if _, err := s.revealTx(ctx, tx, issueID, User{}, RevealByAuto); errors.Is(err, ErrTooFewVotes) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// StartIssue makes the issue the one its group estimates now, and starts the
// group's default timer on it when it is open and has no countdown yet.
func (s *Store) StartIssue(ctx context.Context, issueID int64, by User) (Issue, error) {
	var is Issue
	moved := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE issues SET
				timer_ends_at = (SELECT CAST(? AS BIGINT) + 1000 * g.timer_seconds FROM groups g WHERE g.id = issues.group_id),
				timer_up = 0
			WHERE id = ? AND state = 'open' AND timer_ends_at IS NULL AND timer_up = 0
				AND (SELECT g.timer_seconds FROM groups g WHERE g.id = issues.group_id) > 0`, s.now().UnixMilli(), issueID)
		if err != nil {
			return err
		}
		is, err = scanIssue(tx.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues i WHERE i.id = ?", issueID))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE groups SET current_issue_id = ? WHERE id = ? AND (current_issue_id IS NULL OR current_issue_id <> ?)", issueID, is.GroupID, issueID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // the current issue already (a double click): nothing new
		}
		moved = true
		return audit(ctx, tx, s.unix(), by, is.GroupID, issueID, ActStart, "")
	})
	switch {
	case err == nil && moved:
		s.tell(Change{Kind: GroupMoved, Group: is.GroupID, Issue: issueID})
	case err == nil:
		// Already there; its countdown may have started again.
		s.tell(Change{Kind: IssueChanged, Group: is.GroupID, Issue: issueID})
	}
	return is, err
}

// SetTimer starts the countdown of an open round (seconds 1–3600, from now) or
// stops it (0). When it ends, FireTimers reveals the round.
func (s *Store) SetTimer(ctx context.Context, issueID int64, seconds int, by User) (Issue, error) {
	if seconds < 0 || seconds > TimerMax {
		return Issue{}, ErrInvalid
	}
	var ends any
	if seconds > 0 {
		ends = s.now().UnixMilli() + 1000*int64(seconds)
	}
	var is Issue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE issues SET timer_ends_at = ?, timer_up = 0 WHERE id = ? AND state = 'open'", ends, issueID)
		if err != nil {
			return err
		}
		is, err = scanIssue(tx.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues i WHERE i.id = ?", issueID))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotOpen
		}
		detail := "stopped"
		if seconds > 0 {
			detail = fmt.Sprintf("%ds", seconds)
		}
		return audit(ctx, tx, s.unix(), by, is.GroupID, issueID, ActTimer, detail)
	})
	if err == nil {
		s.tell(Change{Kind: IssueChanged, Group: is.GroupID, Issue: issueID})
	}
	return is, err
}

// TimerOutcome is what an ended countdown did.
type TimerOutcome struct {
	IssueID, GroupID int64
	// Revealed is false when the round had too few votes: it stays open, and
	// the room says time is up.
	Revealed bool
}

// FireTimers handles every countdown that has ended: the round is revealed
// through the same reveal as the owner's button, or, with too few votes, marked
// as out of time. Each issue is decided in its own transaction, so a vote that
// comes in at the same moment is either in the result or refused.
func (s *Store) FireTimers(ctx context.Context) ([]TimerOutcome, error) {
	now := s.now().UnixMilli()
	rows, err := s.query(ctx, `SELECT id FROM issues WHERE timer_ends_at IS NOT NULL AND timer_up = 0 AND timer_ends_at <= ? AND state = 'open'`, now)
	if err != nil {
		return nil, err
	}
	var due []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		due = append(due, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	var out []TimerOutcome
	for _, id := range due {
		var o TimerOutcome
		err := s.tx(ctx, func(tx *sql.Tx) error {
			o = TimerOutcome{IssueID: id}
			// Decided again under the write lock (on PostgreSQL the issue's
			// row lock): the owner, or another instance's timer loop, may have
			// stopped the timer or revealed since the query above.
			if err := s.lockIssues(ctx, tx, "id = ?", id); err != nil {
				return err
			}
			var ends int64
			err := tx.QueryRowContext(ctx, `SELECT group_id, timer_ends_at FROM issues
				WHERE id = ? AND state = 'open' AND timer_up = 0 AND timer_ends_at IS NOT NULL`, id).Scan(&o.GroupID, &ends)
			if errors.Is(err, sql.ErrNoRows) || err == nil && ends > now {
				o.IssueID = 0
				return nil
			}
			if err != nil {
				return err
			}
			_, err = s.revealTx(ctx, tx, id, User{}, RevealByTimer)
			switch {
			case err == nil:
				o.Revealed = true
				return nil
			case errors.Is(err, ErrTooFewVotes):
				_, err = tx.ExecContext(ctx, "UPDATE issues SET timer_up = 1 WHERE id = ?", id)
				return err
			}
			return err
		})
		if err != nil {
			return out, err
		}
		if o.IssueID == 0 {
			continue
		}
		out = append(out, o)
		if !o.Revealed {
			s.tell(Change{Kind: IssueChanged, Group: o.GroupID, Issue: o.IssueID})
			continue
		}
		s.tell(Change{Kind: RoundRevealed, Group: o.GroupID, Issue: o.IssueID})
		s.scrubFiles(ctx)
	}
	return out, nil
}

// Round is one revealed round of an issue: its number and anonymous result.
type Round struct {
	Number int
	Result Result
}

// Rounds lists an issue's revealed rounds, oldest first.
func (s *Store) Rounds(ctx context.Context, issueID int64) ([]Round, error) {
	rows, err := s.query(ctx, "SELECT round, result, notes FROM issue_rounds WHERE issue_id = ? ORDER BY round", issueID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Round
	for rows.Next() {
		var r Round
		var enc, notes string
		if err := rows.Scan(&r.Number, &enc, &notes); err != nil {
			return nil, wrap(err)
		}
		if r.Result, err = decodeResult(enc); err != nil {
			return nil, err
		}
		if r.Result.Notes, err = decodeNotes(notes); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, wrap(rows.Err())
}

// GroupRoom is the issue a group estimates now (ErrNotFound when none yet).
func (s *Store) GroupRoom(ctx context.Context, groupID int64) (int64, error) {
	row, err := s.queryRow(ctx, "SELECT COALESCE(current_issue_id, 0) FROM groups WHERE id = ?", groupID)
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
	if id == 0 {
		return 0, ErrNotFound
	}
	return id, nil
}

// SeatOf is a member's seat in a group (ErrNotMember for anyone else).
func (s *Store) SeatOf(ctx context.Context, groupID, userID int64) (Seat, error) {
	row, err := s.queryRow(ctx, "SELECT seat FROM memberships WHERE group_id = ? AND user_id = ?", groupID, userID)
	if err != nil {
		return "", err
	}
	var seat Seat
	if err := row.Scan(&seat); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNotMember
		}
		return "", wrap(err)
	}
	return seat, nil
}
