package handlers

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"estimator/store"
)

// Facilitators and quick votes (SPEC "The meeting").

func facilitatorPath(gid int64, uid string) string {
	return fmt.Sprintf("/groups/%d/members/%s/facilitator", gid, uid)
}

func (ta *testApp) roleOf(gid int64, nick string) store.Role {
	ta.t.Helper()
	_, role, err := ta.st.GroupFor(tctx, gid, ta.user(nick).ID)
	if err != nil {
		ta.t.Fatal(err)
	}
	return role
}

// meetingTeam: Olga owns "Team Phoenix" with Ana and Bo; Rem joined and was
// removed; Zed is signed in and in no group.
func meetingTeam(t *testing.T, ta *testApp) (tm team, ana, bo, zed *client) {
	t.Helper()
	tm = ta.team("Team Phoenix", "Olga", "Ana", "Bo", "Rem")
	ana, bo = tm.members[0], tm.members[1]
	tm.owner.post(fmt.Sprintf("/groups/%d/members/%d/remove", tm.gid, ta.user("Rem").ID), nil).wantStatus(http.StatusSeeOther)
	zed = ta.signedIn("Zed")
	return tm, ana, bo, zed
}

// TestFacilitatorSwitchRefusesWhatIsNotAMemberOrNotTheOwner: only the owner
// switches, only a member of the group, only to 1 or 0; every refusal changes
// nothing.
func TestFacilitatorSwitchRefusesWhatIsNotAMemberOrNotTheOwner(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ana, bo, zed := meetingTeam(t, ta)
	id := func(nick string) string { return fmt.Sprint(ta.user(nick).ID) }
	on := url.Values{"facilitator": {"1"}}
	cases := []struct {
		name string
		by   *client
		uid  string
		form url.Values
		want int
	}{
		{"a uid that is not a number", tm.owner, "abc", on, http.StatusNotFound},
		{"uid 0", tm.owner, "0", on, http.StatusNotFound},
		{"a negative uid", tm.owner, "-1", on, http.StatusNotFound},
		{"a uid with a leading zero", tm.owner, "0" + id("Ana"), on, http.StatusNotFound},
		{"a stranger", tm.owner, id("Zed"), on, http.StatusNotFound},
		{"a removed member", tm.owner, id("Rem"), on, http.StatusNotFound},
		{"nobody", tm.owner, "987654", on, http.StatusNotFound},
		{"the owner", tm.owner, id("Olga"), on, http.StatusConflict},
		{"facilitator=2", tm.owner, id("Ana"), url.Values{"facilitator": {"2"}}, http.StatusUnprocessableEntity},
		{"facilitator=yes", tm.owner, id("Ana"), url.Values{"facilitator": {"yes"}}, http.StatusUnprocessableEntity},
		{"no facilitator field", tm.owner, id("Ana"), nil, http.StatusUnprocessableEntity},
		{"a member for themselves", bo, id("Bo"), on, http.StatusForbidden},
		{"a member for another", bo, id("Ana"), on, http.StatusForbidden},
		{"a stranger for a member", zed, id("Ana"), on, http.StatusNotFound},
	}
	for _, c := range cases {
		r := c.by.plain().post(facilitatorPath(tm.gid, c.uid), c.form)
		if r.status != c.want {
			t.Errorf("%s: status %d, want %d", c.name, r.status, c.want)
		}
		if n := ta.countRows("memberships", "facilitator = 1"); n != 0 {
			t.Fatalf("%s: %d facilitators after a refusal", c.name, n)
		}
	}

	tm.owner.plain().post(facilitatorPath(tm.gid, id("Ana")), on).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	if role := ta.roleOf(tm.gid, "Ana"); role != store.RoleFacilitator {
		t.Fatalf("after facilitator=1: %q", role)
	}
	// A facilitator does not hand the role on: that stays the owner's.
	ana.plain().post(facilitatorPath(tm.gid, id("Bo")), on).wantStatus(http.StatusForbidden)
	// Twice is once (a double click).
	tm.owner.plain().post(facilitatorPath(tm.gid, id("Ana")), on).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(facilitatorPath(tm.gid, id("Ana")), url.Values{"facilitator": {"0"}}).wantStatus(http.StatusSeeOther)
	if role := ta.roleOf(tm.gid, "Ana"); role != store.RoleMember {
		t.Fatalf("after facilitator=0: %q", role)
	}
	activity := strings.Join(tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid)).texts("activity-text"), "\n")
	for _, want := range []string{"Olga made Ana a facilitator", "Olga took the facilitator role back from Ana"} {
		if !strings.Contains(activity, want) {
			t.Errorf("the owner's activity has no %q:\n%s", want, activity)
		}
	}
	// With htmx, the same switch answers with the redirect htmx follows.
	tm.owner.htmxFrom(fmt.Sprintf("/groups/%d", tm.gid)).post(facilitatorPath(tm.gid, id("Bo")), on).wantHXRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	if role := ta.roleOf(tm.gid, "Bo"); role != store.RoleFacilitator {
		t.Fatalf("after the htmx switch: %q", role)
	}
}

