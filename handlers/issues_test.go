package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"estimator/store"
)

// Issue "The estimation round".

type issueRoute struct {
	method, path string
	form         url.Values
	ownerOnly    bool
}

func issueRoutes(id int64) []issueRoute {
	p := fmt.Sprintf("/issues/%d", id)
	return []issueRoute{
		{method: "GET", path: p},
		{method: "GET", path: p + "/estimate"},
		{method: "POST", path: p + "/estimate", form: url.Values{"estimate": {"5"}}},
		{method: "POST", path: p + "/reveal", form: url.Values{"confirmed": {"1"}}, ownerOnly: true},
		{method: "POST", path: p + "/accept", form: url.Values{"final": {"5"}}, ownerOnly: true},
		{method: "POST", path: p + "/revote", ownerOnly: true},
		{method: "GET", path: p + "/edit", ownerOnly: true},
		{method: "POST", path: p + "/edit", form: url.Values{"key": {"HIJACK"}}, ownerOnly: true},
		{method: "POST", path: p + "/delete", ownerOnly: true},
	}
}

func (rt issueRoute) send(c *client) *response {
	if rt.method == "GET" {
		return c.get(rt.path)
	}
	return c.post(rt.path, rt.form)
}

func TestIssueRoutesRefuseWhoMayNot(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Private Pond", "Olga", "Mia")
	iid := tm.owner.addIssue(tm.gid, "PP-SECRET", "do not show")
	tm.members[0].estimate(iid, "8").wantStatus(http.StatusSeeOther)
	stranger := ta.signedIn("Sam")

	for _, rt := range issueRoutes(iid) {
		for _, htmx := range []bool{false, true} {
			name := fmt.Sprintf("%s %s htmx=%v", rt.method, rt.path, htmx)
			pick := func(c *client) *client {
				if htmx {
					return c.htmxFrom(fmt.Sprintf("/issues/%d", iid))
				}
				return c.plain()
			}
			r := rt.send(pick(stranger))
			if r.status != http.StatusNotFound {
				t.Errorf("%s stranger: status %d, want 404", name, r.status)
			}
			for _, secret := range []string{"Private Pond", "PP-SECRET", "do not show"} {
				if strings.Contains(r.body, secret) {
					t.Errorf("%s stranger: answer shows %q", name, secret)
				}
			}
			if htmx && r.header.Get("HX-Retarget") != "#notice" {
				t.Errorf("%s stranger: htmx error not sent to #notice", name)
			}
			if rt.ownerOnly {
				r := rt.send(pick(tm.members[0]))
				if r.status != http.StatusForbidden {
					t.Errorf("%s member: status %d, want 403", name, r.status)
				}
			}
			r = rt.send(pick(ta.client()))
			wantStatus := http.StatusSeeOther
			if htmx {
				wantStatus = http.StatusOK
			}
			if r.status != wantStatus || !strings.HasPrefix(r.location(), "/login") {
				t.Errorf("%s anonymous: status %d location %q", name, r.status, r.location())
			}
			_, _, kept := loginTarget(t, r.location())
			if kept != (rt.method == "POST") { // every signed-out POST is kept
				t.Errorf("%s anonymous: kept %v", name, kept)
			}
		}
	}
	// Missing issues and odd ids look like issues that are not yours.
	for _, p := range []string{"/issues/999999", "/issues/0", "/issues/abc", fmt.Sprintf("/issues/0%d", iid), "/issues/-1"} {
		for _, suffix := range []string{"", "/estimate", "/edit"} {
			if r := tm.owner.get(p + suffix); r.status != http.StatusNotFound {
				t.Errorf("GET %s%s: %d", p, suffix, r.status)
			}
		}
		if r := tm.owner.post(p+"/reveal", url.Values{"confirmed": {"1"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s/reveal: %d", p, r.status)
		}
	}
	if r := tm.owner.get(fmt.Sprintf("/issues/%d/reveal", iid)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET reveal: %d, want 405", r.status)
	}
	// Nothing changed.
	is, _, _, err := ta.st.IssueFor(tctx, iid, 0)
	if err != nil || is.State != store.StateOpen || is.Key != "PP-SECRET" {
		t.Fatalf("issue changed: %+v %v", is, err)
	}
	if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user("Mia").ID); v.Value != 8 {
		t.Fatalf("Mia's estimate %v", v)
	}
	for _, nick := range []string{"Sam", "Olga"} {
		if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user(nick).ID); !v.IsZero() {
			t.Fatalf("%s has estimate %v", nick, v)
		}
	}
}

func TestIssuePagesForMembers(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Pages", "Olga", "Mia")
	iid := tm.owner.addIssue(tm.gid, "PG-1", "Described")
	p := fmt.Sprintf("/issues/%d", iid)
	for i, c := range []*client{tm.owner, tm.members[0]} {
		full := c.get(p).wantStatus(http.StatusOK)
		if full.text("issue-key") != "PG-1" || full.text("issue-description") != "Described" || !full.has("status") || full.isFragment() {
			t.Fatalf("viewer %d: status page incomplete", i)
		}
		if attr(full.all("live")[0], "hx-sse:connect") != p+"/events" {
			t.Errorf("live region connects to %q", attr(full.all("live")[0], "hx-sse:connect"))
		}
		if got := full.text("voted-count"); got != "0 of 2 voted" {
			t.Errorf("voted count %q", got)
		}
		if full.has("reveal-form") != (i == 0) {
			t.Errorf("viewer %d: reveal form shown = %v", i, full.has("reveal-form"))
		}
		frag := c.htmxFrom(p).get(p).wantStatus(http.StatusOK)
		if !frag.isFragment() || !frag.has("status") || frag.has("issue-key") {
			t.Errorf("viewer %d: htmx status is not the panel fragment", i)
		}
		if !strings.Contains(frag.header.Get("Vary"), "HX-Request") {
			t.Errorf("status fragment lacks Vary: HX-Request")
		}
		// A boosted or history-restore request gets the whole page.
		if b := c.htmxFrom(p).with("HX-Boosted", "true").get(p); b.isFragment() {
			t.Error("boosted request got a fragment")
		}
		if b := c.htmxFrom(p).with("HX-History-Restore-Request", "true").get(p); b.isFragment() {
			t.Error("history restore got a fragment")
		}
		est := c.get(p + "/estimate").wantStatus(http.StatusOK)
		if !est.has("estimate-panel") || len(est.all("cards")) != 1 || est.has("own-value") {
			t.Errorf("viewer %d: estimate page incomplete", i)
		}
		for _, n := range store.Scale {
			if !est.has("card-" + strconv.Itoa(n)) {
				t.Errorf("no card %d", n)
			}
		}
		ef := c.htmxFrom(p + "/estimate").get(p + "/estimate").wantStatus(http.StatusOK)
		if !ef.isFragment() || !ef.has("estimate-panel") {
			t.Errorf("viewer %d: htmx estimate is not the panel", i)
		}
	}
}

