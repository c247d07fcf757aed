package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Selectors of the forms' submit buttons.
const (
	loginSubmit    = `#login-form button[type="submit"]`
	createSubmit   = `#create-group button[type="submit"]`
	addIssueSubmit = `#add-issue button[type="submit"]`
)

// signIn signs this browser in with a nickname from the sign-in page.
func (tb *tab) signIn(nick string) {
	tb.t.Helper()
	tb.open("/login")
	tb.submitLogin(nick)
	tb.waitText(testID("nav-signout"), "Sign out "+nick, stepTimeout)
}

// submitLogin types the nickname into the sign-in form on screen and sends it.
func (tb *tab) submitLogin(nick string) {
	tb.t.Helper()
	tb.typeInto("#nickname", nick)
	tb.click(loginSubmit)
}

// confirmKept is the page after a sign-in with a kept form: it says what the
// form would send (want in it), and "Send it" sends it.
func (tb *tab) confirmKept(want string) {
	tb.t.Helper()
	tb.waitPath("/kept")
	tb.waitVisible(testID("kept-what"))
	if got := tb.text(testID("kept-what")); !strings.Contains(got, want) {
		tb.t.Errorf("the kept form's page says %q, want it to name %q", got, want)
	}
	tb.click(testID("kept-send"))
}

// createGroup creates a group from "/" and returns its page's path. With
// JavaScript, htmx swaps the new group into My Groups.
func (tb *tab) createGroup(name string) string {
	tb.t.Helper()
	tb.open("/")
	tb.typeInto("#group-name", name)
	tb.click(createSubmit)
	return tb.groupLink(name)
}

// groupLink waits for My Groups to list the group and returns its path.
func (tb *tab) groupLink(name string) string {
	tb.t.Helper()
	var href string
	tb.eventually(stepTimeout, "My Groups should list "+name, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](fmt.Sprintf(
			`(Array.from(document.querySelectorAll('[data-testid="group-link"]')).find(a => a.textContent.trim() === %q) || {}).pathname ?? null`, name)))
		if err != nil || v == nil {
			return false, fmt.Sprintf("%q", tb.texts(testID("group-link")))
		}
		href = *v
		return true, ""
	})
	return href
}

