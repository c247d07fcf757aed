package store

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
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
	Line int
	Msg  string
}

func (e RowError) String() string { return fmt.Sprintf("Line %d: %s", e.Line, e.Msg) }

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

// importHeader is the columns a header row names; -1 for a column it lacks.
type importHeader struct{ key, summary, description int }

// readImportHeader recognizes a header row: Jira's CSV export ("Issue key",
// "Summary", "Description", among many others) or the plain "key",
// "description". The first column of a name counts: Jira repeats names for
// fields with several values.
func readImportHeader(rec []string) (importHeader, bool) {
	h := importHeader{-1, -1, -1}
	for i, cell := range rec {
		name := strings.ToLower(strings.TrimSpace(cell))
		switch {
		case (name == "issue key" || name == "key") && h.key < 0:
			h.key = i
		case name == "summary" && h.summary < 0:
			h.summary = i
		case name == "description" && h.description < 0:
			h.description = i
		}
	}
	return h, h.key >= 0
}

// ParseImport reads issues from text: pasted spreadsheet cells (one issue a
// line, key and description separated by a tab or a comma, quoted as
// spreadsheets quote them) or a CSV file. A header row is recognized (see
// readImportHeader); requireHeader (a file upload) refuses text without one. A
// leading BOM and CRLF line ends are fine; blank lines are skipped.
//
// Every row is checked with the rules of a single issue, and keys must be unique
// within the text (ignoring case). On any bad row it returns ImportErrors naming
// every bad line, and no rows.
func ParseImport(text string, requireHeader bool) ([]ImportRow, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	comma := importDelimiter(text)
	recs, err := readImportRecords(text, comma, false)
	if errors.Is(err, csv.ErrBareQuote) {
		// Spreadsheets copy a cell with a quote in it but no tab or line break as
		// it is, unquoted: read quotes leniently then. Not always, since leniency
		// takes an unclosed quote to run to the end of the text.
		recs, err = readImportRecords(text, comma, true)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, ImportErrors{{Line: pe.StartLine, Msg: "a quoted cell is not closed, or has text after its closing quote: a \" is missing, or one inside the cell is not doubled."}}
	}
	if err != nil {
		return nil, err
	}

	var rows []ImportRow
	var header *importHeader
	for i, rec := range recs {
		if i == 0 {
			if h, ok := readImportHeader(rec.cells); ok {
				header = &h
				continue
			}
			if requireHeader {
				return nil, ImportErrors{{Line: rec.line, Msg: "the first line must name the columns: Issue key, Summary, Description (a Jira export) or key, description."}}
			}
		}
		if len(rows) == ImportMaxRows {
			return nil, ImportErrors{{Line: rec.line, Msg: fmt.Sprintf("an import takes at most %d issues; split the rest into another import.", ImportMaxRows)}}
		}
		row := ImportRow{Line: rec.line}
		switch {
		case header != nil && header.summary >= 0:
			row.Key = cell(rec.cells, header.key)
			row.Description, row.Shortened = combineDescription(cell(rec.cells, header.summary), cell(rec.cells, header.description))
		case header != nil:
			// No summary: the description is the issue's own, checked as typed.
			row.Key, row.Description = cell(rec.cells, header.key), cell(rec.cells, header.description)
		default:
			row.Key = cell(rec.cells, 0)
			row.Description = headerlessDescription(rec.cells, comma)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, ErrNothingToImport
	}
	rows, errs := checkImportRows(rows, nil)
	if len(errs) > 0 {
		return nil, errs
	}
	return rows, nil
}

// importRecord is a row of cells and the line it starts on.
type importRecord struct {
	line  int
	cells []string
}

// readImportRecords splits text into records with encoding/csv, leaving out
// blank ones (empty lines, a row of empty cells).
func readImportRecords(text string, comma rune, lazyQuotes bool) ([]importRecord, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = lazyQuotes
	var out []importRecord
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if blankRecord(rec) {
			continue
		}
		line, _ := r.FieldPos(0)
		out = append(out, importRecord{line, rec})
	}
}

// importDelimiter is a tab when the first line with content has one (cells
// copied from a spreadsheet), else a comma.
func importDelimiter(text string) rune {
	for line := range strings.Lines(text) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.Contains(line, "\t") {
			return '\t'
		}
		break
	}
	return ','
}

func blankRecord(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// cell is column i of rec, "" when the row is shorter. The leading ' of a cell
// the CSV export guarded (SpreadsheetSafe) is taken off again.
func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	c := rec[i]
	if len(c) > 1 && c[0] == '\'' && guarded(c[1:]) {
		return c[1:]
	}
	return c
}

