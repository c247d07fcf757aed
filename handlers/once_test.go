package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Issue "Every page as a demanding user sees it", 5: a double click on Reveal
// showed a red "already revealed" banner above the result. A second reveal,
// accept (same value) or start answers like the first: same status, same
// landing place, no error — with htmx and without, one after the other and at
// the same moment.
func TestDoubleClickOnRevealAcceptOrStartAnswersLikeTheFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action string
		form   url.Values
		prep   func(s *keptSite)
		notice string
	}{
		{"reveal", url.Values{"confirmed": {"1"}}, nil, "The result of PHX-12 is revealed."},
		{"accept", url.Values{"final": {"8"}}, func(s *keptSite) {
			s.tm.owner.post(fmt.Sprintf("/issues/%d/reveal", s.iid), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
		}, "The final estimate of PHX-12 is 8."},
		{"start", nil, nil, "The group is now estimating PHX-12."},
	} {
		for _, mode := range []string{"plain", "htmx", "at once"} {
			t.Run(tc.action+" "+mode, func(t *testing.T) {
				t.Parallel()
				ta := newTestApp(t)
				s := &keptSite{ta: ta, tm: ta.team("Team Phoenix", keptOwner, "Mia", "Max")}
				s.iid = s.tm.owner.addIssue(s.tm.gid, "PHX-12", "")
				s.tm.members[0].estimate(s.iid, "5").wantStatus(http.StatusSeeOther)
				s.tm.members[1].estimate(s.iid, "8").wantStatus(http.StatusSeeOther)
				if tc.prep != nil {
					tc.prep(s)
				}
				room := fmt.Sprintf("/issues/%d", s.iid)
				target := room + "/" + tc.action
				owner := s.tm.owner
				if mode == "htmx" {
					owner = owner.htmxFrom(room)
				}
				audits := ta.countRows("events", "")
				var answers [2]*response
				if mode == "at once" {
					var wg sync.WaitGroup
					for i := range answers {
						wg.Add(1)
						go func() { defer wg.Done(); answers[i] = owner.post(target, tc.form) }()
					}
					wg.Wait()
				} else {
					for i := range answers {
						answers[i] = owner.post(target, tc.form)
					}
				}
				for i, r := range answers {
					if mode == "htmx" && tc.action == "start" {
						// The page moves over its stream; both answers are
						// the notice alone.
						r.wantNoticeOnly(tc.notice)
						continue
					}
					if mode == "htmx" {
						if r.status != http.StatusOK || r.header.Get("HX-Retarget") != "" || !r.has("status") {
							t.Fatalf("click %d: status %d HX-Retarget %q, want the room's panel", i+1, r.status, r.header.Get("HX-Retarget"))
						}
						if strings.Contains(r.body, "notice-error") || !strings.Contains(r.text("notice"), tc.notice) {
							t.Errorf("click %d: notice %q", i+1, r.text("notice"))
						}
						continue
					}
					r.wantRedirect(room)
				}
				if mode != "htmx" {
					page := owner.plain().get(room).wantStatus(http.StatusOK)
					if strings.Contains(page.body, "notice-error") || !strings.Contains(page.text("notice"), tc.notice) {
						t.Errorf("the room after the double click: notice %q", page.text("notice"))
					}
				}
				if tc.action != "reveal" {
					// An action done twice is recorded once.
					if n := ta.countRows("events", ""); n != audits+1 {
						t.Errorf("%d audit rows for a double click, want 1", n-audits)
					}
				}
				if tc.action == "reveal" && ta.countRows("issue_rounds", "issue_id = ?", s.iid) != 1 {
					t.Error("the double reveal did not keep exactly one round")
				}
			})
		}
	}
}

