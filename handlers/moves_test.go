package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"estimator/internal/testkit"
)

// openStreamFrom is openStreamAt with the Last-Event-ID a reconnecting page
// sends.
func openStreamFrom(t testing.TB, rt *roomTeam, c *client, path, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rt.srv.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("Accept", "text/html, text/event-stream")
	req.Header.Set("Last-Event-ID", lastID)
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := rt.srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return &stream{Stream: testkit.NewStream(t, resp, cancel), t: t, resp: resp}
}

// quietly reads a stream's events until none comes for a while.
func quietly(s *stream, quiet time.Duration) []sse {
	var out []sse
	for {
		ev, ok := s.next(quiet)
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

// secondBrowser signs the person of c in on another browser (another
// session) with their personal sign-in link.
func secondBrowser(t testing.TB, ta *testApp, c *client) *client {
	t.Helper()
	c.post("/account/signin-link", nil).wantStatus(http.StatusSeeOther)
	r := c.get("/account").wantStatus(http.StatusOK)
	link, ok := r.inputValue("signin-link", "")
	if !ok {
		link = attr(r.all("signin-link")[0], "value")
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	other := ta.client()
	other.post(u.Path, nil).wantStatus(http.StatusSeeOther)
	return other
}

var chosenCard = regexp.MustCompile(`value="([^"]+)" class="card[^"]* chosen"`)

// ownCardsIn says whether an event is someone's own cards, and which card
// they mark chosen ("" for none).
func ownCardsIn(ev sse) (bool, string) {
	if !strings.Contains(ev.data, `<hx-partial hx-target="#estimate-panel"`) {
		return false, ""
	}
	m := chosenCard.FindStringSubmatch(ev.data)
	if m == nil {
		return true, ""
	}
	return true, m[1]
}

// A vote made in one tab marks the chosen card in every other open room of
// the same person (same browser, another browser) within a second; the
// streams of everyone else, the spectator's and the owner's included, never
// carry it: not the cards, not the value, not a byte that differs with it.
func TestOwnVoteReachesEveryTabOfTheVoterAndNobodyElse(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "PHX-1042-checkout-v2")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	gp := fmt.Sprintf("/groups/%d", rt.gid)
	rt.owner.post(room+"/start", nil).wantStatus(http.StatusSeeOther)
	rt.members[2].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	ana, anaPhone := rt.members[0], secondBrowser(t, rt.ta, rt.members[0])
	mine := map[string]*stream{
		"Ana's tab":       openStream(t, rt.srv, ana, iid),
		"Ana's other tab": openStream(t, rt.srv, ana, iid),
		"Ana's phone":     openStream(t, rt.srv, anaPhone, iid),
	}
	if ana.sessionID() == anaPhone.sessionID() {
		t.Fatal("the phone shares the laptop's session")
	}
	others := map[string]*stream{
		"Olga (owner)":     openStream(t, rt.srv, rt.owner, iid),
		"Bo":               openStream(t, rt.srv, rt.members[1], iid),
		"Cyd (spectator)":  openStream(t, rt.srv, rt.members[2], iid),
		"Ana's group page": openStreamAt(t, rt.srv, ana, gp+"/events"),
	}
	for _, s := range mine {
		s.mustNext()
	}
	for _, s := range others {
		s.mustNext()
	}

	sizes := map[int]bool{}
	for _, vote := range []string{"34", "?", "13", "coffee", "100"} {
		ana.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {vote}}).wantStatus(http.StatusOK)
		started := time.Now()
		for name, s := range mine {
			ev := s.until(time.Second, "Ana's own cards", func(ev sse) bool { own, _ := ownCardsIn(ev); return own })
			if _, chosen := ownCardsIn(ev); chosen != vote {
				t.Errorf("%s: own cards mark %q chosen, want %q", name, chosen, vote)
			}
			sizes[len(ev.data)] = true
		}
		if took := time.Since(started); took > time.Second {
			t.Errorf("own cards took %v", took)
		}
	}
	// Even on her own streams, the event's size does not tell the vote.
	if len(sizes) != 1 {
		t.Errorf("own cards of different votes have different sizes: %v", sizes)
	}
	bo := rt.members[1]
	bo.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {"21"}}).wantStatus(http.StatusOK)
	for name, s := range others {
		for _, ev := range quietly(s, 500*time.Millisecond) {
			if own, chosen := ownCardsIn(ev); name == "Bo" && own && chosen == "21" {
				continue // Bo's own vote, to Bo
			}
			if strings.Contains(ev.data, "estimate-panel") || chosenCard.MatchString(ev.data) || strings.Contains(ev.data, `aria-pressed="true"`) ||
				regexp.MustCompile(`\b(34|13)\b`).MatchString(ev.data) {
				t.Errorf("%s's stream carried someone's own cards or value: %q", name, truncate(ev.data, 400))
			}
		}
	}
	// Bo's own vote went to Bo alone: Ana's streams never carry it.
	for name, s := range mine {
		for _, ev := range quietly(s, 300*time.Millisecond) {
			if own, chosen := ownCardsIn(ev); own && chosen != "100" {
				t.Errorf("%s got own cards marking %q", name, chosen)
			}
		}
	}
}

