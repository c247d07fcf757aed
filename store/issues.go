package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"estimator/i18n"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IssueState is where an issue is in its round.
type IssueState string

const (
	StateOpen     IssueState = "open"
	StateRevealed IssueState = "revealed"
	StateAccepted IssueState = "accepted"
)

// Issue is a story to estimate.
type Issue struct {
	ID          int64
	GroupID     int64
	Key         string
	Description string
	State       IssueState
	Round       int
	Final       int // 0 until accepted
	Result      Result
	CreatedAt   time.Time
	// TimerEndsAt is when the round's countdown ends (zero: no timer).
	TimerEndsAt time.Time
	// TimeUp is set when the countdown ended on a round with too few votes to
	// reveal: the round stays open and the room says time is up.
	TimeUp bool
	// AheadUntil is the deadline of votes ahead of the meeting (zero: none);
	// AheadFired is set once it passed and was handled (ahead.go).
	AheadUntil time.Time
	AheadFired bool
	// TrackerURL is an imported issue's page in its tracker ("": not
	// imported from one); TrackerState is where writing its accepted estimate
	// back stands ("": nothing to write), TrackerError the tracker's last
	// answer when it failed.
	TrackerURL   string
	TrackerState TrackerState
	TrackerError string
}

// IssueSummary is a row of a group's issue table.
type IssueSummary struct {
	Issue
	Votes int
}

// Voter is a member as the room shows them: a name, their seat and whether they
// voted. There is deliberately no value here.
type Voter struct {
	UserID   int64
	Nickname string
	Role     Role
	Seat     Seat
	Voted    bool
}

// Status is everything the room of an issue shows, for everyone alike.
type Status struct {
	Issue  Issue
	Group  Group
	Voters []Voter
	// Rounds are the revealed rounds, oldest first (the current one included
	// once revealed).
	Rounds []Round
	// Current is the issue the group estimates now (zero ID: none yet); Next is
	// the open issue after this one (zero ID: none left).
	Current, Next IssueRef
	// Backlog is every issue of the group, as the group page lists them: the
	// room shows where the meeting stands.
	Backlog []IssueSummary
}

// IssueRef names another issue of the group.
type IssueRef struct {
	ID  int64
	Key string
}

// VotedCount is how many voters have voted (spectators never vote).
func (st Status) VotedCount() int {
	n := 0
	for _, v := range st.Voters {
		if v.Voted && v.Seat == SeatVoter {
			n++
		}
	}
	return n
}

// VoterCount is how many members vote (everyone but the spectators).
func (st Status) VoterCount() int {
	n := 0
	for _, v := range st.Voters {
		if v.Seat == SeatVoter {
			n++
		}
	}
	return n
}

// SeatOf is the seat of userID in the group (SeatVoter when not listed).
func (st Status) SeatOf(userID int64) Seat {
	for _, v := range st.Voters {
		if v.UserID == userID {
			return v.Seat
		}
	}
	return SeatVoter
}

const (
	IssueKeyMax         = 32
	IssueDescriptionMax = 2000
)

// IssueInput is a validated issue form.
type IssueInput struct {
	Key, Description string
}

// ValidateIssue checks an issue form and returns messages per field, in
// English.
func ValidateIssue(key, description string) (IssueInput, map[string]string) {
	in, ps := CheckIssue(key, description)
	return in, ps.In(i18n.EN)
}

// CheckIssue is ValidateIssue with the problems in any language.
func CheckIssue(key, description string) (IssueInput, Problems) {
	ps := Problems{}
	in := IssueInput{}
	var p Problem
	if in.Key, p = normalizeText(key, true, IssueKeyMax, "key", true); !p.OK() {
		ps["key"] = p
	}
	if in.Description, p = normalizeText(description, false, IssueDescriptionMax, "description", false); !p.OK() {
		ps["description"] = p
	}
	return in, ps
}

const issueCols = "i.id, i.group_id, i.key, i.description, i.state, i.round, COALESCE(i.final_estimate, 0), COALESCE(i.result, ''), i.created_at, COALESCE(i.timer_ends_at, 0), i.timer_up, COALESCE(i.ahead_until, 0), i.ahead_fired, " +
	"COALESCE(i.tracker_url, ''), COALESCE((SELECT o.state FROM tracker_outbox o WHERE o.issue_id = i.id), ''), COALESCE((SELECT o.last_error FROM tracker_outbox o WHERE o.issue_id = i.id), '')"

