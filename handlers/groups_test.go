package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"estimator/store"
)

// Issue "Groups: My Groups, group page, invite links and membership".

// rowCells is the text of each cell of a table row.
func rowCells(tr *html.Node) []string {
	var out []string
	for _, td := range findAll(tr, func(n *html.Node) bool { return n.Data == "td" }) {
		out = append(out, textOf(td))
	}
	return out
}

func TestMyGroups(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)

	anon := ta.client().get("/").wantStatus(http.StatusOK)
	if !anon.has("home-signin") || anon.has("my-groups") || anon.has("create-group-form") {
		t.Fatal("the anonymous start page shows My Groups or the create form")
	}

	ana := ta.signedIn("Ana")
	home := ana.get("/").wantStatus(http.StatusOK)
	if !home.has("no-groups") || home.has("group-row") || !home.has("create-group-form") {
		t.Fatal("a new user does not see the empty state and the create form")
	}
	if home.header.Get("Cache-Control") != "no-store" {
		t.Errorf("signed-in page Cache-Control %q", home.header.Get("Cache-Control"))
	}

	beta := ta.team("Beta", "Bo", "Cy")
	ana.join(beta.gid)
	beta.owner.addIssue(beta.gid, "B-1", "")
	beta.owner.addIssue(beta.gid, "B-2", "")
	b3 := beta.owner.addIssue(beta.gid, "B-3", "")
	beta.owner.estimate(b3, "5").wantStatus(http.StatusSeeOther)
	beta.members[0].estimate(b3, "8").wantStatus(http.StatusSeeOther)
	beta.owner.post(fmt.Sprintf("/issues/%d/reveal", b3), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	alpha := ana.createGroup("Alpha")

	home = ana.get("/").wantStatus(http.StatusOK)
	if home.has("no-groups") {
		t.Fatal("empty state shown with groups")
	}
	rows := home.all("group-row")
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	want := [][]string{{"Alpha", "owner", "1", "0"}, {"Beta", "member", "3", "2"}}
	wantHref := []string{fmt.Sprintf("/groups/%d", alpha), fmt.Sprintf("/groups/%d", beta.gid)}
	for i, tr := range rows {
		got := rowCells(tr)
		if strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, got, want[i])
		}
		if href := attr(within(tr, "group-link")[0], "href"); href != wantHref[i] {
			t.Errorf("row %d links to %q, want %q", i, href, wantHref[i])
		}
	}
	// Someone in no group of these sees only their own.
	if rows := ta.signedIn("Dee").get("/").all("group-row"); len(rows) != 0 {
		t.Fatalf("a stranger sees %d groups", len(rows))
	}
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.signedIn("Gil")

	r := c.post("/creategroup", url.Values{"name": {"  Backend   team "}}).wantStatus(http.StatusSeeOther)
	gid := groupIDFrom(t, r.location())
	page := c.get(r.location()).wantStatus(http.StatusOK)
	page.wantNotice("Your group “Backend team” was created.")
	if page.text("group-name") != "Backend team" {
		t.Fatalf("group name %q", page.text("group-name"))
	}
	if _, role, _ := ta.st.GroupFor(tctx, gid, ta.user("Gil").ID); role != store.RoleOwner {
		t.Fatalf("creator's role %q", role)
	}

	// htmx: the fresh form, plus partials for #my-groups and #notice.
	h := c.htmxFrom("/")
	r = h.post("/creategroup", url.Values{"name": {"Frontend"}}).wantStatus(http.StatusOK)
	if !r.isFragment() {
		t.Fatal("htmx create answered with a whole page")
	}
	if !strings.Contains(r.header.Get("Vary"), "HX-Request") {
		t.Errorf("Vary %q lacks HX-Request", r.header.Get("Vary"))
	}
	if v, ok := r.inputValue("create-group-form", "name"); !ok || v != "" {
		t.Errorf("the form is not fresh: name %q (present %v)", v, ok)
	}
	partials := findAll(r.doc, func(n *html.Node) bool { return n.Data == "hx-partial" })
	var listPartial, noticePartial *html.Node
	for _, p := range partials {
		switch attr(p, "hx-target") {
		case "#my-groups":
			listPartial = p
		case "#notice":
			noticePartial = p
		}
	}
	if listPartial == nil || noticePartial == nil {
		t.Fatalf("missing hx-partial for #my-groups or #notice:\n%s", r.body)
	}
	if len(within(listPartial, "my-groups")) != 1 {
		t.Fatal("the #my-groups partial does not hold the list")
	}
	if got := textsIn(listPartial, "group-link"); strings.Join(got, ",") != "Frontend,Backend team" {
		t.Errorf("list in the partial: %q", got)
	}
	if got := textsIn(noticePartial, "notice"); len(got) != 1 || got[0] != "Your group “Frontend” was created." {
		t.Errorf("notice partial %q", got)
	}

	// 80 characters are fine.
	c.post("/creategroup", url.Values{"name": {strings.Repeat("é", 80)}}).wantStatus(http.StatusSeeOther)

	for _, bad := range []string{"", "   ", strings.Repeat("x", 81), "a\x01b", "bad\xffutf8"} {
		r := c.post("/creategroup", url.Values{"name": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if r.isFragment() || !r.has("nav-signout") || !r.has("my-groups") {
			t.Errorf("%q: plain 422 is not the whole page with My Groups", bad)
		}
		if r.text("name-error") == "" {
			t.Errorf("%q: no message", bad)
		}
		if len(bad) == 81 {
			if v, _ := r.inputValue("create-group-form", "name"); v != bad {
				t.Errorf("the form lost what was typed: %q", v)
			}
			if !strings.Contains(r.text("name-error"), "80") {
				t.Errorf("message %q does not name the limit", r.text("name-error"))
			}
		}
		r = h.post("/creategroup", url.Values{"name": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if !r.isFragment() || !r.has("create-group-form") || r.text("name-error") == "" {
			t.Errorf("%q: htmx 422 is not the form fragment with the message:\n%s", bad, truncate(r.body, 600))
		}
	}
	if gs := groupsOf(t, ta, "Gil"); len(gs) != 3 {
		t.Fatalf("%d groups, want 3 (bad names must create nothing)", len(gs))
	}
}

func TestGroupPageForOwnerMemberAndStranger(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Hidden Valley", "Olga", "Mia")
	iid := tm.owner.addIssue(tm.gid, "HV-1", "First story")
	tok := ta.inviteToken(tm.gid)
	path := fmt.Sprintf("/groups/%d", tm.gid)

	own := tm.owner.get(path).wantStatus(http.StatusOK)
	if got := own.texts("member-name"); strings.Join(got, ",") != "Olga,Mia" {
		t.Errorf("members %q", got)
	}
	for _, id := range []string{"invite-link", "copy-invite", "replace-invite", "rename-form", "delete-group-link", "add-issue-form"} {
		if !own.has(id) {
			t.Errorf("owner does not see %s", id)
		}
	}
	if own.has("leave-group") {
		t.Error("the owner is offered to leave")
	}
	if got := attr(own.all("invite-link")[0], "value"); got != "http://example.com/join/"+tok {
		t.Errorf("invite link %q", got)
	}
	if n := len(own.all("remove-member")); n != 1 {
		t.Errorf("%d remove buttons, want 1 (not for the owner)", n)
	}
	rows := own.all("issue-row")
	if len(rows) != 1 || attr(rows[0], "data-key") != "HV-1" {
		t.Fatalf("issue rows: %d", len(rows))
	}
	if got := textsIn(rows[0], "issue-state"); len(got) != 1 || got[0] != "open" {
		t.Errorf("state %q", got)
	}
	if got := textsIn(rows[0], "issue-final"); len(got) != 1 || got[0] != "0 votes so far" {
		t.Errorf("votes %q", got)
	}
	if href := attr(within(rows[0], "issue-link")[0], "href"); href != fmt.Sprintf("/issues/%d", iid) {
		t.Errorf("issue link %q", href)
	}

	mem := tm.members[0].get(path).wantStatus(http.StatusOK)
	if mem.text("group-name") != "Hidden Valley" || len(mem.all("issue-row")) != 1 || len(mem.all("member-row")) != 2 {
		t.Error("member does not see the group, its issues and members")
	}
	for _, id := range []string{"invite-link", "copy-invite", "replace-invite", "rename-form", "delete-group-link", "add-issue-form", "remove-member", "make-owner"} {
		if mem.has(id) {
			t.Errorf("member sees %s", id)
		}
	}
	if strings.Contains(mem.body, tok) {
		t.Error("the invite token is in a member's page")
	}
	if !mem.has("leave-group") {
		t.Error("member is not offered to leave")
	}

	for _, c := range []*client{ta.signedIn("Sam"), ta.signedIn("Sam2").htmxFrom("/")} {
		r := c.get(path)
		if r.status != http.StatusNotFound {
			t.Fatalf("stranger: status %d, want 404", r.status)
		}
		if strings.Contains(r.body, "Hidden Valley") || strings.Contains(r.body, "HV-1") || strings.Contains(r.body, tok) {
			t.Fatal("the 404 reveals the group")
		}
	}
	// A group that does not exist looks the same as one that is not yours.
	sam := ta.signedIn("Sam3")
	a, b := sam.get(path), sam.get("/groups/999999")
	if a.status != b.status || a.text("error") != b.text("error") {
		t.Errorf("existing %d %q vs missing %d %q", a.status, a.text("error"), b.status, b.text("error"))
	}
	for _, p := range []string{"/groups/0", "/groups/-1", "/groups/abc", fmt.Sprintf("/groups/0%d", tm.gid), fmt.Sprintf("/groups/%d.0", tm.gid), "/groups/99999999999999999999"} {
		if r := tm.owner.get(p); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.status)
		}
	}
}

// groupRoute is one group route and how it is sent.
type groupRoute struct {
	method, path string
	form         url.Values
	ownerOnly    bool
	// runs: the owner's and the facilitators' (the backlog).
	runs bool
}

func groupRoutes(gid, memberID int64) []groupRoute {
	p := fmt.Sprintf("/groups/%d", gid)
	return []groupRoute{
		{method: "GET", path: p},
		{method: "POST", path: p + "/issues", form: url.Values{"key": {"X-1"}}, runs: true},
		{method: "POST", path: p + "/quick", runs: true},
		{method: "POST", path: fmt.Sprintf("%s/members/%d/facilitator", p, memberID), form: url.Values{"facilitator": {"1"}}, ownerOnly: true},
		{method: "POST", path: p + "/invite", ownerOnly: true},
		{method: "POST", path: p + "/rename", form: url.Values{"name": {"Renamed"}}, ownerOnly: true},
		{method: "GET", path: fmt.Sprintf("%s/transfer?user=%d", p, memberID), ownerOnly: true},
		{method: "POST", path: p + "/transfer", form: url.Values{"user": {strconv.FormatInt(memberID, 10)}}, ownerOnly: true},
		{method: "GET", path: fmt.Sprintf("%s/members/%d/remove", p, memberID), ownerOnly: true},
		{method: "POST", path: fmt.Sprintf("%s/members/%d/remove", p, memberID), ownerOnly: true},
		{method: "GET", path: p + "/leave"},
		{method: "GET", path: p + "/delete", ownerOnly: true},
		{method: "POST", path: p + "/delete", ownerOnly: true},
		{method: "POST", path: p + "/leave"},
	}
}

func sendRoute(c *client, rt groupRoute) *response {
	if rt.method == "GET" {
		return c.get(rt.path)
	}
	return c.post(rt.path, rt.form)
}

func TestGroupRoutesRefuseWhoMayNot(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Guarded Garden", "Olga", "Mia", "Max")
	mia, max := tm.members[0], tm.members[1]
	miaID := ta.user("Mia").ID
	tok := ta.inviteToken(tm.gid)
	stranger := ta.signedIn("Sam")

	for _, rt := range groupRoutes(tm.gid, miaID) {
		for _, htmx := range []bool{false, true} {
			name := fmt.Sprintf("%s %s htmx=%v", rt.method, rt.path, htmx)
			pick := func(c *client) *client {
				if htmx {
					return c.htmxFrom(fmt.Sprintf("/groups/%d", tm.gid))
				}
				return c.plain()
			}
			// Not a member: 404, and nothing about the group.
			r := sendRoute(pick(stranger), rt)
			if r.status != http.StatusNotFound {
				t.Errorf("%s stranger: status %d, want 404", name, r.status)
			}
			if strings.Contains(r.body, "Guarded Garden") || strings.Contains(r.body, tok) {
				t.Errorf("%s stranger: answer reveals the group", name)
			}
			if htmx && (!r.isFragment() || r.header.Get("HX-Retarget") != "#notice") {
				t.Errorf("%s stranger: htmx error is not a #notice fragment (retarget %q)", name, r.header.Get("HX-Retarget"))
			}
			if !htmx && r.errorStatus() != "404" {
				t.Errorf("%s stranger: not the 404 page", name)
			}
			// A member on an owner route, or one of those who run the
			// meeting: 403.
			if rt.ownerOnly || rt.runs {
				r := sendRoute(pick(max), rt)
				if r.status != http.StatusForbidden {
					t.Errorf("%s member: status %d, want 403", name, r.status)
				}
				want := "Only the group’s owner can do that."
				if rt.runs {
					want = "Only the group’s owner or a facilitator can do that."
				}
				if !strings.Contains(r.body, want) {
					t.Errorf("%s member: no explanation", name)
				}
			}
			// Signed out: to the sign-in page, by request kind.
			anon := ta.client()
			r = sendRoute(pick(anon), rt)
			switch {
			case htmx:
				if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("HX-Redirect"), "/login") {
					t.Errorf("%s anonymous: status %d HX-Redirect %q", name, r.status, r.header.Get("HX-Redirect"))
				}
			default:
				if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
					t.Errorf("%s anonymous: status %d Location %q", name, r.status, r.header.Get("Location"))
				}
			}
			if strings.Contains(r.body, "Guarded Garden") {
				t.Errorf("%s anonymous: answer reveals the group", name)
			}
			_, _, kept := loginTarget(t, r.location())
			if kept != (rt.method == "POST") { // every signed-out POST is kept
				t.Errorf("%s anonymous: form kept = %v", name, kept)
			}
		}
	}
	// Nothing changed.
	g, _, err := ta.st.GroupFor(tctx, tm.gid, 0)
	if err != nil || g.Name != "Guarded Garden" || g.InviteToken != tok {
		t.Fatalf("group changed: %+v %v", g, err)
	}
	members, _ := ta.st.Members(tctx, tm.gid)
	if len(members) != 3 || members[0].Nickname != "Olga" || members[0].Role != store.RoleOwner {
		t.Fatalf("members changed: %+v", members)
	}
	if issues, _ := ta.st.GroupIssues(tctx, tm.gid); len(issues) != 0 {
		t.Fatalf("refused requests added %d issues", len(issues))
	}
	// The member can still see the page.
	mia.get(fmt.Sprintf("/groups/%d", tm.gid)).wantStatus(http.StatusOK)
}

