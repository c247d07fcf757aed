package handlers

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"estimator/assets"
	"estimator/internal/testkit"
	"estimator/store"
	"estimator/tracker"
	"estimator/tracker/trackertest"
)

// A distinctive token: no page, log line, metric or export may hold it.
const (
	trackerSecret = "ATATT3xFfGF0-Zq9vW7-SECRET-b4e1"
	trackerToken  = "dana.ops@example.com:" + trackerSecret
)

// Nicknames of 32 characters, to look for in whatever goes to a tracker.
const (
	longNickA = "Alexandra-Konstantinopoulou-Webb"
	longNickB = "Bartholomew-Featherstonehaugh-99"
)

// newTrackerApp is the app on the database file at path with the trackers
// listed, its outbox looked at every 10 ms, on the test's clock.
func newTrackerApp(t *testing.T, path string, clk *clock, allowed tracker.Allowed) *testApp {
	t.Helper()
	changes := new(store.Relay)
	st, err := store.Open(context.Background(), path, store.Options{Now: clk.Now, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{LoginBurst: 1000, KeptFormsPerAddress: 1000, Trackers: allowed, TrackerPoll: 10 * time.Millisecond, TrackerTimeout: 2 * time.Second}
	app, err := New(Deps{Store: st, Assets: assets.FS, Logger: logger, Config: cfg, Changes: changes})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ta := &testApp{t: t, app: app, st: st, clock: clk, logs: logs}
	t.Cleanup(func() { ta.stop() })
	return ta
}

// stop closes the app and its store (a process ending); twice is harmless.
func (ta *testApp) stop() {
	ta.app.Close()
	ta.st.Close()
}

func allow(t *testing.T, list string) tracker.Allowed {
	t.Helper()
	al, err := tracker.ParseAllowed(list)
	if err != nil {
		t.Fatal(err)
	}
	return al
}

func connectForm(base, token, project, field string) url.Values {
	return url.Values{"url": {base}, "token": {token}, "project": {project}, "field": {field}}
}

// trackerTeam is a group of two long nicknames connected to the fake Jira,
// with its issues imported.
func trackerTeam(t *testing.T, ta *testApp, f *trackertest.Fake) team {
	t.Helper()
	tm := ta.team("Shop team", longNickA, longNickB)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker/import", tm.gid), url.Values{"query": {""}, "confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	return tm
}

func acceptIssue(t *testing.T, tm team, issueID int64, a, b, final string) {
	t.Helper()
	tm.owner.estimate(issueID, a).wantStatus(http.StatusSeeOther)
	tm.members[0].estimate(issueID, b).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/reveal", issueID), nil).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/accept", issueID), url.Values{"final": {final}}).wantStatus(http.StatusSeeOther)
	tm.owner.ta.clock.Advance(store.TrackerSettle)
}

func TestConnectingATrackerChecksTheTokenAndSaysWhatFailed(t *testing.T) {
	f := trackertest.New(trackerToken, 3)
	defer f.Close()
	elsewhere := trackertest.New(trackerToken, 3)
	defer elsewhere.Close()
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := ta.team("Shop team", longNickA, longNickB)
	path := fmt.Sprintf("/groups/%d/tracker", tm.gid)
	cases := []struct {
		name, want string
		form       url.Values
	}{
		{"wrong token", "401", connectForm(f.URL, "dana.ops@example.com:wrong-token-0000", "SHOP", "")},
		{"no such project", `no project "NOPE"`, connectForm(f.URL, trackerToken, "NOPE", "")},
		{"unknown field", `no field "Story Points"`, connectForm(f.URL, trackerToken, "SHOP", "Story Points")},
		{"an address outside the list", "not one of them", connectForm(elsewhere.URL, trackerToken, "SHOP", "")},
		{"cloud metadata", "not one of them", connectForm("http://169.254.169.254/latest/meta-data", trackerToken, "SHOP", "")},
		{"no token", "Give the token", connectForm(f.URL, "", "SHOP", "")},
	}
	for _, c := range cases {
		r := tm.owner.plain().post(path, c.form).wantStatus(http.StatusUnprocessableEntity)
		if !strings.Contains(html.UnescapeString(r.body), c.want) {
			t.Errorf("%s: the page does not say %q", c.name, c.want)
		}
		if strings.Contains(r.body, trackerSecret) {
			t.Errorf("%s: the page holds the token", c.name)
		}
	}
	if n := len(elsewhere.Calls()); n != 0 {
		t.Fatalf("an address outside the list was contacted %d times", n)
	}
	// A tracker that is down: 502, not the owner's mistake.
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	if r := tm.owner.plain().post(path, connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusBadGateway); !strings.Contains(r.text("url-error"), "503") {
		t.Errorf("a tracker down: %q", r.text("url-error"))
	}
	f.SetHook(nil)
	// A member who is not the owner cannot connect.
	tm.members[0].plain().post(path, connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusForbidden)
	tm.owner.plain().post(path, connectForm(f.URL+"/", trackerToken, "SHOP", "")).wantStatus(http.StatusSeeOther)
	page := tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid)).wantStatus(http.StatusOK).wantNotice("Connected to Jira, project SHOP, token …b4e1.")
	if got := page.text("tracker-connected"); !strings.Contains(got, "token …b4e1") || strings.Contains(page.body, trackerSecret) {
		t.Fatalf("connected: %q", got)
	}
	tm.owner.plain().post(path+"/disconnect", nil).wantStatus(http.StatusSeeOther)
	if n := ta.countRows("group_trackers", ""); n != 0 {
		t.Fatal("the token is still stored after disconnecting")
	}
	activity := strings.Join(tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid)).texts("activity-text"), "\n")
	for _, want := range []string{longNickA + " connected the group to Jira, project SHOP", longNickA + " disconnected the issue tracker"} {
		if !strings.Contains(activity, want) {
			t.Errorf("the activity does not say %q:\n%s", want, activity)
		}
	}
}

