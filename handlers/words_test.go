package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
