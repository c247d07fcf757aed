package handlers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"estimator/internal/testkit"
	"estimator/store"
)

// aheadTeam is an owner and three voters with 32-character nicknames, and
// three issues with keys like a tracker's.
func aheadTeam(ta *testApp) (tm team, ids []int64) {
	tm = ta.team("Ahead of the planning meeting", "Facilitator-of-the-planning-day1",
		"Ana-Maria-from-the-backend-team1", "Bertrand-of-the-mobile-squad-xyz", "Chiara.di.Lorenzo_frontend-0042a")
	for _, k := range []string{"SHOP-101", "SHOP-102", "SHOP-103"} {
		ids = append(ids, tm.owner.addIssue(tm.gid, k, "Checkout: "+k+" https://tracker.example.com/browse/"+k+"?focusedCommentId=12345"))
	}
	return
}

func aheadForm(hours string, ids ...int64) url.Values {
	f := url.Values{"hours": {hours}}
	for _, id := range ids {
		f.Add("issue", fmt.Sprint(id))
	}
	return f
}

func TestOpenAheadRefusesBadHoursAnotherGroupsIssueAndMembers(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadTeam(ta)
	otherGroup := tm.owner.createGroup("Another team of the same owner")
	foreign := tm.owner.addIssue(otherGroup, "OTHER-1", "")
	path := fmt.Sprintf("/groups/%d/ahead", tm.gid)
	for name, form := range map[string]url.Values{
		"hours 0":              aheadForm("0", ids[0]),
		"hours 337":            aheadForm("337", ids[0]),
		"hours 2.5":            aheadForm("2.5", ids[0]),
		"no issue":             aheadForm("24"),
		"an issue of another":  aheadForm("24", ids[0], foreign),
		"an issue id not a no": {"hours": {"24"}, "issue": {"SHOP-101"}},
	} {
		r := tm.owner.plain().post(path, form).wantStatus(http.StatusUnprocessableEntity)
		if !r.has("ahead-form") {
			t.Errorf("%s: the form is not sent back", name)
		}
	}
	if n := ta.countRows("issues", "ahead_until IS NOT NULL"); n != 0 {
		t.Fatalf("%d issues opened ahead by refused forms", n)
	}
	// A member who does not run the meeting may not.
	tm.members[0].plain().post(path, aheadForm("24", ids[0])).wantStatus(http.StatusForbidden)
	tm.owner.plain().post(path, aheadForm("336", ids...)).wantStatus(http.StatusSeeOther)
	if n := ta.countRows("issues", "ahead_until IS NOT NULL"); n != 3 {
		t.Fatalf("%d issues opened ahead, want 3", n)
	}
	page := tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid)).wantStatus(http.StatusOK)
	if got := len(page.all("ahead-until")); got != 3 {
		t.Errorf("the backlog marks %d issues with their deadline, want 3", got)
	}
}