func TestInviteLinkFlow(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Invitees", "Ines")
	tok := ta.inviteToken(tm.gid)
	joinPath := "/join/" + tok
	groupPath := fmt.Sprintf("/groups/%d", tm.gid)

	// Signed out: the invite goes to sign-in, whose next is the confirmation.
	c := ta.client()
	r := c.get(joinPath).wantStatus(http.StatusSeeOther)
	next, _, kept := loginTarget(t, r.location())
	if next != joinPath || kept {
		t.Fatalf("next %q kept %v, want %q and nothing kept", next, kept, joinPath)
	}
	lp := c.get(r.location()).wantStatus(http.StatusOK)
	if v, _ := lp.inputValue("login-form", "next"); v != joinPath {
		t.Fatalf("sign-in form next %q", v)
	}
	r = c.post("/login", url.Values{"nickname": {"Jon"}, "next": {joinPath}}).wantRedirect(joinPath)
	conf := c.get(joinPath).wantStatus(http.StatusOK)
	if got := conf.text("join-title"); got != "Join group Invitees?" {
		t.Fatalf("confirmation title %q", got)
	}
	if !conf.has("join-confirm") {
		t.Fatal("no join button")
	}
	if _, role, _ := ta.st.GroupFor(tctx, tm.gid, ta.user("Jon").ID); role != store.RoleNone {
		t.Fatal("GET of the invite joined the group")
	}
	c.post(joinPath, nil).wantRedirect(groupPath)
	c.get(groupPath).wantStatus(http.StatusOK).wantNotice("You joined “Invitees”.")
	if rows := c.get("/").all("group-row"); len(rows) != 1 || rowCells(rows[0])[1] != "member" {
		t.Fatal("My Groups does not list the joined group as member")
	}

	// Joining twice: 409 with a link to the group; still one membership.
	for _, cc := range []*client{c, c.htmxFrom(joinPath)} {
		r = cc.post(joinPath, nil)
		if r.status != http.StatusConflict {
			t.Fatalf("second join: status %d, want 409", r.status)
		}
		if !strings.Contains(r.body, "already a member") {
			t.Errorf("second join: no clear message:\n%s", truncate(r.body, 600))
		}
		if !cc.htmx {
			if href := attr(r.all("error-back")[0], "href"); href != groupPath {
				t.Errorf("409 links to %q, want %q", href, groupPath)
			}
			if got := r.text("error-back"); got != "Go to Invitees" {
				t.Errorf("link text %q", got)
			}
		}
	}
	if members, _ := ta.st.Members(tctx, tm.gid); len(members) != 2 {
		t.Fatalf("%d members after joining twice, want 2", len(members))
	}
	// The confirmation page for someone already in: a link, no button.
	again := c.get(joinPath).wantStatus(http.StatusOK)
	if again.has("join-confirm") || attr(again.all("go-to-group")[0], "href") != groupPath {
		t.Error("already a member: the page still offers to join")
	}

	// Unknown token: a friendly 404.
	for _, bad := range []string{"/join/unknown-token", "/join/" + strings.ToLower(tok) + "x"} {
		r := c.get(bad)
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "Invite link not valid") {
			t.Errorf("GET %s: status %d", bad, r.status)
		}
		if r := c.post(bad, nil); r.status != http.StatusNotFound || !strings.Contains(r.body, "Invite link not valid") {
			t.Errorf("POST %s: status %d", bad, r.status)
		}
	}

	// Replaced: the old link stops working, the new one works.
	tm.owner.post(groupPath+"/invite", nil).wantRedirect(groupPath)
	tm.owner.get(groupPath).wantNotice("The invite link was replaced")
	newTok := ta.inviteToken(tm.gid)
	if newTok == tok {
		t.Fatal("token not replaced")
	}
	late := ta.signedIn("Lea")
	if r := late.get(joinPath); r.status != http.StatusNotFound || !strings.Contains(r.body, "the group’s owner may have replaced it") {
		t.Fatalf("old link GET: status %d", r.status)
	}
	if r := late.post(joinPath, nil); r.status != http.StatusNotFound {
		t.Fatalf("old link POST: status %d", r.status)
	}
	if _, role, _ := ta.st.GroupFor(tctx, tm.gid, ta.user("Lea").ID); role != store.RoleNone {
		t.Fatal("the replaced link let someone in")
	}
	if got := late.get("/join/" + newTok).text("join-title"); got != "Join group Invitees?" {
		t.Fatalf("new link: %q", got)
	}
	if got := attr(tm.owner.get(groupPath).all("invite-link")[0], "value"); got != "http://example.com/join/"+newTok {
		t.Fatalf("owner sees %q", got)
	}
}