// Issue "Every page as a demanding user sees it", 4: a double click made two
// "Team Phoenix" groups. Every creating form carries once; the same form sent
// twice (one after the other, or at the same moment) makes one thing, and the
// second answer lands where the first did.
func TestDoubleClickCreatesOneGroupIssueAndImport(t *testing.T) {
	t.Parallel()
	type form struct {
		target string
		values url.Values
		multi  bool
	}
	for _, tc := range []struct {
		what string
		// open returns the form as the page shows it, once field included.
		open  func(s *keptSite) form
		count func(s *keptSite) int
		// land is where a plain answer goes.
		land func(s *keptSite) string
	}{
		{"create group", func(s *keptSite) form {
			p := s.tm.owner.plain().get("/").wantStatus(http.StatusOK)
			once, ok := p.inputValue("create-group-form", "once")
			if !ok || once == "" {
				s.ta.t.Fatal("the create-group form has no once field")
			}
			return form{"/creategroup", url.Values{"name": {"Team Phoenix"}, "once": {once}}, false}
		}, func(s *keptSite) int { return s.ta.countRows("groups", "name = 'Team Phoenix'") }, nil},
		{"add issue", func(s *keptSite) form {
			p := s.tm.owner.plain().get(fmt.Sprintf("/groups/%d", s.tm.gid)).wantStatus(http.StatusOK)
			once, ok := p.inputValue("add-issue-form", "once")
			if !ok || once == "" {
				s.ta.t.Fatal("the add-issue form has no once field")
			}
			return form{fmt.Sprintf("/groups/%d/issues", s.tm.gid), url.Values{"key": {"PHX-12"}, "description": {"Pay with a saved card"}, "once": {once}}, false}
		}, func(s *keptSite) int { return s.ta.countRows("issues", "key = 'PHX-12'") },
			func(s *keptSite) string { return fmt.Sprintf("/groups/%d", s.tm.gid) }},
		{"confirm import", func(s *keptSite) form {
			body, ct := multipartBody(s.ta.t, map[string]string{"rows": "PHX-20\tOne\nPHX-21\tTwo"}, map[string]string{"file": ""})
			p := s.tm.owner.plain().do(http.MethodPost, fmt.Sprintf("/groups/%d/import", s.tm.gid), body, ct).wantStatus(http.StatusOK)
			once, ok := p.inputValue("import-confirm-form", "once")
			if !ok || once == "" {
				s.ta.t.Fatal("the import's confirm form has no once field")
			}
			rows, _ := p.inputValue("import-confirm-form", "rows")
			return form{fmt.Sprintf("/groups/%d/import", s.tm.gid), url.Values{"rows": {rows}, "confirmed": {"1"}, "once": {once}}, true}
		}, func(s *keptSite) int { return s.ta.countRows("issues", "key IN ('PHX-20', 'PHX-21')") },
			func(s *keptSite) string { return fmt.Sprintf("/groups/%d", s.tm.gid) }},
	} {
		for _, mode := range []string{"plain", "htmx", "at once"} {
			if tc.what == "confirm import" && mode == "htmx" {
				continue // a plain form
			}
			t.Run(tc.what+" "+mode, func(t *testing.T) {
				t.Parallel()
				ta := newTestApp(t)
				s := &keptSite{ta: ta, tm: ta.team("Existing", keptOwner)}
				f := tc.open(s)
				owner := s.tm.owner.plain()
				if mode == "htmx" {
					owner = s.tm.owner.htmxFrom("/")
				}
				send := func() *response {
					if f.multi {
						fields := map[string]string{}
						for k := range f.values {
							fields[k] = f.values.Get(k)
						}
						body, ct := multipartBody(t, fields, map[string]string{"file": ""})
						return owner.do(http.MethodPost, f.target, body, ct)
					}
					return owner.post(f.target, f.values)
				}
				clicks := 2
				if mode == "at once" {
					clicks = 6
				}
				answers := make([]*response, clicks)
				if mode == "at once" {
					var wg sync.WaitGroup
					for i := range answers {
						wg.Add(1)
						go func() { defer wg.Done(); answers[i] = send() }()
					}
					wg.Wait()
				} else {
					for i := range answers {
						answers[i] = send()
					}
				}
				if n := tc.count(s); n != 1 && !(tc.what == "confirm import" && n == 2) {
					t.Fatalf("%d made by %d clicks", n, clicks)
				}
				for i, r := range answers {
					if mode == "htmx" {
						if r.status != http.StatusOK || r.header.Get("HX-Retarget") != "" || strings.Contains(r.body, "notice-error") {
							t.Fatalf("click %d: status %d HX-Retarget %q, want the same answer as the first:\n%s", i+1, r.status, r.header.Get("HX-Retarget"), truncate(r.body, 600))
						}
						continue
					}
					if r.status != http.StatusSeeOther || r.location() != answers[0].location() {
						t.Fatalf("click %d: status %d to %q, want 303 where the first went (%q)", i+1, r.status, r.location(), answers[0].location())
					}
					if tc.land != nil && r.location() != tc.land(s) {
						t.Fatalf("landed on %q, want %q", r.location(), tc.land(s))
					}
				}
				if mode != "htmx" {
					page := owner.get(answers[0].location()).wantStatus(http.StatusOK)
					if strings.Contains(page.body, "notice-error") {
						t.Errorf("an error after the double click: %q", page.text("notice"))
					}
				}
			})
		}
	}
}