// TestWalkThroughTheIssuesWaitingForMyVote: My Groups says how many wait;
// the walk shows one, the vote (with a note) goes on to the next, without
// JavaScript; a note of 281 characters is sent back (422) on the same issue.
func TestWalkThroughTheIssuesWaitingForMyVote(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadTeam(ta)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/ahead", tm.gid), aheadForm("48", ids...)).wantStatus(http.StatusSeeOther)
	ana := tm.members[0]
	home := ana.get("/").wantStatus(http.StatusOK)
	if got := home.text("group-waiting"); got != "3 wait for your vote" {
		t.Errorf("My Groups says %q", got)
	}
	if !home.has("ahead-vote-now") {
		t.Error("My Groups has no way to the walk")
	}
	walk := fmt.Sprintf("/groups/%d/ahead", tm.gid)
	r := ana.get(walk).wantStatus(http.StatusOK)
	if r.text("ahead-key") != "SHOP-101" || !strings.Contains(r.text("ahead-progress"), "1 of 3") {
		t.Fatalf("the walk starts on %q (%q)", r.text("ahead-key"), r.text("ahead-progress"))
	}
	long := strings.Repeat("ü", store.NoteMax+1)
	r = ana.plain().post(fmt.Sprintf("/issues/%d/estimate", ids[0]), url.Values{"estimate": {"5"}, "note": {long}, "then": {"ahead"}}).
		wantStatus(http.StatusUnprocessableEntity)
	if r.text("ahead-key") != "SHOP-101" || !strings.Contains(r.body, "at most 280 characters") {
		t.Errorf("a note of 281 characters: on %q, %s", r.text("ahead-key"), truncate(r.body, 200))
	}
	if n := ta.countRows("ballots", "1=1"); n != 0 {
		t.Fatalf("the refused vote was kept (%d ballots)", n)
	}
	ana.plain().post(fmt.Sprintf("/issues/%d/estimate", ids[0]), url.Values{"estimate": {"5"}, "note": {"Only the API changes"}, "then": {"ahead"}}).
		wantRedirect(walk)
	r = ana.get(walk)
	if r.text("ahead-key") != "SHOP-102" || !strings.Contains(r.text("ahead-progress"), "1 of 2") {
		t.Errorf("after the vote, the walk is on %q (%q)", r.text("ahead-key"), r.text("ahead-progress"))
	}
	// Skipping goes to the next, and wraps round.
	r = ana.get(fmt.Sprintf("%s?after=%d", walk, ids[1]))
	if r.text("ahead-key") != "SHOP-103" {
		t.Errorf("skipped to %q", r.text("ahead-key"))
	}
	for _, id := range ids[1:] {
		ana.plain().post(fmt.Sprintf("/issues/%d/estimate", id), url.Values{"estimate": {"?"}, "then": {"ahead"}}).wantRedirect(walk)
	}
	if r := ana.get(walk); !r.has("ahead-done") {
		t.Errorf("nothing left, yet the walk shows %q", r.text("ahead-key"))
	}
	if r := ana.get(fmt.Sprintf("/issues/%d", ids[0])); !strings.Contains(r.text("ahead-room-until"), "Votes until") {
		t.Error("the room does not show the deadline")
	}
	if home := ana.get("/"); home.has("group-waiting") || home.has("ahead-vote-now") {
		t.Error("My Groups still says issues wait")
	}
	// The room shows one's own note while the round is open.
	if r := ana.get(fmt.Sprintf("/issues/%d", ids[0])); !strings.Contains(r.body, ">Only the API changes</textarea>") {
		t.Error("the room does not show one's own note")
	}
}

// aheadRound: three people vote ahead on three issues with notes; the
// deadline passes (the test's clock; the app's own loop reveals).
func aheadRound(t *testing.T, ta *testApp) (tm team, ids []int64) {
	t.Helper()
	tm, ids = aheadTeam(ta)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/ahead", tm.gid), aheadForm("2", ids...)).wantStatus(http.StatusSeeOther)
	// The owner watches: three voters.
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	votes := [][]string{{"5", "5", "5"}, {"3", "8", "13"}, {"8", "?", "coffee"}}
	notes := [][]string{{"Same as SHOP-12", "", ""}, {"Only the API", "The payment provider has no sandbox", "Legacy importer, no tests"}, {"", "", ""}}
	for i, id := range ids {
		for j, m := range tm.members {
			m.plain().post(fmt.Sprintf("/issues/%d/estimate", id), url.Values{"estimate": {votes[i][j]}, "note": {notes[i][j]}, "then": {"ahead"}}).
				wantStatus(http.StatusSeeOther)
		}
	}
	ta.clock.Advance(2*time.Hour + time.Second)
	testkit.Eventually(t, 5*time.Second, "the deadline's reveal", func() bool {
		return ta.countRows("issues", "ahead_fired = 1") == 3
	})
	return tm, ids
}

