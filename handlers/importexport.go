package handlers

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"estimator/exchange"
	"estimator/i18n"
	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// importStore is the part of the store used by import and export.
type importStore interface {
	CheckImport(ctx context.Context, groupID int64, rows []store.ImportRow) error
	GroupIssueRounds(ctx context.Context, groupID int64) ([]store.IssueRounds, error)
	ImportIssuesOnce(ctx context.Context, userID, groupID int64, rows []store.ImportRow, once store.Once) (n int, made bool, err error)
}

// routeImport is the one route that takes multipart/form-data (a CSV upload),
// and a larger body than the rest.
const routeImport = "/groups/:id/import"

// Import limits. A file is at most importFileMax. The preview carries the rows
// back in its confirm form as CSV in the rows field, posted as multipart (no
// percent-encoding); re-encoding may grow them (doubled quotes, CRLF line ends),
// so rows may be twice a file's size. The body adds room for the multipart
// envelope. Import is not a replayable route: none of it is ever kept (64 KiB
// cap on kept forms) before sign-in.
const (
	importFileMax = 1 << 20
	importRowsMax = 2 * importFileMax
	importBodyMax = importRowsMax + 64<<10
	// importProblemsShown bounds the list of bad lines on the page.
	importProblemsShown = 50
)

var (
	errImportFileTooLarge = web.NewErrorID(http.StatusRequestEntityTooLarge, "error.import_file_large", nil)
	errImportRowsTooLarge = web.NewErrorID(http.StatusRequestEntityTooLarge, "error.import_rows_large", nil)
)

// bodyLimit is the largest body a route takes: the import route takes a file.
func (a *App) bodyLimit(c *gin.Context) int64 {
	if c.FullPath() == routeImport {
		return max(a.cfg.MaxBodyBytes, importBodyMax)
	}
	return a.cfg.MaxBodyBytes
}

// importForm is the decoded import request.
type importForm struct {
	rows      string
	fromFile  bool
	confirmed bool
	once      string
}

// readImportForm decodes the import request: URL-encoded (rows) or multipart
// (rows, or a file); any other body is 415. A file over 1 MiB is 413, a form
// with neither or both is a message for the person.
func readImportForm(c *gin.Context) (importForm, string, error) {
	var f importForm
	var file *multipart.FileHeader
	switch c.ContentType() {
	case "multipart/form-data":
		// Every part stays in memory: the body cap is below maxMemory.
		if err := c.Request.ParseMultipartForm(importBodyMax + 1); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return f, "", web.ErrTooLarge
			}
			return f, "", web.ErrBadRequest
		}
		defer c.Request.MultipartForm.RemoveAll()
		mf := c.Request.MultipartForm
		f.rows = first(mf.Value["rows"])
		f.confirmed = first(mf.Value["confirmed"]) == "1"
		f.once = first(mf.Value["once"])
		// A form whose file input was left empty still sends an empty part.
		if fhs := mf.File["file"]; len(fhs) > 0 && (fhs[0].Filename != "" || fhs[0].Size > 0) {
			file = fhs[0]
		}
	default:
		form, err := web.ReadForm(c)
		if err != nil {
			return f, "", err
		}
		f.rows, f.confirmed, f.once = form.Get("rows"), form.Get("confirmed") == "1", form.Get("once")
	}
	if len(f.rows) > importRowsMax {
		return f, "", errImportRowsTooLarge
	}
	hasRows := strings.TrimSpace(f.rows) != ""
	switch {
	case file != nil && hasRows:
		return f, langOf(c).T("error.form.import_both"), nil
	case file != nil:
		if file.Size > importFileMax {
			return f, "", errImportFileTooLarge
		}
		fh, err := file.Open()
		if err != nil {
			return f, "", web.ErrBadRequest
		}
		defer fh.Close()
		b, err := io.ReadAll(io.LimitReader(fh, importFileMax+1))
		if err != nil {
			return f, "", web.ErrBadRequest
		}
		if len(b) > importFileMax {
			return f, "", errImportFileTooLarge
		}
		f.rows, f.fromFile = string(b), true
	case !hasRows:
		return f, langOf(c).T("error.form.import_none"), nil
	}
	return f, "", nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// importIssues adds issues in bulk. The first post shows what will be added
