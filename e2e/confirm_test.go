package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// memberButton is the selector of a button in the member row of nick.
func memberButton(nick, testid string) string {
	return fmt.Sprintf(`[data-testid="member-row"][data-member=%q] [data-testid=%q]`, nick, testid)
}

// waitDialogs waits until the tab has seen n dialogs and returns them.
func (tb *tab) waitDialogs(n int) []string {
	tb.t.Helper()
	tb.eventually(stepTimeout, fmt.Sprintf("%d dialogs", n), func() (bool, string) {
		d := tb.dialogsSeen()
		return len(d) >= n, fmt.Sprintf("%q", d)
	})
	return tb.dialogsSeen()
}

// Acceptance: with JavaScript, "Make owner", "Remove" and "Leave" ask in a
// dialog first; Cancel changes nothing, OK does it (htmx posts, the browser
// lands where the action leads, with its notice).
func TestIrreversibleActionsAskWithJavaScript(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	groupPath := owner.createGroup("Careful Crew")
	owner.open(groupPath)
	link := owner.inviteLink()
	max := e.person("Max (member)")
	max.join(link, "Max", "Careful Crew")
	mia := e.person("Mia (member)")
	mia.join(link, "Mia", "Careful Crew")

	// Cancel: nothing is sent, nothing changes.
	owner.open(groupPath)
	owner.mark()
	owner.answerDialogs(false)
	owner.click(memberButton("Max", "make-owner"))
	d := owner.waitDialogs(1)
	if !strings.Contains(d[0], "Make Max the owner of “Careful Crew”?") {
		t.Errorf("the dialog asked %q", d[0])
	}
	if posts := e.requestsTo("POST", groupPath+"/transfer"); len(posts) != 0 {
		t.Errorf("cancelled, yet the transfer was sent: %+v", posts)
	}
	if !owner.stillMarked() || !strings.Contains(owner.text(testID("group-summary")), "you are the owner") {
		t.Errorf("cancelling changed the page")
	}

	// OK: Mia is removed.
	owner.answerDialogs(true)
	owner.click(memberButton("Mia", "remove-member"))
	if d := owner.waitDialogs(2); !strings.Contains(d[1], "Remove Mia from “Careful Crew”?") {
		t.Errorf("the dialog asked %q", d[1])
	}
	owner.waitText(testID("notice"), "The member was removed.", stepTimeout)
	if got := owner.texts(testID("member-name")); !slices.Equal(got, []string{"Olga", "Max"}) {
		t.Errorf("members after removing Mia: %q", got)
	}
	var posts []request
	for _, r := range e.requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, groupPath+"/members/") {
			posts = append(posts, r)
		}
	}
	if len(posts) != 1 || !posts[0].HTMX || !strings.HasSuffix(posts[0].Path, "/remove") {
		t.Errorf("the removal should be one htmx POST, got %+v", posts)
	}

	// OK: Max becomes the owner; Olga, now a member, leaves.
	owner.click(memberButton("Max", "make-owner"))
	owner.waitDialogs(3)
	owner.waitText(testID("notice"), "You handed the group over", stepTimeout)
	owner.waitText(testID("group-summary"), "you are a member", stepTimeout)
	owner.click(testID("leave-group"))
	if d := owner.waitDialogs(4); !strings.Contains(d[3], "Leave “Careful Crew”?") {
		t.Errorf("the dialog asked %q", d[3])
	}
	owner.waitPath("/")
	// The group page's stream does not send her to "/" as well: that page
	// load would take the notice before the leave's own answer gets there.
	owner.waitText(testID("notice"), "You left “Careful Crew”.", stepTimeout)
	if got := owner.texts(testID("group-link")); slices.Contains(got, "Careful Crew") {
		t.Errorf("after leaving, My Groups lists %q", got)
	}
	for _, tb := range []*tab{owner, max, mia} {
		tb.noConsoleErrors()
	}
}

// Acceptance: a notice belongs to the request that caused it: the green "Issue
// … was added." does not stay above the error of the next, refused, add.
func TestNoticeBelongsToItsRequest(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	owner.open(owner.createGroup("Notice Team"))
	owner.addIssue("SHOP-12", "")
	owner.waitText(testID("notice"), "Issue “SHOP-12” was added.", stepTimeout)

	owner.typeInto("#issue-key", "shop-12")
	owner.click(addIssueSubmit)
	owner.waitText(testID("key-error"), "already has an issue", stepTimeout)
	if got := owner.texts(testID("notice")); len(got) != 0 {
		t.Errorf("after the refused add, the page still shows the notice %q", got)
	}
}

// Acceptance: without JavaScript no page claims to update by itself; with it,
// it says so. Times in activity lines are the viewer's local time with
// JavaScript, and say UTC without.
func TestPagesSayWhatTheyDo(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	owner.signIn("Olga")
	owner.open(owner.createGroup("Live Team"))
	issuePath := owner.addIssue("LIVE-1", "")
	noJS := owner.newTab("Olga (no JavaScript)")
	noJS.javaScriptOff()

	owner.open(issuePath)
	noJS.open(issuePath)
	for _, c := range []struct {
		tb          *tab
		shown, gone string
	}{
		{owner, ".when-live", ".when-static"},
		{noJS, ".when-static", ".when-live"},
	} {
		if got := c.tb.texts(c.shown + ":not([hidden])"); len(got) != 1 {
			t.Errorf("%s: %s is not shown (%q)", c.tb.label, c.shown, got)
		}
		if got := c.tb.texts(c.gone + ":not([hidden])"); len(got) != 0 {
			t.Errorf("%s: %s is shown: %q", c.tb.label, c.gone, got)
		}
	}
	if got := noJS.text(".when-static"); strings.Contains(got, "updates by itself") {
		t.Errorf("without JavaScript the page says %q", got)
	}

	// Tokyo is UTC+9, and says so.
	owner.open("/account")
	noJS.open("/account")
	when := `[data-testid="activity"] time`
	if got := owner.text(when); strings.HasSuffix(got, "UTC") || !strings.Contains(got, "GMT+9") {
		t.Errorf("with JavaScript in Tokyo, the time reads %q, want local time with its zone", got)
	}
	if got := noJS.text(when); !strings.HasSuffix(got, "UTC") {
		t.Errorf("without JavaScript, the time reads %q, want it to say UTC", got)
	}
	owner.noConsoleErrors()
}
