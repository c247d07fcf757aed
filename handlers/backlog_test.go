package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"estimator/views/htmltest"
)

// Issue "The meeting", items 1 and 7: the backlog in the room, and seats that
// never carry a value.

// backlogTeam: Olga owns "Checkout team" on T-shirt sizes with Ana, Bo (a
// facilitator) and Cyd. SHOP-1 is accepted at L, SHOP-2 revealed, the longest
// key and SHOP-4 open; the group is on SHOP-4.
type backlogTeam struct {
	team
	ana, bo, cyd                  *client
	accepted, revealed, long, now int64
}

func newBacklogTeam(t *testing.T, ta *testApp) backlogTeam {
	t.Helper()
	tm := ta.team("Checkout team", "Olga", "Ana", "Bo", "Cyd")
	bt := backlogTeam{team: tm, ana: tm.members[0], bo: tm.members[1], cyd: tm.members[2]}
	o := tm.owner.plain()
	o.post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	o.post(facilitatorPath(tm.gid, fmt.Sprint(ta.user("Bo").ID)), url.Values{"facilitator": {"1"}}).wantStatus(http.StatusSeeOther)
	bt.accepted = o.addIssue(tm.gid, "SHOP-1", "Pay by invoice")
	bt.revealed = o.addIssue(tm.gid, "SHOP-2", "Show delivery dates\nwith the carrier's own estimate")
	bt.long = o.addIssue(tm.gid, "PAYMENTS-PLATFORM-MIGRATION-2042", strings.Repeat("Move card payments to the new provider. ", 20))
	bt.now = o.addIssue(tm.gid, "SHOP-4", "")
	for _, id := range []int64{bt.accepted, bt.revealed} {
		bt.ana.estimate(id, "5").wantStatus(http.StatusSeeOther) // L
		bt.cyd.estimate(id, "5").wantStatus(http.StatusSeeOther)
		o.post(fmt.Sprintf("/issues/%d/reveal", id), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	}
	o.post(fmt.Sprintf("/issues/%d/accept", bt.accepted), url.Values{"final": {"L"}}).wantStatus(http.StatusSeeOther)
	o.post(fmt.Sprintf("/issues/%d/start", bt.now), nil).wantStatus(http.StatusSeeOther)
	return bt
}

// liveServer serves the app over a real connection, for event streams.
func liveServer(t *testing.T, ta *testApp) *httptest.Server {
	srv := httptest.NewServer(ta.app)
	t.Cleanup(func() {
		ta.app.Close()
		srv.Close()
	})
	return srv
}

// backlogRow is one issue as the room's backlog shows it.
type backlogRow struct {
	key, state, final string
	current, start    bool
	startTo           string
}

func backlogRows(root *html.Node) []backlogRow {
	var rows []backlogRow
	for _, li := range htmltest.All(root, "backlog-item") {
		r := backlogRow{
			key:     strings.Join(htmltest.Texts(li, "backlog-key"), "|"),
			state:   strings.Join(htmltest.Texts(li, "backlog-state"), "|"),
			final:   strings.Join(htmltest.Texts(li, "backlog-final"), "|"),
			current: len(htmltest.All(li, "backlog-current")) > 0,
			start:   len(htmltest.All(li, "backlog-start")) > 0,
		}
		for _, f := range htmltest.FindAll(li, func(n *html.Node) bool { return n.Data == "form" }) {
			r.startTo = htmltest.Attr(f, "action")
		}
		rows = append(rows, r)
	}
	return rows
}

// The room (page and live fragment, for the owner, a facilitator and a
// member) lists every issue of the group in order with its key, state and
// final estimate as the deck's label, says how many are estimated, marks the
// one the group is on, and offers Start only to those who run the meeting and
// only on an open issue the group is not on already.
func TestTheRoomListsTheGroupsBacklog(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	bt := newBacklogTeam(t, ta)
	const none = "–"
	want := []backlogRow{
		{key: "SHOP-1", state: "accepted", final: "L"},
		{key: "SHOP-2", state: "revealed", final: none},
		{key: "PAYMENTS-PLATFORM-MIGRATION-2042", state: "open", final: none, start: true, startTo: fmt.Sprintf("/issues/%d/start", bt.long)},
		{key: "SHOP-4", state: "open", final: none, current: true},
	}
	for _, who := range []struct {
		name      string
		c         *client
		startsAny bool
	}{{"owner", bt.owner, true}, {"facilitator", bt.bo, true}, {"member", bt.ana, false}} {
		for _, room := range []int64{bt.revealed, bt.now} {
			path := fmt.Sprintf("/issues/%d", room)
			for _, r := range []*response{who.c.plain().get(path).wantStatus(http.StatusOK), who.c.htmxFrom(path).get(path).wantStatus(http.StatusOK)} {
				what := fmt.Sprintf("%s in the room of %d (fragment %v)", who.name, room, r.isFragment())
				if got := r.text("backlog-count"); got != "1 of 4 estimated" {
					t.Errorf("%s: the backlog says %q, want 1 of 4 estimated", what, got)
				}
				got := backlogRows(r.doc)
				wantHere := slices.Clone(want)
				for i := range wantHere {
					if !who.startsAny {
						wantHere[i].start, wantHere[i].startTo = false, ""
					}
				}
				if !slices.Equal(got, wantHere) {
					t.Errorf("%s: backlog\n got %+v\nwant %+v", what, got, wantHere)
				}
				// The issue of this room is the one the link marks as the page.
				for _, li := range r.all("backlog-item") {
					here := htmltest.Attr(htmltest.All(li, "backlog-key")[0], "aria-current") == "page"
					if isThis := htmltest.Attr(li, "data-key") == map[int64]string{bt.revealed: "SHOP-2", bt.now: "SHOP-4"}[room]; here != isThis {
						t.Errorf("%s: %s marked as this page: %v", what, htmltest.Attr(li, "data-key"), here)
					}
				}
			}
		}
	}
	// Start from the backlog: the group is on the long one now.
	bt.bo.plain().post(fmt.Sprintf("/issues/%d/start", bt.long), nil).wantStatus(http.StatusSeeOther)
	rows := backlogRows(bt.ana.get(fmt.Sprintf("/issues/%d", bt.long)).doc)
	if len(rows) != 4 || !rows[2].current || rows[3].current {
		t.Errorf("after the start, the backlog marks %+v", rows)
	}
}

// A change to another issue of the group reaches an open room's backlog over
// the stream it already has: the room of SHOP-4 sees SHOP-2 accepted, and a
// new issue added.
func TestTheBacklogInTheRoomIsLive(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	bt := newBacklogTeam(t, ta)
	srv := liveServer(t, ta)
	s := openStream(t, srv, bt.ana, bt.now)
	s.mustNext()
	bt.owner.plain().post(fmt.Sprintf("/issues/%d/accept", bt.revealed), url.Values{"final": {"M"}}).wantStatus(http.StatusSeeOther)
	s.until(2*time.Second, "SHOP-2 accepted at M in the backlog", func(ev sse) bool {
		rows := backlogRows(htmltest.Parse(t, ev.data))
		return len(rows) == 4 && rows[1].state == "accepted" && rows[1].final == "M" && strings.Contains(ev.data, "2 of 4 estimated")
	})
	bt.bo.plain().post(fmt.Sprintf("/groups/%d/issues", bt.gid), url.Values{"key": {"SHOP-5"}}).wantStatus(http.StatusSeeOther)
	s.until(2*time.Second, "SHOP-5 in the backlog", func(ev sse) bool {
		rows := backlogRows(htmltest.Parse(t, ev.data))
		return len(rows) == 5 && rows[4].key == "SHOP-5" && strings.Contains(ev.data, "2 of 5 estimated")
	})
}

// seatRe is a seat at the room's table, as bytes.
var seatRe = regexp.MustCompile(`(?s)<li [^>]*data-testid="voter".*?</li>`)

// Seats show a card back for a vote and never its value, before the reveal
// and after it, in the page and in the live fragment: with the name taken
// out, the seats of two people who chose 13 and 89 are the same bytes, and no
// seat holds a digit.
func TestSeatsNeverCarryAValue(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	tm := ta.team("Checkout team", "Olga", "Ana", "Bo")
	is := tm.owner.addIssue(tm.gid, "SHOP-7", "")
	ana, bo := tm.members[0], tm.members[1]
	srv := liveServer(t, ta)
	s := openStream(t, srv, tm.owner, is)
	s.mustNext()
	ana.estimate(is, "13").wantStatus(http.StatusSeeOther)
	bo.estimate(is, "89").wantStatus(http.StatusSeeOther)
	before := s.until(2*time.Second, "both votes counted", func(ev sse) bool { return strings.Contains(ev.data, "2 of 3 voted") })
	room := fmt.Sprintf("/issues/%d", is)
	check := func(when, what, body string) {
		seats := seatRe.FindAllString(body, -1)
		if len(seats) != 3 {
			t.Fatalf("%s, %s: %d seats in %s", when, what, len(seats), truncate(body, 1500))
		}
		blank := map[string]string{}
		for _, seat := range seats {
			if regexp.MustCompile(`[0-9]`).MatchString(seat) {
				t.Errorf("%s, %s: a seat holds a number: %s", when, what, seat)
			}
			// Who is here is no value: a page load counts as being here.
			seat = presentMark.ReplaceAllString(seat, "")
			for _, nick := range []string{"Olga", "Ana", "Bo"} {
				if strings.Contains(seat, `data-member="`+nick+`"`) {
					blank[nick] = strings.ReplaceAll(seat, nick, "NAME")
				}
			}
		}
		if blank["Ana"] == "" || blank["Ana"] != blank["Bo"] {
			t.Errorf("%s, %s: the seats of 13 and 89 differ:\n%s\n%s", when, what, blank["Ana"], blank["Bo"])
		}
		if !strings.Contains(blank["Ana"], "seat-voted") || strings.Contains(blank["Olga"], "seat-voted") {
			t.Errorf("%s, %s: card backs on %q / %q", when, what, blank["Ana"], blank["Olga"])
		}
	}
	for _, c := range []*client{tm.owner, ana, bo} {
		check("before the reveal", "page", c.plain().get(room).body)
		check("before the reveal", "fragment", c.htmxFrom(room).get(room).body)
	}
	check("before the reveal", "event", before.data)
	tm.owner.post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	after := s.until(2*time.Second, "the reveal", func(ev sse) bool { return strings.Contains(ev.data, `data-state="revealed"`) })
	if !strings.Contains(after.data, "13 × 1, 89 × 1") {
		t.Fatalf("the result is not in the event: %s", truncate(after.data, 1500))
	}
	for _, c := range []*client{tm.owner, ana, bo} {
		check("after the reveal", "page", c.plain().get(room).body)
		check("after the reveal", "fragment", c.htmxFrom(room).get(room).body)
	}
	check("after the reveal", "event", after.data)
}

// The backlog travels apart from the room's state, and only when it changed:
// a stream gets it once after its first state (in its role's form: Start for
// a facilitator, none for a member); votes bring states and no backlog; a
// change of the group brings the state and then the backlog; a stream opened
// again gets it again. A vote frame is a fraction of the room's bytes.
func TestTheBacklogIsSentOnlyWhenItChanges(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	bt := newBacklogTeam(t, ta)
	srv := liveServer(t, ta)
	// read gets the events up to and including the first state that
	// satisfies ok, and the backlog events after it that came with it (up
	// to the next state or the stream's quiet).
	type seen struct {
		state   sse
		backlog []sse
		before  int // backlog events before that state
	}
	read := func(s *stream, what string, ok func(sse) bool) seen {
		t.Helper()
		var out seen
		deadline := time.Now().Add(5 * time.Second)
		for {
			ev, got := s.Next(time.Until(deadline))
			if !got {
				t.Fatalf("%s: no such state", what)
			}
			e := asSSE(ev)
			if isBacklog(e) {
				out.before++
				continue
			}
			if ok(e) {
				out.state = e
				break
			}
		}
		// The backlog of this state, if any, is written right after it.
		if ev, got := s.Next(2 * time.Second); got && isBacklog(asSSE(ev)) {
			out.backlog = append(out.backlog, asSSE(ev))
		}
		return out
	}
	count := func(n int) func(sse) bool {
		return func(e sse) bool { return strings.Contains(e.data, fmt.Sprintf(">%d of 4 voted<", n)) }
	}
	ana, bo := openStream(t, srv, bt.ana, bt.now), openStream(t, srv, bt.bo, bt.now)
	for _, who := range []struct {
		name  string
		s     *stream
		start bool
	}{{"member", ana, false}, {"facilitator", bo, true}} {
		first := read(who.s, who.name+"'s first state", count(0))
		if len(first.backlog) != 1 {
			t.Fatalf("%s: the first state came with %d backlogs, want 1", who.name, len(first.backlog))
		}
		rows := backlogRows(htmltest.Parse(t, first.backlog[0].data))
		if len(rows) != 4 || rows[2].start != who.start || !rows[3].current {
			t.Errorf("%s's backlog: %+v", who.name, rows)
		}
		if strings.Contains(first.state.data, `data-testid="backlog"`) {
			t.Errorf("%s: the state carries the backlog too", who.name)
		}
	}
	// Three votes: three states (or fewer, coalesced), no backlog.
	for i, c := range []*client{bt.ana, bt.cyd, bt.owner} {
		c.estimate(bt.now, "3").wantStatus(http.StatusSeeOther)
		for _, s := range []*stream{ana, bo} {
			got := read(s, fmt.Sprintf("vote %d", i+1), count(i+1))
			if got.before != 0 || len(got.backlog) != 0 {
				t.Errorf("vote %d brought %d backlogs", i+1, got.before+len(got.backlog))
			}
			if n := len(got.state.data); n > 8000 {
				t.Errorf("a vote's state is %d bytes", n)
			}
		}
	}
	// A new issue: the state, then the backlog with it.
	bt.owner.plain().post(fmt.Sprintf("/groups/%d/issues", bt.gid), url.Values{"key": {"SHOP-5-checkout-with-a-long-key"}}).wantStatus(http.StatusSeeOther)
	for _, s := range []*stream{ana, bo} {
		got := read(s, "the new issue", count(3))
		if len(got.backlog) != 1 || got.before != 0 {
			t.Fatalf("the group's change brought %d backlogs before and %d after its state", got.before, len(got.backlog))
		}
		if rows := backlogRows(htmltest.Parse(t, got.backlog[0].data)); len(rows) != 5 || rows[4].key != "SHOP-5-checkout-with-a-long-key" {
			t.Errorf("the backlog after the new issue: %+v", rows)
		}
	}
	// A second tab of the member's gets its own, once.
	again := openStream(t, srv, bt.ana, bt.now)
	if got := read(again, "the second tab's first state", count(3)); len(got.backlog) != 1 {
		t.Errorf("a stream opened again got %d backlogs", len(got.backlog))
	}
}