func TestATrackerRedirectingElsewhereIsRefused(t *testing.T) {
	other := trackertest.New(trackerToken, 1)
	defer other.Close()
	f := trackertest.New(trackerToken, 1)
	defer f.Close()
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	})
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL+",github="+other.URL))
	tm := ta.team("Shop team", longNickA)
	r := tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "redirect") {
		t.Fatal("the page does not say the redirect was refused")
	}
	if len(other.Calls()) != 0 {
		t.Fatal("the redirect was followed, with the token")
	}
}

func TestSignedOutConnectFormIsNotKept(t *testing.T) {
	f := trackertest.New(trackerToken, 1)
	defer f.Close()
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := ta.team("Shop team", longNickA)
	ta.client().plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusSeeOther)
	if n := ta.countRows("kept_forms", ""); n != 0 {
		t.Fatalf("%d forms with a token kept", n)
	}
}

func TestImportFromTrackerPreviewsThenImportsAndReimportUpdates(t *testing.T) {
	f := trackertest.New(trackerToken, 5) // pages of 2
	defer f.Close()
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := ta.team("Shop team", longNickA, longNickB)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusSeeOther)
	// A facilitator imports too; a member does not.
	tm.members[0].plain().post(fmt.Sprintf("/groups/%d/tracker/import", tm.gid), url.Values{"query": {""}}).wantStatus(http.StatusForbidden)
	imp := fmt.Sprintf("/groups/%d/tracker/import", tm.gid)
	prev := tm.owner.plain().post(imp, url.Values{"query": {"labels = ready"}}).wantStatus(http.StatusOK)
	if keys := prev.texts("import-key"); len(keys) != 5 || keys[4] != "SHOP-5" {
		t.Fatalf("preview keys %q", keys)
	}
	if n := ta.countRows("issues", ""); n != 0 {
		t.Fatal("the preview added issues")
	}
	once, _ := prev.inputValue("import-confirm-form", "once")
	form := url.Values{"query": {"labels = ready"}, "confirmed": {"1"}, "once": {once}}
	tm.owner.plain().post(imp, form).wantStatus(http.StatusSeeOther)
	tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid)).wantNotice("5 issues were imported.")
	tm.owner.plain().post(imp, form).wantStatus(http.StatusSeeOther) // a double click
	if n := ta.countRows("issues", ""); n != 5 {
		t.Fatalf("%d issues", n)
	}
	id := ta.issueID(tm.gid, "SHOP-1")
	room := tm.members[0].get(fmt.Sprintf("/issues/%d", id)).wantStatus(http.StatusOK)
	if href := room.all("tracker-link"); len(href) != 1 || !strings.Contains(room.body, f.URL+"/browse/SHOP-1") {
		t.Fatal("the room has no link to the tracker")
	}
	if !strings.Contains(room.body, "Line one of 1") || !strings.Contains(room.body, "ask @Dana") {
		t.Fatal("the ADF description did not come through as text")
	}
	group := tm.members[0].get(fmt.Sprintf("/groups/%d", tm.gid))
	if n := len(group.all("tracker-link")); n != 5 {
		t.Fatalf("the backlog shows %d tracker links", n)
	}
	// Re-imported with a new title: updated, not refused.
	f.SetIssues([]trackertest.Issue{{Number: 1, Title: "Checkout total, renamed", Body: "New body"}})
	prev = tm.owner.plain().post(imp, url.Values{"query": {""}}).wantStatus(http.StatusOK)
	if got := prev.texts("import-action"); len(got) != 1 || got[0] != "update" {
		t.Fatalf("preview actions %q", got)
	}
	tm.owner.plain().post(imp, url.Values{"query": {""}, "confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	is, _, _, _ := ta.st.IssueFor(context.Background(), id, 0)
	if !strings.HasPrefix(is.Description, "Checkout total, renamed\n\nNew body") {
		t.Fatalf("description %q", is.Description)
	}
}

func TestImportFromTrackerSaysWhatWentWrong(t *testing.T) {
	f := trackertest.New(trackerToken, 1)
	defer f.Close()
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := ta.team("Shop team", longNickA)
	imp := fmt.Sprintf("/groups/%d/tracker/import", tm.gid)
	tm.owner.plain().post(imp, url.Values{"query": {""}}).wantStatus(http.StatusConflict)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "SHOP", "")).wantStatus(http.StatusSeeOther)
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	r := tm.owner.plain().post(imp, url.Values{"query": {""}}).wantStatus(http.StatusBadGateway)
	if !strings.Contains(r.text("tracker-problem"), "503") {
		t.Fatalf("problem %q", r.text("tracker-problem"))
	}
	f.SetHook(nil)
	f.SetIssues(nil)
	tm.owner.plain().post(imp, url.Values{"query": {""}}).wantStatus(http.StatusUnprocessableEntity)
}

