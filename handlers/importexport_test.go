package handlers

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"estimator/store"
)

// A Jira "Export CSV (all fields)" sample: many columns, a repeated one,
// quoted multi-line cells, CRLF and a BOM.
const jiraExport = "\ufeffSummary,Issue key,Issue id,Issue Type,Status,Sprint,Sprint,Description\r\n" +
	"Checkout shows the wrong total,SHOP-12,10012,Bug,To Do,S1,S2,\"Steps:\r\n1. add two items\r\n2. open checkout\"\r\n" +
	"Add gift cards,SHOP-13,10013,Story,To Do,,,\r\n" +
	"\"Refunds, partial\",SHOP-14,10014,Story,In Progress,S2,,Refund a part of an order.\r\n"

// multipartBody builds a multipart/form-data body: fields, and a file part for
// each name in files (file name "issues.csv").
func multipartBody(t testing.TB, fields map[string]string, files map[string]string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range files {
		// A browser sends a file input left empty as a part with no file name.
		name := "issues.csv"
		if v == "" {
			name = ""
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, k, name))
		h.Set("Content-Type", "text/csv")
		fw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, v)
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func (c *client) postMultipart(target string, fields, files map[string]string) *response {
	c.ta.t.Helper()
	body, ct := multipartBody(c.ta.t, fields, files)
	return c.do(http.MethodPost, target, body, ct)
}

func importPath(gid int64) string { return fmt.Sprintf("/groups/%d/import", gid) }

// issueKeys lists a group's issues as key=description.
func (ta *testApp) issueKeys(gid int64) []string {
	ta.t.Helper()
	issues, err := ta.st.GroupIssues(tctx, gid)
	if err != nil {
		ta.t.Fatal(err)
	}
	var out []string
	for _, is := range issues {
		out = append(out, is.Key+"="+is.Description)
	}
	return out
}

// confirmImport posts the preview's confirm form as the browser would:
// multipart, with the hidden fields of the page.
func (c *client) confirmImport(gid int64, preview *response) *response {
	c.ta.t.Helper()
	rows, ok := preview.inputValue("import-confirm-form", "rows")
	confirmed, _ := preview.inputValue("import-confirm-form", "confirmed")
	if !ok || confirmed != "1" {
		c.ta.t.Fatalf("preview has no confirm form with rows and confirmed=1: %s", truncate(preview.body, 800))
	}
	return c.postMultipart(importPath(gid), map[string]string{"rows": rows, "confirmed": confirmed}, nil)
}

func TestImportJiraExport(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga", "Max")
	owner := tm.owner.plain()

	page := owner.get(fmt.Sprintf("/groups/%d", tm.gid)).wantStatus(http.StatusOK)
	if !page.has("import-form") || !page.has("export-csv") || !page.has("export-json") {
		t.Fatal("the owner's group page lacks the import form or the export links")
	}
	mpage := tm.members[0].get(fmt.Sprintf("/groups/%d", tm.gid)).wantStatus(http.StatusOK)
	if mpage.has("import-form") || !mpage.has("export-csv") {
		t.Fatal("a member sees the import form, or no export links")
	}

	preview := owner.postMultipart(importPath(tm.gid), nil, map[string]string{"file": jiraExport}).wantStatus(http.StatusOK)
	if got := preview.texts("import-key"); strings.Join(got, " ") != "SHOP-12 SHOP-13 SHOP-14" {
		t.Fatalf("preview keys %v", got)
	}
	if !strings.Contains(preview.text("import-preview-title"), "3 issues") {
		t.Errorf("preview title %q", preview.text("import-preview-title"))
	}
	if keys := ta.issueKeys(tm.gid); len(keys) != 0 {
		t.Fatalf("the preview added issues: %v", keys)
	}

	owner.confirmImport(tm.gid, preview).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	want := []string{
		"SHOP-12=Checkout shows the wrong total\n\nSteps:\n1. add two items\n2. open checkout",
		"SHOP-13=Add gift cards",
		"SHOP-14=Refunds, partial\n\nRefund a part of an order.",
	}
	if got := ta.issueKeys(tm.gid); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("imported %q, want %q", got, want)
	}
	owner.get(fmt.Sprintf("/groups/%d", tm.gid)).wantNotice("3 issues were imported")

	// Back or refresh on the preview posts the confirm again: nothing is added
	// twice, and the page says why.
	again := owner.confirmImport(tm.gid, preview).wantStatus(http.StatusUnprocessableEntity)
	if p := again.texts("import-problem"); len(p) != 3 || !strings.Contains(p[0], "already has an issue") {
		t.Fatalf("second confirm problems %v", p)
	}
	if got := ta.issueKeys(tm.gid); len(got) != 3 {
		t.Fatalf("second confirm changed the issues: %v", got)
	}
}