// (the preview, a page that works without JavaScript); its confirm button posts
// the same rows again with confirmed=1, and they are added in one transaction.
// A bad row anywhere refuses the whole import with 422, naming each bad line.
func (a *App) importIssues(c *gin.Context) {
	g, _ := groupOf(c)
	f, msg, err := readImportForm(c)
	var he *web.Error
	if errors.As(err, &he) {
		err = backToGroup(he, g)
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	// The rows go back into the form only when they were typed there: a file's
	// text in the box would be a surprise, and it is fixed in the spreadsheet.
	again := views.ImportForm{}
	if !f.fromFile {
		again.Rows = f.rows
	}
	if msg != "" {
		again.Problems = []string{msg}
		a.pages.Page(c, http.StatusUnprocessableEntity, views.ImportPage(g, again))
		return
	}
	ctx := c.Request.Context()
	rows, err := exchange.ParseImport(f.rows, f.fromFile)
	if err == nil && !f.confirmed {
		err = a.st.CheckImport(ctx, g.ID, rows)
	}
	if err == nil && f.confirmed {
		once, oerr := readOnce(url.Values{"once": {f.once}}, strconv.FormatInt(g.ID, 10), f.rows)
		if oerr != nil {
			web.Fail(c, oerr)
			return
		}
		// Confirmed twice (a double click): added once, answered alike.
		var n int
		if n, _, err = a.st.ImportIssuesOnce(ctx, signin.User(c).ID, g.ID, rows, once); err == nil {
			web.DoneRedirect(c, importedNotice(langOf(c), n), views.GroupPath(g.ID))
			return
		}
	}
	var ie store.ImportErrors
	switch {
	case errors.Is(err, store.ErrNothingToImport):
		again.Problems = []string{langOf(c).T("error.form.import_empty")}
	case errors.As(err, &ie):
		for i, e := range ie {
			if i == importProblemsShown {
				again.MoreProblems = len(ie) - i
				break
			}
			again.Problems = append(again.Problems, e.In(langOf(c)))
		}
	case err != nil:
		web.Fail(c, err)
		return
	default:
		a.pages.Page(c, http.StatusOK, views.ImportPreviewPage(views.ImportPreview{Group: g, Rows: rows, Carry: importCarry(rows), Once: store.NewToken()}))
		return
	}
	a.pages.Page(c, http.StatusUnprocessableEntity, views.ImportPage(g, again))
}

func importedNotice(l i18n.Lang, n int) string {
	return l.N("notice.imported", n, nil)
}

// importCarry is the checked rows as CSV with a key, description header, for
// the confirm form: ParseImport reads it back to the same rows. Cells are
// guarded as the export guards them, which the import takes off again.
func importCarry(rows []store.ImportRow) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"key", "description"})
	for _, r := range rows {
		w.Write([]string{exchange.SpreadsheetSafe(r.Key), exchange.SpreadsheetSafe(r.Description)})
	}
	w.Flush()
	return b.String()
}

// Export: every issue of the group with its state, final estimate and the
// anonymous result of each revealed round. Nothing in it names a member or
// holds a time.

func (a *App) exportCSV(c *gin.Context) {
	g, _ := groupOf(c)
	issues, err := a.st.GroupIssueRounds(c.Request.Context(), g.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	body, err := exchange.EncodeCSV(issues)
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.sendExport(c, g, "csv", "text/csv; charset=utf-8", body)
}

func (a *App) exportJSON(c *gin.Context) {
	g, _ := groupOf(c)
	issues, err := a.st.GroupIssueRounds(c.Request.Context(), g.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	body, err := exchange.EncodeJSON(g, issues)
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.sendExport(c, g, "json", "application/json; charset=utf-8", body)
}

func (a *App) sendExport(c *gin.Context, g store.Group, ext, contentType string, body []byte) {
	c.Header("Content-Type", contentType)
	c.Header("Content-Disposition", `attachment; filename="`+exportFilename(g, ext)+`"`)
	web.WriteBody(c, http.StatusOK, body)
}

// exportFilename is estimator-<group name as ASCII letters, digits and
// dashes>.ext: nothing a header or a file system could misread.
func exportFilename(g store.Group, ext string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(g.Name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	slug := b.String()
	if slug == "" {
		slug = "group-" + strconv.FormatInt(g.ID, 10)
	}
	return "estimator-" + slug + "." + ext
}
