package handlers

import (
	"context"
	"database/sql"
	"encoding/binary"
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

// ballots reads every round's ballot (store/ballot.go: 9-byte slots, an
// 8-byte big-endian user id and a card byte, 0 once revealed): issue -> user
// -> card.
func (ta *testApp) ballots() map[int64]map[int64]byte {
	ta.t.Helper()
	db, err := sql.Open("sqlite", store.DSN(ta.st.Path(), 5*time.Second, true))
	if err != nil {
		ta.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT issue_id, votes FROM ballots")
	if err != nil {
		ta.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]map[int64]byte{}
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			ta.t.Fatal(err)
		}
		out[id] = map[int64]byte{}
		for i := 0; i+9 <= len(b); i += 9 {
			out[id][int64(binary.BigEndian.Uint64(b[i:]))] = b[i+8]
		}
	}
	return out
}

// cardsKept counts the slots that hold a card, on the issues keep selects.
func (ta *testApp) cardsKept(keep func(issueID int64) bool) int {
	n := 0
	for id, slots := range ta.ballots() {
		for _, c := range slots {
			if c != 0 && keep(id) {
				n++
			}
		}
	}
	return n
}

// votesOf counts the ballots holding a slot of userID.
func (ta *testApp) votesOf(userID int64) int {
	n := 0
	for _, slots := range ta.ballots() {
		if _, ok := slots[userID]; ok {
			n++
		}
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