func TestImportPastedSpreadsheetRange(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga")
	owner := tm.owner.plain()
	pasted := "WEB-1\tLog in with a nickname\r\nWEB-2\t\"Two\r\nlines\"\r\n\t\r\nWEB-3\tsays \"hi\"\r\n"

	// URL-encoded, as a script or htmx would send it.
	preview := owner.post(importPath(tm.gid), url.Values{"rows": {pasted}}).wantStatus(http.StatusOK)
	if got := preview.texts("import-key"); strings.Join(got, " ") != "WEB-1 WEB-2 WEB-3" {
		t.Fatalf("preview keys %v", got)
	}
	owner.confirmImport(tm.gid, preview).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	want := "WEB-1=Log in with a nickname|WEB-2=Two\nlines|WEB-3=says \"hi\""
	if got := strings.Join(ta.issueKeys(tm.gid), "|"); got != want {
		t.Fatalf("imported %q, want %q", got, want)
	}

	// The group page's form is multipart with the rows in a text field.
	preview = owner.postMultipart(importPath(tm.gid), map[string]string{"rows": "WEB-4,Comma separated, with a comma"}, map[string]string{"file": ""}).wantStatus(http.StatusOK)
	owner.confirmImport(tm.gid, preview).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	if got := ta.issueKeys(tm.gid); len(got) != 4 || got[3] != "WEB-4=Comma separated, with a comma" {
		t.Fatalf("after the second import: %q", got)
	}

	// rows and confirmed=1 in one request skip the preview (scripts).
	owner.post(importPath(tm.gid), url.Values{"rows": {"WEB-5"}, "confirmed": {"1"}}).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	if got := ta.issueKeys(tm.gid); len(got) != 5 {
		t.Fatalf("direct import: %q", got)
	}
}