func TestRenameGroup(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Old Name", "Olga", "Mia")
	p := fmt.Sprintf("/groups/%d", tm.gid)

	tm.owner.post(p+"/rename", url.Values{"name": {" New   Name "}}).wantRedirect(p)
	page := tm.owner.get(p).wantNotice("The group is now called “New Name”.")
	if page.text("group-name") != "New Name" {
		t.Fatalf("name %q", page.text("group-name"))
	}
	if got := tm.members[0].get("/").texts("group-link"); len(got) != 1 || got[0] != "New Name" {
		t.Fatalf("member's My Groups %q", got)
	}
	for _, bad := range []string{"", strings.Repeat("n", 81)} {
		r := tm.owner.post(p+"/rename", url.Values{"name": {bad}}).wantStatus(http.StatusUnprocessableEntity)
		if r.text("name-error") == "" || r.text("group-name") != "New Name" {
			t.Errorf("%q: 422 page lacks the message or the group", bad)
		}
		if v, _ := r.inputValue("rename-form", "name"); v != bad {
			t.Errorf("%q: rename form shows %q", bad, v)
		}
	}
	if r := tm.members[0].post(p+"/rename", url.Values{"name": {"Hijacked"}}); r.status != http.StatusForbidden {
		t.Fatalf("member rename: %d", r.status)
	}
	if g, _, _ := ta.st.GroupFor(tctx, tm.gid, 0); g.Name != "New Name" {
		t.Fatalf("name now %q", g.Name)
	}
}

