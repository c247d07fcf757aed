package views

import (
	"strings"
	"unicode/utf8"
)

func GroupImportPath(g int64) string     { return GroupPath(g) + "/import" }
func GroupExportCSVPath(g int64) string  { return GroupPath(g) + "/export.csv" }
func GroupExportJSONPath(g int64) string { return GroupPath(g) + "/export.json" }

// previewMax is how much of a description the import preview shows: enough to
// recognize each issue, while a preview of two thousand stays a page.
const previewMax = 160

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