func TestAcceptWritesOnlyTheNumberBackAndANewValueAgain(t *testing.T) {
	f := trackertest.New(trackerToken, 2)
	defer f.Close()
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := trackerTeam(t, ta, f)
	id := ta.issueID(tm.gid, "SHOP-2")
	acceptIssue(t, tm, id, "8", "5", "8")
	testkit.Eventually(t, 5*time.Second, "the estimate written to Jira", func() bool { return f.Points("SHOP-2") == 8 })
	testkit.Eventually(t, 5*time.Second, "the room saying sent", func() bool {
		return strings.Contains(tm.members[0].get(fmt.Sprintf("/issues/%d", id)).text("tracker-state"), "sent")
	})
	ws := f.Writes()
	if len(ws) != 1 || ws[0].Body != `{"fields":{"customfield_10016":8}}` || ws[0].Path != "/rest/api/2/issue/SHOP-2" {
		t.Fatalf("writes %+v", ws)
	}
	// Accepted again with another value: the new one is sent.
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/accept", id), url.Values{"final": {"13"}}).wantStatus(http.StatusSeeOther)
	ta.clock.Advance(store.TrackerSettle)
	testkit.Eventually(t, 5*time.Second, "the new estimate written", func() bool { return f.Points("SHOP-2") == 13 })
	// Nothing but the number left: no nickname, no vote, no note.
	for _, c := range f.Calls() {
		all := c.Method + " " + c.Path + " " + c.Body
		for _, leak := range []string{longNickA, longNickB, "Shop team"} {
			if strings.Contains(all, leak) {
				t.Fatalf("%q went to the tracker: %s", leak, all)
			}
		}
		if c.Method == http.MethodPut && c.Body != `{"fields":{"customfield_10016":8}}` && c.Body != `{"fields":{"customfield_10016":13}}` {
			t.Fatalf("a write with more than the number: %s", c.Body)
		}
	}
	if n := len(f.Writes()); n != 2 {
		t.Fatalf("%d writes for two accepts", n)
	}
}

