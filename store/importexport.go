package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"estimator/i18n"
)

// ImportMaxRows bounds one import: a backlog is imported in parts rather than
// holding the writer for one huge transaction and a preview nobody reads.
const ImportMaxRows = 2000

// ImportRow is an issue read from an import, with the line of the text it
// starts on (a quoted description may span several lines).
type ImportRow struct {
	Line int
	IssueInput
	// Shortened says the description was cut to fit: a Jira summary and
	// description together may be longer than an issue takes.
	Shortened bool
}

// RowError is what is wrong with one line of an import.
type RowError struct {
	Line    int
	Problem Problem
}

// Msg is what is wrong, in English.
func (e RowError) Msg() string { return e.Problem.String() }

// In is the line and what is wrong with it in language l ("Line 3: …").
func (e RowError) In(l i18n.Lang) string {
	return problem("rule.import.line", map[string]any{"Line": e.Line, "Problem": e.Problem}).In(l)
}

// String is the line and what is wrong with it, in English.
func (e RowError) String() string { return e.In(i18n.EN) }

// ImportErrors refuses a whole import: every bad line, in order. Nothing of it
// was added. It matches ErrInvalid.
type ImportErrors []RowError

func (e ImportErrors) Error() string {
	if len(e) == 0 {
		return "import refused"
	}
	msg := e[0].String()
	if len(e) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(e)-1)
	}
	return msg
}

func (e ImportErrors) Is(target error) bool { return target == ErrInvalid }

// ErrNothingToImport is an import without a single issue in it.
var ErrNothingToImport = errors.New("nothing to import")

// CheckImportRows validates every row with the rules of a single issue
// (ValidateIssue) and returns the rows normalized. A key may appear once in the
// import and not at all among existing (the group's key_fold values mapped to
// their keys), both ignoring case.
func CheckImportRows(rows []ImportRow, existing map[string]string) ([]ImportRow, ImportErrors) {
	var errs ImportErrors
	seen := map[string]int{}
	out := make([]ImportRow, 0, len(rows))
	for _, row := range rows {
		in, fieldErrs := CheckIssue(row.Key, row.Description)
		if p, bad := fieldErrs["key"]; bad {
			errs = append(errs, RowError{row.Line, keyProblem(row.Key, p)})
			continue
		}
		if p, bad := fieldErrs["description"]; bad {
			errs = append(errs, RowError{row.Line, problem("rule.import.description", map[string]any{"Key": keyShown(in.Key), "Problem": p})})
			continue
		}
		fold := NicknameKey(in.Key)
		if line, dup := seen[fold]; dup {
			errs = append(errs, RowError{row.Line, problem("rule.import.key_twice", map[string]any{"Key": keyShown(in.Key), "Line": line})})
			continue
		}
		seen[fold] = row.Line
		if have, taken := existing[fold]; taken {
			errs = append(errs, RowError{row.Line, problem("rule.import.key_taken", map[string]any{"Key": keyShown(in.Key), "Have": keyShown(have)})})
			continue
		}
		row.IssueInput = in
		out = append(out, row)
	}
	return out, errs
}

func keyProblem(raw string, p Problem) Problem {
	if strings.TrimSpace(raw) == "" {
		return problem("rule.import.key_empty", nil)
	}
	return problem("rule.import.key", map[string]any{"Key": keyShown(raw), "Problem": p})
}

// keyShown is a key as a message shows it (in the language's quotes), cut
// short when it is long and without characters that would garble the message.
func keyShown(k string) string {
	k = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || invisible(r) || r == utf8.RuneError {
			return '�'
		}
		return r
	}, k)
	if utf8.RuneCountInString(k) > 40 {
		k = string([]rune(k)[:39]) + "…"
	}
	return k
}

// groupKeys maps the fold of every key of a group to the key.
func groupKeys(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, groupID int64) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT key_fold, key FROM issues WHERE group_id = ?", groupID)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var fold, key string
		if err := rows.Scan(&fold, &key); err != nil {
			return nil, wrap(err)
		}
		keys[fold] = key
	}
	return keys, wrap(rows.Err())
}