var badNumbers = []string{"", " ", "0", "101", "4.5", "4,5", "abc", "1e2", "0x10", "+5", "-5", "５", "1 0", "999999999999999999999", "5abc", "½"}

func TestEstimate(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Estimators", "Olga", "Mia", "Nils")
	mia := tm.members[0]
	iid := tm.owner.addIssue(tm.gid, "EST-1", "")
	p := fmt.Sprintf("/issues/%d/estimate", iid)

	// A plain vote lands back in the room.
	room := fmt.Sprintf("/issues/%d", iid)
	mia.post(p, url.Values{"estimate": {"13"}}).wantRedirect(room)
	page := mia.get(room).wantStatus(http.StatusOK)
	page.wantNotice("Your estimate for EST-1 is saved. Only you can see it.")
	if page.text("own-value") != "13" {
		t.Fatalf("own value %q", page.text("own-value"))
	}
	if attr(page.all("card-13")[0], "aria-pressed") != "true" || attr(page.all("card-8")[0], "aria-pressed") != "false" {
		t.Error("the chosen card is not marked")
	}
	// Changing it until the reveal; " 5 " is 5.
	mia.post(p, url.Values{"estimate": {" 5 "}}).wantRedirect(room)
	if got := mia.get(p).text("own-value"); got != "5" {
		t.Fatalf("after \" 5 \": %q", got)
	}
	for _, ok := range []string{"1", "100", "\t42\n"} {
		mia.post(p, url.Values{"estimate": {ok}}).wantRedirect(room)
	}
	r := mia.htmxFrom(p).post(p, url.Values{"estimate": {"21"}}).wantStatus(http.StatusOK)
	if !r.isFragment() || !strings.Contains(r.text("own-estimate"), "Saved.") || r.text("own-value") != "21" {
		t.Fatalf("htmx estimate answer: %q", r.text("own-estimate"))
	}

	for _, bad := range badNumbers {
		r := mia.post(p, url.Values{"estimate": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if r.isFragment() || r.text("estimate-error") == "" {
			t.Errorf("%q: plain 422 lacks the page or the message", bad)
		}
		if v, _ := r.inputValue("custom-estimate", "estimate"); v != bad {
			t.Errorf("%q: the input shows %q", bad, v)
		}
		if r.text("own-value") != "21" {
			t.Errorf("%q: own value shown %q, want the saved 21", bad, r.text("own-value"))
		}
		r = mia.htmxFrom(p).post(p, url.Values{"estimate": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if !r.isFragment() || !r.has("estimate-panel") || r.text("estimate-error") == "" {
			t.Errorf("%q: htmx 422 is not the panel with the message", bad)
		}
	}
	// A missing field is the same as an empty one.
	mia.post(p, nil).wantStatus(http.StatusUnprocessableEntity)
	if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user("Mia").ID); v.Value != 21 {
		t.Fatalf("stored estimate %v after refused inputs, want 21", v)
	}
	st := tm.owner.get(fmt.Sprintf("/issues/%d", iid))
	if got := st.text("voted-count"); got != "1 of 3 voted" {
		t.Fatalf("status %q", got)
	}

	// After the reveal: 409, and the estimate page says it is closed.
	tm.owner.estimate(iid, "8").wantStatus(http.StatusSeeOther)
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", iid), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	for _, c := range []*client{mia, tm.members[1]} {
		r := c.post(p, url.Values{"estimate": {"3"}})
		if r.status != http.StatusConflict || !strings.Contains(r.body, "can no longer be given or changed") {
			t.Fatalf("estimate after reveal: %d", r.status)
		}
		if href := attr(r.all("error-back")[0], "href"); href != fmt.Sprintf("/issues/%d", iid) {
			t.Errorf("409 links to %q", href)
		}
		if r := c.htmxFrom(p).post(p, url.Values{"estimate": {"3"}}); r.status != http.StatusConflict {
			t.Fatalf("htmx estimate after reveal: %d", r.status)
		}
		// Even an invalid value after the reveal is "closed", not "invalid".
		if r := c.post(p, url.Values{"estimate": {"abc"}}); r.status != http.StatusConflict {
			t.Errorf("bad estimate after reveal: %d, want 409", r.status)
		}
		closed := c.get(p).wantStatus(http.StatusOK)
		if !closed.has("estimates-closed") || closed.has("cards") {
			t.Error("the estimate page of a revealed issue still offers cards")
		}
	}
	if got := tm.owner.get(fmt.Sprintf("/issues/%d", iid)).text("result-votes"); got != "2" {
		t.Fatalf("result counts %q votes, want 2", got)
	}
}

func TestRevealAcceptRevote(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Rounds", "Olga", "Ana", "Bo", "Cyd")
	ana, bo := tm.members[0], tm.members[1]
	iid := tm.owner.addIssue(tm.gid, "RND-1", "")
	p := fmt.Sprintf("/issues/%d", iid)
	groupPath := fmt.Sprintf("/groups/%d", tm.gid)

	// Nobody voted: 409, with or without confirmation or htmx.
	for _, tc := range []struct {
		c    *client
		form url.Values
	}{
		{tm.owner, nil}, {tm.owner, url.Values{"confirmed": {"1"}}}, {tm.owner.htmxFrom(p), nil},
	} {
		r := tc.c.post(p+"/reveal", tc.form)
		if r.status != http.StatusConflict || !strings.Contains(r.body, "at least 2 votes") {
			t.Errorf("reveal with no votes (form %v, htmx %v): status %d", tc.form, tc.c.htmx, r.status)
		}
	}
	// Accept before the reveal: 409.
	if r := tm.owner.post(p+"/accept", url.Values{"final": {"5"}}); r.status != http.StatusConflict {
		t.Errorf("accept before reveal: %d", r.status)
	}
	if r := tm.owner.post(p+"/revote", nil); r.status != http.StatusConflict {
		t.Errorf("revote while open: %d", r.status)
	}

	tm.owner.estimate(iid, "21").wantStatus(http.StatusSeeOther)
	ana.estimate(iid, "13").wantStatus(http.StatusSeeOther)
	bo.estimate(iid, "89").wantStatus(http.StatusSeeOther)

	// Not everyone voted, no JavaScript: a confirmation page first.
	r := tm.owner.post(p+"/reveal", nil).wantStatus(http.StatusOK)
	if !r.has("reveal-confirmed") || !strings.Contains(r.body, "Only 3 of 4 members have voted") {
		t.Fatalf("no confirmation page:\n%s", truncate(r.body, 800))
	}
	if !strings.Contains(r.body, `name="confirmed" value="1"`) {
		t.Error("the confirmation form does not send confirmed=1")
	}
	if is, _, _, _ := ta.st.IssueFor(tctx, iid, 0); is.State != store.StateOpen {
		t.Fatal("asking revealed the result")
	}
	// The status page's reveal form asks htmx to confirm.
	if got := attr(tm.owner.get(p).all("reveal-form")[0], "hx-confirm"); !strings.Contains(got, "Only 3 of 4") {
		t.Errorf("hx-confirm %q", got)
	}
	tm.owner.post(p+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(p)
	st := tm.owner.get(p).wantStatus(http.StatusOK).wantNotice("The result of RND-1 is revealed.")
	for id, want := range map[string]string{
		"state": "revealed", "result-votes": "3", "result-average": "41.0", "result-nearest": "41",
		"result-card": "34", "result-range": "13 – 89",
		"distribution-text": "How many chose each value: 13 × 1, 21 × 1, 89 × 1",
	} {
		if got := st.text(id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	// No number has a majority: the card nearest the median (21), not the
	// nearest to the average (34), which the outlier 89 pulls up.
	if v, _ := st.inputValue("accept-form", "final"); v != "21" {
		t.Errorf("accept pre-filled with %q, want the card nearest the median, 21", v)
	}
	if st.has("reveal-form") || !st.has("revote-form") {
		t.Error("revealed page: wrong owner tools")
	}
	mem := ana.get(p).wantStatus(http.StatusOK)
	if mem.has("accept-form") || mem.has("revote-form") || mem.text("result-card") != "34" {
		t.Error("member sees owner tools or no result")
	}
	// A second reveal answers like the first (no error; see once_test.go).
	tm.owner.post(p+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(p)
	if r := tm.owner.htmxFrom(p).post(p+"/reveal", nil); r.status != http.StatusOK || r.header.Get("HX-Retarget") != "" {
		t.Errorf("second htmx reveal: %d, HX-Retarget %q", r.status, r.header.Get("HX-Retarget"))
	}

	// Bad finals: 422 with the typed value and a message.
	for _, bad := range badNumbers {
		r := tm.owner.post(p+"/accept", url.Values{"final": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if r.isFragment() || r.text("final-error") == "" {
			t.Errorf("final %q: no whole page with a message", bad)
		}
		if v, _ := r.inputValue("accept-form", "final"); v != bad && bad != "" {
			t.Errorf("final %q: input shows %q", bad, v)
		}
		r = tm.owner.htmxFrom(p).post(p+"/accept", url.Values{"final": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if !r.isFragment() || !r.has("status") || r.text("final-error") == "" {
			t.Errorf("final %q: htmx 422 is not the panel with the message", bad)
		}
	}
	if r := ana.post(p+"/accept", url.Values{"final": {"34"}}); r.status != http.StatusForbidden {
		t.Errorf("member accept: %d", r.status)
	}

	tm.owner.post(p+"/accept", url.Values{"final": {" 34 "}}).wantRedirect(p)
	st = tm.owner.get(p).wantNotice("The final estimate of RND-1 is 34.")
	if st.text("final") != "Final estimate: 34" || st.text("state") != "accepted" {
		t.Fatalf("after accept: %q %q", st.text("final"), st.text("state"))
	}
	gp := ana.get(groupPath).wantStatus(http.StatusOK)
	if got := gp.text("issue-final"); got != "34" {
		t.Fatalf("group page shows %q as the estimate, want 34", got)
	}
	if got := gp.text("issue-state"); got != "accepted" {
		t.Fatalf("group page state %q", got)
	}
	// The owner may change the final estimate; htmx gets the fresh panel.
	r = tm.owner.htmxFrom(p).post(p+"/accept", url.Values{"final": {"21"}}).wantStatus(http.StatusOK)
	if !r.isFragment() || r.text("final") != "Final estimate: 21" {
		t.Fatalf("htmx accept answer: %q", r.text("final"))
	}
	if rows := tm.owner.get("/").all("group-row"); rowCells(rows[0])[3] != "0" {
		t.Errorf("My Groups still counts the accepted issue as open: %q", rowCells(rows[0]))
	}
	if r := tm.owner.post(p+"/revote", nil); r.status != http.StatusConflict {
		t.Errorf("revote after accept: %d", r.status)
	}

	// A new round on a revealed issue clears its estimates; no other issue moves.
	other := tm.owner.addIssue(tm.gid, "RND-2", "")
	ana.estimate(other, "5").wantStatus(http.StatusSeeOther)
	tm.owner.estimate(other, "8").wantStatus(http.StatusSeeOther)
	two := fmt.Sprintf("/issues/%d", other)
	tm.owner.post(two+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	if r := ana.post(two+"/revote", nil); r.status != http.StatusForbidden {
		t.Errorf("member revote: %d", r.status)
	}
	tm.owner.post(two+"/revote", nil).wantRedirect(two)
	st = tm.owner.get(two).wantNotice("Round 2 of RND-2 has started.")
	if st.text("state") != "open" || st.text("voted-count") != "0 of 4 voted" || st.text("round") != "Round 2" {
		t.Fatalf("after revote: %q %q", st.text("state"), st.text("voted-count"))
	}
	if ana.get(two + "/estimate").has("own-value") {
		t.Fatal("own estimate survived the new round")
	}
	if got := tm.owner.get(p).text("final"); got != "Final estimate: 21" {
		t.Fatalf("the other issue changed: %q", got)
	}

	// All voted: a plain reveal needs no confirmation; htmx answers with the panel.
	for _, c := range []*client{tm.owner, ana, bo, tm.members[2]} {
		c.estimate(other, "3").wantStatus(http.StatusSeeOther)
	}
	r = tm.owner.htmxFrom(two).post(two+"/reveal", nil).wantStatus(http.StatusOK)
	if !r.isFragment() || r.text("state") != "revealed" || r.text("result-votes") != "4" {
		t.Fatalf("htmx reveal answer: state %q votes %q", r.text("state"), r.text("result-votes"))
	}
	// The owner's own cards close in the same answer: nothing moves a moment
	// later, when a fetch of them would have come back.
	if !r.has("estimates-closed") || !r.has("note-invite") {
		t.Errorf("the htmx reveal answer does not bring the owner's closed cards with their note invitation")
	}
	if enc := r.header.Get("Content-Encoding"); enc != "" {
		t.Errorf("an answer with the owner's own cards is sent %s-compressed", enc)
	}
	// Anonymity: once revealed, the cards say nobody's vote, the owner's own
	// included (beside the result, their name and card would point at it).
	if r.has("own-value") || r.has("own-estimate") {
		t.Errorf("the htmx reveal answer shows the owner's own vote beside the result")
	}
	// The new round's notice speaks the owner's language.
	de := tm.owner.with("Accept-Language", "de")
	de.post(two+"/revote", nil).wantRedirect(two)
	de.get(two).wantNotice("Runde 3 von RND-2 hat begonnen.")
	third := tm.owner.addIssue(tm.gid, "RND-3", "")
	for _, c := range []*client{tm.owner, ana, bo, tm.members[2]} {
		c.estimate(third, "2").wantStatus(http.StatusSeeOther)
	}
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", third), nil).wantRedirect(fmt.Sprintf("/issues/%d", third))
}

func TestRevealWithSomeVotesViaHTMXNeedsNoPage(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Quick", "Olga", "Mia", "Nia")
	iid := tm.owner.addIssue(tm.gid, "Q-1", "")
	tm.members[0].estimate(iid, "5").wantStatus(http.StatusSeeOther)
	tm.members[1].estimate(iid, "8").wantStatus(http.StatusSeeOther)
	p := fmt.Sprintf("/issues/%d", iid)
	r := tm.owner.htmxFrom(p).post(p+"/reveal", nil).wantStatus(http.StatusOK)
	if r.has("reveal-confirmed") || r.text("state") != "revealed" {
		t.Fatalf("htmx reveal (hx-confirm asked already) did not reveal: %q", r.text("state"))
	}
}

func TestAddEditDeleteIssue(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Backlog", "Olga", "Mia")
	gp := fmt.Sprintf("/groups/%d", tm.gid)
	add := gp + "/issues"
	existing := tm.owner.addIssue(tm.gid, "SHOP-1", "first")

	// htmx add: a fresh form, the table with the new row, and the notice.
	r := tm.owner.htmxFrom(gp).post(add, url.Values{"key": {"SHOP-2"}, "description": {"second"}}).wantStatus(http.StatusOK)
	if !r.isFragment() {
		t.Fatal("htmx add answered with a page")
	}
	if v, _ := r.inputValue("add-issue-form", "key"); v != "" {
		t.Errorf("form not fresh: key %q", v)
	}
	var issuesPartial *html.Node
	for _, n := range findAll(r.doc, func(n *html.Node) bool { return n.Data == "hx-partial" }) {
		if attr(n, "hx-target") == "#issues" {
			issuesPartial = n
		}
	}
	if issuesPartial == nil || strings.Join(textsIn(issuesPartial, "issue-link"), ",") != "SHOP-1,SHOP-2" {
		t.Fatalf("no #issues partial with both issues:\n%s", r.body)
	}
	if n := noticePartial(r); n == nil || textOf(n) != "Issue “SHOP-2” was added." {
		t.Errorf("no #notice partial with the notice:\n%s", r.body)
	}
	// Limits: 32-character key and 2000-character description are fine.
	tm.owner.post(add, url.Values{"key": {strings.Repeat("K", 32)}, "description": {strings.Repeat("d", 2000)}}).wantRedirect(gp)

	for _, tc := range []struct {
		name, key, desc, field string
	}{
		{"empty key", "", "", "key"},
		{"blank key", "   ", "", "key"},
		{"33-character key", strings.Repeat("K", 33), "", "key"},
		{"duplicate ignoring case", "shop-1", "", "key"},
		{"duplicate with spaces", "  SHOP-1 ", "", "key"},
		{"2001-character description", "NEW-1", strings.Repeat("d", 2001), "description"},
		{"control character", "a\x01b", "", "key"},
	} {
		r := tm.owner.post(add, url.Values{"key": {tc.key}, "description": {tc.desc}}).wantStatus(http.StatusUnprocessableEntity)
		if r.isFragment() || r.text("group-name") != "Backlog" || r.text(tc.field+"-error") == "" {
			t.Errorf("%s: plain 422 is not the group page with a %s message", tc.name, tc.field)
		}
		if v, _ := r.inputValue("add-issue-form", "key"); v != tc.key && !strings.ContainsRune(tc.key, 1) {
			t.Errorf("%s: key field %q", tc.name, v)
		}
		r = tm.owner.htmxFrom(gp).post(add, url.Values{"key": {tc.key}, "description": {tc.desc}}).wantStatus(http.StatusUnprocessableEntity)
		if !r.isFragment() || !r.has("add-issue-form") || r.text(tc.field+"-error") == "" {
			t.Errorf("%s: htmx 422 is not the form with a %s message", tc.name, tc.field)
		}
		// The notice of the add before ("Issue … was added.") is cleared: the
		// answer empties the notice area.
		if n := noticePartial(r); n == nil || textOf(n) != "" {
			t.Errorf("%s: htmx 422 leaves the notice area as it was:\n%s", tc.name, r.body)
		}
		// Editing into the same bad values is refused the same way.
		r = tm.owner.post(fmt.Sprintf("/issues/%d/edit", existing), url.Values{"key": {tc.key}, "description": {tc.desc}})
		if tc.name == "duplicate ignoring case" || tc.name == "duplicate with spaces" {
			// The issue's own key (any case) is not a duplicate of itself.
			if r.status != http.StatusSeeOther {
				t.Errorf("%s: renaming SHOP-1 to its own key: %d", tc.name, r.status)
			}
			tm.owner.post(fmt.Sprintf("/issues/%d/edit", existing), url.Values{"key": {"SHOP-1"}, "description": {"first"}}).wantRedirect(gp)
			continue
		}
		if r.status != http.StatusUnprocessableEntity || r.text(tc.field+"-error") == "" || !r.has("edit-issue-form") {
			t.Errorf("%s: edit answered %d", tc.name, r.status)
		}
	}
	if issues, _ := ta.st.GroupIssues(tctx, tm.gid); len(issues) != 3 {
		t.Fatalf("%d issues, want 3", len(issues))
	}
	// Edit into another issue's key: duplicate.
	r = tm.owner.post(fmt.Sprintf("/issues/%d/edit", existing), url.Values{"key": {"shop-2"}})
	if r.status != http.StatusUnprocessableEntity || r.text("key-error") == "" {
		t.Fatalf("edit to a taken key: %d", r.status)
	}

	// GET edit is pre-filled; a good edit goes back to the group.
	ed := tm.owner.get(fmt.Sprintf("/issues/%d/edit", existing)).wantStatus(http.StatusOK)
	if v, _ := ed.inputValue("edit-issue-form", "key"); v != "SHOP-1" {
		t.Errorf("edit key %q", v)
	}
	if v, _ := ed.inputValue("edit-issue-form", "description"); v != "first" {
		t.Errorf("edit description %q", v)
	}
	tm.owner.post(fmt.Sprintf("/issues/%d/edit", existing), url.Values{"key": {"SHOP-1a"}, "description": {"changed"}}).wantRedirect(gp)
	page := tm.owner.get(gp).wantNotice("Issue “SHOP-1a” was saved.")
	if got := page.texts("issue-link"); got[0] != "SHOP-1a" {
		t.Fatalf("issues %q", got)
	}
	if r := tm.members[0].post(fmt.Sprintf("/issues/%d/edit", existing), url.Values{"key": {"X"}}); r.status != http.StatusForbidden {
		t.Fatalf("member edit: %d", r.status)
	}

	// Once revealed, an issue can be neither edited nor deleted.
	tm.members[0].estimate(existing, "3").wantStatus(http.StatusSeeOther)
	tm.owner.estimate(existing, "5").wantStatus(http.StatusSeeOther)
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", existing), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	for _, rt := range []issueRoute{
		{method: "GET", path: fmt.Sprintf("/issues/%d/edit", existing)},
		{method: "POST", path: fmt.Sprintf("/issues/%d/edit", existing), form: url.Values{"key": {"LATE"}}},
		{method: "POST", path: fmt.Sprintf("/issues/%d/delete", existing)},
	} {
		if r := rt.send(tm.owner); r.status != http.StatusConflict {
			t.Errorf("%s %s on a revealed issue: %d, want 409", rt.method, rt.path, r.status)
		}
	}
	// An open one can be deleted.
	two := ta.issueID(tm.gid, "SHOP-2")
	if r := tm.members[0].post(fmt.Sprintf("/issues/%d/delete", two), nil); r.status != http.StatusForbidden {
		t.Fatalf("member delete: %d", r.status)
	}
	tm.owner.post(fmt.Sprintf("/issues/%d/delete", two), nil).wantRedirect(gp)
	tm.owner.get(gp).wantNotice("Issue “SHOP-2” was deleted.")
	if r := tm.owner.get(fmt.Sprintf("/issues/%d", two)); r.status != http.StatusNotFound {
		t.Fatalf("deleted issue: %d", r.status)
	}
}

// Anonymity: no page, fragment, event or log line pairs a nickname with a value.

// tokenRun is a random token as the app makes them (store.NewToken: 43
// base64url characters) or longer: an invite or sign-in link's token, a kept
// form's reference. Its digits are chance, not a value anybody chose.
var tokenRun = regexp.MustCompile(`[A-Za-z0-9_-]{40,}`)

// numbersIn finds the whole numbers a reader would read in s: runs of digits
// standing alone, not inside a word (an asset's hash "3f21ab", an identifier)
// or a token. A value shown anywhere ("21", ">21<", "card-21", "21 × 1", "/21")
// always stands alone.
func numbersIn(s string) []int {
	s = tokenRun.ReplaceAllString(s, " ")
	word := func(i int) bool {
		if i < 0 || i >= len(s) {
			return false
		}
		c := s[i]
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	var out []int
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if !word(i-1) && !word(j) {
			if n, err := strconv.Atoi(s[i:j]); err == nil {
				out = append(out, n)
			}
		}
		i = j
	}
	return out
}

func TestNumbersInReadsWhatAReaderReads(t *testing.T) {
	t.Parallel()
	token := "Xy_Q-21-k9" + strings.Repeat("a", 33) // 43 characters, as NewToken makes them
	for in, want := range map[string]string{
		">21<":                                 "[21]",
		"card-21 card-89":                      "[21 89]",
		"13 × 1, 21 × 1":                       "[13 1 21 1]",
		"/issues/21/estimate":                  "[21]",
		"/assets/app.css?v=3f21ab09c4de":       "[]",
		"/join/" + token:                       "[]",
		"http://example.com/signin/" + token:   "[]",
		"Invite link " + token + " 21 members": "[21]",
		"value=\"89\" aria-pressed=\"false\"":  "[89]",
	} {
		if got := fmt.Sprint(numbersIn(in)); got != want {
			t.Errorf("numbersIn(%q) = %s, want %s", in, got, want)
		}
	}
}

// rowTags are the elements that make a "row" a reader reads as one statement.
var rowTags = map[string]bool{"tr": true, "li": true, "p": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"dt": true, "dd": true, "figcaption": true, "label": true, "caption": true, "legend": true, "summary": true,
	"option": true, "button": true, "a": true, "hgroup": true}

func enclosingRow(n *html.Node) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && rowTags[p.Data] {
			return p
		}
		if p.Type == html.ElementNode && (p.Data == "section" || p.Data == "article" || p.Data == "body" || p.Data == "main") {
			break
		}
	}
	if n.Parent != nil {
		return n.Parent
	}
	return n
}

// allText is the text and attribute values of n and everything in it.
func allText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data + " ")
		case html.ElementNode:
			for _, a := range n.Attr {
				b.WriteString(a.Val + " ")
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return b.String()
}

// insideTestID reports whether n is inside an element with one of the test ids.
func insideTestID(n *html.Node, ids ...string) bool {
	for p := n; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && slices.Contains(ids, attr(p, "data-testid")) {
			return true
		}
	}
	return false
}

type anonView struct {
	name     string
	viewer   string // nickname of who is looking
	body     string
	estimate bool // a room, an estimate page or panel (cards show every scale number)
	revealed bool // a revealed issue's status (the result may show values)
}

// checkAnonymous applies the anonymity rules to one rendered page or fragment.
// votes maps every member's nickname to their value (0: did not vote).
func checkAnonymous(t *testing.T, v anonView, votes map[string]int) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(v.body))
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	isVote := map[int]bool{}
	for _, n := range votes {
		if n != 0 {
			isVote[n] = true
		}
	}
	// 1. No element that names a member also holds a voted value.
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			for nick := range votes {
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(nick) + `\b`).MatchString(n.Data) {
					continue
				}
				row := enclosingRow(n)
				for _, num := range numbersIn(allText(row)) {
					if isVote[num] {
						t.Errorf("%s (viewer %s): %q is next to the value %d in <%s>: %q", v.name, v.viewer, nick, num, row.Data, textOf(row))
					}
				}
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(doc)

	// 2. Where values may appear at all.
	own := votes[v.viewer]
	var check func(*html.Node)
	check = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if v.estimate && attr(n, "data-testid") == "cards" {
				// Every card is offered to everyone; only the viewer's own is chosen.
				for _, card := range findAll(n, func(x *html.Node) bool { return x.Data == "button" }) {
					chosen := attr(card, "aria-pressed") == "true" || strings.Contains(attr(card, "class"), "chosen")
					val, _ := strconv.Atoi(attr(card, "value"))
					if chosen && val != own {
						t.Errorf("%s (viewer %s): card %d is marked chosen, own value is %d", v.name, v.viewer, val, own)
					}
				}
				return
			}
			// The proposed final estimate is read off the anonymous result.
			if v.revealed && (attr(n, "data-testid") == "result" || attr(n, "data-testid") == "accept-form") {
				return
			}
			// The settings form names the decks' cards.
			if attr(n, "data-testid") == "settings-form" {
				return
			}
		}
		var s string
		switch n.Type {
		case html.TextNode:
			s = n.Data
		case html.ElementNode:
			for _, a := range n.Attr {
				s += a.Val + " "
			}
		}
		for _, num := range numbersIn(s) {
			if isVote[num] && !(v.estimate && num == own && insideTestID(n, "own-estimate")) {
				t.Errorf("%s (viewer %s): value %d appears outside the result: %q", v.name, v.viewer, num, strings.TrimSpace(s))
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			check(ch)
		}
	}
	check(doc)

	// 3. In a revealed result the values are sorted, never per person.
	if v.revealed {
		for _, res := range findAll(doc, byTestID("result")) {
			if strings.Contains(allText(res), "Ana") || strings.Contains(allText(res), "Bo") {
				t.Errorf("%s: a nickname inside the result", v.name)
			}
			var seen []int
			for _, cap := range within(res, "distribution-text") {
				txt := strings.TrimPrefix(textOf(cap), "How many chose each value:")
				for _, part := range strings.Split(txt, ",") {
					if f := numbersIn(part); len(f) > 0 {
						seen = append(seen, f[0])
					}
				}
			}
			if !slices.IsSorted(seen) || len(seen) == 0 {
				t.Errorf("%s: distribution values %v are not sorted", v.name, seen)
			}
		}
	}
}

// firstEvent opens GET /issues/:id/events over a real connection and returns the
// data of the first event, then hangs up.
func firstEvent(t *testing.T, srv *httptest.Server, c *client, issueID int64) string {
	t.Helper()
	s := openStream(t, srv, c, issueID)
	defer s.close()
	if s.resp.StatusCode != http.StatusOK || !strings.HasPrefix(s.resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
	}
	ev := s.mustNext()
	if ev.name != "" {
		t.Fatalf("first event is %q, want the status", ev.name)
	}
	return ev.data
}

func TestNoPageOrEventPairsANameWithAValue(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Secret Team", "Olga", "Ana", "Bo", "Cyd")
	viewers := map[string]*client{"Olga": tm.owner, "Ana": tm.members[0], "Bo": tm.members[1], "Cyd": tm.members[2]}
	votes := map[string]int{"Olga": 21, "Ana": 13, "Bo": 89}
	open := tm.owner.addIssue(tm.gid, "OPEN", "Estimate in secret")
	shown := tm.owner.addIssue(tm.gid, "SHOWN", "Estimate in secret")
	for nick, v := range votes {
		viewers[nick].estimate(open, strconv.Itoa(v)).wantStatus(http.StatusSeeOther)
		viewers[nick].estimate(shown, strconv.Itoa(v)).wantStatus(http.StatusSeeOther)
	}
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", shown), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)

	srv := httptest.NewServer(ta.app)
	defer srv.Close()

	checkVotes := map[string]int{"Olga": 21, "Ana": 13, "Bo": 89, "Cyd": 0}
	for nick, c := range viewers {
		var pages []anonView
		add := func(name string, r *response, estimate, revealed bool) {
			if r.status != http.StatusOK && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("%s for %s: status %d", name, nick, r.status)
			}
			pages = append(pages, anonView{name: name, viewer: nick, body: r.body, estimate: estimate, revealed: revealed})
		}
		for _, is := range []struct {
			id       int64
			revealed bool
		}{{open, false}, {shown, true}} {
			p := fmt.Sprintf("/issues/%d", is.id)
			// The room holds the viewer's own cards.
			add(p, c.get(p), true, is.revealed)
			add(p+" (htmx)", c.htmxFrom(p).get(p), false, is.revealed)
			add(p+"/estimate", c.get(p+"/estimate"), true, false)
			add(p+"/estimate (htmx)", c.htmxFrom(p+"/estimate").get(p+"/estimate"), true, false)
			pages = append(pages, anonView{name: p + "/events", viewer: nick, body: firstEvent(t, srv, c, is.id), revealed: is.revealed})
		}
		if v, ok := votes[nick]; ok {
			p := fmt.Sprintf("/issues/%d/estimate", open)
			// Saving the same value again: the saved panel.
			add(p+" POST (htmx)", c.htmxFrom(p).post(p, url.Values{"estimate": {strconv.Itoa(v)}}), true, false)
			add(p+" POST bad (htmx)", c.htmxFrom(p).post(p, url.Values{"estimate": {"x"}}), true, false)
		}
		add("group page", c.get(fmt.Sprintf("/groups/%d", tm.gid)), false, false)
		add("My Groups", c.get("/"), false, false)
		add("account", c.get("/account"), false, false)
		if nick == "Olga" {
			add("reveal confirmation", c.post(fmt.Sprintf("/issues/%d/reveal", open), nil), false, false)
			add("accept 422", c.post(fmt.Sprintf("/issues/%d/accept", shown), url.Values{"final": {"x"}}), false, true)
			add("accept 422 (htmx)", c.htmxFrom("/").post(fmt.Sprintf("/issues/%d/accept", shown), url.Values{"final": {"x"}}), false, true)
		}
		for _, pg := range pages {
			checkAnonymous(t, pg, checkVotes)
		}
		// The viewer's own value is shown to them on their own open estimate page.
		if v, ok := votes[nick]; ok {
			if got := c.get(fmt.Sprintf("/issues/%d/estimate", open)).text("own-value"); got != strconv.Itoa(v) {
				t.Errorf("%s's own value shown as %q", nick, got)
			}
		}
		// Voter rows hold a name and whether they voted, nothing more.
		voterRow := regexp.MustCompile(`^(Olga|Ana|Bo|Cyd) (voted|not yet|spectating)( ● here)?$`)
		for _, p := range []int64{open, shown} {
			for _, row := range c.get(fmt.Sprintf("/issues/%d", p)).all("voter") {
				if cells := strings.Join(seatCells(row), " "); !voterRow.MatchString(strings.TrimSpace(cells)) {
					t.Errorf("voter row %q", cells)
				}
			}
		}
	}
	// The revealed values, once: the result shows them sorted.
	st := tm.owner.get(fmt.Sprintf("/issues/%d", shown))
	if got := st.text("distribution-text"); got != "How many chose each value: 13 × 1, 21 × 1, 89 × 1" {
		t.Errorf("distribution %q", got)
	}

	// Logs: no line pairs a nickname with a value; no cookie or token at all.
	logs := ta.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		for nick := range checkVotes {
			if regexp.MustCompile(`\b` + nick + `\b`).MatchString(line) {
				for _, num := range numbersIn(line) {
					if num == 13 || num == 21 || num == 89 {
						t.Errorf("log line names %s near %d: %s", nick, num, line)
					}
				}
			}
		}
	}
	if regexp.MustCompile(`[A-Za-z0-9_-]{43}`).MatchString(logs) {
		t.Errorf("logs hold something shaped like a token:\n%s", regexp.MustCompile(`.*[A-Za-z0-9_-]{43}.*`).FindString(logs))
	}
	for _, c := range viewers {
		for _, ck := range c.cookies {
			if strings.Contains(logs, ck.Value) {
				t.Errorf("logs hold the cookie %s", ck.Name)
			}
		}
	}
	if strings.Contains(logs, "estimator_session") || strings.Contains(logs, "estimator_browser") || strings.Contains(logs, ta.inviteToken(tm.gid)) {
		t.Error("logs mention a cookie name or the invite token")
	}
	// At rest too: after the reveal the values are gone from the estimates.
	if n := ta.cardsKept(func(id int64) bool { return id == int64(shown) }); n != 0 {
		t.Errorf("%d estimate values kept after the reveal", n)
	}
}

func TestThirtyMembersEstimateInParallel(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	nicks := make([]string, 30)
	for i := range nicks {
		nicks[i] = fmt.Sprintf("Member %02d", i)
	}
	tm := ta.team("Crowd", "Olga", nicks...)
	iid := tm.owner.addIssue(tm.gid, "CROWD-1", "")
	p := fmt.Sprintf("/issues/%d/estimate", iid)

	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i, m := range tm.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each changes their mind once, the second time with htmx.
			first := m.plain().post(p, url.Values{"estimate": {strconv.Itoa(100 - i)}})
			if first.status != http.StatusSeeOther {
				errs <- fmt.Errorf("%s: status %d", nicks[i], first.status)
				return
			}
			second := m.htmxFrom(p).post(p, url.Values{"estimate": {strconv.Itoa(i + 1)}})
			if second.status != http.StatusOK {
				errs <- fmt.Errorf("%s: htmx status %d", nicks[i], second.status)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := tm.owner.get(fmt.Sprintf("/issues/%d", iid)).text("voted-count"); got != "30 of 31 voted" {
		t.Fatalf("status %q, want 30 of 31 voted", got)
	}
	issues, err := ta.st.GroupIssues(tctx, tm.gid)
	if err != nil || len(issues) != 1 || issues[0].Votes != 30 {
		t.Fatalf("issues %+v err %v, want one with 30 votes", issues, err)
	}
	if n := len(ta.ballots()[int64(iid)]); n != 30 {
		t.Fatalf("%d votes in the ballot, want 30", n)
	}
	for i, nick := range nicks {
		if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user(nick).ID); v.Value != i+1 {
			t.Errorf("%s: stored %v, want %d", nick, v, i+1)
		}
	}
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", iid), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	st := tm.owner.get(fmt.Sprintf("/issues/%d", iid))
	if st.text("result-votes") != "30" || st.text("result-average") != "15.5" {
		t.Fatalf("result: %q votes, average %q", st.text("result-votes"), st.text("result-average"))
	}
}

func TestAcceptBeforeRevealIsAConflictWhateverTheValue(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Early", "Olga", "Mia")
	iid := tm.owner.addIssue(tm.gid, "E-1", "")
	tm.members[0].estimate(iid, "5").wantStatus(http.StatusSeeOther)
	p := fmt.Sprintf("/issues/%d", iid)
	// An open issue has no accept form to show a message in: a 422 would be a
	// status page with no message. It is "not revealed yet", as for a valid value.
	for _, final := range []string{"5", "abc", "", "101"} {
		for _, c := range []*client{tm.owner, tm.owner.htmxFrom(p)} {
			r := c.post(p+"/accept", url.Values{"final": {final}})
			if r.status != http.StatusConflict || !strings.Contains(r.body, "Reveal the result before accepting") {
				t.Errorf("accept %q on an open issue (htmx %v): status %d, final-error %q", final, c.htmx, r.status, r.text("final-error"))
			}
		}
	}
	if is, _, _, _ := ta.st.IssueFor(tctx, iid, 0); is.State != store.StateOpen || is.Final != 0 {
		t.Fatalf("issue changed: %+v", is)
	}
}

func TestIssueOwnerActionsWithHTMX(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Hyper Issues", "Olga", "Mia")
	gp := fmt.Sprintf("/groups/%d", tm.gid)
	iid := tm.owner.addIssue(tm.gid, "H-1", "")
	p := fmt.Sprintf("/issues/%d", iid)
	h := tm.owner.htmxFrom(p)

	h.post(p+"/edit", url.Values{"key": {"H-1b"}, "description": {"edited"}}).wantHXRedirect(gp)
	tm.members[0].estimate(iid, "5").wantStatus(http.StatusSeeOther)
	tm.owner.estimate(iid, "8").wantStatus(http.StatusSeeOther)
	if r := h.post(p+"/reveal", nil).wantStatus(http.StatusOK); r.text("state") != "revealed" {
		t.Fatalf("reveal panel state %q", r.text("state"))
	}
	r := h.post(p+"/revote", nil).wantStatus(http.StatusOK)
	if !r.isFragment() || r.text("state") != "open" || r.text("voted-count") != "0 of 2 voted" {
		t.Fatalf("revote panel: %q %q", r.text("state"), r.text("voted-count"))
	}
	h.post(p+"/delete", nil).wantHXRedirect(gp)
	tm.owner.get(gp).wantNotice("Issue “H-1b” was deleted.")
	if r := tm.owner.get(p); r.status != http.StatusNotFound {
		t.Fatalf("deleted issue: %d", r.status)
	}
}

// noticePartial is the answer's hx-partial for the notice area, if it has one
// (exactly one: two would race).
func noticePartial(r *response) *html.Node {
	var found []*html.Node
	for _, n := range findAll(r.doc, func(n *html.Node) bool { return n.Data == "hx-partial" }) {
		if attr(n, "hx-target") == "#notice" {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return nil
	}
	return found[0]
}