func TestLabelDeckWritesTheNumberItsCardStandsFor(t *testing.T) {
	f := trackertest.New(trackerToken, 1)
	f.Project = "acme/shop"
	defer f.Close()
	f.SetIssues([]trackertest.Issue{{Number: 12, Title: "Sizes", Labels: []string{"ready", "estimate: 1"}}})
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "github="+f.URL))
	tm := ta.team("Shirts", longNickA, longNickB)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "acme/shop", "")).wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker/import", tm.gid), url.Values{"query": {"label:ready"}, "confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	id := ta.issueID(tm.gid, "#12")
	acceptIssue(t, tm, id, "3", "5", "M") // the card that stands for 3
	testkit.Eventually(t, 5*time.Second, "the label replaced", func() bool {
		return strings.Join(f.Labels(12), "|") == "ready|estimate: 3"
	})
}

func TestWriteBackWaitsForRetryAfterAndSurvivesARestart(t *testing.T) {
	f := trackertest.New(trackerToken, 1)
	defer f.Close()
	f.FailWrites(trackertest.Fault{Status: 429, Header: map[string]string{"Retry-After": "120"}, Body: `{"errorMessages":["Rate limit exceeded."]}`})
	path := filepath.Join(t.TempDir(), "t.db")
	clk := newClock()
	al := allow(t, "jira="+f.URL)
	ta := newTrackerApp(t, path, clk, al)
	tm := trackerTeam(t, ta, f)
	id := ta.issueID(tm.gid, "SHOP-1")
	acceptIssue(t, tm, id, "5", "8", "5")
	testkit.Eventually(t, 5*time.Second, "the room saying waiting, with the tracker's message", func() bool {
		return strings.Contains(tm.owner.get(fmt.Sprintf("/issues/%d", id)).text("tracker-error"), "Rate limit exceeded.")
	})
	ta.stop()
	if f.Points("SHOP-1") != 0 || len(f.Writes()) != 1 {
		t.Fatal("written before Retry-After")
	}
	// A new process on the same database, two minutes later.
	clk.Advance(2*time.Minute + time.Second)
	ta2 := newTrackerApp(t, path, clk, al)
	testkit.Eventually(t, 5*time.Second, "the write sent after the restart", func() bool { return f.Points("SHOP-1") == 5 })
	if n := len(f.Writes()); n != 2 {
		t.Fatalf("%d writes", n)
	}
	_ = ta2
}

func TestAFailedWriteShowsTheTrackersMessageAndARetry(t *testing.T) {
	f := trackertest.New(trackerToken, 1)
	defer f.Close()
	f.FailWrites(trackertest.Fault{Status: 400, Body: `{"errors":{"customfield_10016":"Field 'customfield_10016' cannot be set. It is not on the appropriate screen, or unknown."}}`})
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := trackerTeam(t, ta, f)
	id := ta.issueID(tm.gid, "SHOP-1")
	acceptIssue(t, tm, id, "5", "8", "8")
	room := fmt.Sprintf("/issues/%d", id)
	testkit.Eventually(t, 5*time.Second, "the room saying failed", func() bool {
		return strings.Contains(tm.owner.get(room).text("tracker-error"), "cannot be set")
	})
	r := tm.owner.get(room)
	if !r.has("tracker-retry") || tm.members[0].get(room).has("tracker-retry") {
		t.Fatal("the retry is for those who run the meeting")
	}
	tm.members[0].plain().post(room+"/tracker/retry", nil).wantStatus(http.StatusForbidden)
	tm.owner.plain().post(room+"/tracker/retry", nil).wantStatus(http.StatusSeeOther)
	ta.clock.Advance(store.TrackerSettle)
	testkit.Eventually(t, 5*time.Second, "sent after the retry", func() bool { return f.Points("SHOP-1") == 8 })
	testkit.Eventually(t, 5*time.Second, "the room saying sent", func() bool {
		return strings.Contains(tm.owner.get(room).text("tracker-state"), "sent")
	})
	tm.owner.plain().post(room+"/tracker/retry", nil).wantStatus(http.StatusConflict)
	other := ta.issueID(tm.gid, "SHOP-1")
	_ = other
}