func TestRemoveMemberKeepsRevealedResults(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Removals", "Olga", "Mia", "Nils")
	mia, nils := tm.members[0], tm.members[1]
	miaID, olgaID := ta.user("Mia").ID, ta.user("Olga").ID
	p := fmt.Sprintf("/groups/%d", tm.gid)

	open := tm.owner.addIssue(tm.gid, "OPEN-1", "")
	shown := tm.owner.addIssue(tm.gid, "SHOWN-1", "")
	for _, c := range []*client{tm.owner, mia} {
		c.estimate(open, "8").wantStatus(http.StatusSeeOther)
		c.estimate(shown, "21").wantStatus(http.StatusSeeOther)
	}
	nils.estimate(shown, "21").wantStatus(http.StatusSeeOther)
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", shown), nil).wantStatus(http.StatusSeeOther)

	// A member cannot remove anyone.
	if r := nils.post(fmt.Sprintf("%s/members/%d/remove", p, miaID), nil); r.status != http.StatusForbidden {
		t.Fatalf("member removing: %d", r.status)
	}
	tm.owner.post(fmt.Sprintf("%s/members/%d/remove", p, miaID), nil).wantRedirect(p)
	page := tm.owner.get(p).wantNotice("The member was removed.")
	if got := page.texts("member-name"); strings.Join(got, ",") != "Olga,Nils" {
		t.Fatalf("members %q", got)
	}
	for _, row := range page.all("issue-row") {
		got := textsIn(row, "issue-final")[0]
		switch attr(row, "data-key") {
		case "OPEN-1":
			if got != "1 vote so far" {
				t.Errorf("open issue after removal: %q, want 1 vote (Mia's estimate goes)", got)
			}
		case "SHOWN-1":
			if got != "3 votes" {
				t.Errorf("revealed issue after removal: %q, want 3 votes (the result stays)", got)
			}
		}
	}
	st := tm.owner.get(fmt.Sprintf("/issues/%d", shown)).wantStatus(http.StatusOK)
	if st.text("result-votes") != "3" || st.text("result-average") != "21.0" {
		t.Errorf("revealed result changed: %q votes, average %q", st.text("result-votes"), st.text("result-average"))
	}
	st = tm.owner.get(fmt.Sprintf("/issues/%d", open)).wantStatus(http.StatusOK)
	if st.text("voted-count") != "1 of 2 voted" {
		t.Errorf("open issue status %q", st.text("voted-count"))
	}
	// The removed member no longer sees the group or its issues.
	if r := mia.get(p); r.status != http.StatusNotFound {
		t.Fatalf("removed member: group page %d", r.status)
	}
	if r := mia.get(fmt.Sprintf("/issues/%d", shown)); r.status != http.StatusNotFound {
		t.Fatalf("removed member: issue page %d", r.status)
	}
	if mia.get("/").has("group-row") {
		t.Fatal("removed member still lists the group")
	}

	for _, tc := range []struct {
		uid  string
		want int
	}{
		{strconv.FormatInt(olgaID, 10), http.StatusConflict},
		{strconv.FormatInt(miaID, 10), http.StatusNotFound},
		{"999999", http.StatusNotFound},
		{"abc", http.StatusNotFound},
		{"0", http.StatusNotFound},
	} {
		if r := tm.owner.post(fmt.Sprintf("%s/members/%s/remove", p, tc.uid), nil); r.status != tc.want {
			t.Errorf("remove %s: status %d, want %d", tc.uid, r.status, tc.want)
		}
	}
	if members, _ := ta.st.Members(tctx, tm.gid); len(members) != 2 {
		t.Fatalf("%d members, want 2", len(members))
	}
}