// headerlessDescription is everything after the key: a comma typed in a
// description without quotes splits it into cells, which are joined again.
// Empty cells at the end (a spreadsheet range wider than its text) are dropped.
func headerlessDescription(rec []string, delim rune) string {
	parts := make([]string, 0, len(rec))
	for i := 1; i < len(rec); i++ {
		parts = append(parts, cell(rec, i))
	}
	for len(parts) > 0 && strings.TrimSpace(parts[len(parts)-1]) == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, string(delim))
}

// combineDescription puts a Jira summary and description into one description:
// the summary, a blank line, the description. When both are longer than an
// issue's description may be, the description is cut at a word and ends in "…";
// the summary is kept whole (Jira's are at most 255 characters).
func combineDescription(summary, description string) (string, bool) {
	summary = strings.Join(strings.Fields(summary), " ")
	description = strings.TrimSpace(strings.ReplaceAll(description, "\r\n", "\n"))
	switch {
	case description == "":
		return summary, false
	case summary == "":
		summary, description = description, ""
		if utf8.RuneCountInString(summary) <= IssueDescriptionMax {
			return summary, false
		}
		return shorten(summary, IssueDescriptionMax), true
	}
	combined := summary + "\n\n" + description
	if utf8.RuneCountInString(combined) <= IssueDescriptionMax {
		return combined, false
	}
	room := IssueDescriptionMax - utf8.RuneCountInString(summary) - 2
	if room < 2 {
		// The summary alone is too long: validation says so.
		return combined, false
	}
	return summary + "\n\n" + shorten(description, room), true
}

// shorten cuts s to at most n runes ending in "…", at a space when one is near.
func shorten(s string, n int) string {
	runes := []rune(s)
	cut := n - 1
	for i := cut; i > cut*3/4; i-- {
		if runes[i] == ' ' || runes[i] == '\n' {
			cut = i
			break
		}
	}
	return strings.TrimRight(string(runes[:cut]), " \n\t") + "…"
}

// checkImportRows validates every row with the rules of a single issue
// (ValidateIssue) and returns the rows normalized. A key may appear once in the
// import and not at all among existing (the group's key_fold values mapped to
// their keys), both ignoring case.
func checkImportRows(rows []ImportRow, existing map[string]string) ([]ImportRow, ImportErrors) {
	var errs ImportErrors
	seen := map[string]int{}
	out := make([]ImportRow, 0, len(rows))
	for _, row := range rows {
		in, fieldErrs := ValidateIssue(row.Key, row.Description)
		if msg := fieldErrs["key"]; msg != "" {
			errs = append(errs, RowError{row.Line, keyProblem(row.Key, msg)})
			continue
		}
		if msg := fieldErrs["description"]; msg != "" {
			errs = append(errs, RowError{row.Line, "description of " + quoteKey(in.Key) + ": " + msg})
			continue
		}
		fold := NicknameKey(in.Key)
		if line, dup := seen[fold]; dup {
			errs = append(errs, RowError{row.Line, fmt.Sprintf("key %s is already on line %d; keys are unique within a group (ignoring case).", quoteKey(in.Key), line)})
			continue
		}
		seen[fold] = row.Line
		if have, taken := existing[fold]; taken {
			errs = append(errs, RowError{row.Line, fmt.Sprintf("this group already has an issue %s (as %s); keys are unique within a group (ignoring case).", quoteKey(in.Key), quoteKey(have))})
			continue
		}
		row.IssueInput = in
		out = append(out, row)
	}
	return out, errs
}

func keyProblem(raw, msg string) string {
	if strings.TrimSpace(raw) == "" {
		return "the key is empty; every issue needs one."
	}
	return "key " + quoteKey(raw) + ": " + msg
}

// quoteKey shows a key in a message, cut short when it is long and without
// characters that would garble the message.
func quoteKey(k string) string {
	k = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || invisible(r) || r == utf8.RuneError {
			return '�'
		}
		return r
	}, k)
	if utf8.RuneCountInString(k) > 40 {
		k = string([]rune(k)[:39]) + "…"
	}
	return "“" + k + "”"
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
	if _, errs := checkImportRows(rows, keys); len(errs) > 0 {
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
		checked, errs := checkImportRows(rows, keys)
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

// formulaLead are the first characters that make a spreadsheet read a cell as
// a formula (or, tab and CR, that some strip before doing so).
const formulaLead = "=+-@\t\r"

// guarded reports whether SpreadsheetSafe prefixes s: it starts with a formula
// character, or with ' itself (so that taking one ' off on import is exact).
func guarded(s string) bool {
	return s != "" && (s[0] == '\'' || strings.ContainsRune(formulaLead, rune(s[0])))
}

// SpreadsheetSafe guards a cell against formula injection: a cell starting
// with a formula character gets a leading ', which spreadsheets show as text.
func SpreadsheetSafe(s string) string {
	if guarded(s) {
		return "'" + s
	}
	return s
}