func scanIssue(row interface{ Scan(...any) error }, extra ...any) (Issue, error) {
	var is Issue
	var result string
	var created, timerEnds, aheadUntil int64
	err := row.Scan(append([]any{&is.ID, &is.GroupID, &is.Key, &is.Description, &is.State, &is.Round, &is.Final, &result, &created, &timerEnds, &is.TimeUp, &aheadUntil, &is.AheadFired,
		&is.TrackerURL, &is.TrackerState, &is.TrackerError}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Issue{}, ErrNotFound
	}
	if err != nil {
		return Issue{}, wrap(err)
	}
	is.CreatedAt = time.Unix(created, 0)
	if timerEnds != 0 {
		is.TimerEndsAt = time.UnixMilli(timerEnds)
	}
	if aheadUntil != 0 {
		is.AheadUntil = time.UnixMilli(aheadUntil)
	}
	if is.Result, err = decodeResult(result); err != nil {
		return Issue{}, err
	}
	return is, nil
}

// CreateIssue adds an issue to a group. A key already used in the group (ignoring
// case) is ErrKeyTaken.
func (s *Store) CreateIssue(ctx context.Context, groupID int64, in IssueInput) (Issue, error) {
	// Store the normalized form: key uniqueness (key_fold) must not depend on the
	// caller having trimmed the key.
	in, errs := ValidateIssue(in.Key, in.Description)
	if len(errs) > 0 {
		return Issue{}, ErrInvalid
	}
	now := s.unix()
	id, err := s.insert(ctx, "INSERT INTO issues (group_id, key, key_fold, description, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
		groupID, in.Key, NicknameKey(in.Key), in.Description, now)
	if isUniqueViolation(err) {
		return Issue{}, ErrKeyTaken
	}
	if err != nil {
		return Issue{}, err
	}
	s.tell(Change{Kind: IssuesAdded, Group: groupID, Issue: id})
	return Issue{ID: id, GroupID: groupID, Key: in.Key, Description: in.Description, State: StateOpen, Round: 1, CreatedAt: time.Unix(now, 0)}, nil
}

// CreateIssueOnce is CreateIssue for a form carrying once, sent by userID:
// sent again, it adds nothing and returns the issue the first added (made
// false).
func (s *Store) CreateIssueOnce(ctx context.Context, userID, groupID int64, in IssueInput, once Once) (is Issue, made bool, err error) {
	if once.Token == "" {
		is, err = s.CreateIssue(ctx, groupID, in)
		return is, err == nil, err
	}
	in, errs := ValidateIssue(in.Key, in.Description)
	if len(errs) > 0 {
		return Issue{}, false, ErrInvalid
	}
	now := s.unix()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		is = Issue{GroupID: groupID, Key: in.Key, Description: in.Description, State: StateOpen, Round: 1, CreatedAt: time.Unix(now, 0)}
		first, isFirst, err := claimOnce(ctx, tx, now, userID, onceIssue, once,
			"SELECT 1 FROM issues i JOIN memberships m ON m.group_id = i.group_id WHERE i.id = ? AND m.user_id = ?")
		if err != nil {
			return err
		}
		if made = isFirst; !made {
			is.ID = first
			return nil
		}
		err = tx.QueryRowContext(ctx, "INSERT INTO issues (group_id, key, key_fold, description, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
			groupID, in.Key, NicknameKey(in.Key), in.Description, now).Scan(&is.ID)
		if err != nil {
			return err
		}
		return doneOnce(ctx, tx, userID, once, is.ID)
	})
	if isUniqueViolation(err) {
		return Issue{}, false, ErrKeyTaken
	}
	if err == nil && made {
		s.tell(Change{Kind: IssuesAdded, Group: groupID, Issue: is.ID})
	}
	return is, made, err
}

// UpdateIssue changes an open issue's key and description.
func (s *Store) UpdateIssue(ctx context.Context, issueID int64, in IssueInput) error {
	in, errs := ValidateIssue(in.Key, in.Description)
	if len(errs) > 0 {
		return ErrInvalid
	}
	groupID, err := s.insert(ctx, "UPDATE issues SET key = ?, key_fold = ?, description = ? WHERE id = ? AND state = 'open' RETURNING group_id",
		in.Key, NicknameKey(in.Key), in.Description, issueID)
	switch {
	case isUniqueViolation(err):
		return ErrKeyTaken
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotOpen
	case err != nil:
		return err
	}
	s.tell(Change{Kind: IssueChanged, Group: groupID, Issue: issueID})
	return nil
}

// DeleteIssue removes an open issue and its estimates.
func (s *Store) DeleteIssue(ctx context.Context, issueID int64) error {
	groupID, err := s.insert(ctx, "DELETE FROM issues WHERE id = ? AND state = 'open' RETURNING group_id", issueID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotOpen
	}
	if err != nil {
		return err
	}
	s.tell(Change{Kind: IssueDeleted, Group: groupID, Issue: issueID})
	return nil
}

// IssueFor loads an issue, its group and the role of userID in that group, in one
// query. A missing issue is ErrNotFound; RoleNone means not a member.
func (s *Store) IssueFor(ctx context.Context, issueID, userID int64) (Issue, Group, Role, error) {
	gen, cached := s.generation(ctx)
	key := issueViewer{issueID, userID}
	if cached {
		if f, ok := s.cache.issues.get(gen, key); ok {
			return f.is, f.g, f.role, nil
		}
	}
	is, g, role, err := s.issueFor(ctx, issueID, userID)
	if err == nil && cached {
		s.cache.issues.put(gen, key, issueFor{is, g, role})
	}
	return is, g, role, err
}