// A form without the field (an old page) still works; a value the app never
// makes is refused and makes nothing.
func TestOnceFieldIsOptionalAndChecked(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.signedIn("Ana")
	c.post("/creategroup", url.Values{"name": {"Old page"}}).wantStatus(http.StatusSeeOther)
	c.post("/creategroup", url.Values{"name": {"Old page"}}).wantStatus(http.StatusSeeOther)
	if n := ta.countRows("groups", "name = 'Old page'"); n != 2 {
		t.Fatalf("%d groups from two forms without once, want 2", n)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "a b", "<x>", "tok%"} {
		c.post("/creategroup", url.Values{"name": {"Bad once"}, "once": {bad}}).wantStatus(http.StatusBadRequest)
	}
	if n := ta.countRows("groups", "name = 'Bad once'"); n != 0 {
		t.Fatalf("a bad once made %d groups", n)
	}
}

var onceField = regexp.MustCompile(`name="once" value="([^"]+)"`)

// homeOnce is the once of the create-group form on the person's home page.
func homeOnce(t *testing.T, c *client) string {
	t.Helper()
	m := onceField.FindStringSubmatch(c.plain().get("/").wantStatus(http.StatusOK).body)
	if m == nil {
		t.Fatal("the home page's create-group form has no once")
	}
	return m[1]
}

// A once names what the form made only while that is still the person's: Alice
// creates "Retro", hands it to Bob and leaves; her home page then gives the
// same once again (it follows her groups), and creating "Retro" again must make
// a group of hers, not send her to Bob's.
func TestOnceAfterHandingOverAndLeavingCreatesAnew(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	alice, bob := ta.signedIn("Alice"), ta.signedIn("Bob")
	first := homeOnce(t, alice)
	r := alice.plain().post("/creategroup", url.Values{"name": {"Retro"}, "once": {first}}).wantStatus(http.StatusSeeOther)
	g1 := groupIDFrom(t, r.location())
	bob.join(g1)
	alice.plain().post(fmt.Sprintf("/groups/%d/transfer", g1), url.Values{"user": {fmt.Sprint(ta.user("Bob").ID)}, "confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	alice.plain().post(fmt.Sprintf("/groups/%d/leave", g1), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	again := homeOnce(t, alice)
	r = alice.plain().post("/creategroup", url.Values{"name": {"Retro"}, "once": {again}}).wantStatus(http.StatusSeeOther)
	g2 := groupIDFrom(t, r.location())
	if g2 == g1 {
		t.Fatalf("the second Retro was not made: Alice was sent to Bob's group %d (once %s, then %s)", g1, first, again)
	}
	alice.plain().get(r.location()).wantStatus(http.StatusOK)
	if n := ta.countRows("groups", "name = ?", "Retro"); n != 2 {
		t.Errorf("%d groups named Retro, want 2", n)
	}
}
