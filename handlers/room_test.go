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
	"testing"
	"time"

	"golang.org/x/net/html"

	"estimator/internal/testkit"
	"estimator/store"
)

// Issue "The estimation room" (and item 5 of the anonymity issue).

// TestRevealNeedsAtLeastTwoVotes: with one vote, the result would be that
// person's value next to "voted": the owner is told why (409), and the round
// stays open with the vote in it.
func TestRevealNeedsAtLeastTwoVotes(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Pair", "Olga", "Mia", "Noa")
	iid := tm.owner.addIssue(tm.gid, "PAIR-1", "")
	p := fmt.Sprintf("/issues/%d", iid)
	tm.members[0].estimate(iid, "34").wantStatus(http.StatusSeeOther)
	for _, c := range []*client{tm.owner.plain(), tm.owner.htmxFrom(p)} {
		for _, form := range []url.Values{nil, {"confirmed": {"1"}}} {
			r := c.post(p+"/reveal", form)
			if r.status != http.StatusConflict || !strings.Contains(r.body, "at least 2 votes") || slices.Contains(numbersIn(r.body), 34) {
				t.Errorf("reveal with one vote (htmx %v, form %v): status %d, body %q", c.htmx, form, r.status, truncate(r.body, 300))
			}
		}
	}
	page := tm.owner.get(p).wantStatus(http.StatusOK)
	if page.text("state") != "open" || page.has("result") {
		t.Fatalf("after a refused reveal the room shows %q, result %v", page.text("state"), page.has("result"))
	}
	if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user("Mia").ID); v.Value != 34 {
		t.Fatalf("the vote was lost: %+v", v)
	}
	if n := ta.countRows("issue_rounds", "issue_id = ?", iid); n != 0 {
		t.Fatalf("%d rounds stored", n)
	}
	tm.members[1].estimate(iid, "5").wantStatus(http.StatusSeeOther)
	tm.owner.post(p+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(p)
	if is, _, _, _ := ta.st.IssueFor(tctx, iid, 0); is.State != store.StateRevealed || is.Result.Votes != 2 {
		t.Fatalf("reveal with two votes: %+v", is)
	}
}

// TestOneNumberBesideAQuestionMarkStaysSecret: the owner votes ?, a member 2;
// a reveal would read "Consensus: every number is 2", the member's vote. A
// round needs 2 numbers: by hand the owner is told why (409), and
// auto-reveal and the timer leave the round open.
func TestOneNumberBesideAQuestionMarkStaysSecret(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"owner", "auto-reveal", "timer"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t)
			tm := ta.team("Pair with a question", "Olga", "Mia")
			if by == "auto-reveal" {
				tm.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"fibonacci"}, "auto_reveal": {"1"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
			}
			iid := tm.owner.addIssue(tm.gid, "ASK-1", "")
			p := fmt.Sprintf("/issues/%d", iid)
			if by == "timer" {
				tm.owner.plain().post(p+"/timer", url.Values{"seconds": {"60"}}).wantRedirect(p)
			}
			tm.owner.estimate(iid, "?").wantStatus(http.StatusSeeOther)
			tm.members[0].estimate(iid, "2").wantStatus(http.StatusSeeOther)
			switch by {
			case "owner":
				for _, c := range []*client{tm.owner.plain(), tm.owner.htmxFrom(p)} {
					r := c.post(p+"/reveal", url.Values{"confirmed": {"1"}})
					if r.status != http.StatusConflict || !strings.Contains(r.body, "? and coffee do not count") {
						t.Errorf("reveal of ? and 2 (htmx %v): status %d, body %q", c.htmx, r.status, truncate(r.body, 300))
					}
				}
			case "timer":
				ta.clock.Advance(time.Hour)
				testkit.Eventually(t, 5*time.Second, "the timer to end", func() bool {
					is, _, _, err := ta.st.IssueFor(tctx, iid, 0)
					return err == nil && (is.TimeUp || is.State != store.StateOpen)
				})
			}
			page := tm.owner.get(p).wantStatus(http.StatusOK)
			if page.text("state") != "open" || page.has("result") || strings.Contains(page.body, "every number is") {
				t.Errorf("after ? and 2 by %s the room shows %q, result %v", by, page.text("state"), page.has("result"))
			}
			if by == "timer" && !page.has("time-up") {
				t.Error("the timer ended and the room does not say time is up")
			}
			if n := ta.countRows("issue_rounds", "issue_id = ?", iid); n != 0 {
				t.Errorf("%d rounds stored", n)
			}
			if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user("Mia").ID); v.Value != 2 {
				t.Errorf("the vote was lost: %+v", v)
			}
		})
	}
}

// roomTeam is a group with an owner, three members and issues, over a real
// HTTP server for the event streams.
type roomTeam struct {
	team
	ta     *testApp
	srv    *httptest.Server
	issues []int64
}

func newRoomTeam(t *testing.T, keys ...string) *roomTeam {
	t.Helper()
	ta := newTestApp(t)
	rt := &roomTeam{team: ta.team("Room Team", "Olga", "Ana", "Bo", "Cyd"), ta: ta}
	for _, k := range keys {
		rt.issues = append(rt.issues, rt.owner.addIssue(rt.gid, k, "story "+k))
	}
	rt.srv = httptest.NewServer(ta.app)
	t.Cleanup(func() {
		ta.app.Close()
		rt.srv.Close()
	})
	return rt
}