func (s *Store) issueFor(ctx context.Context, issueID, userID int64) (Issue, Group, Role, error) {
	row, err := s.queryRow(ctx, `SELECT `+issueCols+`, `+groupRoomCols+`, `+roleCol+`
		FROM issues i JOIN groups g ON g.id = i.group_id
		LEFT JOIN memberships m ON m.group_id = i.group_id AND m.user_id = ?
		WHERE i.id = ?`, userID, issueID)
	if err != nil {
		return Issue{}, Group{}, RoleNone, err
	}
	var g Group
	var role Role
	var gr groupRow
	is, err := scanIssue(row, append(gr.dest(&g), &role)...)
	if err != nil {
		return Issue{}, Group{}, RoleNone, err
	}
	g.ID = is.GroupID
	if err := gr.fill(&g); err != nil {
		return Issue{}, Group{}, RoleNone, err
	}
	return is, g, role, nil
}

// GroupIssues lists a group's issues, oldest first, with how many have voted.
func (s *Store) GroupIssues(ctx context.Context, groupID int64) ([]IssueSummary, error) {
	rows, err := s.query(ctx, `SELECT `+issueCols+`, COALESCE((SELECT length(b.votes) FROM ballots b WHERE b.issue_id = i.id), 0) / 9
		FROM issues i WHERE i.group_id = ? ORDER BY i.id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []IssueSummary
	for rows.Next() {
		var sum IssueSummary
		is, err := scanIssue(rows, &sum.Votes)
		if err != nil {
			return nil, err
		}
		sum.Issue = is
		out = append(out, sum)
	}
	return out, wrap(rows.Err())
}

// IssueStatus loads the status page's facts: the issue, its group, and every
// member with whether they voted — never what.
func (s *Store) IssueStatus(ctx context.Context, issueID int64) (Status, error) {
	st, err := s.issueRoom(ctx, issueID)
	if err != nil {
		return st, err
	}
	return s.RoomFacts(ctx, st.Issue, st.Group)
}

// RoomState is IssueStatus without the backlog (Status.Backlog is nil): the
// live room keeps the backlog of a group between renders (GroupIssues) and
// reads it again only when something of the group changed, where a vote
// changes only the room.
func (s *Store) RoomState(ctx context.Context, issueID int64) (Status, error) {
	st, err := s.issueRoom(ctx, issueID)
	if err != nil {
		return st, err
	}
	st, err = s.roomFacts(ctx, st.Issue, st.Group, false)
	return withNotes(st), err
}

// issueRoom loads an issue and its group.
func (s *Store) issueRoom(ctx context.Context, issueID int64) (Status, error) {
	var st Status
	row, err := s.queryRow(ctx, `SELECT `+issueCols+`, `+groupRoomCols+`
		FROM issues i JOIN groups g ON g.id = i.group_id WHERE i.id = ?`, issueID)
	if err != nil {
		return st, err
	}
	var gr groupRow
	if st.Issue, err = scanIssue(row, gr.dest(&st.Group)...); err != nil {
		return st, err
	}
	st.Group.ID = st.Issue.GroupID
	if err := gr.fill(&st.Group); err != nil {
		return st, err
	}
	return st, nil
}

// RoomFacts completes the room of an issue already loaded with its group (by
// IssueFor): the members with whether each voted, the revealed rounds, and
// which issues are current and next.
func (s *Store) RoomFacts(ctx context.Context, is Issue, g Group) (Status, error) {
	gen, cached := s.generation(ctx)
	key := [2]int64{is.ID, g.ID}
	if cached {
		if f, ok := s.cache.rooms.get(gen, key); ok {
			return withNotes(Status{Issue: is, Group: g, Voters: slices.Clone(f.voters), Rounds: slices.Clone(f.rounds),
				Current: f.current, Next: f.next, Backlog: slices.Clone(f.backlog)}), nil
		}
	}
	st, err := s.roomFacts(ctx, is, g, true)
	if err == nil && cached {
		s.cache.rooms.put(gen, key, roomFacts{voters: slices.Clone(st.Voters), rounds: slices.Clone(st.Rounds),
			current: st.Current, next: st.Next, backlog: slices.Clone(st.Backlog)})
	}
	return withNotes(st), err
}

// withNotes gives the current result the notes of its round (kept in the
// round, not on the issue).
func withNotes(st Status) Status {
	if n := len(st.Rounds); n > 0 && st.Issue.State != StateOpen && st.Rounds[n-1].Number == st.Issue.Round {
		st.Issue.Result.Notes = st.Rounds[n-1].Result.Notes
	}
	return st
}

func (s *Store) roomFacts(ctx context.Context, is Issue, g Group, backlog bool) (Status, error) {
	st := Status{Issue: is, Group: g}
	var err error
	if st.Voters, err = s.Voters(ctx, is.ID, g.ID); err != nil {
		return st, err
	}
	if st.Rounds, err = s.Rounds(ctx, is.ID); err != nil {
		return st, err
	}
	if backlog {
		if st.Backlog, err = s.GroupIssues(ctx, g.ID); err != nil {
			return st, err
		}
	}
	// The next open issue after this one, else the first open one before it;
	// never the one the group is on already (starting it would move nobody).
	row, err := s.queryRow(ctx, `SELECT COALESCE(c.id, 0), COALESCE(c.key, ''), COALESCE(n.id, 0), COALESCE(n.key, '')
		FROM groups g
		LEFT JOIN issues c ON c.id = g.current_issue_id
		LEFT JOIN issues n ON n.id = (SELECT x.id FROM issues x WHERE x.group_id = g.id AND x.state = 'open' AND x.id <> ?
			AND x.id <> COALESCE(g.current_issue_id, 0)
			ORDER BY x.id < ?, x.id LIMIT 1)
		WHERE g.id = ?`, is.ID, is.ID, g.ID)
	if err != nil {
		return st, err
	}
	if err := row.Scan(&st.Current.ID, &st.Current.Key, &st.Next.ID, &st.Next.Key); err != nil {
		return st, wrap(err)
	}
	return st, nil
}

// Voters lists the members of groupID with whether each has voted on issueID —
// never what. A caller that has just loaded the issue (IssueFor) needs only this
// part of IssueStatus.
func (s *Store) Voters(ctx context.Context, issueID, groupID int64) ([]Voter, error) {
	// One statement: the ballot (one subquery, run once) comes with every row.
	rows, err := s.query(ctx, `SELECT u.id, u.nickname, `+roleCol+`, m.seat, (SELECT b.votes FROM ballots b WHERE b.issue_id = ?)
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? ORDER BY u.nickname_key, u.id`, issueID, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var voters []Voter
	var b ballot
	for rows.Next() {
		var v Voter
		var raw []byte
		if err := rows.Scan(&v.UserID, &v.Nickname, &v.Role, &v.Seat, &raw); err != nil {
			return nil, wrap(err)
		}
		if b == nil && raw != nil {
			b = ballot(raw)
		}
		v.Voted = b.has(v.UserID)
		voters = append(voters, v)
	}
	return voters, wrap(rows.Err())
}

// Voted is voters (the room's members, as Voters lists them) with whether
// each has voted on issueID now, as the issue's ballot says — never what. It
// is a copy: voters is not changed. The live room reads it after a vote,
// where the rest of the room is as it was.
func (s *Store) Voted(ctx context.Context, issueID int64, voters []Voter) ([]Voter, error) {
	row, err := s.queryRow(ctx, "SELECT votes FROM ballots WHERE issue_id = ?", issueID)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if err := row.Scan(&raw); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(err)
	}
	b := ballot(raw)
	out := slices.Clone(voters)
	for i := range out {
		out[i].Voted = b.has(out[i].UserID)
	}
	return out, nil
}

// OwnEstimate is the caller's own current vote on an open issue (the zero Vote
// if none).
func (s *Store) OwnEstimate(ctx context.Context, issueID, userID int64) (Vote, error) {
	row, err := s.queryRow(ctx, "SELECT votes FROM ballots WHERE issue_id = ?", issueID)
	if err != nil {
		return Vote{}, err
	}
	var raw []byte
	if err := row.Scan(&raw); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Vote{}, nil
		}
		return Vote{}, wrap(err)
	}
	b := ballot(raw)
	i, ok := b.index(userID)
	if !ok || b.card(i) == cardNone {
		return Vote{}, nil
	}
	return b.card(i).vote(), nil
}

// OwnPart loads what one person's own cards of an issue show, in one query:
// the issue, its group, their seat (a voter's when they are no member, as
// Status.SeatOf says) and their current vote (the zero Vote if none). The
// live room sends it after each of their votes, so it reads no more than that.
func (s *Store) OwnPart(ctx context.Context, issueID, userID int64) (Issue, Group, Seat, Vote, error) {
	row, err := s.queryRow(ctx, `SELECT `+issueCols+`, `+groupRoomCols+`, COALESCE(m.seat, ''), b.votes
		FROM issues i JOIN groups g ON g.id = i.group_id
		LEFT JOIN memberships m ON m.group_id = i.group_id AND m.user_id = ?
		LEFT JOIN ballots b ON b.issue_id = i.id
		WHERE i.id = ?`, userID, issueID)
	if err != nil {
		return Issue{}, Group{}, "", Vote{}, err
	}
	var g Group
	var gr groupRow
	var seat Seat
	var raw []byte
	is, err := scanIssue(row, append(gr.dest(&g), &seat, &raw)...)
	if err != nil {
		return Issue{}, Group{}, "", Vote{}, err
	}
	g.ID = is.GroupID
	if err := gr.fill(&g); err != nil {
		return Issue{}, Group{}, "", Vote{}, err
	}
	if seat == "" {
		seat = SeatVoter
	}
	var v Vote
	if b := ballot(raw); raw != nil {
		if i, ok := b.index(userID); ok && b.card(i) != cardNone {
			v = b.card(i).vote()
		}
	}
	return is, g, seat, v, nil
}

// Estimate records or changes the vote of userID (a voter of the issue's group)
// on an open issue. It runs in one write transaction with the checks, so a vote
// racing a reveal is either in the result or refused with ErrNotOpen, never
// dropped. With the group's auto-reveal on, the vote that completes the round
// reveals it, through the same reveal as the owner's button (revealed is true).
func (s *Store) Estimate(ctx context.Context, issueID, userID int64, v Vote) (revealed bool, err error) {
	return s.EstimateNote(ctx, issueID, userID, v, nil)
}

// EstimateNote is Estimate with the vote's note: nil leaves the voter's note
// as it is, "" removes it, any other text (NormalizeNote) sets it. The note is
// kept beside the vote until the reveal (notes.go).
func (s *Store) EstimateNote(ctx context.Context, issueID, userID int64, v Vote, note *string) (revealed bool, err error) {
	c, err := s.Cast(ctx, issueID, userID, v, note)
	return c.Revealed, err
}

// Cast is what the answer to a vote shows besides the vote: whether it
// completed the round (Revealed), and while the round stays open the voter's
// note token of the round (NoteToken, what NoteToken gives) and their note
// (Note, what OwnNote gives), read in the vote's own transaction.
type Cast struct {
	Revealed        bool
	NoteToken, Note string
	// Issue and Group are the issue and its group as the vote found them
	// (open): read by the vote's transaction, the answer needs no read of
	// its own.
	Issue Issue
	Group Group
}

// Cast is EstimateNote, with what the vote's answer shows read in the same
// transaction (on the writer, whose pages are warm) instead of by two reads
// after it. On SQLite the votes waiting for the writer commit together, each
// in a savepoint of its own (voteBatch); the answer still comes after the
// commit that holds the vote.
func (s *Store) Cast(ctx context.Context, issueID, userID int64, v Vote, note *string) (cast Cast, err error) {
	if note != nil {
		text, msg := NormalizeNote(*note)
		if msg != "" {
			return cast, ErrInvalid
		}
		note = &text
	}
	if v.Special != "" && v.Special != CardUnsure && v.Special != CardCoffee || v.Special != "" && v.Value != 0 {
		return cast, ErrInvalid
	}
	if v.Special == "" && (v.Value < EstimateMin || v.Value > EstimateMax) {
		return cast, ErrInvalid
	}
	if !s.pg {
		return s.votes.cast(s, ctx, issueID, userID, v, note)
	}
	r := &voteReq{ctx: ctx, issueID: issueID, userID: userID, v: v, note: note}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.castTx(ctx, tx, r) }); err != nil {
		return Cast{}, err
	}
	s.tell(r.change())
	return r.answer(s), nil
}

// castTx is the vote's work in a write transaction: the checks, the ballot,
// the note, the auto-reveal. It sets r's answer (cast, groupID, revealed).
func (s *Store) castTx(ctx context.Context, tx *sql.Tx, r *voteReq) error {
	r.cast, r.groupID, r.revealed = Cast{}, 0, false
	issueID, userID, v, note := r.issueID, r.userID, r.v, r.note
	if err := s.lockIssues(ctx, tx, "id = ?", issueID); err != nil {
		return err
	}
	if err := s.shareMembership(ctx, tx, issueID, userID); err != nil {
		return err
	}
	// The issue, its group, the voter's place, the round's ballot, note
	// key and notes: one read.
	var g Group
	var gr groupRow
	var role string
	var seat Seat
	var rawBallot, key, rawNotes []byte
	is, err := scanIssue(tx.QueryRowContext(ctx, `SELECT `+issueCols+`, `+groupRoomCols+`, COALESCE(m.role, ''), COALESCE(m.seat, ''),
			b.votes, k.key, n.notes
		FROM issues i JOIN groups g ON g.id = i.group_id
		LEFT JOIN memberships m ON m.group_id = i.group_id AND m.user_id = ?
		LEFT JOIN ballots b ON b.issue_id = i.id
		LEFT JOIN note_keys k ON k.issue_id = i.id
		LEFT JOIN open_notes n ON n.issue_id = i.id
		WHERE i.id = ?`, userID, issueID), append(gr.dest(&g), &role, &seat, &rawBallot, &key, &rawNotes)...)
	if err != nil {
		return err
	}
	g.ID, r.groupID = is.GroupID, is.GroupID
	if err := gr.fill(&g); err != nil {
		return err
	}
	switch {
	case role == "":
		return ErrNotMember
	case is.State != StateOpen:
		return ErrNotOpen
	case seat != SeatVoter:
		return ErrSpectator
	case v.Special == "" && !g.Settings.Deck.Allows(v.Value):
		return ErrNotOnDeck
	}
	r.cast.Issue, r.cast.Group = is, g
	// The issue's lock (lockIssues; SQLite's one writer) keeps the
	// ballot's read and write together: parallel votes are never lost.
	b := ballot(rawBallot)
	if err := saveBallot(ctx, tx, issueID, b.set(userID, cardOf(v))); err != nil {
		return err
	}
	if b.len() == 0 {
		// The round's first vote makes its note key (notes.go).
		if key, err = roundKey(ctx, tx, issueID); err != nil {
			return err
		}
	}
	n := noteSlots(rawNotes)
	if note != nil {
		if nn := n.set(userID, *note); !bytes.Equal(nn, n) {
			if err := saveNotes(ctx, tx, issueID, nn); err != nil {
				return err
			}
			n = nn
		}
	}
	// Without auto-reveal the vote reveals nothing: no need to count.
	if g.Settings.AutoReveal {
		if r.revealed, err = s.autoRevealTx(ctx, tx, issueID); err != nil || r.revealed {
			return err
		}
	}
	// The round stays open: the voter's token and note of it.
	if key != nil {
		r.cast.NoteToken = noteTokenText(key, userID)
	}
	if i, ok := n.index(userID); ok {
		r.cast.Note = n.text(i)
	}
	return nil
}

// Reveal closes the round of an open issue by the owner's hand; see revealTx.
func (s *Store) Reveal(ctx context.Context, issueID int64, by User) (Issue, error) {
	var is Issue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		is, err = s.revealTx(ctx, tx, issueID, by, RevealByOwner)
		return err
	})
	if err != nil {
		return is, err
	}
	s.tell(Change{Kind: RoundRevealed, Group: is.GroupID, Issue: issueID})
	s.scrubFiles(ctx)
	return is, nil
}

// shareMembership holds the voter's membership of the issue's group (on
// PostgreSQL) until the vote's transaction ends: a removal or a leave, which
// deletes the member's open votes, then waits for the vote and deletes it too,
// or the vote waits for the removal and finds no membership. Without it a vote
// could read the membership just before a removal committed, and stay counted
// for someone no longer in the group. A statement of its own, as lockIssues.
func (s *Store) shareMembership(ctx context.Context, tx *sql.Tx, issueID, userID int64) error {
	if !s.pg {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT m.user_id FROM memberships m JOIN issues i ON i.group_id = m.group_id
		WHERE i.id = ? AND m.user_id = ?`+s.rowShare("m"), issueID, userID)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}