func TestTheTokenIsInNoPageLogMetricOrExport(t *testing.T) {
	f := trackertest.New(trackerToken, 2)
	defer f.Close()
	f.FailWrites(trackertest.Fault{Status: 401, Body: `{"message":"Bad credentials ` + trackerToken + `"}`})
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := trackerTeam(t, ta, f)
	id := ta.issueID(tm.gid, "SHOP-1")
	acceptIssue(t, tm, id, "5", "8", "5")
	testkit.Eventually(t, 5*time.Second, "the write failed", func() bool {
		return tm.owner.get(fmt.Sprintf("/issues/%d", id)).text("tracker-error") != ""
	})
	var seen []string
	for _, p := range []string{fmt.Sprintf("/groups/%d", tm.gid), fmt.Sprintf("/issues/%d", id), fmt.Sprintf("/groups/%d/export.csv", tm.gid),
		fmt.Sprintf("/groups/%d/export.json", tm.gid), "/", "/account"} {
		seen = append(seen, tm.owner.get(p).body)
	}
	seen = append(seen, tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm(f.URL, trackerToken, "NOPE", "")).body)
	rec := httptest.NewRecorder()
	ta.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	seen = append(seen, rec.Body.String(), ta.logs.String())
	for i, s := range seen {
		if strings.Contains(s, trackerSecret) {
			t.Fatalf("output %d holds the token", i)
		}
	}
	m := rec.Body.String()
	if !strings.Contains(m, `estimator_tracker_writes_total{kind="jira",outcome="failed"} 1`) {
		t.Fatalf("metrics:\n%s", grepLines(m, "tracker"))
	}
	if strings.Contains(grepLines(m, "tracker"), "SHOP") {
		t.Fatal("a metric names an issue")
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestWithoutTrackersNothingOffersOrTakesOne(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Shop team", longNickA)
	if tm.owner.get(fmt.Sprintf("/groups/%d", tm.gid)).has("tracker") {
		t.Fatal("the group page offers a tracker the operator did not list")
	}
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker", tm.gid), connectForm("http://127.0.0.1:1", trackerToken, "SHOP", "")).wantStatus(http.StatusNotFound)
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/tracker/import", tm.gid), url.Values{"query": {""}}).wantStatus(http.StatusNotFound)
}

// Two instances on one PostgreSQL database, each with its sender: every
// accepted estimate is written once.
func TestTwoInstancesWriteEachAcceptOnce(t *testing.T) {
	db := testkit.Schema(t, "two instances sharing the outbox need PostgreSQL")
	const n = 12
	f := trackertest.New(trackerToken, n)
	defer f.Close()
	// Writes take a while, so both senders are busy at once.
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut {
			time.Sleep(30 * time.Millisecond)
		}
		return false
	})
	clk := newClock()
	al := allow(t, "jira="+f.URL)
	a := newTrackerApp(t, db, clk, al)
	b := newTrackerApp(t, db, clk, al)
	_ = b
	tm := trackerTeam(t, a, f)
	issues, err := a.st.GroupIssues(context.Background(), tm.gid)
	if err != nil || len(issues) != n {
		t.Fatalf("%d issues, %v", len(issues), err)
	}
	for _, is := range issues {
		acceptIssue(t, tm, is.ID, "3", "5", "5")
	}
	testkit.Eventually(t, 20*time.Second, "every estimate written", func() bool {
		for i := 1; i <= n; i++ {
			if f.Points(fmt.Sprintf("SHOP-%d", i)) != 5 {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond) // a second write would come within the poll
	per := map[string]int{}
	for _, w := range f.Writes() {
		per[w.Path]++
	}
	if len(per) != n {
		t.Fatalf("writes to %d issues", len(per))
	}
	for p, c := range per {
		if c != 1 {
			t.Fatalf("%s written %d times", p, c)
		}
	}
}

// The accept never waits for the tracker nor fails because of it: with the
// tracker hanging, it is answered at once and the room says waiting.
func TestAcceptDoesNotWaitForAHangingTracker(t *testing.T) {
	f := trackertest.New(trackerToken, 1)
	defer f.Close()
	ta := newTrackerApp(t, filepath.Join(t.TempDir(), "t.db"), newClock(), allow(t, "jira="+f.URL))
	tm := trackerTeam(t, ta, f)
	release := make(chan struct{})
	defer close(release)
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	id := ta.issueID(tm.gid, "SHOP-1")
	start := time.Now()
	acceptIssue(t, tm, id, "5", "8", "8")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the accept took %v", d)
	}
	testkit.Eventually(t, 5*time.Second, "the write under way", func() bool {
		for _, c := range f.Calls() {
			if c.Method == http.MethodPut {
				return true
			}
		}
		return false
	})
	r := tm.owner.get(fmt.Sprintf("/issues/%d", id)).wantStatus(http.StatusOK)
	if got := r.text("final"); !strings.Contains(got, "8") || !strings.Contains(r.text("tracker-state"), "waiting") {
		t.Fatalf("final %q, tracker %q", got, r.text("tracker-state"))
	}
}