// A move takes every room to the started issue over the stream it has: the
// head and the cards are the same bytes for everyone in a seat, and a vote
// given there ahead comes after, to its voter's streams alone.
func TestAMoveSendsTheSameRoomToEverySeatAndAnAheadVoteToItsVoterOnly(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "NOW-1", "AHEAD-2")
	one, two := rt.issues[0], rt.issues[1]
	gp := fmt.Sprintf("/groups/%d", rt.gid)
	rt.owner.post(fmt.Sprintf("/issues/%d/start", one), nil).wantStatus(http.StatusSeeOther)
	rt.members[0].estimate(two, "55").wantStatus(http.StatusSeeOther) // ahead
	rt.members[2].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	names := []string{"Olga", "Ana", "Bo", "Cyd"}
	people := append([]*client{rt.owner}, rt.members...)
	streams := make([]*stream, len(people))
	for i, c := range people {
		streams[i] = openStream(t, rt.srv, c, one)
		streams[i].mustNext()
	}
	rt.owner.post(fmt.Sprintf("/issues/%d/start", two), nil).wantStatus(http.StatusSeeOther)
	moves := map[string]string{}
	for i, s := range streams {
		evs := []sse{s.until(time.Second, "the move", func(ev sse) bool { return ev.name == "move" })}
		evs = append(evs, quietly(s, 400*time.Millisecond)...)
		moves[names[i]] = evs[0].data
		var owns []string
		for _, ev := range evs {
			if own, chosen := ownCardsIn(ev); own {
				owns = append(owns, chosen)
			}
			if ev.name == "" && !strings.Contains(ev.data, "hx-partial") && !strings.HasPrefix(ev.id, fmt.Sprintf("%d-", two)) {
				t.Errorf("%s: a live update of another issue after the move: id %q", names[i], ev.id)
			}
		}
		want := []string(nil)
		if names[i] == "Ana" {
			want = []string{"55"}
		}
		if fmt.Sprint(owns) != fmt.Sprint(want) {
			t.Errorf("%s: own cards after the move %q, want %q", names[i], owns, want)
		}
	}
	if moves["Olga"] != moves["Ana"] || moves["Ana"] != moves["Bo"] {
		t.Error("the voters' move events differ from person to person")
	}
	if moves["Cyd"] == moves["Bo"] || !strings.Contains(moves["Cyd"], `data-testid="spectating"`) {
		t.Error("the spectator's move event is not the spectator's")
	}
	for name, m := range moves {
		if chosenCard.MatchString(m) || strings.Contains(m, `aria-pressed="true"`) {
			t.Errorf("%s's move event marks a vote", name)
		}
	}
}