func TestDeadlineRevealsWithNobodyConnectedAndTellsTheFacilitator(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadRound(t, ta)
	if n := ta.countRows("issues", "state = 'revealed'"); n != 2 {
		t.Fatalf("%d rounds revealed at the deadline, want 2", n)
	}
	page := tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid))
	if got := page.text("ahead-ready"); !strings.Contains(got, "1 result with consensus, 1 to discuss, 1 still open") {
		t.Errorf("the facilitator is told %q", got)
	}
	if got := page.text("consensus-mark"); got != "consensus: 5" {
		t.Errorf("the consensus mark: %q", got)
	}
	if !page.has("ahead-short") {
		t.Error("the round left open does not say why")
	}
	if r := tm.members[0].get(fmt.Sprintf("/issues/%d", ids[2])); !r.has("ahead-room-short") {
		t.Error("the room of the round left open does not say why")
	}
	acts := page.texts("activity-text")
	if !strings.Contains(strings.Join(acts, "|"), "The deadline passed: round 1 of SHOP-101 was revealed (3 votes)") ||
		!strings.Contains(strings.Join(acts, "|"), "opened 3 issues for votes ahead, for 2 hours") {
		t.Errorf("the activity reads %q", acts)
	}
	if tm.members[0].get(fmt.Sprintf("/groups/%d", tm.gid)).has("accept-consensus") {
		t.Error("a member is offered to accept the consensus")
	}
	room := tm.members[0].get(fmt.Sprintf("/issues/%d", ids[1]))
	if got := room.texts("note-text"); len(got) != 3 {
		t.Errorf("the room of the round to discuss shows notes %q", got)
	}
	for _, m := range []string{"Ana-Maria", "Bertrand", "Chiara"} {
		for _, li := range room.texts("note") {
			if strings.Contains(li, m) {
				t.Errorf("a note shows a name: %q", li)
			}
		}
	}
}

// TestAcceptConsensusInOneStep accepts the consensus result, leaves the one
// to discuss, and takes the group to it.
func TestAcceptConsensusInOneStep(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadRound(t, ta)
	path := fmt.Sprintf("/groups/%d/accept-consensus", tm.gid)
	tm.members[0].plain().post(path, url.Values{}).wantStatus(http.StatusForbidden)
	tm.owner.plain().post(path, url.Values{}).wantRedirect(fmt.Sprintf("/issues/%d", ids[1]))
	if n := ta.countRows("issues", "state = 'accepted' AND final_estimate = 5 AND id = ?", ids[0]); n != 1 {
		t.Error("the consensus result is not accepted with its value")
	}
	if n := ta.countRows("issues", "state = 'revealed' AND id = ?", ids[1]); n != 1 {
		t.Error("the result to discuss was accepted")
	}
	if n := ta.countRows("groups", "current_issue_id = ?", ids[1]); n != 1 {
		t.Error("the group is not taken to the issue to discuss")
	}
	// Again (a double click): nothing more.
	tm.owner.plain().post(path, url.Values{}).wantStatus(http.StatusSeeOther)
	if n := ta.countRows("issues", "state = 'accepted'"); n != 1 {
		t.Errorf("%d accepted after a second click", n)
	}
}

// TestNotesAfterTheReveal: the lowest and the highest voters are invited on
// their own page; the page of the middle voter is as long, byte for byte;
// a spectator's, a second, a 281-character note, a note before the reveal
// from someone who did not vote, and an uninvited one are refused.
func TestNotesAfterTheReveal(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadRound(t, ta)
	room := fmt.Sprintf("/issues/%d", ids[1])
	note := room + "/note"
	low, mid, high := tm.members[0], tm.members[1], tm.members[2]
	pages := map[string]*response{}
	for range 2 { // the second time, everyone is "here" on every page
		for name, c := range map[string]*client{"low": low, "mid": mid, "high": high} {
			pages[name] = c.get(room).wantStatus(http.StatusOK)
		}
	}
	if got := pages["low"].text("note-invite"); !strings.Contains(got, "You were among the lowest — add a note for the team?") {
		t.Errorf("the lowest voter's page: %q", got)
	}
	if got := pages["high"].text("note-invite"); !strings.Contains(got, "You were among the highest — add a note for the team?") {
		t.Errorf("the highest voter's page: %q", got)
	}
	if pages["mid"].has("note-invite-form") {
		t.Error("the middle voter is invited")
	}
	// The invitation block is as long for everyone (the pages differ only by
	// the nickname in the navigation, of the same length here).
	for _, name := range []string{"low", "high"} {
		if len(pages[name].body) != len(pages["mid"].body) {
			t.Errorf("the %s voter's page has %d bytes, the middle one's %d", name, len(pages[name].body), len(pages["mid"].body))
		}
	}
	// The spectator (the owner), and someone who did not vote, before the reveal.
	tm.owner.plain().post(note, url.Values{"note": {"I watched"}}).wantStatus(http.StatusForbidden)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"voter"}}).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/note", ids[2]), url.Values{"note": {"Too early"}}).wantStatus(http.StatusConflict)
	tm.owner.plain().post(note, url.Values{"note": {"Not invited"}}).wantStatus(http.StatusForbidden)
	mid.plain().post(note, url.Values{"note": {"Not invited either"}}).wantStatus(http.StatusForbidden)
	r := high.plain().post(note, url.Values{"note": {strings.Repeat("x", store.NoteMax+1)}}).wantStatus(http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "at most 280 characters") {
		t.Errorf("281 characters: %s", truncate(r.text("note-invite"), 200))
	}
	high.plain().post(note, url.Values{"note": {"Nobody has used the sandbox; I counted a spike"}}).wantRedirect(room)
	high.plain().post(note, url.Values{"note": {"And another"}}).wantStatus(http.StatusConflict)
	if n := ta.countRows("issue_rounds", "issue_id = ? AND notes LIKE ?", ids[1], "%counted a spike%"); n != 1 {
		t.Error("the note is not in the round")
	}
	after := mid.get(room)
	found := false
	for _, li := range after.texts("note") {
		if strings.Contains(li, "counted a spike") {
			found = strings.HasPrefix(strings.TrimSpace(li), "13")
		}
	}
	if !found {
		t.Errorf("the added note is not beside the highest card: %q", after.texts("note"))
	}
	if got := high.get(room).text("note-added"); got == "" {
		t.Error("the invited voter is not told the note is added")
	}
	// Nothing an operator reads names a note or a token.
	logs := ta.logs.String()
	for _, secret := range []string{"counted a spike", "payment provider", high.cookies[noteCookie(ids[1])].Value} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
}