// numeric counts the votes that are numbers (not ? nor coffee).
func numeric(votes []Vote) int {
	n := 0
	for _, v := range votes {
		if v.Special == "" {
			n++
		}
	}
	return n
}

// revealTx is the one reveal, whoever asks for it (the owner, auto-reveal, the
// timer, a seat change): with at least MinRevealVotes numeric votes, the
// round's anonymous result is kept on the issue and in its rounds, and every
// per-person fact of the round is forgotten (forgetVotes). With fewer it is
// ErrTooFewVotes and nothing changes: one number revealed, alone or beside ?
// and coffee, would be that person's value.
func (s *Store) revealTx(ctx context.Context, tx *sql.Tx, issueID int64, by User, cause RevealCause) (Issue, error) {
	if err := s.lockIssues(ctx, tx, "id = ?", issueID); err != nil {
		return Issue{}, err
	}
	is, err := scanIssue(tx.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues i WHERE i.id = ?", issueID))
	if err != nil {
		return Issue{}, err
	}
	if is.State != StateOpen {
		return Issue{}, ErrNotOpen
	}
	var spec string
	if err := tx.QueryRowContext(ctx, "SELECT deck FROM groups WHERE id = ?", is.GroupID).Scan(&spec); err != nil {
		return Issue{}, err
	}
	deck, err := ParseDeckSpec(spec)
	if err != nil {
		return Issue{}, err
	}
	b, err := loadBallot(ctx, tx, issueID)
	if err != nil {
		return Issue{}, err
	}
	votes := b.votes()
	if numeric(votes) < MinRevealVotes {
		return Issue{}, ErrTooFewVotes
	}
	if err := s.markScrubDue(ctx, tx, issueID); err != nil {
		return Issue{}, err
	}
	is.Result = Tally(deck, votes)
	is.State = StateRevealed
	is.TimerEndsAt, is.TimeUp = time.Time{}, false
	enc := is.Result.encode()
	if _, err := tx.ExecContext(ctx, "UPDATE issues SET state = 'revealed', result = ?, timer_ends_at = NULL, timer_up = 0 WHERE id = ?", enc, issueID); err != nil {
		return Issue{}, err
	}
	notes, err := detachNotes(ctx, tx, issueID, b, is.Result)
	if err != nil {
		return Issue{}, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO issue_rounds (issue_id, round, result, notes) VALUES (?, ?, ?, ?)", issueID, is.Round, enc, encodeNotes(notes)); err != nil {
		return Issue{}, err
	}
	if err := forgetVotes(ctx, tx, issueID, b); err != nil {
		return Issue{}, err
	}
	detail := fmt.Sprintf("round %d, %d votes", is.Round, is.Result.Votes)
	if cause != RevealByOwner {
		detail += ", " + string(cause)
	}
	return is, audit(ctx, tx, s.unix(), by, is.GroupID, issueID, ActReveal, detail)
}

// forgetVotes runs in the reveal's transaction, after the anonymous result is
// kept in the round: nothing stored may still tie a value, a card, the order or
// the time of a vote to a person. The ballot is overwritten in place with its
// cards dropped (its slots, in user-id order, still say who took part), and the
// forms kept for the issue's estimate from signed-out browsers (a vote waiting
// for its sign-in) are deleted.
func forgetVotes(ctx context.Context, tx *sql.Tx, issueID int64, b ballot) error {
	if err := saveBallot(ctx, tx, issueID, b.revealed()); err != nil {
		return err
	}
	// The path the estimate form posts to (views.IssueEstimatePath).
	_, err := tx.ExecContext(ctx, "DELETE FROM kept_forms WHERE path = ?", "/issues/"+strconv.FormatInt(issueID, 10)+"/estimate")
	return err
}

// scrubFiles runs after a reveal's commit: the write-ahead log still holds the
// pages as they were before (with the values), so it is checkpointed into the
// database file, whose overwritten and freed content secure_delete has zeroed,
// and truncated. A checkpoint that cannot finish now (a read holding an old
// snapshot past the busy timeout, a full disk) is tried again by the next Purge,
// and, should the process die first, by the next Open (the reveal wrote down
// that a scrub is due: scrubmark.go); the reveal stands either way.
//
// On PostgreSQL the values are gone from the tables at the reveal's commit just
// the same, but the server keeps their old row versions until a vacuum, and its
// write-ahead log (and any archive or replica of it) until it is recycled: the
// next Purge (or Open, after a crash) vacuums the tables that held values, and
// the rest is the operator's (see the README).
//
// A checkpoint holds the writer, so the reveals committed while one runs share
// the next instead of queueing one each behind it (at 500 live rooms a planning
// day reveals hundreds of rounds a second): any checkpoint that starts after a
// reveal's commit covers that reveal, and the reveal waits for it.
func (s *Store) scrubFiles(ctx context.Context) error {
	if s.pg {
		s.scrubDue.Store(true)
		return nil
	}
	q := &s.scrub
	q.mu.Lock()
	if q.running == nil && q.next == nil {
		run := &scrubRun{done: make(chan struct{})}
		q.running = run
		q.mu.Unlock()
		s.checkpoint(context.WithoutCancel(ctx), run)
		return run.err
	}
	// The one running may have started before this commit: join the next,
	// which starts checkpointGap after it ends.
	if q.next == nil {
		q.next = &scrubRun{done: make(chan struct{})}
	}
	run := q.next
	q.mu.Unlock()
	select {
	case <-run.done:
		return run.err
	case <-ctx.Done():
		return ctx.Err() // the checkpoint still runs, for the others
	}
}

// scrubQueue is the checkpoint running (at most one) and the one that starts
// after it, shared by every reveal committed until it starts.
type scrubQueue struct {
	mu            sync.Mutex
	running, next *scrubRun
}

type scrubRun struct {
	done chan struct{}
	err  error
}

// checkpoint runs one checkpoint for everyone waiting on run, then starts the
// next if a reveal is waiting for it.
func (s *Store) checkpoint(ctx context.Context, run *scrubRun) {
	err := s.truncateWAL(ctx)
	s.scrubDue.Store(err != nil)
	s.checkpoints.Add(1)
	run.err = wrap(err)
	q := &s.scrub
	q.mu.Lock()
	q.running = nil
	next := q.next // still open to joiners until it starts
	q.mu.Unlock()
	close(run.done)
	if next != nil {
		go func() {
			time.Sleep(s.checkpointGap())
			q.mu.Lock()
			q.running, q.next = next, nil
			q.mu.Unlock()
			s.checkpoint(ctx, next)
		}()
	}
}

// checkpointGap separates checkpoints that follow each other: while rounds are
// revealed many times a second, back-to-back checkpoints would hold the writer
// nearly all the time, and every vote would wait behind them. The gap is at
// least checkpointShare times as long as the last checkpoint held the writer,
// so that checkpoints take at most a fifth of the writer's time whatever the
// disk (a truncation's sync took 2 to 20 ms here), up to checkpointGapMax.
const (
	checkpointGap    = 25 * time.Millisecond
	checkpointGapMax = 250 * time.Millisecond
	checkpointShare  = 4
)

// checkpointGap is how long the next checkpoint waits after one ended.
func (s *Store) checkpointGap() time.Duration {
	held := time.Duration(s.checkpointHeld.Load())
	return min(max(checkpointGap, checkpointShare*held), checkpointGapMax)
}

// checkpointHold is how long one try of the checkpoint may hold the writer
// waiting for reads of an older snapshot to end.
const checkpointHold = 3 * time.Millisecond

// truncateWAL checkpoints the write-ahead log into the database file and
// truncates it. The truncation must wait for every read that started before
// the checkpoint to end, and SQLite's own wait (its busy handler, sleeping 1,
// 2, 5, 10 … 100 ms between looks) holds the writer all along: under a room's
// steady reads it held every vote behind it for hundreds of milliseconds. Each
// try here waits at most checkpointHold; between tries the writer is free and
// the next starts a millisecond later, until the busy timeout.
//
// First, on a connection of its own, a passive checkpoint copies the log into
// the file (and syncs it) while writes go on: the writer's checkpoint is then
// left little to copy, and mostly just truncates. While it truncates, this
// process's reads wait at their gate (readgate.go), so that only readers in
// other processes can make a try fail.
func (s *Store) truncateWAL(ctx context.Context) error {
	if s.ck != nil {
		var busy, frames, done int
		// Only a head start: what it cannot do (a read-only file before the
		// writer's reopen, say) the writer's checkpoint does.
		s.ck.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
	}
	deadline := time.Now().Add(s.busyTimeout)
	for {
		busy, err := s.checkpointOnce(ctx)
		if err != nil || !busy {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: checkpoint blocked by a reader", ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// checkpointOnce is one try of truncateWAL, on the writer's connection with a
// short busy timeout (set back after).
func (s *Store) checkpointOnce(ctx context.Context) (busy bool, err error) {
	turn, err := s.writerTurn(ctx)
	if err != nil {
		return false, err
	}
	defer turn()
	defer func(held time.Time) { s.checkpointHeld.Store(int64(time.Since(held))) }(time.Now())
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointHold.Milliseconds())); err != nil {
		return false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", s.busyTimeout.Milliseconds()))
	// This process's reads wait while the log is truncated, and those in
	// flight end first (readgate.go).
	open, idle := s.gate.hold(gateDrain)
	var blocked, frames, done int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&blocked, &frames, &done)
	open()
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		s.countBusy(idle)
		return true, nil
	}
	if err == nil && blocked == 0 {
		// Still on the writer's connection: every reveal committed so far is
		// scrubbed, and none commits before the marker is gone.
		s.scrubMarkDone()
	}
	if blocked != 0 {
		s.countBusy(idle)
	}
	return blocked != 0, err
}

// countBusy counts a try that a reader made fail: idle, although no read of
// this process was in flight (a reader in another process, or one that
// passes no gate).
func (s *Store) countBusy(idle bool) {
	s.checkpointBusy.Add(1)
	if idle {
		s.checkpointBusyIdle.Add(1)
	}
}

// Accept stores the final estimate of a revealed (or already accepted) issue.
func (s *Store) Accept(ctx context.Context, issueID int64, by User, final int) error {
	if final < EstimateMin || final > EstimateMax {
		return ErrInvalid
	}
	var groupID int64
	changed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			state string
			enc   string
			was   sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, "SELECT group_id, state, COALESCE(result, ''), final_estimate FROM issues WHERE id = ?"+s.rowLock("issues"), issueID).Scan(&groupID, &state, &enc, &was)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state == string(StateAccepted) && was.Valid && was.Int64 == int64(final) {
			return nil // accepted already with this value (a double click): nothing new
		}
		r, err := decodeResult(enc)
		if err != nil {
			return err
		}
		// On a deck of labels the final is one of its cards: a label names it.
		if r.Labelled() && !r.deck().Allows(final) {
			return ErrInvalid
		}
		res, err := tx.ExecContext(ctx, "UPDATE issues SET state = 'accepted', final_estimate = ? WHERE id = ? AND state IN ('revealed', 'accepted')", final, issueID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotRevealed
		}
		changed = true
		// In the same transaction: an accepted estimate is written back to
		// the tracker, whatever happens to this process after the commit.
		if err := s.queueTrackerWrite(ctx, tx, issueID, final); err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, groupID, issueID, ActAccept, "final "+r.Label(final))
	})
	if err == nil && changed {
		s.tell(Change{Kind: IssueChanged, Group: groupID, Issue: issueID})
	}
	return err
}

