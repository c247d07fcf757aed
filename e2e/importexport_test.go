package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// Acceptance: with JavaScript off, the owner uploads a Jira CSV export, sees
// the preview, confirms, and the issues are on the group page; then pastes
// spreadsheet cells (tabs, a quoted cell with a line break) the same way. The
// browser carries the file's rows through the preview's confirm form.
func TestImportWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (no JavaScript)")
	owner.javaScriptOff()
	owner.signIn("Olga")
	owner.open("/")
	owner.typeInto("#group-name", "Imports")
	owner.click(createSubmit)
	group := owner.waitPath("/groups/*").Path

	csvPath := filepath.Join(t.TempDir(), "jira.csv")
	jira := "\ufeffSummary,Issue key,Issue id,Description\r\n" +
		"Checkout total,SHOP-12,10012,\"Steps:\r\n1. add \"\"two\"\" items\"\r\n" +
		"Gift cards,SHOP-13,10013,\r\n"
	if err := os.WriteFile(csvPath, []byte(jira), 0o600); err != nil {
		t.Fatal(err)
	}
	owner.click("details:has([data-testid=import-form]) > summary")
	owner.do(chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{csvPath}))
	owner.click(testID("import-preview"))
	owner.waitText(testID("import-preview-title"), "Add 2 issues to Imports?", stepTimeout)
	if got := owner.texts(testID("import-key")); !slices.Equal(got, []string{"SHOP-12", "SHOP-13"}) {
		t.Fatalf("preview keys %q", got)
	}
	owner.click(testID("import-confirm"))
	owner.waitPath(group)
	owner.waitText(testID("notice"), "2 issues were imported", stepTimeout)
	wantDesc := []string{`Checkout total Steps: 1. add "two" items`, "Gift cards"}
	owner.eventually(stepTimeout, fmt.Sprintf("the group page should list %q", wantDesc), func() (bool, string) {
		got := owner.texts(`[data-testid="issue-row"] .description`)
		return slices.Equal(got, wantDesc), fmt.Sprintf("%q", got)
	})

	owner.click("details:has([data-testid=import-form]) > summary")
	owner.do(chromedp.SetValue(chromedp.CSS("#import-rows"), "WEB-1\tLog in\nWEB-2\t\"Two\nlines\""))
	owner.click(testID("import-preview"))
	owner.waitText(testID("import-preview-title"), "Add 2 issues", stepTimeout)
	owner.click(testID("import-confirm"))
	owner.waitPath(group)
	want := []string{"SHOP-12", "SHOP-13", "WEB-1", "WEB-2"}
	owner.eventually(stepTimeout, fmt.Sprintf("the group page should list %q", want), func() (bool, string) {
		got := owner.texts(`[data-testid="issue-row"] [data-testid="issue-link"]`)
		return slices.Equal(got, want), fmt.Sprintf("%q", got)
	})
	for _, r := range e.requests() {
		if r.HTMX {
			t.Errorf("with JavaScript off, a request came from htmx: %+v", r)
		}
	}
}