func TestImportBadRowsAddNothing(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga")
	owner := tm.owner.plain()
	owner.addIssue(tm.gid, "OLD-1", "already here")
	cases := []struct {
		name, rows string
		file       bool
		line       string
		what       string
	}{
		{"empty key", "A-1,one\n,no key\n", false, "Line 2:", "the key is empty"},
		{"key too long", "A-1\n" + strings.Repeat("K", 33) + ",x\n", false, "Line 2:", "at most 32 characters"},
		{"invalid characters", "A-1\nA\u202e2,x\n", false, "Line 2:", "without control or invisible characters"},
		{"duplicate key in the file", "key,description\nA-1,one\nA-2,two\na-1,three\n", true, "Line 4:", "already on line 2"},
		{"key of an existing issue", "A-1,one\nold-1,two\n", false, "Line 2:", "already has an issue"},
		{"description too long", "Issue key,Description\nA-1," + strings.Repeat("d", 2001) + "\n", true, "Line 2:", "at most 2000 characters"},
		{"file without a header", "A-1,one\n", true, "Line 1:", "must name the columns"},
		{"unclosed quote", "A-1,\"one\nA-2,two\n", false, "Line 1:", "not closed"},
	}
	for _, tc := range cases {
		for _, confirmed := range []string{"", "1"} {
			t.Run(tc.name+"/confirmed="+confirmed, func(t *testing.T) {
				var r *response
				fields := map[string]string{"confirmed": confirmed}
				if tc.file {
					r = owner.postMultipart(importPath(tm.gid), fields, map[string]string{"file": tc.rows})
				} else {
					fields["rows"] = tc.rows
					r = owner.postMultipart(importPath(tm.gid), fields, nil)
				}
				r.wantStatus(http.StatusUnprocessableEntity)
				problems := r.texts("import-problem")
				if len(problems) != 1 || !strings.HasPrefix(problems[0], tc.line) || !strings.Contains(problems[0], tc.what) {
					t.Fatalf("problems %q, want one starting %q about %q", problems, tc.line, tc.what)
				}
				if !r.has("import-form") {
					t.Error("the refusal does not offer the form again")
				}
				if got, _ := r.inputValue("import-form", "rows"); !tc.file && got != strings.Join(strings.Fields(tc.rows), " ") {
					t.Errorf("pasted rows not kept in the form: %q", got)
				}
				if got := ta.issueKeys(tm.gid); len(got) != 1 {
					t.Fatalf("a refused import changed the issues: %q", got)
				}
			})
		}
	}

	// Every bad line is named, not only the first.
	r := owner.post(importPath(tm.gid), url.Values{"rows": {",a\nB-1\nb-1\nC\u200b\n"}}).wantStatus(http.StatusUnprocessableEntity)
	if p := r.texts("import-problem"); len(p) != 3 || !strings.HasPrefix(p[0], "Line 1:") || !strings.HasPrefix(p[1], "Line 3:") || !strings.HasPrefix(p[2], "Line 4:") {
		t.Fatalf("problems %q", p)
	}

	for _, tc := range []struct {
		name   string
		fields map[string]string
		files  map[string]string
		want   string
	}{
		{"nothing sent", nil, nil, "Paste rows"},
		{"only blank lines", map[string]string{"rows": "\n\t\n"}, nil, "Paste rows"},
		{"only a header", nil, map[string]string{"file": "key,description\r\n"}, "no issues"},
		{"rows and a file", map[string]string{"rows": "A-1"}, map[string]string{"file": "key\nA-2\n"}, "not both"},
	} {
		r := owner.postMultipart(importPath(tm.gid), tc.fields, tc.files).wantStatus(http.StatusUnprocessableEntity)
		if p := r.texts("import-problem"); len(p) != 1 || !strings.Contains(p[0], tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, p, tc.want)
		}
	}
	if got := ta.issueKeys(tm.gid); len(got) != 1 {
		t.Fatalf("refused imports changed the issues: %q", got)
	}
}

func TestImportSizeLimits(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga")
	owner := tm.owner.plain()

	// A file of exactly 1 MiB is taken, previewed and carried through the
	// confirm form whole.
	var b strings.Builder
	b.WriteString("key,description\r\n")
	desc := strings.Repeat("word ", 199) + "word"
	rows := 0
	for ; b.Len() < importFileMax-1500; rows++ {
		fmt.Fprintf(&b, "BIG-%d,\"%s\"\r\n", rows, desc)
	}
	fmt.Fprintf(&b, "LAST,%s\r\n", strings.Repeat("x", importFileMax-b.Len()-len("LAST,\r\n")))
	rows++
	if b.Len() != importFileMax {
		t.Fatalf("test file is %d bytes", b.Len())
	}
	preview := owner.postMultipart(importPath(tm.gid), nil, map[string]string{"file": b.String()}).wantStatus(http.StatusOK)
	if got := len(preview.all("import-row")); got != rows {
		t.Fatalf("preview lists %d rows, want %d", got, rows)
	}
	owner.confirmImport(tm.gid, preview).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	if got := len(ta.issueKeys(tm.gid)); got != rows {
		t.Fatalf("imported %d issues, want %d", got, rows)
	}

	two := "key,description\n" + strings.Repeat("x", 2<<20)
	for _, tc := range []struct {
		name    string
		file    string
		chunked bool
	}{
		{"2 MiB file", two, false},
		{"3 MiB file (refused by its Content-Length)", two + strings.Repeat("y", 1<<20), false},
		{"2 MiB file, no Content-Length", two, true},
		{"one byte over 1 MiB", "key\n" + strings.Repeat("x", importFileMax-3), false},
	} {
		if tc.name == "one byte over 1 MiB" && len(tc.file) != importFileMax+1 {
			t.Fatalf("test file is %d bytes", len(tc.file))
		}
		body, ct := multipartBody(t, nil, map[string]string{"file": tc.file})
		var rd io.Reader = body
		if tc.chunked {
			rd = io.MultiReader(body) // hides the length: sent chunked
		}
		r := owner.do(http.MethodPost, importPath(tm.gid), rd, ct)
		if r.status != http.StatusRequestEntityTooLarge || r.errorStatus() != "413" {
			t.Errorf("%s: status %d, want 413 with the error page", tc.name, r.status)
		}
	}
	if got := len(ta.issueKeys(tm.gid)); got != rows {
		t.Fatalf("oversized uploads changed the issues: %d", got)
	}
	// The file's own page says what the limit is and leads back to the group.
	r := owner.postMultipart(importPath(tm.gid), nil, map[string]string{"file": "key\n" + strings.Repeat("x", importFileMax)})
	if !strings.Contains(r.text("error"), "at most 1 MiB") || attr(r.all("error-back")[0], "href") != fmt.Sprintf("/groups/%d", tm.gid) {
		t.Errorf("413 page: %q", r.text("error"))
	}
}