func TestLeaveGroup(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Leavers", "Olga", "Mia")
	p := fmt.Sprintf("/groups/%d", tm.gid)
	mia := tm.members[0]

	r := tm.owner.post(p+"/leave", nil)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "Hand the group over first") {
		t.Fatalf("owner leaving: status %d", r.status)
	}
	if href := attr(r.all("error-back")[0], "href"); href != p {
		t.Errorf("409 links to %q", href)
	}
	open := tm.owner.addIssue(tm.gid, "L-1", "")
	shown := tm.owner.addIssue(tm.gid, "L-2", "")
	for _, c := range []*client{tm.owner, mia} {
		c.estimate(open, "5").wantStatus(http.StatusSeeOther)
		c.estimate(shown, "8").wantStatus(http.StatusSeeOther)
	}
	tm.owner.post(fmt.Sprintf("/issues/%d/reveal", shown), nil).wantStatus(http.StatusSeeOther)

	mia.post(p+"/leave", nil).wantRedirect("/")
	home := mia.get("/").wantNotice("You left “Leavers”.")
	// Their estimate on the open issue goes; the revealed result stays.
	if got := tm.owner.get(fmt.Sprintf("/issues/%d", open)).text("voted-count"); got != "1 of 1 voted" {
		t.Errorf("open issue after leaving: %q", got)
	}
	if got := tm.owner.get(fmt.Sprintf("/issues/%d", shown)).text("result-votes"); got != "2" {
		t.Errorf("revealed result after leaving: %q votes", got)
	}
	if home.has("group-row") {
		t.Fatal("the group is still in My Groups")
	}
	if r := mia.get(p); r.status != http.StatusNotFound {
		t.Fatalf("after leaving: %d", r.status)
	}
	if r := mia.post(p+"/leave", nil); r.status != http.StatusNotFound {
		t.Fatalf("leaving twice: %d", r.status)
	}
	if got := tm.owner.get(p).texts("member-name"); strings.Join(got, ",") != "Olga" {
		t.Fatalf("members %q", got)
	}
}

