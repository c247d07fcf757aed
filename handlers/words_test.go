package handlers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"estimator/store"
)

// Back after signing out asks for the sign-out page again; signing in from
// there must not land on "Sign out?".
func TestBackAfterSignOutNeverLeadsBackToSignOut(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.signedIn("Winifred-Longnickname_2026.x")
	c.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)

	// Back: the sign-out page, now signed out.
	r := c.get("/confirm-logout")
	if next, _, _ := loginTarget(t, r.location()); next != "/" {
		t.Errorf("back after sign-out: sign-in continues to %q, want /", next)
	}
	// The same through htmx (the page's own requests) and through a form that
	// names it (an old tab, a link).
	if next, _, _ := loginTarget(t, c.htmxFrom("/confirm-logout").get("/account").header.Get("HX-Redirect")); next != "/" {
		t.Errorf("htmx from the sign-out page: sign-in continues to %q, want /", next)
	}
	for _, next := range []string{"/confirm-logout", "/confirm-logout?x=1", "/confirm-logout/", "/%63onfirm-logout"} {
		page := c.get("/login?next=" + url.QueryEscape(next)).wantStatus(http.StatusOK)
		if v, _ := page.inputValue("login-form", "next"); v != "/" {
			t.Errorf("login page with next=%s keeps next %q, want /", next, v)
		}
		c.post("/login", url.Values{"nickname": {"Winifred-Longnickname_2026.x"}, "next": {next}}).wantRedirect("/")
		c.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	}
	// Other pages are still where a sign-in leads.
	c.post("/login", url.Values{"nickname": {"Winifred-Longnickname_2026.x"}, "next": {"/account"}}).wantRedirect("/account")
}

// "Start the next issue" in a room the group is not on never names the issue
// the group is on already: starting it would move nobody.
func TestStartNextNeverNamesTheIssueTheGroupIsOn(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "PHX-103", "PHX-104", "PHX-105")
	p103, p104, p105 := rt.issues[0], rt.issues[1], rt.issues[2]
	rt.owner.post(fmt.Sprintf("/issues/%d/start", p104), nil).wantStatus(http.StatusSeeOther)
	for _, tc := range []struct {
		room int64
		want string
	}{
		{p103, "Start the next issue: PHX-105"},
		{p104, "Start the next issue: PHX-105"},
		{p105, "Start the next issue: PHX-103"},
	} {
		page := rt.owner.get(fmt.Sprintf("/issues/%d", tc.room)).wantStatus(http.StatusOK)
		if got := page.text("start-next"); got != tc.want {
			t.Errorf("room %d: %q, want %q", tc.room, got, tc.want)
		}
	}
	// With only the current issue left open, there is no next one to offer.
	rt2 := newRoomTeam(t, "PHX-1", "PHX-2")
	rt2.owner.post(fmt.Sprintf("/issues/%d/start", rt2.issues[1]), nil).wantStatus(http.StatusSeeOther)
	if page := rt2.owner.get(fmt.Sprintf("/issues/%d", rt2.issues[0])); page.has("start-next") {
		t.Errorf("PHX-1's room offers %q while the group is on the only other open issue", page.text("start-next"))
	}
}