// Only the import route takes multipart; every other POST still refuses it.
func TestMultipartRefusedElsewhere(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga", "Max")
	owner := tm.owner.plain()
	issueID := owner.addIssue(tm.gid, "M-1", "")
	for _, target := range []string{
		"/creategroup",
		"/login",
		fmt.Sprintf("/groups/%d/issues", tm.gid),
		fmt.Sprintf("/groups/%d/rename", tm.gid),
		fmt.Sprintf("/issues/%d/estimate", issueID),
		fmt.Sprintf("/issues/%d/reveal", issueID),
	} {
		r := owner.postMultipart(target, map[string]string{"name": "X", "key": "M-2", "estimate": "3", "nickname": "Olga"}, map[string]string{"file": "x"})
		if r.status != http.StatusUnsupportedMediaType {
			t.Errorf("multipart POST %s: status %d, want 415", target, r.status)
		}
	}
	// Signed out, on a replayable route: not kept, 415.
	r := ta.client().plain().postMultipart("/creategroup", map[string]string{"name": "X"}, nil)
	if r.status != http.StatusUnsupportedMediaType || ta.countRows("kept_forms", "") != 0 {
		t.Errorf("anonymous multipart create: status %d, want 415 and nothing kept", r.status)
	}
	if got := ta.issueKeys(tm.gid); len(got) != 1 {
		t.Fatalf("a refused multipart POST changed the issues: %q", got)
	}
	// Other bodies are refused on the import route too.
	r = owner.do(http.MethodPost, importPath(tm.gid), strings.NewReader(`{"rows":"A-1"}`), "application/json")
	if r.status != http.StatusUnsupportedMediaType {
		t.Errorf("JSON import: status %d, want 415", r.status)
	}
}

func TestImportAccess(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga", "Max")
	stranger := ta.signedIn("Stan")
	rows := map[string]string{"rows": "A-1", "confirmed": "1"}
	tm.members[0].plain().postMultipart(importPath(tm.gid), rows, nil).wantStatus(http.StatusForbidden)
	stranger.plain().postMultipart(importPath(tm.gid), rows, nil).wantStatus(http.StatusNotFound)
	stranger.plain().postMultipart(importPath(999999), rows, nil).wantStatus(http.StatusNotFound)

	// Signed out with a file: refused with a message to sign in first, and
	// nothing is kept (a file is not kept; pasted rows are, see kept_test.go).
	anon := ta.client()
	r := anon.plain().postMultipart(importPath(tm.gid), rows, map[string]string{"file": "key\nA-2\n"})
	if r.status != http.StatusUnsupportedMediaType || !strings.Contains(r.body, "Sign in first") {
		t.Fatalf("anonymous import: %d %q", r.status, r.location())
	}
	if n := ta.countRows("kept_forms", ""); n != 0 {
		t.Fatalf("%d forms kept for an anonymous import", n)
	}
	// Cross-site: refused before anything is read.
	r = tm.owner.plain().with("Sec-Fetch-Site", "cross-site").postMultipart(importPath(tm.gid), rows, nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-site import: %d", r.status)
	}
	if got := ta.issueKeys(tm.gid); len(got) != 0 {
		t.Fatalf("refused imports added issues: %q", got)
	}
}