// A page that moved with its group and reconnects (to the address it was
// loaded from) gets the issue it shows now, which the last event's id names;
// if that issue was the group's current one ("-c") and the group moved on
// while the stream was closed (a tab in the background), it gets the move.
// An id naming an issue of another group, or nonsense, is ignored.
func TestAReconnectFollowsTheIssueShownAndAMoveMissed(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "FROM-1", "TO-2", "BROWSED-3")
	one, two, three := rt.issues[0], rt.issues[1], rt.issues[2]
	stranger := rt.ta.signedIn("Stranger-with-a-32-char-nickname")
	otherGroup := stranger.createGroup("Elsewhere")
	rt.members[0].join(otherGroup)
	foreign := stranger.addIssue(otherGroup, "SECRET-9", "not yours to follow")
	rt.owner.post(fmt.Sprintf("/issues/%d/start", two), nil).wantStatus(http.StatusSeeOther)
	path := fmt.Sprintf("/issues/%d/events", one)
	type want struct {
		issue int64
		move  bool
	}
	for lastID, w := range map[string]want{
		fmt.Sprintf("%d-7", two):       {two, false},
		fmt.Sprintf("%d-7-c", two):     {two, false},
		fmt.Sprintf("%d-4", three):     {three, false}, // browsing another issue: it stays
		fmt.Sprintf("%d-4-c", three):   {two, true},    // it was current: the move it missed
		fmt.Sprintf("%d-3-c", one):     {two, true},
		fmt.Sprintf("%d-1", foreign):   {one, false},
		fmt.Sprintf("%d-1-c", foreign): {one, false},
		"":                             {one, false},
		"x-1":                          {one, false},
		"-3":                           {one, false},
		"99999999-1-c":                 {one, false},
		fmt.Sprintf("%d-1-c-c", three): {one, false},
	} {
		s := openStreamFrom(t, rt, rt.members[0], path, lastID)
		ev := s.mustNext()
		if moved := ev.name == "move"; moved != w.move {
			t.Errorf("Last-Event-ID %q: first event %q, want a move: %v", lastID, ev.name, w.move)
		}
		if ev.name == "move" {
			if !strings.Contains(ev.data, fmt.Sprintf(`data-path="/issues/%d"`, w.issue)) {
				t.Errorf("Last-Event-ID %q: a move elsewhere: %q", lastID, truncate(ev.data, 200))
			}
			ev = s.mustNext()
		}
		if !strings.HasPrefix(ev.id, fmt.Sprintf("%d-", w.issue)) {
			t.Errorf("Last-Event-ID %q: state id %q, want issue %d", lastID, ev.id, w.issue)
		}
		if tagged := strings.HasSuffix(ev.id, "-c"); tagged != (w.issue == two) {
			t.Errorf("state id %q: tagged current %v, want %v", ev.id, tagged, w.issue == two)
		}
		s.close()
	}
}

