package handlers

import (
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"estimator/assets"
	"estimator/store"
)

// The store caches what the hot pages read (store/cache.go). These tests
// drive the pages with the cache warm and change the database around it.

// otherProcess opens the test app's database file as another process would
// (`estimator users deactivate` while the server runs).
func (ta *testApp) otherProcess() *store.Store {
	ta.t.Helper()
	st, err := store.Open(tctx, ta.st.Path(), store.Options{Now: ta.clock.Now})
	if err != nil {
		ta.t.Fatal(err)
	}
	ta.t.Cleanup(func() { st.Close() })
	return st
}

func (r *response) groupNames() []string { return r.texts("group-link") }

// TestCachedPagesSeeAnotherProcess: with My Groups and the session cached, a
// group added and a user deactivated by another process on the same file show
// in the very next request.
func TestCachedPagesSeeAnotherProcess(t *testing.T) {
	ta := newTestApp(t)
	alice := ta.signedIn("Alice")
	alice.createGroup("First")
	for range 2 {
		if got := alice.get("/").wantStatus(200).groupNames(); fmt.Sprint(got) != "[First]" {
			t.Fatalf("My Groups: %v", got)
		}
	}
	other := ta.otherProcess()
	if _, err := other.CreateGroup(tctx, ta.user("Alice"), "Second"); err != nil {
		t.Fatal(err)
	}
	if got := alice.get("/").wantStatus(200).groupNames(); fmt.Sprint(got) != "[Second First]" {
		t.Errorf("after another process added a group, My Groups shows %v", got)
	}
	alice.get("/account").wantStatus(200)
	if _, err := other.SetActive(tctx, "Alice", false); err != nil {
		t.Fatal(err)
	}
	if r := alice.get("/"); r.status != 200 || r.has("group-link") {
		t.Errorf("deactivated by another process, My Groups still shows %v", r.groupNames())
	}
	if loc := alice.get("/account").wantStatus(303).location(); loc == "" {
		t.Error("deactivated by another process, /account did not send to sign-in")
	}
}

// TestCachedRoomSeesEveryChange: a vote, a member leaving and a sign-out each
// show at once in the room fragment, the room page and My Groups, cached just
// before.
func TestCachedRoomSeesEveryChange(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Team", "Olga", "Mia", "Noah")
	issue := tm.owner.addIssue(tm.gid, "ONE", "")
	room := fmt.Sprintf("/issues/%d", issue)
	owner := tm.owner.htmxFrom(room)
	voted := func() string { return owner.get(room).wantStatus(200).text("voted-count") }
	for range 2 {
		if got := voted(); got != "0 of 3 voted" {
			t.Fatalf("before any vote: %q", got)
		}
	}
	tm.members[0].estimate(issue, "5").wantStatus(303)
	if got := voted(); got != "1 of 3 voted" {
		t.Errorf("after a vote, the room fragment shows %q", got)
	}
	if got := tm.owner.get(room).wantStatus(200).text("voted-count"); got != "1 of 3 voted" {
		t.Errorf("after a vote, the room page shows %q", got)
	}

	noah := tm.members[1]
	noah.get("/").wantStatus(200)
	noah.get(room).wantStatus(200)
	noah.post(fmt.Sprintf("/groups/%d/leave", tm.gid), url.Values{}).wantStatus(303)
	if got := voted(); got != "1 of 2 voted" {
		t.Errorf("after a member left, the room shows %q", got)
	}
	if got := noah.get("/").wantStatus(200).groupNames(); len(got) != 0 {
		t.Errorf("after leaving, My Groups shows %v", got)
	}
	noah.get(room).wantStatus(404)

	mia := tm.members[0]
	mia.get("/").wantStatus(200)
	mia.post("/confirm-logout", url.Values{}).wantStatus(303)
	if r := mia.get("/"); r.has("group-link") {
		t.Errorf("signed out, My Groups shows %v", r.groupNames())
	}
}

// TestCachedAnswersMatchUncached: every page served with the cache warm is
// the page a server without it (a second app over the same file, its cache
// cold) sends, byte for byte: the cache adds nothing, drops
// nothing, and shows nobody's vote.
func TestCachedAnswersMatchUncached(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Team", "Olga", "Mia", "Noah")
	issue := tm.owner.addIssue(tm.gid, "ONE", "")
	tm.members[0].estimate(issue, "13").wantStatus(303)
	tm.members[1].estimate(issue, "21").wantStatus(303)
	room := fmt.Sprintf("/issues/%d", issue)

	// A new app over a new store for each request: nothing of it is cached.
	cold := func(c *client, path string) *response {
		app, err := New(Deps{Store: ta.otherProcess(), Assets: assets.FS, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Config: Config{LoginBurst: 1000, KeptFormsPerAddress: 1000}, Changes: new(store.Relay)})
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		c2, ta2 := *c, *c.ta
		ta2.app = app
		c2.ta = &ta2
		return c2.get(path)
	}
	for _, c := range []*client{tm.owner, tm.members[0], tm.members[1]} {
		for _, tc := range []struct {
			c    *client
			path string
		}{{c, "/"}, {c, room}, {c.htmxFrom(room), room}, {c.htmxFrom("/"), "/"},
			{c.with("Accept-Encoding", "gzip"), "/"}, {c.with("Accept-Encoding", "gzip").htmxFrom(room), room}} {
			tc.c.get(tc.path).wantStatus(200) // warms the cache
			warm := tc.c.get(tc.path).wantStatus(200)
			want := cold(tc.c, tc.path).wantStatus(200)
			if warm.header.Get("Content-Encoding") != want.header.Get("Content-Encoding") ||
				warm.header.Get("Vary") != want.header.Get("Vary") {
				t.Errorf("%s: headers differ: %v / %v", tc.path, warm.header, want.header)
			}
			if tc.path == "/" && tc.c.header.Get("Accept-Encoding") == "gzip" && warm.header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s: asked for gzip, got %q", tc.path, warm.header.Get("Content-Encoding"))
			}
			if warm.header.Get("Content-Encoding") == "gzip" {
				warm.body, want.body = gunzip(t, warm.body), gunzip(t, want.body)
			}
			// Who is here now is each instance's own knowledge (its streams,
			// the page loads it served), not the database's: a cold app has
			// served none of the earlier page loads.
			warm.body, want.body = presentMark.ReplaceAllString(warm.body, ""), presentMark.ReplaceAllString(want.body, "")
			if warm.body != want.body {
				t.Errorf("%s (htmx %v): the cached answer differs from the uncached one:\n%s\n---\n%s",
					tc.path, tc.c.htmx, truncate(warm.body, 800), truncate(want.body, 800))
			}
		}
	}
}

var presentMark = regexp.MustCompile(`<span class="present"[^>]*>● here</span>`)

func gunzip(t *testing.T, body string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