func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Handover", "Olga", "Mia")
	p := fmt.Sprintf("/groups/%d", tm.gid)
	mia := tm.members[0]
	miaID, olgaID := ta.user("Mia").ID, ta.user("Olga").ID
	ta.signedIn("Sam") // a user who is in no group

	for _, tc := range []struct {
		user string
		want int
	}{
		{"", http.StatusBadRequest},
		{"abc", http.StatusBadRequest},
		{"-3", http.StatusBadRequest},
		{strconv.FormatInt(ta.user("Sam").ID, 10), http.StatusNotFound},
		{strconv.FormatInt(olgaID, 10), http.StatusBadRequest}, // to yourself: already yours
	} {
		if r := tm.owner.post(p+"/transfer", url.Values{"user": {tc.user}}); r.status != tc.want {
			t.Errorf("transfer to %q: status %d, want %d", tc.user, r.status, tc.want)
		}
	}
	tm.owner.post(p+"/transfer", url.Values{"user": {strconv.FormatInt(miaID, 10)}}).wantRedirect(p)
	tm.owner.get(p).wantNotice("you are now a member")
	if _, role, _ := ta.st.GroupFor(tctx, tm.gid, miaID); role != store.RoleOwner {
		t.Fatalf("Mia's role %q", role)
	}
	if _, role, _ := ta.st.GroupFor(tctx, tm.gid, olgaID); role != store.RoleMember {
		t.Fatalf("Olga's role %q", role)
	}
	if !mia.get(p).has("invite-link") || tm.owner.get(p).has("invite-link") {
		t.Fatal("the owner tools did not move with the ownership")
	}
	if r := tm.owner.post(p+"/rename", url.Values{"name": {"x"}}); r.status != http.StatusForbidden {
		t.Fatalf("former owner renaming: %d", r.status)
	}
	// The former owner can now leave.
	tm.owner.post(p+"/leave", nil).wantRedirect("/")
	if rows := mia.get("/").all("group-row"); len(rows) != 1 || strings.Join(rowCells(rows[0]), "|") != "Handover|owner|1|0" {
		t.Fatal("new owner's My Groups row is wrong")
	}
}

