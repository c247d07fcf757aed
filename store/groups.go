package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Role is a member's place in a group.
type Role string

const (
	RoleOwner Role = "owner"
	// RoleFacilitator is a member the owner lets run the meeting: the room
	// and the backlog, not the group's settings, members or invite.
	RoleFacilitator Role = "facilitator"
	RoleMember      Role = "member"
	// RoleNone is the role of someone who is not a member.
	RoleNone Role = ""
)

// CanFacilitate reports whether the role runs the meeting: the room (reveal,
// timer, new round, accept, start) and the backlog (add, import, edit,
// delete, quick votes).
func (r Role) CanFacilitate() bool { return r == RoleOwner || r == RoleFacilitator }

// roleCol is the role of membership row m as the store reports it: its
// stored role (owner or member), a member with the facilitator flag as
// RoleFacilitator, and ” when there is no row (a LEFT JOIN).
const roleCol = "CASE WHEN m.role = 'member' AND m.facilitator = 1 THEN 'facilitator' ELSE COALESCE(m.role, '') END"

// Group is a team that estimates together.
type Group struct {
	ID          int64
	Name        string
	InviteToken string
	CreatedAt   time.Time
	// Settings and CurrentIssueID are loaded with the group by GroupFor,
	// IssueFor and IssueStatus (elsewhere they stay zero).
	Settings GroupSettings
	// CurrentIssueID is the issue the group estimates now (0: none yet).
	CurrentIssueID int64
}

// GroupSummary is a line of "My Groups".
type GroupSummary struct {
	Group
	Role       Role
	Members    int
	OpenIssues int
	// Waiting is how many issues opened ahead wait for this person's vote.
	Waiting int
}

// Member is a person in a group.
type Member struct {
	UserID   int64
	Nickname string
	Role     Role
	Seat     Seat
	JoinedAt time.Time
}

// Invite is what the invite confirmation page shows.
type Invite struct {
	Group
	Owner   string
	Members int
}

const GroupNameMax = 80

// NormalizeGroupName trims a group name and validates it (1–80 characters, no
// control characters); the message is in English.
func NormalizeGroupName(raw string) (string, string) {
	name, p := CheckGroupName(raw)
	return name, p.String()
}

// CheckGroupName is NormalizeGroupName with the problem in any language.
func CheckGroupName(raw string) (string, Problem) {
	return normalizeText(raw, true, GroupNameMax, "group_name", true)
}

// normalizeText trims text, puts it in NFC and checks its length in characters
// (required: at least one). singleLine also folds runs of white space (a name);
// otherwise line breaks stay. what names the text in the problem's ID
// (rule.<what>.long): group_name, key, description or note.
func normalizeText(raw string, required bool, maxLen int, what string, singleLine bool) (string, Problem) {
	if !utf8.ValidString(raw) {
		return "", problem("rule."+what+".plain", nil)
	}
	v := norm.NFC.String(raw)
	if singleLine {
		v = strings.Join(strings.Fields(v), " ")
	} else {
		v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(r == '\n' || r == '\t') || r == utf8.RuneError || invisible(r) {
			return "", problem("rule."+what+".invisible", nil)
		}
	}
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0 && required:
		return "", problem("rule."+what+".empty", nil)
	case n > maxLen:
		return "", problem("rule."+what+".long", map[string]any{"Max": maxLen, "Count": n})
	}
	return v, Problem{}
}

// invisible reports format characters that can disguise text (bidirectional
// overrides, zero-width spaces). Zero-width (non-)joiners stay: scripts and
// emoji need them.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d'
}

// newInviteToken is 128 random bits, URL-safe.
func newInviteToken() string { return NewToken()[:22] }

// CreateGroup makes a group owned by owner.
func (s *Store) CreateGroup(ctx context.Context, owner User, name string) (Group, error) {
	g, _, err := s.CreateGroupOnce(ctx, owner, name, Once{})
	return g, err
}

// CreateGroupOnce is CreateGroup for a form carrying once: sent again, it
// makes nothing and returns the group the first made (made false; only its ID
// and Name are set).
func (s *Store) CreateGroupOnce(ctx context.Context, owner User, name string, once Once) (g Group, made bool, err error) {
	name, msg := NormalizeGroupName(name)
	if msg != "" {
		return Group{}, false, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	now := s.unix()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		g = Group{Name: name, InviteToken: newInviteToken(), CreatedAt: time.Unix(now, 0), Settings: DefaultSettings()}
		first, isFirst, err := claimOnce(ctx, tx, now, owner.ID, onceGroup, once, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?")
		if err != nil {
			return err
		}
		if made = isFirst; !made {
			g = Group{ID: first, Name: name}
			return nil
		}
		if err := tx.QueryRowContext(ctx, "INSERT INTO groups (name, invite_token, created_at) VALUES (?, ?, ?) RETURNING id",
			g.Name, g.InviteToken, now).Scan(&g.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)", g.ID, owner.ID, now); err != nil {
			return err
		}
		return doneOnce(ctx, tx, owner.ID, once, g.ID)
	})
	return g, made, err
}