// TestNoteAnswerSizeTellsNothing: the answer to a vote with a note, the
// cards panel and the room showing one's own note have one length whatever
// the note (empty, one character, 280 characters of CJK, every character one
// that HTML escapes), so a size on the wire or in the log does not pair a
// note with the person who sent it.
func TestNoteAnswerSizeTellsNothing(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadTeam(ta)
	ana := tm.members[0]
	room := fmt.Sprintf("/issues/%d", ids[0])
	path := room + "/estimate"
	notes := []string{"", "x", strings.Repeat("見", store.NoteMax), strings.Repeat("'", store.NoteMax), strings.Repeat("&", store.NoteMax),
		"Needs a migration — see https://tracker.example.com/browse/SHOP-7?x=1&y=2"}
	kinds := map[string]map[int][]string{}
	note := func(kind string, r *response, n string) {
		t.Helper()
		if kinds[kind] == nil {
			kinds[kind] = map[int][]string{}
		}
		kinds[kind][len(r.body)] = append(kinds[kind][len(r.body)], truncate(n, 10))
	}
	hx := ana.htmxFrom(room).with("Accept-Encoding", "gzip")
	ana.get(room) // takes the notice of joining
	for _, n := range notes {
		note("htmx answer", hx.post(path, url.Values{"estimate": {"5"}, "note": {n}}).wantStatus(http.StatusOK), n)
		note("htmx cards panel", hx.get(path).wantStatus(http.StatusOK), n)
		note("room", ana.plain().with("Accept-Encoding", "gzip").get(room).wantStatus(http.StatusOK), n)
	}
	for kind, byLen := range kinds {
		if len(byLen) != 1 {
			t.Errorf("%s has %d lengths: %v", kind, len(byLen), byLen)
		}
	}
}

