package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Acceptance: what a demanding person reads in the browser. An invite opened
// signed out names its group; a T-shirt round reads in sizes from the reveal
// to the accepted final; times read in one shape in the viewer's zone; the
// activity log speaks in sentences. With $ESTIMATOR_SCREENSHOTS set, every
// page on the way is saved at 1280 and 390 px, light and dark.
func TestWordsInTheBrowser(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Alice (owner)")
	owner.signIn("Alice")
	groupPath := owner.createGroup("Team Phoenix")
	owner.open(groupPath)
	link := owner.inviteLink()

	// The invite, opened signed out.
	carl := e.person("Carl (invited)")
	carl.do(chromedp.Navigate(link))
	carl.waitText(testID("login-title"), "Sign in to join Team Phoenix", stepTimeout)
	if got := carl.text(testID("login-invite")); !strings.Contains(got, "Alice’s group, 1 member") {
		t.Errorf("the invite's sign-in page says %q", got)
	}
	carl.screenshots("login-invite")
	carl.submitLogin("Carl")
	carl.waitText(testID("join-title"), "Join group Team Phoenix?", stepTimeout)
	carl.click(testID("join-confirm"))
	carl.waitPath(groupPath)
	ana := e.person("Ana (member)")
	ana.join(link, "Ana", "Team Phoenix")

	// T-shirt sizes.
	owner.open(groupPath)
	owner.click(`[data-testid="settings"] > summary`) // the settings are folded away
	owner.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#settings-deck").value = "tshirt"`))
	owner.click(testID("settings-save"))
	owner.waitText(testID("notice"), "saved", stepTimeout)
	room := owner.addIssue("PHX-104", "Checkout: pay with a saved card, and see the receipt by e-mail")
	for _, v := range []struct {
		who  *tab
		card string
	}{{carl, "card-3"}, {ana, "card-5"}, {owner, "card-coffee"}} {
		v.who.open(room)
		v.who.click(testID(v.card))
		v.who.waitVisible(testID("own-value"))
	}
	owner.open(room)
	owner.click(testID("reveal"))
	owner.waitText(testID("state"), "revealed", stepTimeout)
	for id, want := range map[string]string{"result-votes": "2", "result-card": "L", "result-median": "M–L", "result-range": "M – L"} {
		if got := owner.text(testID(id)); got != want {
			t.Errorf("%s reads %q, want %q", id, got, want)
		}
	}
	if got := owner.value("#final"); got != "L" {
		t.Errorf("the final estimate proposed is %q, want L", got)
	}
	owner.screenshots("room-tshirt-revealed")
	owner.click(testID("accept"))
	owner.waitText(testID("final"), "Final estimate: L", stepTimeout)
	owner.screenshots("room-tshirt-accepted")

	// The group page: the backlog in sizes, the activity in sentences, every
	// time in one shape.
	owner.open(groupPath)
	if got := owner.text(`[data-testid="issue-row"][data-key="PHX-104"] [data-testid="issue-final"]`); got != "L" {
		t.Errorf("the backlog shows %q, want L", got)
	}
	lines := owner.texts(testID("activity-text"))
	if !strings.Contains(strings.Join(lines, "\n"), "Alice accepted L as the final estimate of PHX-104") {
		t.Errorf("activity:\n%s", strings.Join(lines, "\n"))
	}
	shape := regexp.MustCompile(`^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} \S+$`)
	for _, when := range owner.texts("time") {
		if !shape.MatchString(when) {
			t.Errorf("a time reads %q, want like 6 Dec 2026, 19:35 UTC", when)
		}
	}
	owner.screenshots("group-owner")
	owner.open("/account")
	for _, when := range owner.texts("time") {
		if !shape.MatchString(when) {
			t.Errorf("on the account page a time reads %q", when)
		}
	}
	owner.screenshots("account")

	// The pages that ask first, and the sign-out page.
	owner.open(groupPath)
	owner.click("#add-issue-summary")
	edit := owner.addIssue("PHX-105", "")
	edit = strings.TrimSuffix(edit, "/") + "/edit"
	owner.open(edit)
	owner.screenshots("issue-edit")
	owner.open(strings.TrimSuffix(edit, "/edit") + "/delete")
	owner.waitText(testID("confirm-title"), "Delete PHX-105?", stepTimeout)
	owner.screenshots("issue-delete")
	ana.open(groupPath)
	if href := run(ana, chromedp.Evaluate[string](`document.querySelector('[data-testid="leave-group"]').getAttribute("href")`)); strings.HasSuffix(href, "?") {
		t.Errorf("leave leads to %q", href)
	}
	ana.open(groupPath + "/leave")
	ana.screenshots("leave")
	ana.open("/confirm-logout")
	ana.waitVisible(testID("signout-forget"))
	ana.screenshots("logout")
	guest := e.person("Guest")
	guest.open("/")
	guest.screenshots("home")
	for _, tb := range []*tab{owner, carl, ana, guest} {
		tb.noConsoleErrors()
	}
}