// UserGroups lists the groups of a user with role, member count and open issues,
// newest first, in one query. The counts are kept on the group row by triggers
// (migration 0004): counting them here cost more than the rest of the page.
func (s *Store) UserGroups(ctx context.Context, userID int64) ([]GroupSummary, error) {
	gen, cached := s.generation(ctx)
	if cached {
		if gs, ok := s.cache.groups.get(gen, userID); ok {
			return slices.Clone(gs), nil
		}
	}
	gs, err := s.userGroups(ctx, userID)
	if err == nil && cached {
		s.cache.groups.put(gen, userID, slices.Clone(gs))
	}
	return gs, err
}

func (s *Store) userGroups(ctx context.Context, userID int64) ([]GroupSummary, error) {
	rows, err := s.query(ctx, `SELECT g.id, g.name, g.invite_token, g.created_at, `+roleCol+`, g.member_count, g.open_issues
		FROM memberships m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = ? ORDER BY m.group_id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GroupSummary
	for rows.Next() {
		var gs GroupSummary
		var created int64
		if err := rows.Scan(&gs.ID, &gs.Name, &gs.InviteToken, &created, &gs.Role, &gs.Members, &gs.OpenIssues); err != nil {
			return nil, wrap(err)
		}
		gs.CreatedAt = time.Unix(created, 0)
		out = append(out, gs)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	rows.Close()
	waiting, err := s.AheadWaiting(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Waiting = waiting[out[i].ID]
	}
	return out, nil
}

// GroupFor loads a group and the role of userID in it. A group that does not
// exist is ErrNotFound; RoleNone means userID is not a member.
func (s *Store) GroupFor(ctx context.Context, groupID, userID int64) (Group, Role, error) {
	row, err := s.queryRow(ctx, `SELECT g.id, `+groupRoomCols+`, `+roleCol+`
		FROM groups g LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = ?
		WHERE g.id = ?`, userID, groupID)
	if err != nil {
		return Group{}, RoleNone, err
	}
	var g Group
	var role Role
	var gr groupRow
	if err := row.Scan(append(append([]any{&g.ID}, gr.dest(&g)...), &role)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Group{}, RoleNone, ErrNotFound
		}
		return Group{}, RoleNone, wrap(err)
	}
	if err := gr.fill(&g); err != nil {
		return Group{}, RoleNone, err
	}
	return g, role, nil
}

// Members lists the members of a group: the owner first, then by joining time.
func (s *Store) Members(ctx context.Context, groupID int64) ([]Member, error) {
	rows, err := s.query(ctx, `SELECT u.id, u.nickname, `+roleCol+`, m.seat, m.joined_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? ORDER BY m.role = 'owner' DESC, m.joined_at, u.id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		var joined int64
		if err := rows.Scan(&m.UserID, &m.Nickname, &m.Role, &m.Seat, &joined); err != nil {
			return nil, wrap(err)
		}
		m.JoinedAt = time.Unix(joined, 0)
		out = append(out, m)
	}
	return out, wrap(rows.Err())
}

// InviteByToken loads what an invite link offers. Unknown or replaced tokens are
// ErrNotFound.
func (s *Store) InviteByToken(ctx context.Context, token string) (Invite, error) {
	if token == "" {
		return Invite{}, ErrNotFound
	}
	row, err := s.queryRow(ctx, `SELECT g.id, g.name, g.invite_token, g.created_at, u.nickname,
			(SELECT COUNT(*) FROM memberships x WHERE x.group_id = g.id)
		FROM groups g JOIN memberships m ON m.group_id = g.id AND m.role = 'owner' JOIN users u ON u.id = m.user_id
		WHERE g.invite_token = ?`, token)
	if err != nil {
		return Invite{}, err
	}
	var inv Invite
	var created int64
	if err := row.Scan(&inv.ID, &inv.Name, &inv.InviteToken, &created, &inv.Owner, &inv.Members); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Invite{}, ErrNotFound
		}
		return Invite{}, wrap(err)
	}
	inv.CreatedAt = time.Unix(created, 0)
	return inv, nil
}