// exportTeam is a group with an accepted issue, a revealed one in its second
// round (the first kept beside it, the second with a coffee card), one
// revealed with ? and coffee only, an open one, and cells that a spreadsheet
// would run as formulas.
func exportTeam(t *testing.T, ta *testApp) team {
	t.Helper()
	tm := ta.team("Shop & Co: Ünïcode/..", "Olga", "Max", "Nina")
	owner := tm.owner.plain()
	acc := owner.addIssue(tm.gid, "SHOP-1", `=HYPERLINK("http://evil.example","click")`)
	for i, v := range []string{"3", "5", "8"} {
		c := owner
		if i > 0 {
			c = tm.members[i-1].plain()
		}
		c.estimate(acc, v).wantStatus(http.StatusSeeOther)
	}
	owner.post(fmt.Sprintf("/issues/%d/reveal", acc), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/accept", acc), url.Values{"final": {"5"}}).wantStatus(http.StatusSeeOther)

	rev := owner.addIssue(tm.gid, "@SUM", "-1+2, with \"quotes\"\nand a second line")
	tm.members[0].plain().estimate(rev, "2").wantStatus(http.StatusSeeOther)
	tm.members[1].plain().estimate(rev, "3").wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/reveal", rev), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/revote", rev), nil).wantStatus(http.StatusSeeOther)
	for i, v := range []string{"coffee", "3", "5"} {
		c := owner
		if i > 0 {
			c = tm.members[i-1].plain()
		}
		c.estimate(rev, v).wantStatus(http.StatusSeeOther)
	}
	owner.post(fmt.Sprintf("/issues/%d/reveal", rev), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)

	brk := owner.addIssue(tm.gid, "BREAK-1", "Nobody knows")
	tm.members[0].plain().estimate(brk, "?").wantStatus(http.StatusSeeOther)
	tm.members[1].plain().estimate(brk, "coffee").wantStatus(http.StatusSeeOther)
	// A round of ? and coffee only is not revealed any more (it needs 2
	// numbers); one an older version revealed is still exported: stored
	// here as that version left it.
	owner.post(fmt.Sprintf("/issues/%d/reveal", brk), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusConflict)
	db, err := sql.Open("sqlite", store.DSN(ta.st.Path(), 5*time.Second, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"UPDATE issues SET state = 'revealed', result = '?:1,coffee:1' WHERE id = ?",
		"INSERT INTO issue_rounds (issue_id, round, result) VALUES (?, 1, '?:1,coffee:1')",
		"DELETE FROM ballots WHERE issue_id = ?",
	} {
		if _, err := db.Exec(q, brk); err != nil {
			t.Fatal(err)
		}
	}

	open := owner.addIssue(tm.gid, "OPEN-1", "+ not voted on")
	tm.members[1].plain().estimate(open, "13").wantStatus(http.StatusSeeOther)
	return tm
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := exportTeam(t, ta)
	r := tm.members[0].plain().get(fmt.Sprintf("/groups/%d/export.csv", tm.gid)).wantStatus(http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="estimator-shop-co-n-code.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	body, ok := strings.CutPrefix(r.body, "\ufeff")
	if !ok {
		t.Error("no UTF-8 BOM: spreadsheets would guess the encoding")
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export does not parse as CSV: %v", err)
	}
	want := [][]string{
		{"key", "description", "state", "final_estimate", "rounds", "round_1_votes", "round_1_average", "round_1_median", "round_1_distribution",
			"round_2_votes", "round_2_average", "round_2_median", "round_2_distribution"},
		{"SHOP-1", `'=HYPERLINK("http://evil.example","click")`, "accepted", "5", "1", "3", "5.3", "5.0", "3=1 5=1 8=1", "", "", "", ""},
		{"'@SUM", "'-1+2, with \"quotes\"\nand a second line", "revealed", "", "2", "2", "2.5", "2.5", "2=1 3=1", "3", "4.0", "4.0", "3=1 5=1 coffee=1"},
		{"BREAK-1", "Nobody knows", "revealed", "", "1", "2", "", "", "?=1 coffee=1", "", "", "", ""},
		{"OPEN-1", "'+ not voted on", "open", "", "0", "", "", "", "", "", "", "", ""},
	}
	if fmt.Sprintf("%q", recs) != fmt.Sprintf("%q", want) {
		t.Fatalf("export rows\n%q\nwant\n%q", recs, want)
	}
	if !strings.Contains(r.body, "\r\n") {
		t.Error("rows do not end in CRLF")
	}
	assertAnonymousExport(t, ta, r.body)

	// The export imports into another group as it was (the guard comes off).
	other := tm.owner.createGroup("Copy")
	preview := tm.owner.plain().postMultipart(importPath(other), nil, map[string]string{"file": r.body}).wantStatus(http.StatusOK)
	tm.owner.plain().confirmImport(other, preview).wantRedirect(fmt.Sprintf("/groups/%d", other))
	if got, want := ta.issueKeys(other), ta.issueKeys(tm.gid); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("re-imported %q, want %q", got, want)
	}
}