// CheckImport is the preview's check of parsed rows against the group's issues:
// ImportErrors for a key the group already has.
func (s *Store) CheckImport(ctx context.Context, groupID int64, rows []ImportRow) error {
	keys, err := groupKeys(ctx, s.r, groupID)
	if err != nil {
		return err
	}
	if _, errs := CheckImportRows(rows, keys); len(errs) > 0 {
		return errs
	}
	return nil
}

// ImportIssues adds every row to a group in one transaction, or none: the rows
// are checked again under the write lock (a key added since the preview is
// refused with ImportErrors). It returns how many were added.
func (s *Store) ImportIssues(ctx context.Context, groupID int64, rows []ImportRow) (int, error) {
	n, _, err := s.ImportIssuesOnce(ctx, 0, groupID, rows, Once{})
	return n, err
}

// ImportIssuesOnce is ImportIssues for a confirm form carrying once, sent by
// userID: sent again, it adds nothing and returns how many the first added
// (made false).
func (s *Store) ImportIssuesOnce(ctx context.Context, userID, groupID int64, rows []ImportRow, once Once) (n int, made bool, err error) {
	if len(rows) == 0 {
		return 0, false, ErrNothingToImport
	}
	if len(rows) > ImportMaxRows {
		return 0, false, ErrInvalid
	}
	sts, err := s.writerStmts(ctx, insertIssue)
	if err != nil {
		return 0, false, err
	}
	// A key added meanwhile on another instance: checked again.
	err = s.txRecheck(ctx, func(tx *sql.Tx) error {
		now := s.unix()
		first, isFirst, err := claimOnce(ctx, tx, now, userID, onceImport, once, "")
		if err != nil {
			return err
		}
		if made = isFirst; !made {
			n = int(first)
			return nil
		}
		keys, err := groupKeys(ctx, tx, groupID)
		if err != nil {
			return err
		}
		checked, errs := CheckImportRows(rows, keys)
		if len(errs) > 0 {
			return errs
		}
		ins := tx.StmtContext(ctx, sts[0])
		for _, row := range checked {
			if _, err := ins.ExecContext(ctx, groupID, row.Key, NicknameKey(row.Key), row.Description, now); err != nil {
				return err
			}
		}
		n = len(rows)
		return doneOnce(ctx, tx, userID, once, int64(n))
	})
	if err != nil {
		return 0, false, err
	}
	if made {
		s.tell(Change{Kind: IssuesAdded, Group: groupID})
	}
	return n, made, nil
}

const insertIssue = "INSERT INTO issues (group_id, key, key_fold, description, created_at) VALUES (?, ?, ?, ?, ?)"

// IssueRounds is an issue with the results of its revealed rounds, as an export
// shows it: no member, no vote and no time in it.
type IssueRounds struct {
	Key         string
	Description string
	State       IssueState
	Final       int     // 0 until accepted
	Rounds      []Round // every revealed round, oldest first
}

// GroupIssueRounds lists a group's issues, oldest first, each with the results
// of its revealed rounds, oldest first. A round still open has no result yet,
// so it is not listed.
func (s *Store) GroupIssueRounds(ctx context.Context, groupID int64) ([]IssueRounds, error) {
	issues, err := s.GroupIssues(ctx, groupID)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT r.issue_id, r.round, r.result FROM issue_rounds r
		JOIN issues i ON i.id = r.issue_id WHERE i.group_id = ? ORDER BY r.issue_id, r.round`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rounds := map[int64][]Round{}
	for rows.Next() {
		var id int64
		var r Round
		var enc string
		if err := rows.Scan(&id, &r.Number, &enc); err != nil {
			return nil, wrap(err)
		}
		if r.Result, err = decodeResult(enc); err != nil {
			return nil, err
		}
		rounds[id] = append(rounds[id], r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	out := make([]IssueRounds, len(issues))
	for i, is := range issues {
		out[i] = IssueRounds{Key: is.Key, Description: is.Description, State: is.State, Final: is.Final, Rounds: rounds[is.ID]}
	}
	return out, nil
}
