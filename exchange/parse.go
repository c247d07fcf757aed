package exchange

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"estimator/store"
)

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
func ParseImport(text string, requireHeader bool) ([]store.ImportRow, error) {
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
		return nil, store.ImportErrors{{Line: pe.StartLine, Problem: store.Problem{ID: "rule.import.quote"}}}
	}
	if err != nil {
		return nil, err
	}

	var rows []store.ImportRow
	var header *importHeader
	for i, rec := range recs {
		if i == 0 {
			if h, ok := readImportHeader(rec.cells); ok {
				header = &h
				continue
			}
			if requireHeader {
				return nil, store.ImportErrors{{Line: rec.line, Problem: store.Problem{ID: "rule.import.header"}}}
			}
		}
		if len(rows) == store.ImportMaxRows {
			return nil, store.ImportErrors{{Line: rec.line, Problem: store.Problem{ID: "rule.import.too_many", Data: map[string]any{"Max": store.ImportMaxRows}}}}
		}
		row := store.ImportRow{Line: rec.line}
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
		return nil, store.ErrNothingToImport
	}
	rows, errs := store.CheckImportRows(rows, nil)
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
		if utf8.RuneCountInString(summary) <= store.IssueDescriptionMax {
			return summary, false
		}
		return shorten(summary, store.IssueDescriptionMax), true
	}
	combined := summary + "\n\n" + description
	if utf8.RuneCountInString(combined) <= store.IssueDescriptionMax {
		return combined, false
	}
	room := store.IssueDescriptionMax - utf8.RuneCountInString(summary) - 2
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