// TestNothingAtRestTiesANoteToItsVoter: distinctive notes are sent with
// votes (one changed, one by a voter who then turns spectator); after the
// deadline's reveal and its scrub, the database file and its WAL hold no
// note slot of a person (user id, length, text), the notes are only in the
// round, and no note key is left.
func TestNothingAtRestTiesANoteToItsVoter(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadTeam(ta)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/ahead", tm.gid), aheadForm("1", ids[0])).wantStatus(http.StatusSeeOther)
	est := fmt.Sprintf("/issues/%d/estimate", ids[0])
	texts := []string{"Zebra-note-alpha: the importer", "Zebra-note-bravo: no sandbox", "Zebra-note-charlie: 見積もり"}
	for i, m := range tm.members {
		m.plain().post(est, url.Values{"estimate": {[]string{"3", "8", "13"}[i]}, "note": {"draft " + texts[i]}}).wantStatus(http.StatusSeeOther)
		m.plain().post(est, url.Values{"estimate": {[]string{"3", "8", "13"}[i]}, "note": {texts[i]}}).wantStatus(http.StatusSeeOther)
	}
	tm.owner.plain().post(est, url.Values{"estimate": {"5"}, "note": {"Zebra-note-delta: then I watch"}}).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	ta.clock.Advance(time.Hour + time.Second)
	testkit.Eventually(t, 5*time.Second, "the deadline's reveal", func() bool {
		return ta.countRows("issues", "state = 'revealed' AND id = ?", ids[0]) == 1
	})
	testkit.Eventually(t, 5*time.Second, "the scrub", func() bool {
		fi, err := os.Stat(ta.st.Path() + "-wal")
		return err != nil || fi.Size() == 0
	})
	files := databaseBytes(t, ta.st.Path())
	for i, m := range append([]string{"Facilitator-of-the-planning-day1"}, "Ana-Maria-from-the-backend-team1", "Bertrand-of-the-mobile-squad-xyz", "Chiara.di.Lorenzo_frontend-0042a") {
		uid := ta.user(m).ID
		for name, b := range files {
			if bytes.Contains(b, binary.BigEndian.AppendUint64(nil, uint64(uid))) && i > 0 {
				// The ballot still names who took part: the slot must not
				// be followed by a note.
				at := bytes.Index(b, binary.BigEndian.AppendUint64(nil, uint64(uid)))
				if bytes.Contains(b[at:min(len(b), at+40)], []byte("Zebra")) {
					t.Errorf("%s: %s's id sits beside a note", name, m)
				}
			}
		}
	}
	for name, b := range files {
		if bytes.Contains(b, []byte("draft Zebra")) || bytes.Contains(b, []byte("then I watch")) {
			t.Errorf("%s holds a note that was changed or dropped", name)
		}
	}
	for _, table := range []string{"open_notes", "note_keys"} {
		if n := ta.countRows(table, "1=1"); n != 0 {
			t.Errorf("%s holds %d rows after the reveal", table, n)
		}
	}
	if n := ta.countRows("issue_rounds", "notes LIKE '%Zebra-note-alpha%' AND notes LIKE '%Zebra-note-charlie%'"); n != 1 {
		t.Error("the notes are not in the round")
	}
}

// TestTheInvitationIsNotInTheStreamNorTheFragments: the live panel (the
// fragment a stream's update fetches) of an invited voter is the same as
// anyone's, as long (the notes aside, shuffled at each rendering, the same).
func TestTheInvitationIsNotInTheStreamNorTheFragments(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadRound(t, ta)
	room := fmt.Sprintf("/issues/%d", ids[1])
	var bodies []string
	for range 2 {
		bodies = bodies[:0]
		for _, m := range tm.members {
			bodies = append(bodies, m.htmxFrom(room).get(room).wantStatus(http.StatusOK).body)
		}
	}
	for i, b := range bodies {
		if strings.Contains(b, "note-invite") || strings.Contains(b, "among the") {
			t.Errorf("member %d's live panel carries the invitation", i)
		}
		// The notes come in a random order each time: the same bytes, else.
		if len(b) != len(bodies[1]) {
			t.Errorf("member %d's live panel has %d bytes, the middle voter's %d", i, len(b), len(bodies[1]))
		}
	}
}

// TestStreamsAndExportsCarryNoInvitationNorAPersonsNote: the three voters'
// room streams (each with its browser's note token) get the deadline's
// reveal as events of one length, with no invitation; the exports carry no
// note.
func TestStreamsAndExportsCarryNoInvitationNorAPersonsNote(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	tm, ids := aheadTeam(ta)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/ahead", tm.gid), aheadForm("1", ids[1])).wantStatus(http.StatusSeeOther)
	texts := []string{"Zebra-note: the importer", "Zebra-note: no sandbox", "Zebra-note: 見積もり"}
	for i, m := range tm.members {
		m.plain().post(fmt.Sprintf("/issues/%d/estimate", ids[1]), url.Values{"estimate": {[]string{"3", "8", "13"}[i]}, "note": {texts[i]}}).
			wantStatus(http.StatusSeeOther)
	}
	srv := httptest.NewServer(ta.app)
	t.Cleanup(func() {
		ta.app.Close()
		srv.Close()
	})
	var streams []*stream
	for _, m := range tm.members {
		s := openStream(t, srv, m, ids[1])
		s.mustNext()
		streams = append(streams, s)
	}
	ta.clock.Advance(time.Hour + time.Second)
	var events []string
	for i, s := range streams {
		ev := s.until(5*time.Second, "the deadline's reveal", func(e sse) bool { return strings.Contains(e.data, `data-state="revealed"`) })
		if strings.Contains(ev.data, "note-invite") || strings.Contains(ev.data, "among the") {
			t.Errorf("voter %d's stream carries the invitation", i)
		}
		if !strings.Contains(ev.data, "Zebra-note: no sandbox") {
			t.Errorf("voter %d's stream does not show the notes", i)
		}
		events = append(events, ev.data)
	}
	for i, e := range events {
		if len(e) != len(events[0]) {
			t.Errorf("voter %d's reveal event has %d bytes, the first voter's %d", i, len(e), len(events[0]))
		}
	}
	for _, path := range []string{"/export.json", "/export.csv"} {
		if r := tm.owner.get(fmt.Sprintf("/groups/%d%s", tm.gid, path)).wantStatus(http.StatusOK); strings.Contains(r.body, "Zebra") {
			t.Errorf("%s carries a note", path)
		}
	}
}

