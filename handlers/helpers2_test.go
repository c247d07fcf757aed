package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"estimator/store"
)

// Helpers shared by replay_test.go, groups_test.go and issues_test.go.

var tctx = context.Background()

// with is the same browser (same cookie jar) sending extra headers.
func (c *client) with(kv ...string) *client {
	cp := *c
	cp.header = c.header.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		// An empty value is sent as an empty header (e.g. no Sec-Fetch-Site).
		cp.header.Set(kv[i], kv[i+1])
	}
	return &cp
}

// plain is the same browser making plain (non-htmx) requests.
func (c *client) plain() *client {
	cp := *c
	cp.htmx, cp.currentURL = false, ""
	return &cp
}

// htmxWith makes htmx requests with a raw HX-Current-URL value.
func (c *client) htmxWith(currentURL string) *client {
	cp := *c
	cp.htmx, cp.currentURL = true, currentURL
	return &cp
}

// sessionID is the row id of the browser's session (0 when it has none).
func (c *client) sessionID() int64 {
	c.ta.t.Helper()
	ck := c.sessionCookie()
	if ck == nil {
		return 0
	}
	s, _, err := c.ta.st.LoadSession(tctx, ck.Value, c.ta.app.cfg.Sessions)
	if err == store.ErrNotFound {
		return 0
	}
	if err != nil {
		c.ta.t.Fatalf("load session: %v", err)
	}
	return s.ID
}

// pendingForms counts the unused kept forms of this browser's session.
func (c *client) pendingForms() int {
	c.ta.t.Helper()
	id := c.sessionID()
	if id == 0 {
		return 0
	}
	n, err := c.ta.st.PendingFormCount(tctx, id)
	if err != nil {
		c.ta.t.Fatal(err)
	}
	return n
}

// countRows counts the rows of a table (optionally filtered) through a second,
// read-only connection to the same database file.
func (ta *testApp) countRows(table, where string, args ...any) int {
	ta.t.Helper()
	db, err := sql.Open("sqlite", store.DSN(ta.st.Path(), 5*time.Second, true))
	if err != nil {
		ta.t.Fatal(err)
	}
	defer db.Close()
	q := "SELECT COUNT(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		ta.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// loginTarget splits a sign-in URL into its next and form parameters.
func loginTarget(t testing.TB, loc string) (next, form string, hasForm bool) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/login" {
		t.Fatalf("not a sign-in URL: %q", loc)
	}
	q := u.Query()
	next = q.Get("next")
	if next == "" {
		next = "/"
	}
	_, hasForm = q["form"]
	return next, q.Get("form"), hasForm
}

var groupPathRe = regexp.MustCompile(`^/groups/([0-9]+)$`)

// groupIDFrom reads the group id out of a /groups/N location.
func groupIDFrom(t testing.TB, loc string) int64 {
	t.Helper()
	m := groupPathRe.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("not a group page: %q", loc)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// createGroup creates a group as a signed-in browser and returns its id.
func (c *client) createGroup(name string) int64 {
	c.ta.t.Helper()
	r := c.plain().post("/creategroup", url.Values{"name": {name}}).wantStatus(http.StatusSeeOther)
	return groupIDFrom(c.ta.t, r.location())
}

// inviteToken is the group's current invite token.
func (ta *testApp) inviteToken(gid int64) string {
	ta.t.Helper()
	g, _, err := ta.st.GroupFor(tctx, gid, 0)
	if err != nil {
		ta.t.Fatal(err)
	}
	return g.InviteToken
}

// join makes a signed-in browser a member through the invite link.
func (c *client) join(gid int64) {
	c.ta.t.Helper()
	c.plain().post("/join/"+c.ta.inviteToken(gid), nil).wantStatus(http.StatusSeeOther)
}

// addIssue adds an issue as the owner and returns its id.
func (c *client) addIssue(gid int64, key, description string) int64 {
	c.ta.t.Helper()
	c.plain().post(fmt.Sprintf("/groups/%d/issues", gid), url.Values{"key": {key}, "description": {description}}).wantStatus(http.StatusSeeOther)
	return c.ta.issueID(gid, key)
}

// issueID finds an issue of a group by key.
func (ta *testApp) issueID(gid int64, key string) int64 {
	ta.t.Helper()
	issues, err := ta.st.GroupIssues(tctx, gid)
	if err != nil {
		ta.t.Fatal(err)
	}
	for _, is := range issues {
		if strings.EqualFold(is.Key, key) {
			return is.ID
		}
	}
	ta.t.Fatalf("group %d has no issue %q", gid, key)
	return 0
}

// estimate records a value as a member.
func (c *client) estimate(issueID int64, value string) *response {
	c.ta.t.Helper()
	return c.plain().post(fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {value}})
}

