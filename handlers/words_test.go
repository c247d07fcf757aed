package handlers

import (
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