func (rt *roomTeam) settings(t *testing.T) store.GroupSettings {
	t.Helper()
	g, _, err := rt.ta.st.GroupFor(tctx, rt.gid, 0)
	if err != nil {
		t.Fatal(err)
	}
	return g.Settings
}

func (rt *roomTeam) issue(t *testing.T, id int64) store.Issue {
	t.Helper()
	is, _, _, err := rt.ta.st.IssueFor(tctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func TestRoomRoutesRefuseWhoMayNot(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "R-1")
	iid := rt.issues[0]
	stranger := rt.ta.signedIn("Sam")
	member := rt.members[0]
	routes := []struct {
		method, path string
		form         url.Values
		ownerOnly    bool
	}{
		{"POST", fmt.Sprintf("/issues/%d/start", iid), nil, true},
		{"POST", fmt.Sprintf("/issues/%d/timer", iid), url.Values{"seconds": {"60"}}, true},
		{"POST", fmt.Sprintf("/groups/%d/settings", rt.gid), url.Values{"deck": {"powers"}, "timer": {"30"}, "auto_reveal": {"1"}}, true},
		{"POST", fmt.Sprintf("/groups/%d/role", rt.gid), url.Values{"role": {"spectator"}}, false},
		{"GET", fmt.Sprintf("/groups/%d/room", rt.gid), nil, false},
	}
	send := func(c *client, method, path string, form url.Values) *response {
		if method == "GET" {
			return c.get(path)
		}
		return c.post(path, form)
	}
	for _, r := range routes {
		for _, htmx := range []bool{false, true} {
			pick := func(c *client) *client {
				if htmx {
					return c.htmxFrom(fmt.Sprintf("/issues/%d", iid))
				}
				return c.plain()
			}
			name := fmt.Sprintf("%s %s htmx=%v", r.method, r.path, htmx)
			if got := send(pick(stranger), r.method, r.path, r.form); got.status != http.StatusNotFound || strings.Contains(got.body, "Room Team") {
				t.Errorf("%s stranger: %d", name, got.status)
			}
			if r.ownerOnly {
				if got := send(pick(member), r.method, r.path, r.form); got.status != http.StatusForbidden {
					t.Errorf("%s member: %d, want 403", name, got.status)
				}
			}
			anon := send(pick(rt.ta.client()), r.method, r.path, r.form)
			if !strings.HasPrefix(anon.location(), "/login") {
				t.Errorf("%s anonymous: %d %q", name, anon.status, anon.location())
			}
		}
	}
	for _, p := range []string{"/groups/999/room", "/groups/abc/room", "/issues/999/start", "/issues/0/timer", "/groups/999/events"} {
		method := "POST"
		if strings.HasSuffix(p, "room") || strings.HasSuffix(p, "events") {
			method = "GET"
		}
		if r := send(rt.owner, method, p, url.Values{"seconds": {"5"}}); r.status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", method, p, r.status)
		}
	}
	if r := rt.owner.get(fmt.Sprintf("/issues/%d/start", iid)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET start: %d, want 405", r.status)
	}
	// Nothing changed.
	if set := rt.settings(t); set != store.DefaultSettings() {
		t.Errorf("settings changed: %+v", set)
	}
	if is := rt.issue(t, iid); !is.TimerEndsAt.IsZero() {
		t.Errorf("a timer started: %+v", is)
	}
	if _, err := rt.ta.st.GroupRoom(tctx, rt.gid); err == nil {
		t.Error("an issue was started")
	}
	if seat, _ := rt.ta.st.SeatOf(tctx, rt.gid, rt.ta.user("Sam").ID); seat != "" {
		t.Errorf("the stranger got a seat %q", seat)
	}
	ms, _ := rt.ta.st.Members(tctx, rt.gid)
	for _, m := range ms {
		if m.Seat != store.SeatVoter {
			t.Errorf("%s became %s", m.Nickname, m.Seat)
		}
	}
}