// user looks a user up by nickname.
func (ta *testApp) user(nick string) store.User {
	ta.t.Helper()
	u, err := ta.st.UserByNickname(tctx, nick)
	if err != nil {
		ta.t.Fatalf("user %q: %v", nick, err)
	}
	return u
}

// team is a group with an owner and members, each a signed-in browser.
type team struct {
	gid     int64
	owner   *client
	members []*client
}

func (ta *testApp) team(name, ownerNick string, memberNicks ...string) team {
	ta.t.Helper()
	tm := team{owner: ta.client()}
	tm.owner.login(ownerNick)
	tm.gid = tm.owner.createGroup(name)
	for _, n := range memberNicks {
		m := ta.client()
		m.login(n)
		m.join(tm.gid)
		tm.members = append(tm.members, m)
	}
	return tm
}

// signedIn is a fresh browser signed in as nick.
func (ta *testApp) signedIn(nick string) *client {
	c := ta.client()
	c.login(nick)
	return c
}

// isFragment tells a fragment from a whole page: only pages have the layout.
func (r *response) isFragment() bool {
	return !strings.Contains(r.body, "<html") && !r.has("nav-signin") && !r.has("nav-signout")
}

// findAll walks a node and returns the elements for which match is true.
func findAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	if root != nil {
		walk(root)
	}
	return out
}

func byTestID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "data-testid") == id }
}

// within finds the elements with data-testid=id inside root.
func within(root *html.Node, id string) []*html.Node { return findAll(root, byTestID(id)) }

// textsIn is the text of each element with data-testid=id inside root.
func textsIn(root *html.Node, id string) []string {
	var out []string
	for _, n := range within(root, id) {
		out = append(out, textOf(n))
	}
	return out
}

// errorStatus is the data-status of the error page, if it is one.
func (r *response) errorStatus() string {
	if n := r.all("error"); len(n) > 0 {
		return attr(n[0], "data-status")
	}
	return ""
}

// wantRedirect checks a plain 303 to target.
func (r *response) wantRedirect(target string) *response {
	r.t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != target {
		r.t.Fatalf("status %d Location %q, want 303 to %q; body:\n%s", r.status, r.header.Get("Location"), target, truncate(r.body, 800))
	}
	return r
}

// wantHXRedirect checks an htmx answer that sends the browser to target.
func (r *response) wantHXRedirect(target string) *response {
	r.t.Helper()
	if r.status != http.StatusOK || r.header.Get("HX-Redirect") != target || r.header.Get("Location") != "" {
		r.t.Fatalf("status %d HX-Redirect %q Location %q, want 200 with HX-Redirect %q", r.status, r.header.Get("HX-Redirect"), r.header.Get("Location"), target)
	}
	return r
}

// wantNotice checks the page's one-time notice contains want.
func (r *response) wantNotice(want string) *response {
	r.t.Helper()
	if got := r.text("notice"); !strings.Contains(got, want) {
		r.t.Fatalf("notice %q, want it to contain %q", got, want)
	}
	return r
}