// "Delete this issue" asks first, as remove and leave do: the edit page links
// to GET /issues/{id}/delete (htmx asks in a dialog and posts), which deletes
// nothing; its form does.
func TestDeleteIssueAsksFirst(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Team Phoenix", "Alice", "Bob")
	iid := tm.owner.addIssue(tm.gid, "PHX-104", "Checkout: pay with a saved card")
	ask := fmt.Sprintf("/issues/%d/delete", iid)

	edit := tm.owner.get(fmt.Sprintf("/issues/%d/edit", iid)).wantStatus(http.StatusOK)
	btn := edit.all("delete-issue")
	if len(btn) != 1 {
		t.Fatalf("%d delete-issue buttons", len(btn))
	}
	a := btn[0]
	if a.Data != "a" || attr(a, "href") != ask || attr(a, "hx-post") != ask || !strings.Contains(attr(a, "hx-confirm"), "Delete PHX-104?") {
		t.Errorf("delete button: <%s href=%q hx-post=%q hx-confirm=%q>, want a link to %s that htmx posts after asking", a.Data, attr(a, "href"), attr(a, "hx-post"), attr(a, "hx-confirm"), ask)
	}
	if !strings.Contains(attr(a, "class"), "danger") {
		t.Errorf("delete button looks harmless: class %q", attr(a, "class"))
	}

	page := tm.owner.get(ask).wantStatus(http.StatusOK)
	if got := page.text("confirm-title"); got != "Delete PHX-104?" {
		t.Errorf("confirmation title %q", got)
	}
	f := formOf(page.all("delete-issue-confirm")[0])
	if attr(f, "method") != "post" || attr(f, "action") != ask {
		t.Errorf("confirm form: %s %s, want post %s", attr(f, "method"), attr(f, "action"), ask)
	}
	if back := page.all("confirm-cancel"); len(back) != 1 || attr(back[0], "href") != fmt.Sprintf("/issues/%d/edit", iid) {
		t.Errorf("no way back to the edit page")
	}
	if ta.countRows("issues", "id = ?", iid) != 1 {
		t.Fatal("asking deleted the issue")
	}
	// A member is not asked; a revealed issue cannot be deleted.
	if r := tm.members[0].get(ask); r.status != http.StatusForbidden {
		t.Errorf("member asking: %d, want 403", r.status)
	}

	tm.owner.post(ask, nil).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	if ta.countRows("issues", "id = ?", iid) != 0 {
		t.Fatal("confirming did not delete the issue")
	}
	if r := tm.owner.get(ask); r.status != http.StatusNotFound {
		t.Errorf("asking about a deleted issue: %d, want 404", r.status)
	}

	done := tm.owner.addIssue(tm.gid, "PHX-105", "")
	tm.owner.estimate(done, "3")
	tm.members[0].estimate(done, "5")
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", done), nil).wantStatus(http.StatusSeeOther)
	if r := tm.owner.get(fmt.Sprintf("/issues/%d/delete", done)); r.status != http.StatusConflict {
		t.Errorf("asking to delete a revealed issue: %d, want 409", r.status)
	}
}