// addIssue adds an issue on the group page on screen, and returns the issue's
// status path. With htmx, the row appears with no reload.
func (tb *tab) addIssue(key, description string) string {
	tb.t.Helper()
	tb.typeInto("#issue-key", key)
	tb.typeInto("#issue-description", description)
	tb.mark()
	tb.click(addIssueSubmit)
	row := fmt.Sprintf(`[data-testid="issue-row"][data-key=%q]`, key)
	tb.waitVisible(row + " " + testID("issue-link"))
	if !tb.stillMarked() {
		tb.t.Fatalf("%s: the page reloaded to show the new issue; htmx should have swapped the row in", tb.label)
	}
	href := run(tb, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).pathname`, row+" "+testID("issue-link"))))
	if !strings.HasPrefix(href, "/issues/") {
		tb.t.Fatalf("%s: issue link %q", tb.label, href)
	}
	return href
}

// inviteLink is the invite link the owner sees on the group page on screen.
func (tb *tab) inviteLink() string {
	tb.t.Helper()
	link := tb.value(testID("invite-link"))
	if !strings.HasPrefix(link, tb.e.base+"/join/") {
		tb.t.Fatalf("%s: invite link %q should be %s/join/<token>", tb.label, link, tb.e.base)
	}
	return link
}

// join signs a new person in and joins the group through the invite link.
func (tb *tab) join(link, nick, group string) {
	tb.t.Helper()
	tb.signIn(nick)
	tb.do(chromedp.Navigate(link))
	tb.waitText(testID("join-title"), "Join group "+group+"?", stepTimeout)
	tb.click(testID("join-confirm"))
	tb.waitPath("/groups/*")
	tb.waitText(testID("group-name"), group, stepTimeout)
}

// vote chooses a card on the estimate page and waits until it is saved.
func (tb *tab) vote(issuePath string, n int) {
	tb.t.Helper()
	tb.open(issuePath + "/estimate")
	tb.click(testID(fmt.Sprintf("card-%d", n)))
	tb.eventually(stepTimeout, fmt.Sprintf("the page should say the estimate %d is saved", n), func() (bool, string) {
		got, _ := tb.textOf(testID("own-value"))
		return got == fmt.Sprint(n), fmt.Sprintf("%q", got)
	})
}

// Acceptance: signing in shows "Sign out <nickname>" and "My Groups".
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	ann := e.person("Ann")

	ann.open("/")
	ann.waitVisible(testID("nav-signin"))
	if got := ann.texts(testID("nav-signout")); len(got) != 0 {
		t.Fatalf("signed out, the navigation shows %q", got)
	}

	ann.open("/login")
	ann.typeInto("#nickname", "Ann")
	ann.click(loginSubmit)
	ann.waitText(testID("nav-signout"), "Sign out Ann", stepTimeout)
	if got := ann.text(testID("nav-signout")); got != "Sign out Ann" {
		t.Errorf("navigation says %q, want %q", got, "Sign out Ann")
	}
	if got := ann.text(testID("nav-my-groups")); got != "My Groups" {
		t.Errorf("navigation says %q, want %q", got, "My Groups")
	}
	if got := ann.texts(testID("nav-signin")); len(got) != 0 {
		t.Errorf("signed in, the navigation still offers %q", got)
	}
	ann.noConsoleErrors()
}

// Acceptance (the signature): a form sent with htmx after the session ended
// elsewhere is kept; the browser is sent to sign in (HX-Redirect) and, once the
// nickname is accepted and the person confirms what was kept (a kept form never
// acts by itself), the form is replayed and the browser lands on its result.
func TestReplayAfterSignOutWithHTMX(t *testing.T) {
	e := newEnv(t)
	tabA := e.person("Ann, tab A")
	tabA.signIn("Ann")
	tabA.open("/")
	tabA.waitVisible("#create-group")

	// Sign out in a second tab of the same browser.
	tabB := tabA.newTab("Ann, tab B")
	tabB.open("/confirm-logout")
	tabB.click(testID("signout-confirm"))
	tabB.waitVisible(testID("nav-signin"))

	// Tab A still shows the form; it does not know the session is gone.
	const name = "Replay Team"
	tabA.typeInto("#group-name", name)
	tabA.click(createSubmit)

	u := tabA.waitPath("/login")
	tabA.waitVisible(testID("kept-notice"))
	if u.Query().Get("kept") == "" {
		t.Errorf("sign-in page %s carries no reference to the kept form", u)
	}
	// next is the page the form was on; "/" is left out of the address.
	if next := u.Query().Get("next"); next != "" && next != "/" {
		t.Errorf("sign-in page %s: next = %q, want %q", u, next, "/")
	}
	posts := e.requestsTo("POST", "/creategroup")
	if len(posts) != 1 || !posts[0].HTMX || posts[0].Status != 200 {
		t.Errorf("POST /creategroup: want one htmx request answered 200 with HX-Redirect, got %+v", posts)
	}

	tabA.submitLogin("Ann")
	tabA.confirmKept(name)
	tabA.waitPath("/groups/*")
	tabA.waitText(testID("group-name"), name, stepTimeout)
	if got := tabA.text(testID("group-name")); got != name {
		t.Errorf("group page shows %q, want %q", got, name)
	}
	tabA.waitText(testID("notice"), name, stepTimeout)
	tabA.waitText(testID("nav-signout"), "Sign out Ann", stepTimeout)
	posts = e.requestsTo("POST", "/creategroup")
	if len(posts) != 2 || !posts[1].Replay || posts[1].Status != 303 {
		t.Errorf("POST /creategroup: want the kept form replayed once (303 to the group), got %+v", posts)
	}

	tabA.open("/")
	if got := tabA.texts(testID("group-link")); !slices.Equal(got, []string{name}) {
		t.Errorf("My Groups lists %q, want exactly [%q] (created once)", got, name)
	}
	tabA.noConsoleErrors()
	tabB.noConsoleErrors()
}

// Acceptance: the same replay with JavaScript off: a plain form POST is kept and
// answered 303 to the sign-in page; signing in and confirming lands on the new
// group's page.
func TestReplayAfterSignOutWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	tabA := e.person("Bea, tab A (no JavaScript)")
	tabA.javaScriptOff()
	tabA.signIn("Bea")
	tabA.open("/")
	tabA.waitVisible("#create-group")
	if v := run(tabA, chromedp.Evaluate[string](`typeof window.htmx`)); v != "undefined" {
		t.Fatalf("JavaScript should be off in tab A, but htmx is %s", v)
	}

	tabB := tabA.newTab("Bea, tab B (no JavaScript)")
	tabB.javaScriptOff()
	tabB.open("/confirm-logout")
	tabB.click(testID("signout-confirm"))
	tabB.waitVisible(testID("nav-signin"))

	const name = "No Script Team"
	tabA.typeInto("#group-name", name)
	tabA.click(createSubmit)

	u := tabA.waitPath("/login")
	tabA.waitVisible(testID("kept-notice"))
	if u.Query().Get("kept") == "" {
		t.Errorf("sign-in page %s carries no reference to the kept form", u)
	}
	posts := e.requestsTo("POST", "/creategroup")
	if len(posts) != 1 || posts[0].HTMX || posts[0].Status != 303 {
		t.Errorf("POST /creategroup: want one plain request answered 303, got %+v", posts)
	}

	tabA.submitLogin("Bea")
	tabA.confirmKept(name)
	tabA.waitPath("/groups/*")
	tabA.waitText(testID("group-name"), name, stepTimeout)
	tabA.waitText(testID("notice"), name, stepTimeout)
	posts = e.requestsTo("POST", "/creategroup")
	if len(posts) != 2 || !posts[1].Replay || posts[1].Status != 303 {
		t.Errorf("POST /creategroup: want the kept form replayed once (303 to the group), got %+v", posts)
	}
	for _, r := range e.requests() {
		if r.HTMX {
			t.Errorf("with JavaScript off, a request came from htmx: %+v", r)
		}
	}

	tabA.open("/")
	if got := tabA.texts(testID("group-link")); !slices.Equal(got, []string{name}) {
		t.Errorf("My Groups lists %q, want exactly [%q]", got, name)
	}
}

// Acceptance: the owner shares the invite link; a signed-out teammate opens it,
// signs in, confirms, and is a member the owner sees.
func TestInviteFlow(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	const group = "Invite Team"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	link := owner.inviteLink()

	// The copy button puts the link on the clipboard (allowed for this test)
	// and leaves the page as it was.
	bctx := chromedp.FromContext(owner.ctx).BrowserContextID
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(owner.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted,
			Origin: e.base, BrowserContextID: bctx,
		}); err != nil {
			t.Fatalf("granting %s: %v", perm, err)
		}
	}
	owner.mark()
	owner.click(testID("copy-invite"))
	owner.eventually(stepTimeout, "the clipboard should hold the invite link", func() (bool, string) {
		ctx, cancel := context.WithTimeout(owner.ctx, stepTimeout)
		defer cancel()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil {
			return false, err.Error()
		}
		return got == link, fmt.Sprintf("%q", got)
	})
	if !owner.stillMarked() {
		t.Errorf("clicking the copy button reloaded or left the page")
	}
	if got := owner.inviteLink(); got != link {
		t.Errorf("after copying, the invite link is %q, want %q", got, link)
	}
	owner.noConsoleErrors()

	// A teammate, signed out, in another browser.
	mx := e.person("Max (member)")
	lu, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	mx.do(chromedp.Navigate(link))
	u := mx.waitPath("/login")
	if next := u.Query().Get("next"); next != lu.Path {
		t.Errorf("sign-in page %s: next = %q, want the invite %q", u, next, lu.Path)
	}
	mx.submitLogin("Max")
	mx.waitPath(lu.Path)
	mx.waitText(testID("join-title"), "Join group "+group+"?", stepTimeout)
	if got := mx.text(testID("join-title")); got != "Join group "+group+"?" {
		t.Errorf("join page title %q", got)
	}
	mx.click(testID("join-confirm"))
	mx.waitPath(groupPath)
	mx.waitText(testID("group-name"), group, stepTimeout)
	mx.waitText(testID("notice"), group, stepTimeout)
	if got := mx.texts(testID("invite-link")); len(got) != 0 {
		t.Errorf("a member sees the invite link")
	}

	owner.open(groupPath)
	members := owner.texts(testID("member-name"))
	if !slices.Contains(members, "Max") || !slices.Contains(members, "Olga") {
		t.Errorf("owner's group page lists members %q, want Olga and Max", members)
	}
	mx.noConsoleErrors()
}

// Acceptance: a whole round with three browsers: an issue added with htmx,
// three secret votes, the reveal with the combined result, the accepted
// estimate on the group page.
func TestEstimationRound(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	const group = "Round Team"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	issuePath := owner.addIssue("SHOP-12", "Checkout page")
	if posts := e.requestsTo("POST", groupPath+"/issues"); len(posts) != 1 || !posts[0].HTMX {
		t.Errorf("adding the issue: want one htmx request, got %+v", posts)
	}
	owner.waitText(testID("notice"), "SHOP-12", stepTimeout)
	link := owner.inviteLink()

	m1 := e.person("Max (member)")
	m1.join(link, "Max", group)
	m2 := e.person("Mia (member)")
	m2.join(link, "Mia", group)

	// 5, 8 and 13: average 8.67, nearest integer 9, nearest Fibonacci 8.
	owner.vote(issuePath, 5)
	m1.vote(issuePath, 8)
	m2.vote(issuePath, 13)

	owner.open(issuePath)
	owner.waitText(testID("voted-count"), "3 of 3 voted", stepTimeout)
	owner.click(testID("reveal"))
	owner.waitVisible(testID("result"))
	if d := owner.dialogsSeen(); len(d) != 0 {
		t.Errorf("everyone voted, yet the reveal asked: %q", d)
	}
	for id, want := range map[string]string{
		"result-votes":   "3",
		"result-average": "8.7",
		"result-nearest": "9",
		"result-card":    "8",
	} {
		if got := owner.text(testID(id)); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}

	if got := owner.value("#final"); got != "8" {
		t.Errorf("the final estimate is prefilled with %q, want the nearest Fibonacci 8", got)
	}
	owner.click(testID("accept"))
	owner.waitText(testID("final"), "Final estimate: 8", stepTimeout)

	owner.open(groupPath)
	row := `[data-testid="issue-row"][data-key="SHOP-12"] `
	if got := owner.text(row + testID("issue-final")); got != "8" {
		t.Errorf("group page shows final estimate %q, want 8", got)
	}
	if got := owner.text(row + testID("issue-state")); got != "accepted" {
		t.Errorf("group page shows state %q, want accepted", got)
	}
	for _, tb := range []*tab{owner, m1, m2} {
		tb.noConsoleErrors()
	}
}

// Acceptance: the status page updates itself: a vote in another browser shows
// within 2 seconds, and the reveal shows the result on every open status page,
// with no reload.
func TestLiveUpdates(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	const group = "Live Team"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	issuePath := owner.addIssue("LIVE-1", "")
	link := owner.inviteLink()

	member := e.person("Max (member, status tab)")
	member.join(link, "Max", group)
	// A round is revealed with 2 votes at least: Mia votes too.
	mia := e.person("Mia (member)")
	mia.join(link, "Mia", group)
	mia.vote(issuePath, 5)

	owner.open(issuePath)
	owner.mark()
	member.open(issuePath)
	member.mark()
	// Both event streams are up once each page shows both people as here now
	// (itself a live update: the other one arrived after the page loaded).
	for _, tb := range []*tab{owner, member} {
		tb.eventually(stepTimeout, "both people should show as here now", func() (bool, string) {
			n := len(tb.texts(testID("voter-present") + " .present"))
			return n == 2, fmt.Sprint(n, " here")
		})
		tb.waitText(testID("voted-count"), "1 of 3 voted", stepTimeout)
	}

	voting := member.newTab("Max (member, estimate tab)")
	voting.vote(issuePath, 3)
	saved := time.Now()
	for _, tb := range []*tab{owner, member} {
		tb.waitText(testID("voted-count"), "2 of 3 voted", liveWithin-time.Since(saved))
	}
	if took := time.Since(saved); took > liveWithin {
		t.Errorf("the vote showed after %v, want within %v", took, liveWithin)
	} else {
		t.Logf("the vote showed on both status pages %v after it was saved", took.Round(time.Millisecond))
	}

	// Not everyone voted: the reveal asks first (a JavaScript confirm, accepted).
	owner.click(testID("reveal"))
	owner.waitVisible(testID("result"))
	revealed := time.Now()
	if d := owner.dialogsSeen(); len(d) != 1 || !strings.Contains(d[0], "Only 2 of 3") {
		t.Errorf("the reveal with 2 of 3 votes should have asked once, dialogs: %q", d)
	}
	member.eventually(liveWithin-time.Since(revealed), "the member's page should show the result", func() (bool, string) {
		got, ok := member.textOf(testID("result-average"))
		return ok && got == "4.0", fmt.Sprintf("%q", got)
	})
	t.Logf("the result showed on the member's page %v after the owner's", time.Since(revealed).Round(time.Millisecond))
	if got := owner.text(testID("result-average")); got != "4.0" {
		t.Errorf("owner's result average %q, want 4.0", got)
	}
	for _, tb := range []*tab{owner, member} {
		if !tb.stillMarked() {
			t.Errorf("%s: the status page reloaded; it should update in place", tb.label)
		}
		tb.noConsoleErrors()
	}
	voting.noConsoleErrors()
}