// Join makes u a member of the group the invite token belongs to. Joining again
// is ErrAlreadyMember (and changes nothing).
func (s *Store) Join(ctx context.Context, token string, u User) (Group, error) {
	var g Group
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, "SELECT id, name, invite_token, created_at FROM groups WHERE invite_token = ?", token).
			Scan(&g.ID, &g.Name, &g.InviteToken, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		g.CreatedAt = time.Unix(created, 0)
		res, err := tx.ExecContext(ctx, `INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)
			ON CONFLICT (group_id, user_id) DO NOTHING`, g.ID, u.ID, s.unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrAlreadyMember
		}
		return nil
	})
	if err == nil {
		s.tell(Change{Kind: GroupChanged, Group: g.ID})
	}
	return g, err
}

// ReplaceInvite gives the group a new invite token; the old link stops working.
func (s *Store) ReplaceInvite(ctx context.Context, groupID int64) (string, error) {
	tok := newInviteToken()
	res, err := s.exec(ctx, "UPDATE groups SET invite_token = ? WHERE id = ?", tok, groupID)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", ErrNotFound
	}
	return tok, nil
}

// RenameGroup changes a group's name.
func (s *Store) RenameGroup(ctx context.Context, groupID int64, name string) error {
	name, msg := NormalizeGroupName(name)
	if msg != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	res, err := s.exec(ctx, "UPDATE groups SET name = ? WHERE id = ?", name, groupID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	s.tell(Change{Kind: GroupChanged, Group: groupID})
	return nil
}

// RemoveMember takes a member (not the owner) out of a group. Their estimates on
// open issues go; revealed results keep their anonymous distribution. It returns
// the group's issues whose status changed.
func (s *Store) RemoveMember(ctx context.Context, groupID, userID int64, by User) ([]int64, error) {
	return s.dropMember(ctx, groupID, userID, by, "member.removed", 0)
}

// LeaveGroup takes u out of a group. The owner must hand the group over first.
// session is the session u left from (0: none): its own answer takes its pages
// on, so the change tells it apart (Change.Session).
func (s *Store) LeaveGroup(ctx context.Context, groupID int64, u User, session int64) ([]int64, error) {
	return s.dropMember(ctx, groupID, u.ID, u, "member.left", session)
}

func (s *Store) dropMember(ctx context.Context, groupID, userID int64, by User, action string, session int64) ([]int64, error) {
	var issues []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The open issues first (their ballots change below), then the
		// membership: the order of a vote and of SetSeat.
		if err := s.lockIssues(ctx, tx, "group_id = ? AND state = 'open'", groupID); err != nil {
			return err
		}
		var role Role
		var nick string
		err := tx.QueryRowContext(ctx, `SELECT m.role, u.nickname FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = ? AND m.user_id = ?`+s.rowLock("m"), groupID, userID).Scan(&role, &nick)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotMember
		}
		if err != nil {
			return err
		}
		if role == RoleOwner {
			return ErrOwnerCannotLeave
		}
		issues, err = dropVoter(ctx, tx, userID, "SELECT id FROM issues WHERE group_id = ? AND state = 'open'", groupID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM memberships WHERE group_id = ? AND user_id = ?", groupID, userID); err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), by, groupID, 0, action, nick)
	})
	if err == nil {
		s.tell(Change{Kind: MemberLeft, Group: groupID, User: userID, Session: session})
	}
	return issues, err
}

// TransferOwnership makes toUserID (a member) the owner; the owner becomes a member.
func (s *Store) TransferOwnership(ctx context.Context, groupID int64, from User, toUserID int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var nick string
		err := tx.QueryRowContext(ctx, `SELECT u.nickname FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = ? AND m.user_id = ? AND m.role = 'member'`+s.rowLock("m"), groupID, toUserID).Scan(&nick)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotMember
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE memberships SET role = 'member' WHERE group_id = ? AND user_id = ? AND role = 'owner'", groupID, from.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotMember
		}
		if _, err := tx.ExecContext(ctx, "UPDATE memberships SET role = 'owner', facilitator = 0 WHERE group_id = ? AND user_id = ?", groupID, toUserID); err != nil {
			return err
		}
		return audit(ctx, tx, s.unix(), from, groupID, 0, ActOwnershipChange, from.Nickname+" → "+nick)
	})
	if err == nil {
		s.tell(Change{Kind: GroupChanged, Group: groupID})
	}
	return err
}

// DeleteGroup removes a group with its memberships, issues and estimates.
func (s *Store) DeleteGroup(ctx context.Context, groupID int64) error {
	res, err := s.exec(ctx, "DELETE FROM groups WHERE id = ?", groupID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	s.tell(Change{Kind: GroupDeleted, Group: groupID})
	return nil
}