func TestDeleteGroup(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Doomed", "Olga", "Mia")
	p := fmt.Sprintf("/groups/%d", tm.gid)
	iid := tm.owner.addIssue(tm.gid, "D-1", "")
	tm.owner.addIssue(tm.gid, "D-2", "")
	tok := ta.inviteToken(tm.gid)

	conf := tm.owner.get(p + "/delete").wantStatus(http.StatusOK)
	if !conf.has("delete-group-confirm") || !strings.Contains(conf.body, "2 issues") {
		t.Fatal("the confirmation page does not say what goes")
	}
	if r := tm.members[0].get(p + "/delete"); r.status != http.StatusForbidden {
		t.Fatalf("member GET delete: %d", r.status)
	}
	if r := tm.members[0].post(p+"/delete", nil); r.status != http.StatusForbidden {
		t.Fatalf("member POST delete: %d", r.status)
	}
	if _, _, err := ta.st.GroupFor(tctx, tm.gid, 0); err != nil {
		t.Fatal("the group is gone before the owner confirmed")
	}
	tm.owner.post(p+"/delete", nil).wantRedirect("/")
	tm.owner.get("/").wantNotice("The group “Doomed” was deleted.")
	for _, c := range []*client{tm.owner, tm.members[0]} {
		if r := c.get(p); r.status != http.StatusNotFound {
			t.Errorf("group page after delete: %d", r.status)
		}
		if r := c.get(fmt.Sprintf("/issues/%d", iid)); r.status != http.StatusNotFound {
			t.Errorf("issue page after delete: %d", r.status)
		}
		if c.get("/").has("group-row") {
			t.Error("deleted group still listed")
		}
	}
	if r := ta.signedIn("Late").get("/join/" + tok); r.status != http.StatusNotFound {
		t.Fatalf("invite of a deleted group: %d", r.status)
	}
}

func TestTokensInPathsNeverReachTheLogs(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Logged", "Olga")
	tok := ta.inviteToken(tm.gid)
	tm.owner.post("/account/signin-link", nil).wantRedirect("/account")
	link := attr(tm.owner.get("/account").all("signin-link")[0], "value")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	signinTok := strings.TrimPrefix(u.Path, "/signin/")
	visitor := ta.signedIn("Vic")
	// Link checkers and previews send other methods and odd variants of links.
	for _, p := range []string{"/join/" + tok, "/signin/" + signinTok} {
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions} {
			visitor.do(m, p, nil, "")
			ta.client().do(m, p, nil, "")
		}
		visitor.get(p + "/")
		visitor.get(p + "/x")
		visitor.post(p+"/", nil)
	}
	logs := ta.logs.String()
	for name, secret := range map[string]string{"invite token": tok, "sign-in token": signinTok} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the logs:\n%s", name, logs)
		}
	}
}

func TestOwnerToolsAnswerHTMXWithHXRedirect(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Hyper", "Olga", "Mia", "Max")
	p := fmt.Sprintf("/groups/%d", tm.gid)
	h := tm.owner.htmxFrom(p)
	tok := ta.inviteToken(tm.gid)

	h.post(p+"/rename", url.Values{"name": {"Hyper Media"}}).wantHXRedirect(p)
	h.post(p+"/invite", nil).wantHXRedirect(p)
	if ta.inviteToken(tm.gid) == tok {
		t.Fatal("htmx invite replace did nothing")
	}
	h.post(fmt.Sprintf("%s/members/%d/remove", p, ta.user("Max").ID), nil).wantHXRedirect(p)
	tm.members[1].htmxFrom(p).post(p+"/leave", nil).wantStatus(http.StatusNotFound)
	tm.members[0].htmxFrom(p).post(p+"/leave", nil).wantHXRedirect("/")
	tm.members[0].join(tm.gid)
	h.post(p+"/transfer", url.Values{"user": {strconv.FormatInt(ta.user("Mia").ID, 10)}}).wantHXRedirect(p)
	tm.members[0].htmxFrom(p).post(p+"/delete", nil).wantHXRedirect("/")
	if _, _, err := ta.st.GroupFor(tctx, tm.gid, 0); err != store.ErrNotFound {
		t.Fatalf("group not deleted: %v", err)
	}
	// Every one of them left its notice for the next page.
	if got := tm.members[0].get("/").text("notice"); got != "The group “Hyper Media” was deleted." {
		t.Fatalf("notice %q", got)
	}
}

// formOf is the form an element sits in.
func formOf(n *html.Node) *html.Node {
	for ; n != nil; n = n.Parent {
		if n.Type == html.ElementNode && n.Data == "form" {
			return n
		}
	}
	return nil
}

