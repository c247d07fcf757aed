package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// Every answer says it depends on HX-Request, once: pages, fragments,
// redirects of both kinds and errors of both kinds.
func TestVaryHXRequestOnEveryAnswerOnce(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Vary", "varyowner")
	issue := tm.owner.addIssue(tm.gid, "V-1", "")
	anon := ta.client()
	for _, tc := range []struct {
		name string
		send func() *response
		want int
	}{
		{"page", func() *response { return tm.owner.plain().get("/") }, http.StatusOK},
		{"fragment", func() *response { return tm.owner.htmxFrom("/").get(fmt.Sprintf("/issues/%d", issue)) }, http.StatusOK},
		{"plain redirect", func() *response { return anon.plain().get("/account") }, http.StatusSeeOther},
		{"htmx redirect", func() *response { return anon.htmxFrom("/").get("/account") }, http.StatusOK},
		{"error page", func() *response { return tm.owner.plain().get("/groups/999999") }, http.StatusNotFound},
		{"error fragment", func() *response { return tm.owner.htmxFrom("/").get("/groups/999999") }, http.StatusNotFound},
		{"refused form", func() *response {
			return tm.owner.plain().post("/creategroup", url.Values{"name": {""}})
		}, http.StatusUnprocessableEntity},
	} {
		r := tc.send().wantStatus(tc.want)
		n := 0
		for _, v := range r.header.Values("Vary") {
			if v == "HX-Request" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: Vary %q names HX-Request %d times, want once", tc.name, r.header.Values("Vary"), n)
		}
	}
}

// Only a plain htmx request gets a fragment: a boosted one or a history
// restore gets the whole page, as a request without htmx does.
func TestFragmentOnlyForPlainHTMX(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Frag", "fragowner")
	path := fmt.Sprintf("/issues/%d", tm.owner.addIssue(tm.gid, "F-1", ""))
	htmx := tm.owner.htmxFrom("/")
	for _, tc := range []struct {
		name     string
		c        *client
		fragment bool
	}{
		{"plain", tm.owner.plain(), false},
		{"htmx", htmx, true},
		{"boosted", htmx.with("HX-Boosted", "true"), false},
		{"history restore", htmx.with("HX-History-Restore-Request", "true"), false},
		{"HX-Request not true", tm.owner.plain().with("HX-Request", "1"), false},
	} {
		if got := tc.c.get(path).wantStatus(http.StatusOK).isFragment(); got != tc.fragment {
			t.Errorf("%s: fragment %v, want %v", tc.name, got, tc.fragment)
		}
	}
}
