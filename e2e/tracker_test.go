package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"estimator/handlers"
	"estimator/tracker"
	"estimator/tracker/trackertest"
)

// Acceptance (issue 27): the owner connects the group to Jira (a fake on
// loopback speaking Jira Cloud's API), imports with a preview, the team
// estimates, the owner accepts, and the room shows the estimate sent, live.
func TestTrackerConnectImportAcceptSent(t *testing.T) {
	const token = "dana.ops@example.com:ATATT3xFfGF0-e2e-SECRET-7d2c"
	jira := trackertest.New(token, 3)
	t.Cleanup(jira.Close)
	e := newEnv(t, func(cfg *handlers.Config, base string) {
		al, err := tracker.ParseAllowed("jira=" + jira.URL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Trackers, cfg.TrackerPoll = al, 50*time.Millisecond
	})
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	const group = "Shop Team"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	link := owner.inviteLink()

	owner.click(testID("tracker-summary"))
	owner.typeInto("#tracker-token", token)
	owner.typeInto("#tracker-project", "SHOP")
	elementShot(owner, testID("tracker"), "tracker-connect")
	owner.click(testID("tracker-connect"))
	owner.waitText(testID("notice"), "Connected to Jira, project SHOP, token …7d2c", stepTimeout)
	owner.click(testID("tracker-summary"))
	owner.waitText(testID("tracker-connected"), "token …7d2c", stepTimeout)

	owner.typeInto("#tracker-query", "labels = ready")
	owner.click(testID("tracker-preview"))
	owner.waitText(testID("import-preview-title"), "Add 3 issues from Jira to Shop Team?", stepTimeout)
	if got := owner.texts(testID("import-key")); !slices.Equal(got, []string{"SHOP-1", "SHOP-2", "SHOP-3"}) {
		t.Fatalf("preview keys %q", got)
	}
	owner.screenshots("tracker-preview")
	owner.click(testID("import-confirm"))
	owner.waitPath(groupPath)
	owner.waitText(testID("notice"), "3 issues were imported", stepTimeout)
	row := `[data-testid="issue-row"][data-key="SHOP-1"] `
	owner.waitVisible(row + testID("tracker-link"))
	issuePath := run(owner, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).pathname`, row+testID("issue-link"))))

	member := e.person("Max (member)")
	member.join(link, "Max", group)
	owner.vote(issuePath, 5)
	member.vote(issuePath, 8)
	owner.open(issuePath)
	owner.waitText(testID("voted-count"), "2 of 2 voted", stepTimeout)
	member.open(issuePath)
	owner.click(testID("reveal"))
	owner.waitVisible(testID("result"))
	owner.click(testID("accept"))
	owner.waitText(testID("final"), "Final estimate:", stepTimeout)
	owner.waitText(testID("tracker-state"), "Estimate sent to the tracker.", stepTimeout)
	member.waitText(testID("tracker-state"), "Estimate sent to the tracker.", stepTimeout)
	owner.screenshots("tracker-room")
	elementShot(owner, testID("tracker-room"), "tracker-sent")
	final := strings.TrimSpace(strings.TrimPrefix(owner.text(testID("final")), "Final estimate:"))
	if got := jira.Points("SHOP-1"); fmt.Sprint(got) != final {
		t.Fatalf("Jira has %d story points, the room accepted %s", got, final)
	}
	owner.open(groupPath)
	owner.waitText(row+testID("tracker-state"), "estimate sent", stepTimeout)
	owner.click(testID("tracker-summary"))
	owner.screenshots("tracker-group")
	if strings.Contains(e.logs.String(), "ATATT3xFfGF0-e2e-SECRET") {
		t.Fatal("the token is in the server's log")
	}
	for _, tb := range []*tab{owner, member} {
		tb.noConsoleErrors()
	}
}

// elementShot writes a screenshot of the element sel, at 720 px wide, into
// ESTIMATOR_SCREENSHOTS (for the README).
func elementShot(tb *tab, sel, name string) {
	tb.t.Helper()
	dir := os.Getenv("ESTIMATOR_SCREENSHOTS")
	if dir == "" {
		return
	}
	tb.do(chromedp.EmulateViewport(720, 900))
	time.Sleep(150 * time.Millisecond)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	png := run(tb, chromedp.Screenshot(chromedp.CSS(sel)))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.do(chromedp.EmulateViewport(1280, 900))
}