// The group page is live: members joining, changing seat or leaving, and
// issues added, imported, edited, deleted, revealed and accepted show on
// every open group page over the stream it has, each within a second.
func TestGroupPageShowsMembersAndIssuesLive(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "GP-1", "GP-2")
	one, two := rt.issues[0], rt.issues[1]
	gp := fmt.Sprintf("/groups/%d", rt.gid)
	pages := map[string]*stream{
		"owner":  openStreamAt(t, rt.srv, rt.owner, gp+"/events"),
		"member": openStreamAt(t, rt.srv, rt.members[1], gp+"/events"),
	}
	for _, s := range pages {
		s.mustNext()
	}
	see := func(what string, ok func(string) bool) {
		t.Helper()
		for name, s := range pages {
			s.until(time.Second, name+"'s page: "+what, func(ev sse) bool { return ev.name == "" && ok(ev.data) })
		}
	}
	has := func(parts ...string) func(string) bool {
		return func(d string) bool {
			for _, p := range parts {
				if !strings.Contains(d, p) {
					return false
				}
			}
			return true
		}
	}
	const newcomer = "Newcomer-with-32-chars-nickname1"
	nc := rt.ta.signedIn(newcomer)
	nc.join(rt.gid)
	see("the newcomer joined", has(`data-member="`+newcomer+`"`, "5 members"))
	rt.members[2].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	see("Cyd's seat", func(d string) bool {
		return regexp.MustCompile(`data-member="Cyd"[^>]*>.*?data-testid="member-seat">spectator<`).MatchString(d)
	})
	nc.post(gp+"/leave", nil).wantStatus(http.StatusSeeOther)
	see("the newcomer left", func(d string) bool { return !strings.Contains(d, newcomer) && strings.Contains(d, "4 members") })

	rt.owner.addIssue(rt.gid, "GP-3-added", "")
	see("the added issue", has(`data-key="GP-3-added"`))
	rt.owner.post(gp+"/import", url.Values{"rows": {"GP-4-imported,From a spreadsheet"}, "confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	see("the imported issue", has(`data-key="GP-4-imported"`))
	rt.owner.post(fmt.Sprintf("/issues/%d/edit", two), url.Values{"key": {"GP-2-edited"}, "description": {"new words"}}).wantStatus(http.StatusSeeOther)
	see("the edited issue", func(d string) bool {
		return strings.Contains(d, `data-key="GP-2-edited"`) && !strings.Contains(d, `data-key="GP-2"`)
	})
	rt.owner.post(fmt.Sprintf("/issues/%d/delete", two), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	see("the deleted issue gone", func(d string) bool {
		return strings.Contains(d, `data-key="GP-1"`) && !strings.Contains(d, "GP-2-edited")
	})
	for _, c := range []*client{rt.owner, rt.members[0]} {
		c.estimate(one, "8").wantStatus(http.StatusSeeOther)
	}
	rt.owner.post(fmt.Sprintf("/issues/%d/reveal", one), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	see("the reveal", func(d string) bool {
		return regexp.MustCompile(`data-key="GP-1"[^>]*>.*?data-testid="issue-state">revealed<`).MatchString(d)
	})
	rt.owner.post(fmt.Sprintf("/issues/%d/accept", one), url.Values{"final": {"8"}}).wantStatus(http.StatusSeeOther)
	see("the accepted estimate", func(d string) bool {
		return regexp.MustCompile(`data-key="GP-1"[^>]*>.*?data-testid="issue-state">accepted<`).MatchString(d)
	})
}

// The tab that voted (its page names itself with X-Estimator-Tab, on its
// stream and its vote) has its cards in the vote's answer: its stream does
// not get them again, the person's other tab does; a vote that names no tab
// (no script, or another page) reaches every stream of theirs; a header that
// is no tab id counts as none.
func TestTheTabThatVotedGetsItsCardsFromTheAnswerOnly(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "PHX-1042-checkout-v2")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	ana := rt.members[0]
	laptop, phone := ana.with(TabHeader, "laptop-Zq3_9xY0aBcD"), ana.with(TabHeader, "phone-8xY-0")
	streams := map[string]*stream{
		"laptop": openStream(t, rt.srv, laptop, iid),
		"phone":  openStream(t, rt.srv, phone, iid),
	}
	for _, s := range streams {
		s.mustNext()
	}
	// ownParts reads a stream until its own cards mark want, and says which
	// own cards came before.
	ownParts := func(name, want string) []string {
		t.Helper()
		var seen []string
		streams[name].until(2*time.Second, name+"'s own cards marking "+want, func(ev sse) bool {
			own, chosen := ownCardsIn(ev)
			if own {
				seen = append(seen, chosen)
			}
			return own && chosen == want
		})
		return seen
	}
	vote := func(from *client, card string) {
		t.Helper()
		from.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {card}}).wantStatus(http.StatusOK)
	}
	// Own cards show the vote as it is when they are rendered: each vote
	// is read by the other tab before the next is made.
	vote(laptop, "5")
	if got := ownParts("phone", "5"); !slices.Equal(got, []string{"5"}) {
		t.Errorf("the phone's stream got own cards %q", got)
	}
	vote(phone, "13")
	if got := ownParts("laptop", "13"); !slices.Equal(got, []string{"13"}) {
		t.Errorf("the laptop's stream got own cards %q: its own vote's again", got)
	}
	// The phone's own vote did not come back to it: the next own cards it
	// gets are those of a vote that names no tab, which both get.
	vote(ana, "21")
	if got := ownParts("phone", "21"); !slices.Equal(got, []string{"21"}) {
		t.Errorf("the phone's stream got own cards %q after its own vote", got)
	}
	ownParts("laptop", "21")
	vote(ana.with(TabHeader, "not a tab id!"), "34")
	ownParts("laptop", "34")
	ownParts("phone", "34")
}