// Revote starts a new round on a revealed issue: its votes and current result
// are cleared, the earlier rounds' results stay (issue_rounds), and the group's
// default timer starts again if it has one. No other issue is touched.
func (s *Store) Revote(ctx context.Context, issueID int64, by User) error {
	var groupID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var round int
		err := tx.QueryRowContext(ctx, `UPDATE issues SET state = 'open', round = round + 1, result = NULL, final_estimate = NULL,
				timer_ends_at = (SELECT CASE WHEN g.timer_seconds > 0 THEN CAST(? AS BIGINT) + 1000 * g.timer_seconds END FROM groups g WHERE g.id = issues.group_id),
				timer_up = 0, ahead_until = NULL, ahead_fired = 0
			WHERE id = ? AND state = 'revealed' RETURNING group_id, round`, s.now().UnixMilli(), issueID).Scan(&groupID, &round)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotRevealed
		}
		if err != nil {
			return err
		}
		for _, table := range []string{"ballots", "open_notes", "note_keys", "note_rights"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE issue_id = ?", issueID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, s.unix(), by, groupID, issueID, ActRevote, "round "+strconv.Itoa(round))
	})
	if err == nil {
		s.tell(Change{Kind: IssueChanged, Group: groupID, Issue: issueID})
	}
	return err
}