// TestFacilitatorRunsTheRoomAndTheBacklogButNotTheGroup: a facilitator may
// reveal, time, start, accept, start a new round, add, import, edit and
// delete issues and start quick votes; renaming, settings, the invite,
// handing over, removing, the facilitator switch and deleting the group stay
// the owner's (403); a plain member gets 403 on all of it.
func TestFacilitatorRunsTheRoomAndTheBacklogButNotTheGroup(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ana, bo, _ := meetingTeam(t, ta)
	g := fmt.Sprintf("/groups/%d", tm.gid)
	tm.owner.plain().post(facilitatorPath(tm.gid, fmt.Sprint(ta.user("Ana").ID)), url.Values{"facilitator": {"1"}}).wantStatus(http.StatusSeeOther)
	room := tm.owner.addIssue(tm.gid, "PHX-104", "Checkout: pay with a saved card https://example.com/tickets/PHX-104")
	other := tm.owner.addIssue(tm.gid, "PHX-105", "")
	doomed := tm.owner.addIssue(tm.gid, "PHX-106", "")
	ip := func(id int64, what string) string { return fmt.Sprintf("/issues/%d/%s", id, what) }

	// A member is refused everything a facilitator may do.
	memberRefused := []struct{ method, path string }{
		{"POST", ip(room, "start")}, {"POST", ip(room, "timer")}, {"POST", ip(room, "reveal")},
		{"POST", ip(room, "revote")}, {"POST", ip(room, "accept")}, {"GET", ip(room, "edit")},
		{"POST", ip(room, "edit")}, {"GET", ip(room, "delete")}, {"POST", ip(room, "delete")},
		{"POST", g + "/issues"}, {"POST", g + "/import"}, {"POST", g + "/quick"},
	}
	for _, r := range memberRefused {
		res := bo.plain().do(r.method, r.path, strings.NewReader(""), "application/x-www-form-urlencoded")
		if res.status != http.StatusForbidden {
			t.Errorf("member %s %s: %d, want 403", r.method, r.path, res.status)
		}
	}

	// The facilitator runs the meeting.
	fac := ana.plain()
	fac.post(ip(room, "start"), nil).wantRedirect(fmt.Sprintf("/issues/%d", room))
	fac.post(ip(room, "timer"), url.Values{"seconds": {"90"}}).wantStatus(http.StatusSeeOther)
	tm.owner.estimate(room, "5").wantStatus(http.StatusSeeOther)
	bo.estimate(room, "8").wantStatus(http.StatusSeeOther)
	fac.post(ip(room, "reveal"), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	fac.post(ip(room, "revote"), nil).wantStatus(http.StatusSeeOther)
	tm.owner.estimate(room, "5").wantStatus(http.StatusSeeOther)
	bo.estimate(room, "5").wantStatus(http.StatusSeeOther)
	fac.post(ip(room, "reveal"), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	fac.post(ip(room, "accept"), url.Values{"final": {"5"}}).wantStatus(http.StatusSeeOther)
	fac.get(ip(other, "edit")).wantStatus(http.StatusOK)
	fac.post(ip(other, "edit"), url.Values{"key": {"PHX-105-a"}, "description": {"Edited by the facilitator"}}).wantStatus(http.StatusSeeOther)
	fac.get(ip(doomed, "delete")).wantStatus(http.StatusOK)
	fac.post(ip(doomed, "delete"), nil).wantStatus(http.StatusSeeOther)
	fac.post(g+"/issues", url.Values{"key": {"PHX-107"}}).wantStatus(http.StatusSeeOther)
	fac.post(g+"/import", url.Values{"rows": {"PHX-108,Imported by the facilitator"}, "confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	fac.post(g+"/quick", nil).wantStatus(http.StatusSeeOther)
	is, _, _, err := ta.st.IssueFor(tctx, room, 0)
	if err != nil || is.State != store.StateAccepted || is.Final != 5 {
		t.Fatalf("the facilitator's meeting: %+v %v", is, err)
	}
	for _, key := range []string{"PHX-105-a", "PHX-107", "PHX-108", "Q-1"} {
		ta.issueID(tm.gid, key)
	}

	// What stays the owner's.
	ownerOnly := []struct {
		method, path string
		form         url.Values
	}{
		{"POST", g + "/rename", url.Values{"name": {"Taken over"}}},
		{"POST", g + "/settings", url.Values{"deck": {"tshirt"}, "timer": {"0"}}},
		{"POST", g + "/invite", nil},
		{"GET", g + "/transfer?user=" + fmt.Sprint(ta.user("Ana").ID), nil},
		{"POST", g + "/transfer", url.Values{"user": {fmt.Sprint(ta.user("Ana").ID)}}},
		{"GET", fmt.Sprintf("%s/members/%d/remove", g, ta.user("Bo").ID), nil},
		{"POST", fmt.Sprintf("%s/members/%d/remove", g, ta.user("Bo").ID), nil},
		{"POST", facilitatorPath(tm.gid, fmt.Sprint(ta.user("Bo").ID)), url.Values{"facilitator": {"1"}}},
		{"GET", g + "/delete", nil},
		{"POST", g + "/delete", nil},
	}
	token := ta.inviteToken(tm.gid)
	for _, r := range ownerOnly {
		res := fac.do(r.method, r.path, strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded")
		if res.status != http.StatusForbidden {
			t.Errorf("facilitator %s %s: %d, want 403", r.method, r.path, res.status)
		}
	}
	gr, _, _ := ta.st.GroupFor(tctx, tm.gid, 0)
	if gr.Name != "Team Phoenix" || gr.InviteToken != token || gr.Settings.Deck.Name == "tshirt" || ta.roleOf(tm.gid, "Bo") != store.RoleMember || ta.roleOf(tm.gid, "Olga") != store.RoleOwner {
		t.Fatalf("a facilitator changed the group: %+v", gr)
	}

	// The pages: the facilitator sees the meeting's controls, not the group's.
	page := ana.get(g).wantStatus(http.StatusOK)
	for _, want := range []string{"add-issue-form", "import-summary", "quick-vote-form", "start-issue"} {
		if !page.has(want) {
			t.Errorf("facilitator's group page has no %s", want)
		}
	}
	for _, not := range []string{"settings", "group-settings", "invite", "facilitator-form", "remove-member", "make-owner", "group-activity"} {
		if page.has(not) {
			t.Errorf("facilitator's group page shows the owner's %s", not)
		}
	}
	if s := page.text("group-summary"); !strings.Contains(s, "you are a facilitator") {
		t.Errorf("summary %q", s)
	}
	if r := ana.get(fmt.Sprintf("/issues/%d", other)); !r.has("owner-controls") || r.has("room-invite") {
		t.Errorf("facilitator's room: controls %v, invite %v", r.has("owner-controls"), r.has("room-invite"))
	}
	if r := bo.get(fmt.Sprintf("/issues/%d", other)); r.has("owner-controls") || r.has("quick-vote-form") {
		t.Errorf("a member's room shows the facilitator's controls")
	}
	if r := bo.get(g); r.has("add-issue-form") || r.has("quick-vote-form") || r.has("start-issue") {
		t.Errorf("a member's group page shows the facilitator's controls")
	}
	// The owner's member list: who facilitates, and the switch for each member.
	own := tm.owner.get(g)
	roles := map[string]string{}
	for _, row := range own.all("member-row") {
		roles[attr(row, "data-member")] = textsIn(row, "member-role")[0]
		switch attr(row, "data-member") {
		case "Ana":
			if len(within(row, "facilitator-off")) != 1 {
				t.Errorf("Ana's row has no 'Stop facilitating'")
			}
		case "Bo":
			if len(within(row, "facilitator-on")) != 1 {
				t.Errorf("Bo's row has no 'Make facilitator'")
			}
		case "Olga":
			if len(within(row, "facilitator-form")) != 0 {
				t.Errorf("the owner's row has a facilitator switch")
			}
		}
	}
	if want := map[string]string{"Olga": "owner", "Ana": "facilitator", "Bo": "member"}; !maps.Equal(roles, want) {
		t.Errorf("member list roles %v, want %v", roles, want)
	}
}

// TestQuickVoteKeysAfterDeletes; Q-2 deleted, the next is Q-3 (a
// key a team may have written down is never given again); each lands in its
// room, current at once; the same form twice makes one; a description too
// long is refused with nothing made.
func TestQuickVoteKeysAfterDeletes(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Team Phoenix", "Olga", "Ana")
	g := fmt.Sprintf("/groups/%d", tm.gid)
	quick := func(form url.Values) (int64, string) {
		t.Helper()
		loc := tm.owner.plain().post(g+"/quick", form).wantStatus(http.StatusSeeOther).location()
		var id int64
		if _, err := fmt.Sscanf(loc, "/issues/%d", &id); err != nil || loc != fmt.Sprintf("/issues/%d", id) {
			t.Fatalf("landed on %q, want a room", loc)
		}
		room := tm.owner.get(loc).wantStatus(http.StatusOK)
		if room.text("current-issue") != "The group is estimating this issue now." {
			t.Errorf("%s: %q", room.text("issue-key"), room.text("current-issue"))
		}
		return id, room.text("issue-key")
	}
	_, k1 := quick(url.Values{"description": {"Is the checkout copy final?"}})
	id2, k2 := quick(nil)
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/delete", id2), nil).wantStatus(http.StatusSeeOther)
	_, k3 := quick(nil)
	if k1 != "Q-1" || k2 != "Q-2" || k3 != "Q-3" {
		t.Fatalf("keys %q %q %q, want Q-1 Q-2 Q-3", k1, k2, k3)
	}
	// The form as the page has it: its once follows the current issue, and
	// sent twice it makes one quick vote, both answers in its room.
	page := tm.owner.get(g)
	once, ok := page.inputValue("quick-vote-form", "once")
	if !ok || once == "" {
		t.Fatal("the group page's quick vote has no once")
	}
	f := url.Values{"once": {once}}
	a := tm.owner.plain().post(g+"/quick", f).wantStatus(http.StatusSeeOther).location()
	b := tm.owner.plain().post(g+"/quick", f).wantStatus(http.StatusSeeOther).location()
	if a != b || ta.countRows("issues", "key = 'Q-5'") != 0 || ta.countRows("issues", "key = 'Q-4'") != 1 {
		t.Fatalf("the same form twice: %q and %q", a, b)
	}
	if next, _ := tm.owner.get(a).inputValue("quick-vote-form", "once"); next == once {
		t.Error("the room of the new quick vote offers the old once")
	}
	before := ta.countRows("issues", "")
	tm.owner.plain().post(g+"/quick", url.Values{"description": {strings.Repeat("x", store.IssueDescriptionMax+1)}}).wantStatus(http.StatusUnprocessableEntity)
	tm.owner.plain().post(g+"/quick", url.Values{"once": {"not a token!"}}).wantStatus(http.StatusBadRequest)
	if ta.countRows("issues", "") != before {
		t.Fatal("a refused quick vote added an issue")
	}
}

// TestConcurrentQuickVotesGetDistinctKeys: eight quick votes sent at the same
// moment (the owner and a facilitator, four each, each its own form) get
// eight different keys, Q-1 to Q-8.
func TestConcurrentQuickVotesGetDistinctKeys(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Team Phoenix", "Olga", "Ana")
	tm.owner.plain().post(facilitatorPath(tm.gid, fmt.Sprint(ta.user("Ana").ID)), url.Values{"facilitator": {"1"}}).wantStatus(http.StatusSeeOther)
	const n = 8
	locs, codes := make([]string, n), make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		by := tm.owner
		if i%2 == 1 {
			by = tm.members[0]
		}
		c := *by.plain()
		c.cookies = maps.Clone(by.cookies)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := c.post(fmt.Sprintf("/groups/%d/quick", tm.gid), url.Values{"description": {fmt.Sprintf("Quick question %d", i)}})
			locs[i], codes[i] = r.location(), r.status
		}()
	}
	close(start)
	wg.Wait()
	var keys []string
	for i := range n {
		if codes[i] != http.StatusSeeOther {
			t.Fatalf("quick vote %d: status %d", i, codes[i])
		}
	}
	issues, err := ta.st.GroupIssues(tctx, tm.gid)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issues {
		keys = append(keys, is.Key)
	}
	slices.Sort(keys)
	if want := []string{"Q-1", "Q-2", "Q-3", "Q-4", "Q-5", "Q-6", "Q-7", "Q-8"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	slices.Sort(locs)
	if len(slices.Compact(locs)) != n {
		t.Fatalf("answers %v: not eight rooms", locs)
	}
}

// TestQuickRoomFromMyGroups: "Quick vote" on My Groups makes "<nickname>’s
// room" with Q-1 and lands in its room, the invite link in view with its copy
// button; the link lets a teammate in; the same click twice makes one room.
func TestQuickRoomFromMyGroups(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	nick := "Owner-of-the-backlog-32-chars-ab"
	me := ta.signedIn(nick)
	home := me.get("/").wantStatus(http.StatusOK)
	once, ok := home.inputValue("quick-room-form", "once")
	if !ok || once == "" {
		t.Fatal("My Groups has no quick vote with a once")
	}
	a := me.htmxFrom("/").post("/quick", url.Values{"once": {once}}).wantStatus(http.StatusOK).location()
	b := me.htmxFrom("/").post("/quick", url.Values{"once": {once}}).wantStatus(http.StatusOK).location()
	if a != b || ta.countRows("groups", "") != 1 {
		t.Fatalf("the same click twice: %q, %q, %d groups", a, b, ta.countRows("groups", ""))
	}
	room := me.get(a).wantStatus(http.StatusOK)
	if room.text("issue-key") != "Q-1" || room.text("group-crumb") != nick+"’s room" {
		t.Fatalf("landed in %q of %q", room.text("issue-key"), room.text("group-crumb"))
	}
	inv := room.all("room-invite")
	if len(inv) != 1 || !hasAttr(inv[0], "open") {
		t.Fatal("the invite link is not in view in the new room")
	}
	vals := room.all("invite-link")
	if len(vals) != 1 || !strings.Contains(attr(vals[0], "value"), "/join/") || !room.has("copy-invite") {
		t.Fatalf("invite link %v, copy button %v", vals, room.has("copy-invite"))
	}
	joinURL := attr(vals[0], "value")
	path := joinURL[strings.Index(joinURL, "/join/"):]
	mate := ta.signedIn("Teammate")
	mate.plain().post(path, nil).wantStatus(http.StatusSeeOther)
	if r := mate.get(a).wantStatus(http.StatusOK); r.has("room-invite") || r.text("issue-key") != "Q-1" {
		t.Fatal("the teammate's room: not Q-1, or shows the invite")
	}
	// Once someone joined, the owner's invite is folded away, still there.
	if inv := me.get(a).all("room-invite"); len(inv) != 1 || hasAttr(inv[0], "open") {
		t.Fatal("after a teammate joined the invite should be there, folded")
	}
	// A name of one's own; a bad one is refused with nothing made.
	c := me.plain().post("/quick", url.Values{"name": {"Friday triage"}}).wantStatus(http.StatusSeeOther)
	if r := me.get(c.location()); r.text("group-crumb") != "Friday triage" || r.text("issue-key") != "Q-1" {
		t.Fatalf("named room: %q %q", r.text("group-crumb"), r.text("issue-key"))
	}
	me.plain().post("/quick", url.Values{"name": {strings.Repeat("n", 81)}}).wantStatus(http.StatusUnprocessableEntity)
	if ta.countRows("groups", "") != 2 {
		t.Fatal("a refused name made a group")
	}
	// Signed out, the click is kept for after sign-in, not lost.
	if r := ta.client().plain().post("/quick", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Fatalf("signed out: %d %q", r.status, r.location())
	}
}

// TestMakingAFacilitatorUpdatesTheirOpenPages: the member's open group page
// hears of it at once and shows the meeting's controls; their room shows the
// facilitator's controls too.
func TestMakingAFacilitatorUpdatesTheirOpenPages(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 2)
	mia := rd.members[0]
	group := openStreamAt(t, rd.srv, mia, fmt.Sprintf("/groups/%d/events", rd.groupID))
	room := openStream(t, rd.srv, mia, rd.issueID)
	if first := group.mustNext(); strings.Contains(first.data, "start-issue") {
		t.Fatal("a member's live group page has the start buttons before")
	}
	if first := room.mustNext(); strings.Contains(first.data, "owner-controls") {
		t.Fatal("a member's live room has the controls before")
	}
	rd.owner.plain().post(facilitatorPath(rd.groupID, fmt.Sprint(ta.user("member1").ID)), url.Values{"facilitator": {"1"}}).wantStatus(http.StatusSeeOther)
	group.until(5*time.Second, "the start buttons", func(ev sse) bool {
		return strings.Contains(ev.data, `data-testid="start-issue"`) && strings.Contains(ev.data, `data-testid="quick-vote-form"`)
	})
	room.until(5*time.Second, "the facilitator's controls", func(ev sse) bool { return strings.Contains(ev.data, `data-testid="owner-controls"`) })
	// The other member's page is untouched by it.
	other := openStreamAt(t, rd.srv, rd.members[1], fmt.Sprintf("/groups/%d/events", rd.groupID))
	if ev := other.mustNext(); strings.Contains(ev.data, "start-issue") {
		t.Fatal("another member's page shows the facilitator's controls")
	}
}
