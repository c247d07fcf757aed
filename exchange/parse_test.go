package exchange

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"estimator/store"
)

// jiraSample is the shape of Jira's "Export CSV (all fields)": many columns,
// some repeated, quoted multi-line descriptions, CRLF line ends and a BOM.
const jiraSample = "\ufeffSummary,Issue key,Issue id,Issue Type,Status,Sprint,Sprint,Description\r\n" +
	"Checkout shows the wrong total,SHOP-12,10012,Bug,To Do,S1,S2,\"Steps:\r\n1. add two items\r\n2. open checkout, see \"\"0.00\"\"\"\r\n" +
	"Add gift cards,SHOP-13,10013,Story,To Do,,,\r\n" +
	"\"Refunds, partial\",SHOP-14,10014,Story,In Progress,S2,,Refund a part of an order.\r\n"

func TestParseImportFormats(t *testing.T) {
	t.Parallel()
	type want struct {
		line      int
		key, desc string
	}
	cases := []struct {
		name          string
		text          string
		requireHeader bool
		want          []want
	}{
		{"jira export", jiraSample, true, []want{
			{2, "SHOP-12", "Checkout shows the wrong total\n\nSteps:\n1. add two items\n2. open checkout, see \"0.00\""},
			{5, "SHOP-13", "Add gift cards"},
			{6, "SHOP-14", "Refunds, partial\n\nRefund a part of an order."},
		}},
		{"plain header, description optional", "key,description\nA-1,First\nA-2\n", true, []want{
			{2, "A-1", "First"}, {3, "A-2", ""},
		}},
		{"header names ignore case and spaces", " KEY ;x\n", false, []want{{1, "KEY ;x", ""}}},
		{"pasted spreadsheet range (tabs)", "A-1\tFirst issue\nA-2\t\"Two\nlines\"\n\nA-3\tsays \"hi\"\n", false, []want{
			{1, "A-1", "First issue"}, {2, "A-2", "Two\nlines"}, {5, "A-3", "says \"hi\""},
		}},
		{"pasted range wider than its text", "A-1\tFirst\t\t\n\t\t\t\nA-2\tSecond\t\t\n", false, []want{
			{1, "A-1", "First"}, {3, "A-2", "Second"},
		}},
		{"comma separated, unquoted comma in the description", "A-1,Log in, then out\r\nA-2,\"Quoted, kept\"\r\n", false, []want{
			{1, "A-1", "Log in, then out"}, {2, "A-2", "Quoted, kept"},
		}},
		{"pasted with a header row", "Key\tDescription\nA-1\tFirst\n", false, []want{{2, "A-1", "First"}}},
		{"keys and descriptions are normalized", "  A-1  \t  spaced  \n", false, []want{{1, "A-1", "spaced"}}},
		{"formula guard of the export is taken off", "key,description\n'=A-1,'+one\n", true, []want{{2, "=A-1", "+one"}}},
		{"one column: keys only", "A-1\nA-2\n", false, []want{{1, "A-1", ""}, {2, "A-2", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ParseImport(tc.text, tc.requireHeader)
			if err != nil {
				t.Fatalf("ParseImport: %v", err)
			}
			if len(rows) != len(tc.want) {
				t.Fatalf("got %d rows %+v, want %d", len(rows), rows, len(tc.want))
			}
			for i, w := range tc.want {
				if r := rows[i]; r.Line != w.line || r.Key != w.key || r.Description != w.desc {
					t.Errorf("row %d = line %d %q %q, want line %d %q %q", i, r.Line, r.Key, r.Description, w.line, w.key, w.desc)
				}
			}
		})
	}
}

func TestParseImportRefusesBadRows(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("K", store.IssueKeyMax+1)
	cases := []struct {
		name          string
		text          string
		requireHeader bool
		lines         []int
		msg           string
	}{
		{"empty key", "A-1,one\n,no key\n", false, []int{2}, "the key is empty"},
		{"key too long", "A-1\n" + long + ",x\n", false, []int{2}, "at most 32 characters"},
		{"invisible character", "A-1\nA\u200b2,x\n", false, []int{2}, "without control or invisible characters"},
		{"control character", "A-1\nA\x072,x\n", false, []int{2}, "without control or invisible characters"},
		{"not UTF-8", "A-1\nA\xff,x\n", false, []int{2}, "plain text"},
		{"duplicate key, other case", "a-1,one\nA-2,two\nA-1,again\n", false, []int{3}, "already on line 1"},
		{"description too long", "A-1," + strings.Repeat("d", store.IssueDescriptionMax+1) + "\n", false, []int{1}, "at most 2000 characters"},
		{"description too long, no summary to shorten around", "Issue key,Description\nA-1," + strings.Repeat("d", store.IssueDescriptionMax+1) + "\n", true, []int{2}, "at most 2000 characters"},
		{"every bad line is named", ",x\nB\u202e\nB\nb\n", false, []int{1, 2, 4}, ""},
		{"file without a header", "A-1,one\n", true, []int{1}, "must name the columns"},
		{"unclosed quote", "A-1,one\nA-2,\"never closed\nA-3,x\n", false, []int{2}, "not closed"},
		{"too many rows", "\n\n" + rowsText(store.ImportMaxRows+1), false, []int{store.ImportMaxRows + 3}, "at most 2000 issues"},
		{"text after a closing quote", "A-1,\"one\" two\n", false, []int{1}, "not closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ParseImport(tc.text, tc.requireHeader)
			var ie store.ImportErrors
			if !errors.As(err, &ie) || rows != nil {
				t.Fatalf("ParseImport = %d rows, %v; want store.ImportErrors", len(rows), err)
			}
			if !errors.Is(err, store.ErrInvalid) {
				t.Error("store.ImportErrors does not match store.ErrInvalid")
			}
			var lines []int
			for _, e := range ie {
				lines = append(lines, e.Line)
			}
			if fmt.Sprint(lines) != fmt.Sprint(tc.lines) {
				t.Errorf("lines %v, want %v (%v)", lines, tc.lines, ie)
			}
			if !strings.Contains(ie[0].Msg(), tc.msg) {
				t.Errorf("message %q, want it to contain %q", ie[0].Msg(), tc.msg)
			}
			if !strings.HasPrefix(ie[0].String(), fmt.Sprintf("Line %d: ", ie[0].Line)) {
				t.Errorf("%q does not name its line", ie[0].String())
			}
		})
	}
}