// TestAheadRoutesAreForMembersOnly: someone outside the group gets 404 on
// every route of estimating ahead and of notes; a spectator's walk says
// nothing waits for them.
func TestAheadRoutesAreForMembersOnly(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadTeam(ta)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/ahead", tm.gid), aheadForm("24", ids...)).wantStatus(http.StatusSeeOther)
	stranger := ta.signedIn("Stranger-from-another-team-00042")
	stranger.get(fmt.Sprintf("/groups/%d/ahead", tm.gid)).wantStatus(http.StatusNotFound)
	stranger.plain().post(fmt.Sprintf("/groups/%d/ahead", tm.gid), aheadForm("24", ids[0])).wantStatus(http.StatusNotFound)
	stranger.plain().post(fmt.Sprintf("/groups/%d/accept-consensus", tm.gid), url.Values{}).wantStatus(http.StatusNotFound)
	stranger.plain().post(fmt.Sprintf("/issues/%d/note", ids[0]), url.Values{"note": {"Hello"}}).wantStatus(http.StatusNotFound)
	if home := stranger.get("/"); home.has("ahead-vote-now") {
		t.Error("a stranger is told issues wait for them")
	}
	bert := tm.members[1]
	bert.plain().post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	if r := bert.get(fmt.Sprintf("/groups/%d/ahead", tm.gid)).wantStatus(http.StatusOK); !r.has("ahead-spectator") {
		t.Error("a spectator's walk does not say nothing waits")
	}
	if home := bert.get("/"); home.has("group-waiting") {
		t.Error("a spectator is told issues wait for their vote")
	}
	// Signed out, a note is not kept: the sign-in page, nothing stored.
	out := ta.client()
	r := out.plain().post(fmt.Sprintf("/issues/%d/note", ids[0]), url.Values{"note": {"Kept?"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("a signed-out note: %d to %q", r.status, r.location())
	}
	if n := ta.countRows("kept_forms", "1=1"); n != 0 {
		t.Errorf("%d kept forms after a signed-out note", n)
	}
}

// TestASecondTabDoesNotWipeTheNote: a tab shown before the note was written
// votes with its empty note field: the note stays; changed in that tab, it
// changes.
func TestASecondTabDoesNotWipeTheNote(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm, ids := aheadTeam(ta)
	ana := tm.members[0]
	room := fmt.Sprintf("/issues/%d", ids[0])
	stale := ana.get(room)
	was, ok := stale.inputValue("cards", "note_was")
	if !ok {
		t.Fatal("the cards form has no note_was")
	}
	ana.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {"5"}, "note": {"Written in the first tab"}, "note_was": {was}}).wantStatus(http.StatusOK)
	ana.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {"8"}, "note": {""}, "note_was": {was}}).wantStatus(http.StatusOK)
	if own, _ := ta.st.OwnNote(tctx, ids[0], ta.user("Ana-Maria-from-the-backend-team1").ID); own != "Written in the first tab" {
		t.Errorf("the second tab's vote left the note %q", own)
	}
	ana.htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {"8"}, "note": {"Changed in the second tab"}, "note_was": {was}}).wantStatus(http.StatusOK)
	if own, _ := ta.st.OwnNote(tctx, ids[0], ta.user("Ana-Maria-from-the-backend-team1").ID); own != "Changed in the second tab" {
		t.Errorf("the note is %q", own)
	}
}