func TestGroupSettingsForm(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "S-1")
	p := fmt.Sprintf("/groups/%d/settings", rt.gid)
	twentyOne := make([]string, 21)
	for i := range twentyOne {
		twentyOne[i] = strconv.Itoa(i + 1)
	}
	bad := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"unknown deck", url.Values{"deck": {"poker"}, "timer": {"0"}}, "deck-error"},
		{"no deck", url.Values{"timer": {"0"}}, "deck-error"},
		{"custom, 1 card", url.Values{"deck": {"custom"}, "cards": {"5"}, "timer": {"0"}}, "cards-error"},
		{"custom, 21 cards", url.Values{"deck": {"custom"}, "cards": {strings.Join(twentyOne, ",")}, "timer": {"0"}}, "cards-error"},
		{"custom, twice the same", url.Values{"deck": {"custom"}, "cards": {"3,3"}, "timer": {"0"}}, "cards-error"},
		{"custom, 0", url.Values{"deck": {"custom"}, "cards": {"0,5"}, "timer": {"0"}}, "cards-error"},
		{"custom, 101", url.Values{"deck": {"custom"}, "cards": {"5,101"}, "timer": {"0"}}, "cards-error"},
		{"timer 3601", url.Values{"deck": {"fibonacci"}, "timer": {"3601"}}, "timer-error"},
		{"timer -1", url.Values{"deck": {"fibonacci"}, "timer": {"-1"}}, "timer-error"},
		{"timer words", url.Values{"deck": {"fibonacci"}, "timer": {"soon"}}, "timer-error"},
		{"auto_reveal not 1", url.Values{"deck": {"fibonacci"}, "timer": {"0"}, "auto_reveal": {"yes"}}, "auto_reveal-error"},
	}
	for _, tc := range bad {
		r := rt.owner.post(p, tc.form).wantStatus(http.StatusUnprocessableEntity)
		if r.text(tc.field) == "" || !r.has("settings-form") {
			t.Errorf("%s: no message at %s", tc.name, tc.field)
		}
		// What was typed is shown again.
		if v, _ := r.inputValue("settings-form", "cards"); v != tc.form.Get("cards") {
			t.Errorf("%s: cards shown as %q", tc.name, v)
		}
		if set := rt.settings(t); set != store.DefaultSettings() {
			t.Fatalf("%s changed the settings: %+v", tc.name, set)
		}
	}
	rt.owner.post(p, url.Values{"deck": {"custom"}, "cards": {"8, 1, 3"}, "auto_reveal": {"1"}, "timer": {"90"}}).
		wantRedirect(fmt.Sprintf("/groups/%d", rt.gid))
	set := rt.settings(t)
	if set.Deck.Spec() != "custom:1,3,8" || !set.AutoReveal || set.TimerSeconds != 90 {
		t.Fatalf("saved settings %+v", set)
	}
	page := rt.owner.get(fmt.Sprintf("/groups/%d", rt.gid)).wantNotice("settings are saved")
	if v, _ := page.inputValue("settings-form", "cards"); v != "1, 3, 8" {
		t.Errorf("cards shown as %q", v)
	}
	// The room offers the new deck, and no card beyond it.
	room := rt.members[0].get(fmt.Sprintf("/issues/%d", rt.issues[0]))
	var cards []string
	for _, n := range findAll(room.all("cards")[0], func(n *html.Node) bool { return n.Data == "button" }) {
		cards = append(cards, attr(n, "value"))
	}
	if want := []string{"1", "3", "8", "?", "coffee"}; !slices.Equal(cards, want) {
		t.Errorf("cards %q, want %q", cards, want)
	}
	// Unticking the box turns auto-reveal off.
	rt.owner.post(p, url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	if set := rt.settings(t); set.AutoReveal || set.Deck.Name != store.DeckTShirt || set.TimerSeconds != 0 {
		t.Errorf("settings %+v", set)
	}
}

