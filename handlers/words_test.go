package handlers

import (
	"fmt"
	"net/http"
	"net/url"
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