// rowsText is n distinct rows.
func rowsText(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "K-%d,row %d\n", i, i)
	}
	return b.String()
}

func TestParseImportNothing(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", "\n\n", "\ufeff", "key,description\n", "\t\t\n,,\n"} {
		if _, err := ParseImport(text, false); !errors.Is(err, store.ErrNothingToImport) {
			t.Errorf("ParseImport(%q) = %v, want store.ErrNothingToImport", text, err)
		}
	}
}

func TestCombineDescriptionFitsAnIssue(t *testing.T) {
	t.Parallel()
	summary := "A summary of a story"
	long := strings.Repeat("word ", store.IssueDescriptionMax)
	cases := []struct {
		summary, description string
		shortened            bool
	}{
		{summary, "", false},
		{"", "only a description", false},
		{summary, "short", false},
		{summary, long, true},
		{"", long, true},
		{summary, strings.Repeat("x", store.IssueDescriptionMax), true},
	}
	for _, tc := range cases {
		got, shortened := combineDescription(tc.summary, tc.description)
		if shortened != tc.shortened {
			t.Errorf("combine(%d, %d runes) shortened %v, want %v", len(tc.summary), len(tc.description), shortened, tc.shortened)
		}
		if n := utf8.RuneCountInString(got); n > store.IssueDescriptionMax {
			t.Errorf("combined has %d runes, more than %d", n, store.IssueDescriptionMax)
		}
		if _, errs := store.ValidateIssue("K-1", got); len(errs) > 0 {
			t.Errorf("combined description is not valid: %v", errs)
		}
		if tc.summary != "" && !strings.HasPrefix(got, tc.summary) {
			t.Errorf("summary lost: %q", truncate(got, 60))
		}
		if shortened && !strings.HasSuffix(got, "…") {
			t.Errorf("shortened description does not say so: %q", got[len(got)-20:])
		}
	}
	rows, err := ParseImport("Issue key,Summary,Description\nK-1,"+summary+","+long+"\n", true)
	if err != nil || len(rows) != 1 || !rows[0].Shortened {
		t.Fatalf("long Jira description: rows %+v, err %v; want one shortened row", rows, err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func TestSpreadsheetSafe(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                         "",
		"SHOP-1":                   "SHOP-1",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1":                       "'+1",
		"-1+2":                     "'-1+2",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		"a=1":                      "a=1",
		"'quoted":                  "''quoted",
		"'=x":                      "''=x",
	}
	for in, want := range cases {
		if got := SpreadsheetSafe(in); got != want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
		// What the export guards, the import reads back as it was.
		if got := cell([]string{SpreadsheetSafe(in)}, 0); got != in {
			t.Errorf("import of %q = %q, want %q", SpreadsheetSafe(in), got, in)
		}
	}
}

// FuzzSpreadsheetSafe: the import reads back exactly what the export guarded,
// and a guarded cell never starts with a formula character.
func FuzzSpreadsheetSafe(f *testing.F) {
	for _, seed := range []string{"", "=1", "'", "''=", "-", "a"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := SpreadsheetSafe(s)
		if g != "" && strings.ContainsRune(formulaLead, rune(g[0])) {
			t.Fatalf("SpreadsheetSafe(%q) = %q starts with a formula character", s, g)
		}
		if got := cell([]string{g}, 0); got != s {
			t.Fatalf("import of %q = %q, want %q", g, got, s)
		}
	})
}

// FuzzParseImport: whatever a stranger pastes, parsing does not panic, and what
// it accepts is a valid issue each, with keys unique ignoring case.
func FuzzParseImport(f *testing.F) {
	for _, seed := range []string{jiraSample, "A-1\tone\nA-2\t\"two\nlines\"\n", "key,description\n'=x,y\n", ",\n\"", "A\u200b,\"\"\"\n"} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, text string, requireHeader bool) {
		rows, err := ParseImport(text, requireHeader)
		if err != nil {
			var ie store.ImportErrors
			if !errors.As(err, &ie) && !errors.Is(err, store.ErrNothingToImport) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if rows != nil {
				t.Fatal("rows returned with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			in, errs := store.ValidateIssue(r.Key, r.Description)
			if len(errs) > 0 || in != r.IssueInput {
				t.Fatalf("accepted row %+v is not a valid, normalized issue: %v", r, errs)
			}
			if seen[store.NicknameKey(r.Key)] {
				t.Fatalf("key %q accepted twice", r.Key)
			}
			seen[store.NicknameKey(r.Key)] = true
		}
	})
}