func TestVotingInTheRoom(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "V-1")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	p := room + "/estimate"
	ana, bo := rt.members[0], rt.members[1]

	// A plain vote lands in the room with its card pressed; htmx swaps the
	// cards only, and the answer has no live panel in it.
	ana.post(p, url.Values{"estimate": {"8"}}).wantRedirect(room)
	page := ana.get(room).wantStatus(http.StatusOK)
	if attr(page.all("card-8")[0], "aria-pressed") != "true" || attr(page.all("card-5")[0], "aria-pressed") != "false" || !page.has("live") {
		t.Error("the room does not mark the own card")
	}
	for card, id := range map[string]string{"?": "card-unsure", "coffee": "card-coffee"} {
		r := ana.htmxFrom(room).post(p, url.Values{"estimate": {card}}).wantStatus(http.StatusOK)
		if !r.isFragment() || r.has("live") || r.has("voters") || attr(r.all(id)[0], "aria-pressed") != "true" || r.text("own-value") != card {
			t.Errorf("htmx vote %q: panel %q", card, r.text("own-estimate"))
		}
		if v, _ := rt.ta.st.OwnEstimate(tctx, iid, rt.ta.user("Ana").ID); v.Special != card {
			t.Errorf("stored %+v after %q", v, card)
		}
	}
	// A number off the deck is kept in the free field.
	r := ana.htmxFrom(room).post(p, url.Values{"estimate": {"4"}}).wantStatus(http.StatusOK)
	if v, _ := r.inputValue("custom-estimate", "estimate"); v != "4" || len(r.all("card-4")) != 0 {
		t.Errorf("free number shown as %q", v)
	}

	// Bad votes: 422 with a message, the vote unchanged.
	for _, bad := range []string{"??", "0", "101", "", "tea", "4.5", "Coffee"} {
		for _, c := range []*client{ana.plain(), ana.htmxFrom(room)} {
			r := c.post(p, url.Values{"estimate": {bad}})
			if r.status != http.StatusUnprocessableEntity || r.text("estimate-error") == "" {
				t.Errorf("estimate=%q (htmx %v): %d %q", bad, c.htmx, r.status, r.text("estimate-error"))
			}
		}
	}
	if v, _ := rt.ta.st.OwnEstimate(tctx, iid, rt.ta.user("Ana").ID); v.Value != 4 {
		t.Errorf("a refused vote changed the vote: %+v", v)
	}

	// A spectator's vote is refused (403), whatever it is, and nothing is stored.
	bo.post(fmt.Sprintf("/groups/%d/role", rt.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	for _, v := range []string{"5", "?", "coffee", "??"} {
		for _, c := range []*client{bo.plain(), bo.htmxFrom(room)} {
			if r := c.post(p, url.Values{"estimate": {v}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "pectator") {
				t.Errorf("spectator estimate=%q (htmx %v): %d", v, c.htmx, r.status)
			}
		}
	}
	if n := rt.ta.votesOf(rt.ta.user("Bo").ID); n != 0 {
		t.Errorf("a spectator has %d estimates", n)
	}
	watch := bo.get(room)
	if !watch.has("spectating") || watch.has("cards") || watch.text("voted-count") != "1 of 3 voted" {
		t.Errorf("spectator's room: cards %v, count %q", watch.has("cards"), watch.text("voted-count"))
	}

	// The old estimate page still offers the deck alone.
	est := ana.get(p).wantStatus(http.StatusOK)
	if !est.has("cards") || est.has("live") || !est.has("to-status") {
		t.Error("GET /estimate is not the deck alone")
	}
}

// A deck of labels takes only its cards, and a vote shows as its label. (The
// deck is chosen before anyone votes: it does not change under an open round
// with votes.)
func TestALabelDeckTakesOnlyItsCards(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "SHIRT-1")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	p := room + "/estimate"
	ana := rt.members[0]
	rt.owner.post(fmt.Sprintf("/groups/%d/settings", rt.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	tshirt := ana.get(room)
	if tshirt.text("card-1") != "XS" || tshirt.text("card-13") != "XXL" || tshirt.has("custom-estimate") {
		t.Errorf("T-shirt cards %q %q, free number %v", tshirt.text("card-1"), tshirt.text("card-13"), tshirt.has("custom-estimate"))
	}
	if r := ana.post(p, url.Values{"estimate": {"21"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.text("estimate-error"), "cards") {
		t.Errorf("21 on the T-shirt deck: %d %q", r.status, r.text("estimate-error"))
	}
	ana.post(p, url.Values{"estimate": {"5"}}).wantRedirect(room)
	if got := ana.get(room).text("own-value"); got != "L" {
		t.Errorf("own vote shows as %q, want L", got)
	}

}

func TestSeat(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "SEAT-1")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	rolePath := fmt.Sprintf("/groups/%d/role", rt.gid)
	cyd := rt.members[2]
	cyd.estimate(iid, "13").wantStatus(http.StatusSeeOther)

	// From the room, back to the room; the vote of a new spectator goes.
	cyd.with("Referer", "http://example.com"+room).post(rolePath, url.Values{"role": {"spectator"}}).wantRedirect(room)
	if n := rt.ta.votesOf(rt.ta.user("Cyd").ID); n != 0 {
		t.Errorf("the spectator's vote stayed: %d rows", n)
	}
	// From htmx, to the page it came from; from elsewhere, the group page.
	cyd.htmxFrom(room).post(rolePath, url.Values{"role": {"voter"}}).wantHXRedirect(room)
	cyd.post(rolePath, url.Values{"role": {"spectator"}}).wantRedirect(fmt.Sprintf("/groups/%d", rt.gid))
	cyd.with("Referer", "https://evil.example/issues/1").post(rolePath, url.Values{"role": {"voter"}}).wantRedirect(fmt.Sprintf("/groups/%d", rt.gid))
	if seat, _ := rt.ta.st.SeatOf(tctx, rt.gid, rt.ta.user("Cyd").ID); seat != store.SeatVoter {
		t.Fatalf("seat %q", seat)
	}
	// Only for oneself, only voter or spectator.
	for _, form := range []url.Values{{"role": {"owner"}}, {"role": {""}}, {}, {"role": {"Spectator"}}} {
		if r := cyd.post(rolePath, form); r.status != http.StatusBadRequest {
			t.Errorf("role %v: %d, want 400", form, r.status)
		}
	}
	cyd.post(rolePath, url.Values{"role": {"spectator"}, "user": {strconv.FormatInt(rt.ta.user("Ana").ID, 10)}}).wantStatus(http.StatusSeeOther)
	if seat, _ := rt.ta.st.SeatOf(tctx, rt.gid, rt.ta.user("Ana").ID); seat != store.SeatVoter {
		t.Errorf("a member changed another's seat: %q", seat)
	}
	// The owner may watch too: counts leave spectators out.
	rt.owner.post(rolePath, url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	r := rt.owner.get(room)
	if r.text("voted-count") != "0 of 2 voted" || !r.has("owner-controls") || !r.has("spectating") {
		t.Errorf("owner spectating: %q, controls %v", r.text("voted-count"), r.has("owner-controls"))
	}
	seats := map[string]string{}
	for _, row := range r.all("voter") {
		seats[textsIn(row, "voter-name")[0]] = textsIn(row, "voter-voted")[0]
	}
	if want := map[string]string{"Olga": "spectating", "Ana": "not yet", "Bo": "not yet", "Cyd": "spectating"}; !reflectEqual(seats, want) {
		t.Errorf("member list %v, want %v", seats, want)
	}
	group := rt.members[0].get(fmt.Sprintf("/groups/%d", rt.gid))
	if got := group.texts("member-seat"); !slices.Contains(got, "spectator") {
		t.Errorf("the group page's seats %q", got)
	}
}

func reflectEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStartIssueMovesTheGroup: the owner starts an issue; every open room of
// another issue and every group page of the group get an event naming it.
func TestStartIssueMovesTheGroup(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "M-1", "M-2")
	one, two := rt.issues[0], rt.issues[1]
	gp := fmt.Sprintf("/groups/%d", rt.gid)
	room := rt.members[0].get(gp + "/room").wantStatus(http.StatusOK)
	if !room.has("no-room") || !strings.Contains(room.body, "not estimating") {
		t.Fatal("before any start, the room link does not say so")
	}
	if !rt.members[0].get(gp).has("no-current-issue") {
		t.Error("the group page does not say no issue is being estimated")
	}
	if r := rt.members[0].post(fmt.Sprintf("/issues/%d/start", one), nil); r.status != http.StatusForbidden {
		t.Fatalf("member start: %d", r.status)
	}
	rt.owner.post(fmt.Sprintf("/issues/%d/start", one), nil).wantRedirect(fmt.Sprintf("/issues/%d", one))
	rt.members[0].get(gp + "/room").wantRedirect(fmt.Sprintf("/issues/%d", one))
	if got := rt.members[1].get(gp).text("current-issue"); !strings.Contains(got, "M-1") {
		t.Errorf("group page says %q", got)
	}
	if got := rt.members[1].get(fmt.Sprintf("/issues/%d", two)).text("current-issue"); !strings.Contains(got, "M-1") {
		t.Errorf("another room says %q", got)
	}

	streams := []*stream{
		openStreamAt(t, rt.srv, rt.members[0], fmt.Sprintf("/issues/%d/events", one)),
		openStreamAt(t, rt.srv, rt.members[1], gp+"/events"),
		openStreamAt(t, rt.srv, rt.members[2], fmt.Sprintf("/issues/%d/events", one)),
	}
	stay := openStreamAt(t, rt.srv, rt.owner, fmt.Sprintf("/issues/%d/events", two))
	for _, s := range append(streams, stay) {
		s.mustNext()
	}
	// From a room with its script, the answer is the notice alone: the
	// facilitator's page moves with everyone's, over its stream.
	rt.owner.htmxFrom(fmt.Sprintf("/issues/%d", one)).post(fmt.Sprintf("/issues/%d/start", two), nil).wantNoticeOnly("M-2")
	started := time.Now()
	// The group page is sent to the room; the rooms stay, on the same stream:
	// the new room's head and cards, then its live part.
	if ev := streams[1].until(time.Second, "a navigate event", func(ev sse) bool { return ev.name == "navigate" }); ev.data != fmt.Sprintf("/issues/%d", two) {
		t.Errorf("group page: navigate to %q", ev.data)
	}
	for _, i := range []int{0, 2} {
		ev := streams[i].until(time.Second, "the move", func(ev sse) bool { return ev.name != "" })
		if ev.name != "move" || !strings.Contains(ev.data, fmt.Sprintf(`data-path="/issues/%d"`, two)) || !strings.Contains(ev.data, ">M-2</h1>") || !strings.Contains(ev.data, `id="estimate-panel"`) {
			t.Fatalf("stream %d: %s event %q", i, ev.name, truncate(ev.data, 400))
		}
		ev = streams[i].until(time.Second, "the new room's live part", func(ev sse) bool { return true })
		if ev.name != "" || !strings.HasPrefix(ev.id, fmt.Sprintf("%d-", two)) || !strings.Contains(ev.data, "estimating this issue now") {
			t.Errorf("stream %d after the move: %s event id %q %q", i, ev.name, ev.id, truncate(ev.data, 300))
		}
	}
	if took := time.Since(started); took > time.Second {
		t.Errorf("the move took %v", took)
	}
	// Votes on the started issue reach the moved rooms on their streams.
	rt.members[1].estimate(two, "5").wantStatus(http.StatusSeeOther)
	for _, i := range []int{0, 2} {
		streams[i].until(time.Second, "the vote on the started issue", func(ev sse) bool {
			return ev.name == "" && strings.HasPrefix(ev.id, fmt.Sprintf("%d-", two)) && strings.Contains(ev.data, "1 of 4 voted")
		})
	}
	// The room of the started issue is not sent away: it says it is current.
	ev := stay.until(2*time.Second, "the room's update", func(ev sse) bool { return ev.name == "" && strings.Contains(ev.data, "estimating this issue now") })
	if ev.name == "navigate" {
		t.Error("the started issue's own room was sent away")
	}
	// The group page's stream of a page opened afterwards shows the current issue.
	late := openStreamAt(t, rt.srv, rt.members[1], gp+"/events")
	if ev := late.mustNext(); !strings.Contains(ev.data, "M-2") || !strings.Contains(ev.data, "current-issue") {
		t.Errorf("group stream: %q", truncate(ev.data, 300))
	}
	if r := openStreamAt(t, rt.srv, rt.ta.signedIn("Sam"), gp+"/events"); r.resp.StatusCode != http.StatusNotFound {
		t.Errorf("a stranger's group stream: %d", r.resp.StatusCode)
	}
}

func TestTimerRoute(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "T-1", "T-2")
	iid, lone := rt.issues[0], rt.issues[1]
	room := fmt.Sprintf("/issues/%d", iid)
	p := room + "/timer"
	for _, bad := range []string{"3601", "-1", "", "soon", "1.5", "1e3"} {
		for _, c := range []*client{rt.owner.plain(), rt.owner.htmxFrom(room)} {
			r := c.post(p, url.Values{"seconds": {bad}})
			if r.status != http.StatusUnprocessableEntity || r.text("seconds-error") == "" {
				t.Errorf("seconds=%q (htmx %v): %d", bad, c.htmx, r.status)
			}
		}
	}
	if r := rt.members[0].post(p, url.Values{"seconds": {"30"}}); r.status != http.StatusForbidden {
		t.Errorf("member timer: %d", r.status)
	}
	if is := rt.issue(t, iid); !is.TimerEndsAt.IsZero() {
		t.Fatalf("a refused timer started: %v", is.TimerEndsAt)
	}

	s := openStreamAt(t, rt.srv, rt.members[0], room+"/events")
	s.mustNext()
	rt.owner.post(p, url.Values{"seconds": {"90"}}).wantRedirect(room)
	ev := s.until(2*time.Second, "the countdown", func(ev sse) bool { return strings.Contains(ev.data, `data-testid="countdown"`) })
	if !strings.Contains(ev.data, "1:30") {
		t.Errorf("countdown %q", regexp.MustCompile(`countdown"[^>]*>[^<]*`).FindString(ev.data))
	}
	rt.owner.post(p, url.Values{"seconds": {"0"}}).wantRedirect(room)
	if is := rt.issue(t, iid); !is.TimerEndsAt.IsZero() {
		t.Errorf("seconds=0 did not stop the timer")
	}

	// The server reveals when time is up, with nobody connected to the room.
	s.close()
	rt.members[0].estimate(iid, "3").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(iid, "5").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(lone, "5").wantStatus(http.StatusSeeOther)
	rt.owner.post(p, url.Values{"seconds": {"2"}}).wantRedirect(room)
	rt.owner.post(fmt.Sprintf("/issues/%d/timer", lone), url.Values{"seconds": {"2"}}).wantStatus(http.StatusSeeOther)
	rt.ta.clock.Advance(2 * time.Second)
	testkit.Eventually(t, 5*time.Second, "the timer to reveal", func() bool { return rt.issue(t, iid).State == store.StateRevealed })
	testkit.Eventually(t, 5*time.Second, "time to be up on the lone vote", func() bool { return rt.issue(t, lone).TimeUp })
	if is := rt.issue(t, lone); is.State != store.StateOpen {
		t.Errorf("one vote was revealed by the timer: %s", is.State)
	}
	if got := rt.members[1].get(fmt.Sprintf("/issues/%d", lone)).text("time-up"); !strings.Contains(got, "Time is up") {
		t.Errorf("the room says %q", got)
	}
	events, _ := rt.ta.st.GroupEvents(tctx, rt.gid, 20)
	if !slices.ContainsFunc(events, func(e store.AuditEvent) bool {
		return e.Action == store.ActReveal && strings.Contains(e.Detail, "timer")
	}) {
		t.Error("no audit line for the timer's reveal")
	}
	// A timer on a revealed round: 409.
	if r := rt.owner.post(p, url.Values{"seconds": {"30"}}); r.status != http.StatusConflict {
		t.Errorf("timer on a revealed round: %d", r.status)
	}
}

// TestTimerRevealReachesEveryScreen: a round revealed by its timer, with no
// request anyone sends, reaches every open room and the group page the same
// way the owner's reveal does: at its commit, through the store's changes.
func TestTimerRevealReachesEveryScreen(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "TIMER-1")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	rt.members[0].estimate(iid, "3").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(iid, "8").wantStatus(http.StatusSeeOther)
	rooms := []*stream{
		openStreamAt(t, rt.srv, rt.owner, room+"/events"),
		openStreamAt(t, rt.srv, rt.members[0], room+"/events"),
		openStreamAt(t, rt.srv, rt.members[2], room+"/events"),
	}
	page := openStreamAt(t, rt.srv, rt.members[1], fmt.Sprintf("/groups/%d/events", rt.gid))
	for _, s := range append(rooms, page) {
		s.mustNext()
	}
	rt.owner.post(room+"/timer", url.Values{"seconds": {"2"}}).wantRedirect(room)
	for _, s := range rooms {
		s.until(2*time.Second, "the countdown", func(ev sse) bool { return strings.Contains(ev.data, `data-testid="countdown"`) })
	}
	rt.ta.clock.Advance(2 * time.Second)
	for i, s := range rooms {
		ev := s.until(3*time.Second, fmt.Sprintf("room %d to show the timer's result", i), func(ev sse) bool {
			return strings.Contains(ev.data, `data-state="revealed"`)
		})
		if !strings.Contains(ev.data, `data-testid="result-average"`) {
			t.Errorf("room %d: the revealed state lacks the result", i)
		}
	}
	page.until(3*time.Second, "the group page to show the reveal", func(ev sse) bool { return strings.Contains(ev.data, `state-revealed`) })
}

func TestAutoRevealGoesThroughTheSameReveal(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "AR-1")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	rt.owner.post(fmt.Sprintf("/groups/%d/settings", rt.gid), url.Values{"deck": {"fibonacci"}, "auto_reveal": {"1"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	rt.members[2].post(fmt.Sprintf("/groups/%d/role", rt.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	watch := openStreamAt(t, rt.srv, rt.members[2], room+"/events")
	group := openStreamAt(t, rt.srv, rt.members[2], fmt.Sprintf("/groups/%d/events", rt.gid))
	watch.mustNext()
	group.mustNext()
	rt.owner.estimate(iid, "5").wantStatus(http.StatusSeeOther)
	rt.members[0].estimate(iid, "8").wantStatus(http.StatusSeeOther)
	if rt.issue(t, iid).State != store.StateOpen {
		t.Fatal("revealed before every voter voted")
	}
	r := rt.members[1].htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {"coffee"}}).wantStatus(http.StatusOK)
	if !r.has("estimates-closed") {
		t.Errorf("the last vote's answer still offers cards")
	}
	watch.until(2*time.Second, "the revealed room", func(ev sse) bool { return strings.Contains(ev.data, `data-state="revealed"`) })
	group.until(2*time.Second, "the group page's update", func(ev sse) bool { return strings.Contains(ev.data, "revealed") })
	if r := rt.members[1].post(room+"/estimate", url.Values{"estimate": {"3"}}); r.status != http.StatusConflict {
		t.Errorf("a vote after the auto-reveal: %d", r.status)
	}
}

func TestRoundsStayVisible(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "RR-1")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	rt.owner.estimate(iid, "1").wantStatus(http.StatusSeeOther)
	rt.members[0].estimate(iid, "3").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(iid, "3").wantStatus(http.StatusSeeOther)
	rt.members[2].estimate(iid, "100").wantStatus(http.StatusSeeOther)
	rt.owner.post(room+"/reveal", nil).wantRedirect(room)
	page := rt.owner.get(room)
	// Half chose 3, which is not more than half: the card nearest the median.
	if v, _ := page.inputValue("accept-form", "final"); v != "3" {
		t.Errorf("prefill %q, want 3 (the card nearest the median), not 21", v)
	}
	for id, want := range map[string]string{"result-average": "26.8", "result-median": "3", "result-card": "21", "result-range": "1 – 100"} {
		if got := page.text(id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if n := len(page.all("bar")); n != 13 {
		t.Errorf("%d bars, want every card and ? and coffee (13)", n)
	}
	rt.owner.post(room+"/revote", nil).wantRedirect(room)
	r2 := rt.members[0].get(room)
	if r2.text("round") != "Round 2" || !slices.Equal(r2.texts("round-title"), []string{"Round 1"}) || r2.has("result-votes") && len(r2.all("result")) != 1 {
		t.Fatalf("round 2 room: %q, rounds %q", r2.text("round"), r2.texts("round-title"))
	}
	if got := textsIn(r2.all("rounds")[0], "result-votes"); !slices.Equal(got, []string{"4"}) {
		t.Errorf("round 1's result in round 2: %q", got)
	}
	for _, c := range []*client{rt.owner, rt.members[0]} {
		c.estimate(iid, "5").wantStatus(http.StatusSeeOther)
	}
	rt.owner.post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(room)
	rt.owner.post(room+"/accept", url.Values{"final": {"5"}}).wantRedirect(room)
	done := rt.members[1].get(room)
	if done.text("final") != "Final estimate: 5" || !slices.Equal(done.texts("round-title"), []string{"Round 1"}) || done.text("result-votes") != "2" {
		t.Errorf("accepted: %q, rounds %q, votes %q", done.text("final"), done.texts("round-title"), done.text("result-votes"))
	}
	if n := rt.ta.countRows("issue_rounds", "issue_id = ?", iid); n != 2 {
		t.Errorf("%d rounds stored, want 2", n)
	}
}

// TestRoomNeverPairsANameWithAValue: the room, its fragments, the rounds
// history, the group page and both streams, and every new event (the
// countdown, the move to another issue, a seat change, time up): no element or
// event pairs a name with a value of the open round.
func TestRoomNeverPairsANameWithAValue(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "ANON-1", "ANON-2")
	iid, next := rt.issues[0], rt.issues[1]
	room := fmt.Sprintf("/issues/%d", iid)
	gp := fmt.Sprintf("/groups/%d", rt.gid)
	viewers := map[string]*client{"Olga": rt.owner, "Ana": rt.members[0], "Bo": rt.members[1], "Cyd": rt.members[2]}
	// Round 1 is revealed (its values are in the history, anonymously); round 2
	// is open with values that must show nowhere but to their voter.
	for nick, v := range map[string]string{"Olga": "21", "Ana": "13", "Bo": "89"} {
		viewers[nick].estimate(iid, v).wantStatus(http.StatusSeeOther)
	}
	rt.owner.post(room+"/start", nil).wantStatus(http.StatusSeeOther)
	rt.owner.post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	rt.owner.post(room+"/revote", nil).wantStatus(http.StatusSeeOther)
	open := map[string]int{"Olga": 34, "Ana": 55, "Bo": 0, "Cyd": 0}
	rt.owner.estimate(iid, "34").wantStatus(http.StatusSeeOther)
	rt.members[0].estimate(iid, "55").wantStatus(http.StatusSeeOther)
	rt.members[2].estimate(iid, "?").wantStatus(http.StatusSeeOther)
	rt.members[1].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)

	streams := map[string]*stream{}
	groupStreams := map[string]*stream{}
	var events []anonView
	for nick, c := range viewers {
		streams[nick] = openStreamAt(t, rt.srv, c, room+"/events")
		groupStreams[nick] = openStreamAt(t, rt.srv, c, gp+"/events")
		events = append(events,
			anonView{name: "room stream", viewer: nick, body: streams[nick].mustNext().data, revealed: true},
			anonView{name: "group stream", viewer: nick, body: groupStreams[nick].mustNext().data})
	}
	// New events: a countdown starts, runs out with too few votes, a seat changes.
	rt.owner.post(room+"/timer", url.Values{"seconds": {"5"}}).wantStatus(http.StatusSeeOther)
	for nick, s := range streams {
		ev := s.until(2*time.Second, "the countdown", func(ev sse) bool { return strings.Contains(ev.data, "countdown") })
		events = append(events, anonView{name: "countdown event", viewer: nick, body: ev.data, revealed: true})
	}
	rt.members[1].post(gp+"/role", url.Values{"role": {"voter"}}).wantStatus(http.StatusSeeOther)
	for nick, s := range streams {
		ev := s.until(2*time.Second, "the seat change", func(ev sse) bool { return strings.Contains(ev.data, "3 of 4 voted") })
		events = append(events, anonView{name: "seat event", viewer: nick, body: ev.data, revealed: true})
	}
	for nick, s := range groupStreams {
		ev := s.until(2*time.Second, "the group page's update", func(ev sse) bool { return ev.name == "" })
		events = append(events, anonView{name: "group event", viewer: nick, body: ev.data})
	}

	for nick, c := range viewers {
		var pages []anonView
		add := func(name string, r *response, estimate bool) {
			if r.status != http.StatusOK {
				t.Fatalf("%s for %s: %d", name, nick, r.status)
			}
			pages = append(pages, anonView{name: name, viewer: nick, body: r.body, estimate: estimate, revealed: true})
		}
		add("room", c.get(room), true)
		add("room (htmx)", c.htmxFrom(room).get(room), false)
		add("estimate panel (htmx)", c.htmxFrom(room).get(room+"/estimate"), true)
		add("group page", c.get(gp), false)
		add("other room", c.get(fmt.Sprintf("/issues/%d", next)), true)
		if v := open[nick]; v != 0 {
			add("vote answer (htmx)", c.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {strconv.Itoa(v)}}), true)
		}
		for _, pg := range append(pages, events...) {
			if pg.viewer == nick {
				checkAnonymous(t, pg, open)
			}
		}
		// Member rows: a name, and voted / not yet / spectating; nothing more.
		row := regexp.MustCompile(`^(Olga|Ana|Bo|Cyd) (voted|not yet|spectating)( ● here)?$`)
		for _, r := range c.get(room).all("voter") {
			if cells := strings.Join(seatCells(r), " "); !row.MatchString(strings.TrimSpace(cells)) {
				t.Errorf("member row %q", cells)
			}
		}
	}

	// Time runs out on the open round (2 votes would reveal: drop to one).
	rt.members[0].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	rt.members[2].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	rt.ta.clock.Advance(5 * time.Second)
	for nick, s := range streams {
		ev := s.until(3*time.Second, "time up", func(ev sse) bool { return strings.Contains(ev.data, "time-up") })
		checkAnonymous(t, anonView{name: "time-up event", viewer: nick, body: ev.data, revealed: true}, open)
	}

	// The move to another issue sends the new room's head and cards, the same
	// for everyone in a seat, with no value of anyone's.
	rt.owner.post(fmt.Sprintf("/issues/%d/start", next), nil).wantStatus(http.StatusSeeOther)
	for nick, s := range streams {
		ev := s.until(2*time.Second, "the move", func(ev sse) bool { return ev.name == "move" })
		if !strings.Contains(ev.data, fmt.Sprintf(`data-path="/issues/%d"`, next)) {
			t.Errorf("%s: move event %q", nick, truncate(ev.data, 300))
		}
		checkAnonymous(t, anonView{name: "move event", viewer: nick, body: ev.data, estimate: true}, open)
		if strings.Contains(ev.data, `aria-pressed="true"`) {
			t.Errorf("%s: the move event marks a card chosen", nick)
		}
	}

	// The rounds table and the rest of the database: no value of a closed round
	// next to a person, no special card either.
	if n := rt.ta.cardsKept(func(id int64) bool { return id != int64(iid) }); n != 0 {
		t.Errorf("%d per-person values outside the open round", n)
	}
	logs := rt.ta.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		for nick := range viewers {
			if nums := numbersIn(line); strings.Contains(line, nick) && (slices.Contains(nums, 34) || slices.Contains(nums, 55)) {
				t.Errorf("log line names %s near a value: %s", nick, line)
			}
		}
	}
}

// Switching to T-shirt sizes while a round holds votes 21 and 34 is refused
// (409, saying which round and what to do), with and without htmx, and nothing
// changes: revealed on the new deck those votes would read as numbers.
func TestDeckSwitchUnderAnOpenRoundIsRefused(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "SWITCH-1")
	iid := rt.issues[0]
	rt.members[0].estimate(iid, "21").wantStatus(http.StatusSeeOther)
	rt.members[1].estimate(iid, "34").wantStatus(http.StatusSeeOther)
	p := fmt.Sprintf("/groups/%d/settings", rt.gid)
	for _, c := range []*client{rt.owner.plain(), rt.owner.htmxFrom(fmt.Sprintf("/groups/%d", rt.gid))} {
		r := c.post(p, url.Values{"deck": {"tshirt"}, "timer": {"0"}})
		if r.status != http.StatusConflict || !strings.Contains(r.body, "SWITCH-1") {
			t.Errorf("deck switch under an open round (htmx %v): %d %s", c.htmx, r.status, truncate(r.body, 300))
		}
	}
	if got := rt.settings(t).Deck.Spec(); got != store.DeckFibonacci {
		t.Fatalf("the deck is %q after a refused switch", got)
	}
}
