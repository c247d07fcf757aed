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

	"estimator/store"
)

// Fixtures: users, groups, issues and votes made through the real router, and
// what the database holds.

var tctx = context.Background()

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