// On a deck of labels everything a person reads is a label: the result, the
// proposed and accepted final estimate, the backlog and the exports. final
// takes a label; a number or an unknown label is refused naming the labels.
func TestTShirtDeckReadsInLabelsFromRevealToExport(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "PHX-104", "PHX-105")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	rt.owner.post(fmt.Sprintf("/groups/%d/settings", rt.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	rt.members[0].estimate(iid, "3").wantStatus(http.StatusSeeOther) // M
	rt.members[1].estimate(iid, "5").wantStatus(http.StatusSeeOther) // L
	rt.members[2].estimate(iid, "coffee").wantStatus(http.StatusSeeOther)
	rt.owner.post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(room)

	page := rt.owner.get(room).wantStatus(http.StatusOK)
	for id, want := range map[string]string{
		"result-votes": "2", "result-specials": "0 · 1", "result-card": "L", "result-median": "M–L", "result-range": "M – L",
	} {
		if got := page.text(id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	for _, id := range []string{"result-average", "result-nearest"} {
		if page.has(id) {
			t.Errorf("a T-shirt result shows the number %s = %q", id, page.text(id))
		}
	}
	// The final estimate is chosen among the labels, the card nearest the
	// median proposed.
	sel := findAll(page.all("accept-form")[0], func(n *html.Node) bool { return n.Data == "select" && attr(n, "name") == "final" })
	if len(sel) != 1 {
		t.Fatal("no choice of labels for the final estimate")
	}
	var options, selected []string
	for _, o := range findAll(sel[0], func(n *html.Node) bool { return n.Data == "option" }) {
		options = append(options, attr(o, "value"))
		if hasAttr(o, "selected") {
			selected = append(selected, attr(o, "value"))
		}
	}
	if fmt.Sprint(options) != "[XS S M L XL XXL]" || fmt.Sprint(selected) != "[L]" {
		t.Errorf("final choices %q, proposed %q; want the six sizes and L", options, selected)
	}

	// A number, or a label of no card, is refused naming the labels.
	for _, bad := range []string{"5", "XXXL", ""} {
		r := rt.owner.post(room+"/accept", url.Values{"final": {bad}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.text("final-error"), "XS, S, M, L, XL, XXL") {
			t.Errorf("final %q: %d %q", bad, r.status, r.text("final-error"))
		}
	}
	if is := rt.issue(t, iid); is.State != store.StateRevealed {
		t.Fatalf("a refused final changed the issue: %s", is.State)
	}
	rt.owner.post(room+"/accept", url.Values{"final": {" l "}}).wantRedirect(room)
	rt.owner.get(room).wantNotice("The final estimate of PHX-104 is L.")
	done := rt.members[0].get(room)
	if got := done.text("final"); got != "Final estimate: L" {
		t.Errorf("accepted: %q, want Final estimate: L", got)
	}
	if is := rt.issue(t, iid); is.Final != 5 {
		t.Errorf("stored final %d, want 5 (the number L stands for)", is.Final)
	}
	for _, row := range rt.owner.get(fmt.Sprintf("/groups/%d", rt.gid)).all("issue-row") {
		if attr(row, "data-key") == "PHX-104" {
			if got := textsIn(row, "issue-final"); fmt.Sprint(got) != "[L]" {
				t.Errorf("backlog shows %q, want L", got)
			}
		}
	}

	// The exports: labels where a person reads them, numbers kept in JSON.
	csvBody := rt.members[1].get(fmt.Sprintf("/groups/%d/export.csv", rt.gid)).wantStatus(http.StatusOK).body
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"key", "description", "state", "final_estimate", "rounds", "round_1_votes", "round_1_average", "round_1_median", "round_1_distribution"}; fmt.Sprintf("%q", recs[0]) != fmt.Sprintf("%q", want) {
		t.Errorf("CSV header %q, want %q", recs[0], want)
	}
	// The median as the room shows it on a deck of labels, and no average
	// (the room shows none: a size has no average a person reads).
	if want := []string{"PHX-104", "story PHX-104", "accepted", "L", "1", "3", "", "M–L", "M=1 L=1 coffee=1"}; fmt.Sprintf("%q", recs[1]) != fmt.Sprintf("%q", want) {
		t.Errorf("CSV row %q, want %q", recs[1], want)
	}
	var doc struct {
		Issues []struct {
			Key           string `json:"key"`
			FinalEstimate *int   `json:"final_estimate"`
			FinalLabel    string `json:"final_label"`
			Rounds        []struct {
				Distribution []struct {
					Value int    `json:"value"`
					Label string `json:"label"`
					Count int    `json:"count"`
				} `json:"distribution"`
			} `json:"rounds"`
		} `json:"issues"`
	}
	if err := json.Unmarshal([]byte(rt.members[1].get(fmt.Sprintf("/groups/%d/export.json", rt.gid)).wantStatus(http.StatusOK).body), &doc); err != nil {
		t.Fatal(err)
	}
	is := doc.Issues[0]
	if is.FinalEstimate == nil || *is.FinalEstimate != 5 || is.FinalLabel != "L" {
		t.Errorf("JSON final %v %q, want 5 and L", is.FinalEstimate, is.FinalLabel)
	}
	if d := is.Rounds[0].Distribution; fmt.Sprintf("%+v", d) != "[{Value:3 Label:M Count:1} {Value:5 Label:L Count:1}]" {
		t.Errorf("JSON distribution %+v", d)
	}

	// A deck of numbers still takes a number, and refuses a label.
	rt.owner.post(fmt.Sprintf("/groups/%d/settings", rt.gid), url.Values{"deck": {"fibonacci"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	next := rt.issues[1]
	rt.members[0].estimate(next, "8").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(next, "13").wantStatus(http.StatusSeeOther)
	nroom := fmt.Sprintf("/issues/%d", next)
	rt.owner.post(nroom+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(nroom)
	if r := rt.owner.post(nroom+"/accept", url.Values{"final": {"L"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a label on a numeric deck: %d", r.status)
	}
	rt.owner.post(nroom+"/accept", url.Values{"final": {"13"}}).wantRedirect(nroom)
	if got := rt.owner.get(nroom).text("final"); got != "Final estimate: 13" {
		t.Errorf("numeric final: %q", got)
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// An invite opened while signed out says which group and who invites, on the
// sign-in page it leads to, and still after a refused nickname.
func TestInviteOpenedSignedOutNamesTheGroup(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Team Phoenix", "Alice", "Bob")
	join := "/join/" + ta.inviteToken(tm.gid)

	guest := ta.client()
	loc := guest.get(join).location()
	if next, _, _ := loginTarget(t, loc); next != join {
		t.Fatalf("the invite leads to %q, want a sign-in continuing to %s", loc, join)
	}
	page := guest.get(loc).wantStatus(http.StatusOK)
	if got := page.text("login-title"); got != "Sign in to join Team Phoenix" {
		t.Errorf("title %q", got)
	}
	if got := page.text("login-invite"); !strings.Contains(got, "Alice’s group, 2 members") {
		t.Errorf("invite line %q, want who invites", got)
	}
	// A refused nickname keeps the page's words.
	r := guest.post(loc, url.Values{"nickname": {"x"}, "next": {join}}).wantStatus(http.StatusUnprocessableEntity)
	if got := r.text("login-title"); got != "Sign in to join Team Phoenix" {
		t.Errorf("after a refused nickname: title %q", got)
	}
	// Signed in, the join page asks.
	guest.post("/login", url.Values{"nickname": {"Carol"}, "next": {join}}).wantRedirect(join)

	// A replaced invite names nothing: the sign-in page is the plain one, and
	// the join page says the link is gone.
	tm.owner.post(fmt.Sprintf("/groups/%d/invite", tm.gid), nil).wantStatus(http.StatusSeeOther)
	plain := ta.client().get(loc).wantStatus(http.StatusOK)
	if got := plain.text("login-title"); got != "Sign in" || plain.has("login-invite") {
		t.Errorf("an old invite's sign-in page: %q", got)
	}
}

// Words a person reads: the activity log in sentences, one date format, "Votes"
// counting what the average is of, a timer notice still true when time is up,
// a home page true for every deck, and sign-out words that fit how the person
// signed in (with "forget this browser" where it matters).
func TestWordsPeopleRead(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "PHX-102", "PHX-104")
	ta := rt.ta
	p102, p104 := rt.issues[0], rt.issues[1]
	room := fmt.Sprintf("/issues/%d", p102)
	group := fmt.Sprintf("/groups/%d", rt.gid)

	rt.owner.post(fmt.Sprintf("/issues/%d/start", p104), nil).wantStatus(http.StatusSeeOther)
	rt.owner.post(room+"/timer", url.Values{"seconds": {"6"}}).wantStatus(http.StatusSeeOther)
	rt.owner.get(room).wantNotice("You started a timer of 6 seconds on PHX-102.")
	rt.owner.estimate(p102, "89").wantStatus(http.StatusSeeOther)
	rt.members[0].estimate(p102, "34").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(p102, "?").wantStatus(http.StatusSeeOther)
	rt.members[2].estimate(p102, "coffee").wantStatus(http.StatusSeeOther)
	rt.owner.post(room+"/reveal", nil).wantRedirect(room)
	// "Votes" is how many numbers the average is of; ? and coffee beside it.
	res := rt.members[0].get(room)
	if res.text("result-votes") != "2" || res.text("result-average") != "61.5" || res.text("result-specials") != "1 · 1" {
		t.Errorf("result: votes %q, average %q, ? · coffee %q", res.text("result-votes"), res.text("result-average"), res.text("result-specials"))
	}
	rt.owner.post(group+"/settings", url.Values{"deck": {"tshirt"}, "auto_reveal": {"1"}, "timer": {"60"}}).wantStatus(http.StatusSeeOther)

	page := rt.owner.get(group).wantStatus(http.StatusOK)
	lines := page.texts("activity-text")
	for _, want := range []string{
		"Olga moved the group to PHX-104",
		"Olga started a timer of 6 seconds on PHX-102",
		"Olga revealed round 1 of PHX-102 (4 votes)",
		"Olga changed how the group estimates: T-shirt sizes, reveal by itself, a timer of 1 minute",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("activity lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	for _, l := range lines {
		if strings.Contains(l, "issue.") || strings.Contains(l, "group.") || strings.Contains(l, "89") || strings.Contains(l, "34") {
			t.Errorf("activity line %q is raw or shows a vote", l)
		}
	}

	// One date format: the activity, the members' joining, the browsers.
	oneFormat := regexp.MustCompile(`^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2} UTC$`)
	acct := rt.owner.get("/account").wantStatus(http.StatusOK)
	for _, r := range []*response{page, acct} {
		times := findAll(r.doc, func(n *html.Node) bool { return n.Data == "time" })
		if len(times) < 3 {
			t.Errorf("only %d times on a page", len(times))
		}
		for _, tm := range times {
			if got := textOf(tm); !oneFormat.MatchString(got) {
				t.Errorf("a time reads %q, want like 6 Dec 2026, 19:35 UTC", got)
			}
		}
	}

	// The home page promises nothing a deck may not keep.
	pitch := ta.client().get("/").text("home-pitch")
	if strings.Contains(pitch, "1 to 100") || strings.Contains(pitch, "nearest Fibonacci") {
		t.Errorf("home page: %q", pitch)
	}

	// Sign-out: no jargon, and forgetting this browser offered right there.
	out := rt.members[0].get("/confirm-logout").wantStatus(http.StatusOK)
	if got := out.text("signout-explain"); strings.Contains(got, "key") || !strings.Contains(got, "remembers your nickname") {
		t.Errorf("sign-out page says %q", got)
	}
	if !out.has("signout-forget") {
		t.Fatal("no way to make this browser forget the nickname on the sign-out page")
	}
	ana := ta.user("Ana")
	rt.members[0].post("/confirm-logout", url.Values{"forget": {"1"}}).wantRedirect("/")
	rt.members[0].get("/").wantNotice("this browser no longer remembers your nickname")
	if v, _ := rt.members[0].get("/login").inputValue("login-form", "nickname"); v != "" {
		t.Errorf("after forgetting, the sign-in page still offers %q", v)
	}
	if bs, err := ta.st.UserBrowsers(tctx, ana.ID, ""); err != nil || len(bs) != 0 {
		t.Errorf("Ana's browsers after forgetting: %d (%v)", len(bs), err)
	}
	// A plain sign-out keeps the browser.
	rt.members[1].post("/confirm-logout", nil).wantRedirect("/")
	if v, _ := rt.members[1].get("/login").inputValue("login-form", "nickname"); v != "Bo" {
		t.Errorf("a plain sign-out forgot the browser: %q", v)
	}
}

// Someone signed in through the organisation never reads texts about typing a
// nickname or keys.
func TestProviderUsersReadTheirOwnWords(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, proxyConfig("192.0.2.0/24"))
	carol := ta.client().with("X-Forwarded-User", "carol")
	out := carol.get("/confirm-logout").wantStatus(http.StatusOK)
	if got := out.text("signout-explain"); strings.Contains(got, "nickname") || !strings.Contains(got, "proxy") || out.has("signout-forget") {
		t.Errorf("sign-out page for a proxy user: %q (forget offered: %v)", got, out.has("signout-forget"))
	}
	acc := carol.get("/account").wantStatus(http.StatusOK)
	if got := acc.text("browser-explain"); strings.Contains(got, "personal sign-in link") || !strings.Contains(got, "proxy") {
		t.Errorf("account, this browser: %q", got)
	}
	if got := acc.text("sessions-explain"); strings.Contains(got, "nickname") {
		t.Errorf("account, sessions: %q", got)
	}
}