// Every revealed round is listed under its own number, oldest first; the
// columns go up to the highest round of any issue.
func TestExportCSVRoundColumns(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga", "Max")
	owner := tm.owner.plain()
	id := owner.addIssue(tm.gid, "R-1", "")
	owner.estimate(id, "1").wantStatus(http.StatusSeeOther)
	tm.members[0].plain().estimate(id, "2").wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/reveal", id), nil).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/revote", id), nil).wantStatus(http.StatusSeeOther)
	owner.estimate(id, "8").wantStatus(http.StatusSeeOther)
	tm.members[0].plain().estimate(id, "8").wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/reveal", id), nil).wantStatus(http.StatusSeeOther)
	owner.addIssue(tm.gid, "R-2", "")

	r := owner.get(fmt.Sprintf("/groups/%d/export.csv", tm.gid)).wantStatus(http.StatusOK)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || len(recs[0]) != 13 || recs[0][9] != "round_2_votes" {
		t.Fatalf("header %q", recs[0])
	}
	if got := strings.Join(recs[1][4:], ","); got != "2,2,1.5,1.5,1=1 2=1,2,8.0,8.0,8=2" {
		t.Errorf("issue row rounds %q", got)
	}
	if len(recs[2]) != 13 {
		t.Errorf("an issue without rounds has %d cells, want 13", len(recs[2]))
	}
}