// Nothing irreversible in one click: "Make owner", "Remove" and "Leave" ask
// first. Their buttons lead to a confirmation page (no JavaScript: a link, or a
// GET form when a field goes with it) that htmx turns into a POST after a
// confirm dialog; the page's form then posts.
// Asking changes nothing.
func TestIrreversibleActionsAskFirst(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Careful Crew", "Olga", "Mia", "Max")
	mia := tm.members[0]
	p := fmt.Sprintf("/groups/%d", tm.gid)
	olgaID, miaID := ta.user("Olga").ID, ta.user("Mia").ID
	transferAsk := fmt.Sprintf("%s/transfer?user=%d", p, miaID)
	removeAsk := fmt.Sprintf("%s/members/%d/remove", p, miaID)

	// The buttons on the group page.
	buttons := []struct {
		who           *client
		testid        string
		action, field string
	}{
		{tm.owner, "make-owner", p + "/transfer", strconv.FormatInt(miaID, 10)},
		{tm.owner, "remove-member", removeAsk, ""},
		{mia, "leave-group", p + "/leave", ""},
	}
	for _, b := range buttons {
		page := b.who.get(p).wantStatus(http.StatusOK)
		btn := page.all(b.testid)
		if len(btn) == 0 {
			t.Fatalf("no %s button", b.testid)
		}
		if b.field == "" {
			// Nothing to carry: a link, so the address is the page's, with no
			// bare "?" a field-less GET form would add.
			a := btn[0]
			if a.Data != "a" || attr(a, "href") != b.action || attr(a, "hx-post") != b.action || attr(a, "hx-confirm") == "" {
				t.Errorf("%s: want a link to %s with hx-post there and hx-confirm, got <%s href=%q hx-post=%q>", b.testid, b.action, a.Data, attr(a, "href"), attr(a, "hx-post"))
			}
			continue
		}
		f := formOf(btn[0])
		if f == nil || attr(f, "method") != "get" || attr(f, "action") != b.action || attr(f, "hx-post") != b.action || attr(f, "hx-confirm") == "" {
			t.Errorf("%s: want a GET form to %s with hx-post there and hx-confirm, got %v", b.testid, b.action, f)
		}
		if b.field != "" {
			if got, _ := page.inputValue(b.testid, "user"); got != "" {
				t.Errorf("%s: the button itself carries the field", b.testid)
			}
			var user string
			for _, in := range findAll(f, func(n *html.Node) bool { return attr(n, "name") == "user" }) {
				user = attr(in, "value")
			}
			if user != b.field {
				t.Errorf("%s: form field user = %q, want %q", b.testid, user, b.field)
			}
		}
	}

	// The confirmation pages, and the forms on them.
	pages := []struct {
		who            *client
		path, title    string
		confirm, posts string
	}{
		{tm.owner, transferAsk, "Make Mia the owner of Careful Crew?", "transfer-confirm", p + "/transfer"},
		{tm.owner, removeAsk, "Remove Mia from Careful Crew?", "remove-confirm", removeAsk},
		{mia, p + "/leave", "Leave Careful Crew?", "leave-confirm", p + "/leave"},
	}
	for _, pg := range pages {
		r := pg.who.get(pg.path).wantStatus(http.StatusOK)
		if got := r.text("confirm-title"); got != pg.title {
			t.Errorf("%s: title %q, want %q", pg.path, got, pg.title)
		}
		f := formOf(r.all(pg.confirm)[0])
		if attr(f, "method") != "post" || attr(f, "action") != pg.posts {
			t.Errorf("%s: the confirm form posts to %q (%s), want %s", pg.path, attr(f, "action"), attr(f, "method"), pg.posts)
		}
		if back := r.all("confirm-cancel"); len(back) != 1 || attr(back[0], "href") != p {
			t.Errorf("%s: no way back to the group", pg.path)
		}
	}
	if got, _ := tm.owner.get(transferAsk).inputValue("transfer-confirm", "user"); got != "" {
		t.Errorf("the field sits in the button")
	}

	// Asking for what cannot be: clear errors, right statuses.
	for _, tc := range []struct {
		who  *client
		path string
		want int
	}{
		{tm.owner, p + "/transfer", http.StatusBadRequest},
		{tm.owner, p + "/transfer?user=abc", http.StatusBadRequest},
		{tm.owner, fmt.Sprintf("%s/transfer?user=%d", p, olgaID), http.StatusBadRequest},
		{tm.owner, p + "/transfer?user=999999", http.StatusNotFound},
		{tm.owner, fmt.Sprintf("%s/members/%d/remove", p, olgaID), http.StatusConflict},
		{tm.owner, p + "/members/999999/remove", http.StatusNotFound},
		{tm.owner, p + "/members/abc/remove", http.StatusNotFound},
		{tm.owner, p + "/leave", http.StatusConflict},
	} {
		if r := tc.who.get(tc.path); r.status != tc.want || r.errorStatus() != strconv.Itoa(tc.want) {
			t.Errorf("GET %s: status %d (page %q), want %d", tc.path, r.status, r.errorStatus(), tc.want)
		}
	}

	// Nothing changed by asking.
	members, err := ta.st.Members(tctx, tm.gid)
	if err != nil || len(members) != 3 || members[0].Nickname != "Olga" || members[0].Role != store.RoleOwner {
		t.Fatalf("asking changed the members: %+v %v", members, err)
	}

	// Confirming does it: the page's own form, posted.
	f := url.Values{"user": {strconv.FormatInt(miaID, 10)}}
	tm.owner.post(p+"/transfer", f).wantRedirect(p)
	tm.owner.get(p).wantNotice("You handed the group over")
	if _, role, _ := ta.st.GroupFor(tctx, tm.gid, miaID); role != store.RoleOwner {
		t.Errorf("after confirming, Mia is %q", role)
	}
}