func TestExportJSON(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := exportTeam(t, ta)
	r := tm.members[1].plain().get(fmt.Sprintf("/groups/%d/export.json", tm.gid)).wantStatus(http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="estimator-shop-co-n-code.json"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	var doc struct {
		Group  string `json:"group"`
		Issues []struct {
			Key           string `json:"key"`
			Description   string `json:"description"`
			State         string `json:"state"`
			FinalEstimate *int   `json:"final_estimate"`
			Rounds        []struct {
				Round        int      `json:"round"`
				Votes        int      `json:"votes"`
				Average      *float64 `json:"average"`
				Median       *float64 `json:"median"`
				Distribution []struct {
					Value int `json:"value"`
					Count int `json:"count"`
				} `json:"distribution"`
				Unsure int `json:"unsure"`
				Coffee int `json:"coffee"`
			} `json:"rounds"`
		} `json:"issues"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("export does not decode: %v", err)
	}
	if doc.Group != "Shop & Co: Ünïcode/.." || len(doc.Issues) != 4 {
		t.Fatalf("doc %+v", doc)
	}
	acc := doc.Issues[0]
	if acc.Key != "SHOP-1" || acc.Description != `=HYPERLINK("http://evil.example","click")` || acc.State != "accepted" ||
		acc.FinalEstimate == nil || *acc.FinalEstimate != 5 || len(acc.Rounds) != 1 {
		t.Fatalf("accepted issue %+v", acc)
	}
	num := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	if rd := acc.Rounds[0]; rd.Round != 1 || rd.Votes != 3 || num(rd.Average) != "5.3" || num(rd.Median) != "5" || fmt.Sprint(rd.Distribution) != "[{3 1} {5 1} {8 1}]" || rd.Unsure+rd.Coffee != 0 {
		t.Errorf("accepted round %+v", rd)
	}
	rev := doc.Issues[1]
	if rev.State != "revealed" || rev.FinalEstimate != nil || len(rev.Rounds) != 2 {
		t.Fatalf("revealed issue %+v, want its two rounds", rev)
	}
	if rd := rev.Rounds[0]; rd.Round != 1 || rd.Votes != 2 || num(rd.Median) != "2.5" || num(rd.Average) != "2.5" || fmt.Sprint(rd.Distribution) != "[{2 1} {3 1}]" {
		t.Errorf("round 1 %+v", rd)
	}
	if rd := rev.Rounds[1]; rd.Round != 2 || rd.Votes != 3 || num(rd.Median) != "4" || num(rd.Average) != "4" || fmt.Sprint(rd.Distribution) != "[{3 1} {5 1}]" || rd.Unsure != 0 || rd.Coffee != 1 {
		t.Errorf("round 2 %+v", rd)
	}
	brk := doc.Issues[2]
	if len(brk.Rounds) != 1 || brk.Rounds[0].Votes != 2 || brk.Rounds[0].Average != nil || brk.Rounds[0].Median != nil ||
		len(brk.Rounds[0].Distribution) != 0 || brk.Rounds[0].Unsure != 1 || brk.Rounds[0].Coffee != 1 {
		t.Errorf("a round of ? and coffee only: %+v (no average, no median)", brk)
	}
	if !strings.Contains(r.body, `"average": null`) {
		t.Error("a round without numbers does not spell out its missing average")
	}
	if open := doc.Issues[3]; open.State != "open" || open.Rounds == nil || len(open.Rounds) != 0 {
		t.Errorf("open issue %+v (rounds must be [], and an open round's votes are no result)", open)
	}
	if !strings.Contains(r.body, `"rounds": []`) || !strings.Contains(r.body, `"final_estimate": null`) {
		t.Error("empty rounds or a missing final estimate are not spelled out")
	}
	assertAnonymousExport(t, ta, r.body)
}

// assertAnonymousExport: no nickname, no per-person value and no time.
func assertAnonymousExport(t *testing.T, ta *testApp, body string) {
	t.Helper()
	for _, nick := range []string{"Olga", "Max", "Nina"} {
		if strings.Contains(body, nick) {
			t.Errorf("export names %s", nick)
		}
	}
	// The open issue's single vote (13) is nobody's business before a reveal.
	if strings.Contains(body, "13") {
		t.Error("export carries an unrevealed vote")
	}
	if strings.Contains(body, "2026") || strings.Contains(body, "T09:") {
		t.Error("export carries a time")
	}
}

func TestExportAccess(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shop", "Olga")
	stranger := ta.signedIn("Stan")
	for _, p := range []string{"export.csv", "export.json"} {
		target := fmt.Sprintf("/groups/%d/%s", tm.gid, p)
		stranger.get(target).wantStatus(http.StatusNotFound)
		r := ta.client().get(target)
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login?next=") {
			t.Errorf("anonymous %s: %d %q", p, r.status, r.location())
		}
		r = tm.owner.get(target).wantStatus(http.StatusOK)
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s may be cached: %q", p, r.header.Get("Cache-Control"))
		}
		tm.owner.do(http.MethodPost, target, nil, "").wantStatus(http.StatusMethodNotAllowed)
	}
}

func TestExportFilename(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"Backend team":          "estimator-backend-team.csv",
		`"; filename=evil.exe`:  "estimator-filename-evil-exe.csv",
		"../../etc/passwd":      "estimator-etc-passwd.csv",
		"日本語":                   "estimator-group-7.csv",
		strings.Repeat("a", 80): "estimator-" + strings.Repeat("a", 40) + ".csv",
	} {
		if got := exportFilename(store.Group{ID: 7, Name: name}, "csv"); got != want {
			t.Errorf("exportFilename(%q) = %q, want %q", name, got, want)
		}
	}
}
