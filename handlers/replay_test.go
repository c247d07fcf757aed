package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/time/rate"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// Issue "Protected endpoints: HX-Redirect to sign-in and replay of the kept
// form".

func TestProtectedEndpointsSendSignedOutVisitorsToSignIn(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	for _, tc := range []struct {
		name      string
		method    string
		target    string
		htmx      string // HX-Current-URL; "" for a plain request
		referer   string
		wantNext  string
		wantKept  bool
		plainForm url.Values
	}{
		{name: "GET account", method: "GET", target: "/account", wantNext: "/account"},
		{name: "GET group with query", method: "GET", target: "/groups/1?tab=issues&x=1", wantNext: "/groups/1?tab=issues&x=1"},
		{name: "GET join link", method: "GET", target: "/join/AbCdEf_123-xyz", wantNext: "/join/AbCdEf_123-xyz"},
		{name: "GET estimate page", method: "GET", target: "/issues/7/estimate", wantNext: "/issues/7/estimate"},
		// Never back to "Sign out?" after signing in (Back after a sign-out asks for it).
		{name: "GET sign-out page", method: "GET", target: "/confirm-logout", wantNext: "/"},
		{name: "POST creategroup, same-site referer", method: "POST", target: "/creategroup", referer: "http://example.com/?tab=mine", wantNext: "/?tab=mine", wantKept: true},
		{name: "POST creategroup, no referer", method: "POST", target: "/creategroup", wantNext: "/", wantKept: true},
		{name: "POST creategroup, foreign referer", method: "POST", target: "/creategroup", referer: "https://evil.example/groups/1", wantNext: "/", wantKept: true},
		{name: "POST creategroup, hostile same-host referer", method: "POST", target: "/creategroup", referer: "http://example.com//evil.example/x", wantNext: "/", wantKept: true},
		{name: "POST join", method: "POST", target: "/join/AbCdEf_123-xyz", referer: "http://example.com/join/AbCdEf_123-xyz", wantNext: "/join/AbCdEf_123-xyz", wantKept: true},
		{name: "POST add issue", method: "POST", target: "/groups/1/issues", referer: "http://example.com/groups/1", wantNext: "/groups/1", wantKept: true},
		{name: "POST estimate", method: "POST", target: "/issues/1/estimate", referer: "http://example.com/issues/1/estimate", wantNext: "/issues/1/estimate", wantKept: true},
		{name: "POST rename", method: "POST", target: "/groups/1/rename", referer: "http://example.com/groups/1", wantNext: "/groups/1", wantKept: true},
		{name: "POST sign-out (not replayable)", method: "POST", target: "/confirm-logout", wantNext: "/"},
		{name: "POST sign-out everywhere (not replayable)", method: "POST", target: "/account/signout-everywhere", wantNext: "/"},
		{name: "POST the kept form's own page (not replayable)", method: "POST", target: "/kept", wantNext: "/"},
		{name: "POST invite", method: "POST", target: "/groups/1/invite", wantNext: "/", wantKept: true},
		{name: "POST reveal", method: "POST", target: "/issues/1/reveal", wantNext: "/", wantKept: true},
		{name: "POST delete group", method: "POST", target: "/groups/1/delete", wantNext: "/", wantKept: true},
		{name: "htmx GET account", method: "GET", target: "/account", htmx: "http://example.com/groups/3", wantNext: "/groups/3"},
		{name: "htmx GET estimate, page with query", method: "GET", target: "/issues/2/estimate", htmx: "http://example.com/issues/2?x=1", wantNext: "/issues/2?x=1"},
		{name: "htmx GET, foreign current URL", method: "GET", target: "/groups/1", htmx: "https://evil.example/groups/1", wantNext: "/"},
		{name: "htmx GET, protocol-relative current URL", method: "GET", target: "/groups/1", htmx: "http://example.com//evil.example", wantNext: "/"},
		{name: "htmx GET, encoded slashes", method: "GET", target: "/groups/1", htmx: "http://example.com/%2F%2Fevil.example", wantNext: "/"},
		{name: "htmx GET, javascript current URL", method: "GET", target: "/groups/1", htmx: "javascript:alert(1)", wantNext: "/"},
		{name: "htmx GET, relative current URL", method: "GET", target: "/groups/1", htmx: "/groups/1", wantNext: "/"},
		{name: "htmx GET, userinfo current URL", method: "GET", target: "/groups/1", htmx: "http://evil.example@example.com/groups/1", wantNext: "/"},
		{name: "htmx POST creategroup from home", method: "POST", target: "/creategroup", htmx: "http://example.com/", wantNext: "/", wantKept: true},
		{name: "htmx POST creategroup from a page with query", method: "POST", target: "/creategroup", htmx: "http://example.com/groups/7?x=1", wantNext: "/groups/7?x=1", wantKept: true},
		{name: "htmx POST creategroup, hostile current URL", method: "POST", target: "/creategroup", htmx: "https://evil.example/", wantNext: "/", wantKept: true},
		{name: "htmx POST estimate", method: "POST", target: "/issues/4/estimate", htmx: "http://example.com/issues/4/estimate", wantNext: "/issues/4/estimate", wantKept: true},
		{name: "htmx POST rename", method: "POST", target: "/groups/1/rename", htmx: "http://example.com/groups/1", wantNext: "/groups/1", wantKept: true},
		{name: "htmx POST sign-out (not replayable)", method: "POST", target: "/confirm-logout", htmx: "http://example.com/confirm-logout", wantNext: "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ta.client()
			if tc.htmx != "" {
				c = c.htmxWith(tc.htmx)
			}
			if tc.referer != "" {
				c = c.with("Referer", tc.referer)
			}
			var r *response
			if tc.method == "GET" {
				r = c.get(tc.target)
			} else {
				r = c.post(tc.target, url.Values{"name": {"Kept"}, "key": {"K-1"}, "estimate": {"5"}})
			}
			if tc.htmx != "" {
				if r.status != http.StatusOK && r.status != http.StatusNoContent {
					t.Fatalf("htmx: status %d, want 200 (never a 3xx)", r.status)
				}
				if r.header.Get("Location") != "" {
					t.Fatalf("htmx answer has Location %q", r.header.Get("Location"))
				}
				if r.header.Get("HX-Redirect") == "" {
					t.Fatal("htmx answer has no HX-Redirect")
				}
			} else {
				if r.status != http.StatusSeeOther {
					t.Fatalf("status %d, want 303", r.status)
				}
				if r.header.Get("HX-Redirect") != "" {
					t.Fatal("plain answer has HX-Redirect")
				}
			}
			next, ref, hasForm := loginTarget(t, r.location())
			if next != tc.wantNext {
				t.Errorf("next %q, want %q (location %q)", next, tc.wantNext, r.location())
			}
			if hasForm != tc.wantKept {
				t.Errorf("form reference present = %v, want %v (location %q)", hasForm, tc.wantKept, r.location())
			}
			wantCount := 0
			if tc.wantKept {
				wantCount = 1
			}
			if n := c.keptForms(); n != wantCount {
				t.Errorf("%d kept forms for the session, want %d", n, wantCount)
			}
			if !tc.wantKept && c.sessionCookie() != nil && c.sessionID() != 0 {
				if n, _ := ta.st.KeptFormCount(tctx, c.sessionID()); n != 0 {
					t.Errorf("non-replayable request kept %d forms", n)
				}
			}
			// The sign-in page it points to carries next and (when kept) the form.
			lp := c.plain().get(r.location()).wantStatus(http.StatusOK)
			if v, _ := lp.inputValue("login-form", "next"); v != tc.wantNext {
				t.Errorf("sign-in page next %q, want %q", v, tc.wantNext)
			}
			if v, ok := lp.inputValue("login-form", "kept"); ok != tc.wantKept || v != ref {
				t.Errorf("sign-in page form field %q (present %v), want %q", v, ok, ref)
			}
			if lp.has("kept-notice") != tc.wantKept {
				t.Errorf("kept notice shown = %v, want %v", lp.has("kept-notice"), tc.wantKept)
			}
		})
	}
}

// keepCreateGroup posts the create-group form while signed out and returns the
// reference of the kept form.
func keepCreateGroup(t *testing.T, c *client, name string) string {
	t.Helper()
	r := c.post("/creategroup", url.Values{"name": {name}}).wantStatus(http.StatusSeeOther)
	_, ref, ok := loginTarget(t, r.location())
	if !ok || ref == "" {
		t.Fatalf("no form kept: %q", r.location())
	}
	return ref
}

// sendKept follows the answer to a sign-in with a kept form to the page that
// shows what the form would send, checks it says so, and presses "Send it":
// the answer is the replayed action's.
func sendKept(t testing.TB, c *client, signIn *response) *response {
	t.Helper()
	page := keptPage(t, c, signIn)
	kept, _ := page.inputValue("kept-form", "kept")
	next, _ := page.inputValue("kept-form", "next")
	return c.plain().post(views.PathKept, url.Values{"kept": {kept}, "next": {next}, "do": {"send"}})
}

// keptPage follows the answer to a sign-in with a kept form to the page that
// asks before sending it, and checks that it does ask.
func keptPage(t testing.TB, c *client, signIn *response) *response {
	t.Helper()
	loc := signIn.location()
	if u, err := url.Parse(loc); err != nil || u.Path != views.PathKept || signIn.status >= 400 {
		t.Fatalf("sign-in with a kept form: status %d, went to %q, want the page that asks before sending it", signIn.status, loc)
	}
	page := c.plain().get(loc).wantStatus(http.StatusOK)
	if page.text("kept-what") == "" || !page.has("kept-send") || !page.has("kept-discard") {
		t.Fatalf("the kept form's page does not say what would be sent:\n%s", truncate(page.body, 1500))
	}
	return page
}

func groupsOf(t *testing.T, ta *testApp, nick string) []store.GroupSummary {
	t.Helper()
	gs, err := ta.st.UserGroups(tctx, ta.user(nick).ID)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func TestReplayCreateGroupAfterSignIn(t *testing.T) {
	t.Parallel()
	for _, htmxSignIn := range []bool{false, true} {
		t.Run(fmt.Sprintf("htmx sign-in %v", htmxSignIn), func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t)
			c := ta.client()
			ref := keepCreateGroup(t, c, "Team Rocket")
			loginURL := views.LoginPath("/", ref)
			lp := c.get(loginURL).wantStatus(http.StatusOK)
			if !lp.has("kept-notice") {
				t.Fatal("sign-in page does not say a form is waiting")
			}
			signer := c
			if htmxSignIn {
				signer = c.htmxFrom(loginURL)
			}
			form := url.Values{"nickname": {"Ana"}, "next": {"/"}, "kept": {ref}}
			r := signer.post("/login", form)
			if htmxSignIn {
				if r.status != http.StatusOK || r.header.Get("HX-Redirect") == "" || r.header.Get("Location") != "" {
					t.Fatalf("htmx sign-in: status %d HX-Redirect %q Location %q", r.status, r.header.Get("HX-Redirect"), r.header.Get("Location"))
				}
			} else {
				r.wantStatus(http.StatusSeeOther)
			}
			if gs := groupsOf(t, ta, "Ana"); len(gs) != 0 {
				t.Fatalf("the kept form acted before its owner confirmed it: %d groups", len(gs))
			}
			kp := keptPage(t, c, r)
			if got := kp.text("kept-what"); !strings.Contains(got, "Create the group “Team Rocket”") {
				t.Errorf("the page says %q", got)
			}
			r = sendKept(t, c, r).wantStatus(http.StatusSeeOther)
			loc := r.header.Get("Location")
			gid := groupIDFrom(t, loc)
			g, role, err := ta.st.GroupFor(tctx, gid, ta.user("Ana").ID)
			if err != nil || role != store.RoleOwner || g.Name != "Team Rocket" {
				t.Fatalf("replayed group: %+v role %q err %v", g, role, err)
			}
			page := c.get(loc).wantStatus(http.StatusOK)
			page.wantNotice("Your group “Team Rocket” was created")
			if got := page.text("notice"); !strings.Contains(got, "Signed in as Ana") {
				t.Errorf("notice %q does not say who signed in", got)
			}
			if got := page.text("nav-signout"); got != "Sign out Ana" {
				t.Errorf("nav %q", got)
			}
			if page.text("group-name") != "Team Rocket" {
				t.Errorf("landed on %q", page.text("group-name"))
			}
			// The notice is one-time.
			if again := c.get(loc).wantStatus(http.StatusOK); again.has("notice") {
				t.Fatalf("notice shown twice: %q", again.text("notice"))
			}
			if n := c.keptForms(); n != 0 {
				t.Fatalf("%d kept forms left after the replay", n)
			}

			// Back and re-submit of the same sign-in form: nothing is sent twice.
			r = c.post("/login", form)
			if r.status != http.StatusSeeOther || r.location() != "/" {
				t.Fatalf("re-POST: status %d location %q", r.status, r.location())
			}
			home := c.get("/").wantStatus(http.StatusOK)
			if got := home.text("notice"); !strings.Contains(got, "already sent or discarded") || !strings.Contains(got, "nothing was sent again") {
				t.Fatalf("re-POST notice %q", got)
			}
			if rows := home.all("group-row"); len(rows) != 1 {
				t.Fatalf("%d groups after re-POST, want 1", len(rows))
			}
			if gs := groupsOf(t, ta, "Ana"); len(gs) != 1 {
				t.Fatalf("%d groups in the store, want 1", len(gs))
			}
			// Back to the sign-in page with the used reference: no form waiting.
			lp = c.get(loginURL).wantStatus(http.StatusOK)
			if lp.has("kept-notice") {
				t.Fatal("used reference still shown as waiting")
			}
			if _, ok := lp.inputValue("login-form", "kept"); ok {
				t.Fatal("used reference still in the sign-in form")
			}
		})
	}
}

func TestReplayThatFailsValidationShowsTheFilledForm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		value string
		htmx  bool
	}{
		{"empty", "", false},
		{"blank", "   ", false},
		{"81 characters", strings.Repeat("x", 81), false},
		{"81 characters, htmx sign-in", strings.Repeat("y", 81), true},
		{"control character", "a\x00b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t)
			c := ta.client()
			ref := keepCreateGroup(t, c, tc.value)
			signer := c
			if tc.htmx {
				signer = c.htmxFrom("/login?kept=" + ref)
			}
			r := signer.post("/login", url.Values{"nickname": {"Bea"}, "kept": {ref}})
			if tc.htmx && (r.header.Get("HX-Redirect") == "" || r.header.Get("HX-Retarget") != "") {
				t.Errorf("htmx sign-in: HX-Redirect %q HX-Retarget %q", r.header.Get("HX-Redirect"), r.header.Get("HX-Retarget"))
			}
			r = sendKept(t, c, r).wantStatus(http.StatusUnprocessableEntity)
			if r.has("error") {
				t.Fatalf("an error page instead of the form: %s", r.text("error"))
			}
			if !r.has("create-group-form") {
				t.Fatalf("no create-group form in the answer:\n%s", truncate(r.body, 1500))
			}
			// An HTML parser shows NUL as U+FFFD, as a browser does.
			if v, _ := r.inputValue("create-group-form", "name"); v != strings.ReplaceAll(tc.value, "\x00", "\uFFFD") {
				t.Errorf("form pre-filled with %q, want %q", v, tc.value)
			}
			if r.text("name-error") == "" {
				t.Error("no message for the name")
			}
			if r.text("nav-signout") != "Sign out Bea" {
				t.Errorf("answer not rendered as the signed-in user: nav %q", r.text("nav-signout"))
			}
			if gs := groupsOf(t, ta, "Bea"); len(gs) != 0 {
				t.Fatalf("an invalid replay made %d groups", len(gs))
			}
			// Signed in nonetheless.
			if !c.get("/").has("nav-signout") {
				t.Fatal("not signed in after the refused replay")
			}
		})
	}
}

func TestReplayGoesThroughPermissionChecks(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Owned by Olga", "Olga", "Mia")
	mia := tm.members[0]
	addIssue := fmt.Sprintf("/groups/%d/issues", tm.gid)

	// A stranger keeps an add-issue form, then signs in as a non-member: 404.
	x := ta.client()
	r := x.post(addIssue, url.Values{"key": {"HACK-1"}}).wantStatus(http.StatusSeeOther)
	_, ref, _ := loginTarget(t, r.location())
	r = x.post("/login", url.Values{"nickname": {"Xavier"}, "kept": {ref}})
	// The page that asks names no group the person cannot see.
	if kp := keptPage(t, x, r); strings.Contains(kp.body, "Owned by Olga") || !strings.Contains(kp.text("kept-what"), "a group you are not in") {
		t.Fatalf("the kept form's page for a non-member says %q", kp.text("kept-what"))
	}
	r = sendKept(t, x, r)
	if r.status != http.StatusNotFound {
		t.Fatalf("non-member replay: status %d, want 404", r.status)
	}
	if strings.Contains(r.body, "Owned by Olga") {
		t.Fatal("the 404 reveals the group's name")
	}

	// A member signs out, keeps the same form, signs back in: 403.
	mia.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	r = mia.post(addIssue, url.Values{"key": {"HACK-2"}}).wantStatus(http.StatusSeeOther)
	_, ref, _ = loginTarget(t, r.location())
	r = sendKept(t, mia, mia.post("/login", url.Values{"nickname": {"Mia"}, "kept": {ref}}))
	if r.status != http.StatusForbidden {
		t.Fatalf("member replay of an owner action: status %d, want 403", r.status)
	}
	issues, err := ta.st.GroupIssues(tctx, tm.gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 0 {
		t.Fatalf("refused replays created %d issues", len(issues))
	}

	// The owner's own replay goes through and lands on the group page.
	tm.owner.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	r = tm.owner.post(addIssue, url.Values{"key": {"REAL-1"}, "description": {"kept while signed out"}}).wantStatus(http.StatusSeeOther)
	_, ref, _ = loginTarget(t, r.location())
	r = sendKept(t, tm.owner, tm.owner.post("/login", url.Values{"nickname": {"Olga"}, "kept": {ref}})).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	page := tm.owner.get(r.location()).wantStatus(http.StatusOK)
	page.wantNotice("Issue “REAL-1” was added.")
	if got := page.texts("issue-link"); len(got) != 1 || got[0] != "REAL-1" {
		t.Fatalf("issues on the page: %q", got)
	}
}

func TestReplayOfJoinAndEstimate(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Joinable", "Owen")
	iid := tm.owner.addIssue(tm.gid, "J-1", "")
	tok := ta.inviteToken(tm.gid)

	// Someone follows the invite while signed out and presses Join: kept, then
	// replayed once signed in.
	c := ta.client()
	r := c.post("/join/"+tok, nil).wantStatus(http.StatusSeeOther)
	next, ref, _ := loginTarget(t, r.location())
	r = sendKept(t, c, c.post("/login", url.Values{"nickname": {"Jana"}, "next": {next}, "kept": {ref}})).wantRedirect(fmt.Sprintf("/groups/%d", tm.gid))
	c.get(r.location()).wantStatus(http.StatusOK).wantNotice("You joined “Joinable”.")
	if _, role, _ := ta.st.GroupFor(tctx, tm.gid, ta.user("Jana").ID); role != store.RoleMember {
		t.Fatalf("Jana's role %q after the replayed join", role)
	}

	// An estimate kept while signed out is recorded after sign-in, for the
	// signed-in member only.
	c.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	r = c.htmxFrom(fmt.Sprintf("/issues/%d/estimate", iid)).post(fmt.Sprintf("/issues/%d/estimate", iid), url.Values{"estimate": {"8"}})
	next, ref, _ = loginTarget(t, r.wantStatus(http.StatusOK).header.Get("HX-Redirect"))
	if next != fmt.Sprintf("/issues/%d/estimate", iid) {
		t.Fatalf("next %q", next)
	}
	r = c.htmxFrom(r.header.Get("HX-Redirect")).post("/login", url.Values{"nickname": {"Jana"}, "next": {next}, "kept": {ref}})
	if kp := keptPage(t, c, r); !strings.Contains(kp.text("kept-what"), "Vote on J-1") || !strings.Contains(kp.text("kept-fields"), "8") {
		t.Fatalf("the kept vote's page says %q %q", kp.text("kept-what"), kp.text("kept-fields"))
	}
	r = sendKept(t, c, r).wantRedirect(fmt.Sprintf("/issues/%d", iid))
	est := c.get(r.location()).wantStatus(http.StatusOK)
	est.wantNotice("Your estimate for J-1 is saved")
	if got := est.text("own-value"); got != "8" {
		t.Fatalf("own value %q after the replay, want 8", got)
	}
}

func TestCrossSitePostWhileSignedOutKeepsNothing(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	keepCreateGroup(t, c, "Legit") // the session exists and holds one form
	before := ta.countRows("kept_forms", "")
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "", "Origin", "null"},
	} {
		for _, target := range []string{"/creategroup", "/join/sometoken", "/groups/1/issues", "/issues/1/estimate"} {
			for _, htmx := range []bool{false, true} {
				name := fmt.Sprintf("%v %s htmx=%v", hdr, target, htmx)
				for _, b := range []*client{c, ta.client()} {
					cc := b.with(hdr...)
					if htmx {
						cc = cc.htmxWith("http://example.com/")
					}
					r := cc.post(target, url.Values{"name": {"Forged"}, "key": {"F-1"}, "estimate": {"1"}})
					if r.status != http.StatusForbidden {
						t.Errorf("%s: status %d, want 403", name, r.status)
					}
					if r.header.Get("HX-Redirect") != "" || r.header.Get("Location") != "" {
						t.Errorf("%s: refused request redirects to %q", name, r.location())
					}
					if len(r.header.Values("Set-Cookie")) > 0 {
						t.Errorf("%s: refused request set cookies", name)
					}
				}
			}
		}
	}
	if n := c.keptForms(); n != 1 {
		t.Fatalf("session holds %d kept forms after forged posts, want 1", n)
	}
	if after := ta.countRows("kept_forms", ""); after != before {
		t.Fatalf("kept_forms rows %d → %d after forged posts", before, after)
	}
	if n := ta.countRows("groups", "name = 'Forged'"); n != 0 {
		t.Fatal("a forged post created a group")
	}
}

func TestKeptFormReferenceRules(t *testing.T) {
	t.Parallel()

	signInWith := func(c *client, nick, ref string) *response {
		return c.post("/login", url.Values{"nickname": {nick}, "next": {"/account"}, "kept": {ref}})
	}
	expectNothing := func(t *testing.T, ta *testApp, c *client, r *response, nick, msg string) {
		t.Helper()
		r.wantRedirect("/account")
		page := c.get("/account").wantStatus(http.StatusOK)
		notice := page.all("notice")
		if len(notice) == 0 || !strings.Contains(textOf(notice[0]), msg) {
			t.Fatalf("notice %q, want it to contain %q", page.text("notice"), msg)
		}
		if !strings.Contains(attr(notice[0], "class"), "notice-error") {
			t.Errorf("the message is not shown as an error: class %q", attr(notice[0], "class"))
		}
		if n := ta.countRows("groups", ""); n != 0 {
			t.Fatalf("%d groups created by a refused reference", n)
		}
		if got := page.text("account-nickname"); got != nick {
			t.Fatalf("not signed in as %s: %q", nick, got)
		}
	}

	t.Run("expired after 15 minutes", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		c := ta.client()
		ref := keepCreateGroup(t, c, "Late")
		ta.clock.Advance(store.KeptFormTTL)
		lp := c.get("/login?kept=" + ref).wantStatus(http.StatusOK)
		if lp.has("kept-notice") || !strings.Contains(lp.text("notice"), "expired") {
			t.Fatalf("sign-in page for an expired form: kept %v notice %q", lp.has("kept-notice"), lp.text("notice"))
		}
		expectNothing(t, ta, c, signInWith(c, "Lena", ref), "Lena", "expired")
	})

	t.Run("just before 15 minutes it still works", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		c := ta.client()
		ref := keepCreateGroup(t, c, "Just in time")
		ta.clock.Advance(store.KeptFormTTL - time.Second)
		r := sendKept(t, c, signInWith(c, "Tim", ref)).wantStatus(http.StatusSeeOther)
		groupIDFrom(t, r.location())
	})

	t.Run("another browser session", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		a, b := ta.client(), ta.client()
		ref := keepCreateGroup(t, a, "Mine")
		keepCreateGroup(t, b, "B's own") // b has a session of its own
		expectNothing(t, ta, b, signInWith(b, "Bob", ref), "Bob", "another browser session")
		// The attempt from elsewhere did not use it up.
		r := sendKept(t, a, signInWith(a, "Ann", ref)).wantStatus(http.StatusSeeOther)
		gid := groupIDFrom(t, r.location())
		if _, role, _ := ta.st.GroupFor(tctx, gid, ta.user("Ann").ID); role != store.RoleOwner {
			t.Fatal("the owner of the reference could not use it after a foreign attempt")
		}
		if _, role, _ := ta.st.GroupFor(tctx, gid, ta.user("Bob").ID); role != store.RoleNone {
			t.Fatal("the foreign browser's user got the group")
		}
	})

	t.Run("another browser without a session", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		a, b := ta.client(), ta.client()
		ref := keepCreateGroup(t, a, "Mine")
		expectNothing(t, ta, b, signInWith(b, "Bea", ref), "Bea", "another browser session")
	})

	t.Run("used twice", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		c := ta.client()
		ref := keepCreateGroup(t, c, "Once")
		sendKept(t, c, signInWith(c, "Olli", ref)).wantStatus(http.StatusSeeOther)
		c.get("/") // read the first notice
		signInWith(c, "Olli", ref).wantRedirect("/account")
		page := c.get("/account")
		if !strings.Contains(page.text("notice"), "already sent or discarded") {
			t.Fatalf("notice %q", page.text("notice"))
		}
		if n := ta.countRows("groups", ""); n != 1 {
			t.Fatalf("%d groups, want 1", n)
		}
	})

	t.Run("unknown reference", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		c := ta.client()
		for _, ref := range []string{store.NewToken(), "nope", strings.Repeat("A", 43)} {
			expectNothing(t, ta, c, signInWith(c, "Uma", ref), "Uma", "could not be found")
		}
		lp := ta.client().get("/login?kept=" + store.NewToken()).wantStatus(http.StatusOK)
		if lp.has("kept-notice") || !strings.Contains(lp.text("notice"), "could not be found") {
			t.Fatalf("sign-in page for an unknown reference: %q", lp.text("notice"))
		}
	})

	t.Run("size cap and urlencoded only", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		c := ta.client()
		keepCreateGroup(t, c, "first")
		rowsBefore := ta.countRows("kept_forms", "")

		big := "name=" + strings.Repeat("x", 100<<10)
		r := c.do(http.MethodPost, "/creategroup", strings.NewReader(big), "application/x-www-form-urlencoded")
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("100 KiB: status %d, want 413", r.status)
		}
		r = ta.client().htmxFrom("/").do(http.MethodPost, "/creategroup", strings.NewReader(big), "application/x-www-form-urlencoded")
		if r.status != http.StatusRequestEntityTooLarge || r.header.Get("HX-Redirect") != "" {
			t.Fatalf("100 KiB htmx: status %d HX-Redirect %q", r.status, r.header.Get("HX-Redirect"))
		}
		just := "name=" + strings.Repeat("x", store.KeptFormMaxBytes+1-len("name="))
		if r := c.do(http.MethodPost, "/creategroup", strings.NewReader(just), "application/x-www-form-urlencoded"); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("64 KiB + 1: status %d, want 413", r.status)
		}
		multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMulti\r\n--XyZ--\r\n"
		r = c.do(http.MethodPost, "/creategroup", strings.NewReader(multipart), "multipart/form-data; boundary=XyZ")
		if r.status != http.StatusUnsupportedMediaType {
			t.Fatalf("multipart: status %d, want 415", r.status)
		}
		r = c.do(http.MethodPost, "/creategroup", strings.NewReader(`{"name":"json"}`), "application/json")
		if r.status != http.StatusUnsupportedMediaType {
			t.Fatalf("JSON: status %d, want 415", r.status)
		}
		if after := ta.countRows("kept_forms", ""); after != rowsBefore {
			t.Fatalf("refused bodies kept forms: %d → %d", rowsBefore, after)
		}
		if n := c.keptForms(); n != 1 {
			t.Fatalf("session has %d kept forms, want 1", n)
		}
		// Exactly at the cap is kept.
		exact := "name=" + strings.Repeat("x", store.KeptFormMaxBytes-len("name="))
		c.do(http.MethodPost, "/creategroup", strings.NewReader(exact), "application/x-www-form-urlencoded").wantStatus(http.StatusSeeOther)
		if n := c.keptForms(); n != 2 {
			t.Fatalf("a 64 KiB form was not kept (%d kept)", n)
		}
	})

	t.Run("dropped at sign-out", func(t *testing.T) {
		t.Parallel()
		ta := newTestApp(t)
		c := ta.client()
		ref := keepCreateGroup(t, c, "Never")
		sid := c.sessionID()
		// Signing in without using the reference keeps it bound to the session
		// (carried across the new session id)...
		c.login("Sid")
		if c.sessionID() != sid {
			t.Fatalf("session row changed at sign-in: %d → %d", sid, c.sessionID())
		}
		if n, _ := ta.st.KeptFormCount(tctx, sid); n != 1 {
			t.Fatalf("%d kept forms after sign-in, want 1", n)
		}
		// ...and signing out drops it.
		c.post("/confirm-logout", nil).wantRedirect("/")
		if n, _ := ta.st.KeptFormCount(tctx, sid); n != 0 {
			t.Fatalf("%d kept forms after sign-out, want 0", n)
		}
		if n := ta.countRows("kept_forms", "session_id = ?", sid); n != 0 {
			t.Fatalf("%d kept_forms rows for the ended session", n)
		}
		c.post("/login", url.Values{"nickname": {"Sid"}, "kept": {ref}}).wantRedirect("/")
		if got := c.get("/").text("notice"); !strings.Contains(got, "could not be found") {
			t.Fatalf("notice for a dropped form: %q", got)
		}
		if n := ta.countRows("groups", ""); n != 0 {
			t.Fatal("a form dropped at sign-out was replayed")
		}
	})
}

// Hostile redirect targets: every Location and HX-Redirect the app sends stays on
// this site, whatever next, HX-Current-URL or Referer says.

var hostileTargets = []string{
	"//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\\\evil.com", "\\/evil.com",
	"/%2F%2Fevil.com", "/%2f%2fevil.com", "%2F%2Fevil.com", "/%5Cevil.com", "/%5cevil.com", "/%255C%255Cevil.com",
	"/%252F%252Fevil.com", "/%25252F%25252Fevil.com", "https:evil.com", "https://evil.com", "http:/evil.com",
	"HTTPS://evil.com/", "http://example.com@evil.com/", "//example.com@evil.com", "/@evil.com",
	"javascript:alert(1)", "JaVaScRiPt:alert(1)", "javascript://example.com/%0aalert(1)", "http://example.com:1/x", " javascript:alert(1)", "java\tscript:alert(1)",
	"data:text/html,<script>alert(1)</script>", "vbscript:x", "\t//evil.com", " //evil.com", "\n//evil.com",
	"/\t/evil.com", "/\n/evil.com", "/\r/evil.com", "/%09/evil.com", "/%0a/evil.com", "/%0d%0aSet-Cookie:x=1",
	"/\x00/evil.com", "/%00/evil.com", "/\u2028/evil.com", "/\u00a0/evil.com", "/\uff0f/evil.com", "／／evil.com",
	"evil.com", "", "?next=//evil.com", "#//evil.com", "/" + strings.Repeat("a", 4096), "//", "/\\", "/.//evil.com",
	"/%2e%2e//evil.com", "http://example.com//evil.com", "http://example.com/\\evil.com", "http://example.com/%2F%2Fevil.com",
}

// checkOnSite fails when loc could take a browser off this site; for a sign-in
// URL it checks the next it carries too.
func checkOnSite(t testing.TB, what, loc string) {
	t.Helper()
	if loc == "" {
		return
	}
	if _, ok := web.SafePath(loc); !ok {
		t.Errorf("%s: %q is not a safe path", what, loc)
		return
	}
	if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || !strings.HasPrefix(loc, "/") {
		t.Errorf("%s: %q", what, loc)
	}
	for _, r := range loc {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			t.Errorf("%s: %q has control or space characters", what, loc)
		}
	}
	base, _ := url.Parse("https://estimator.example/groups/1")
	u, err := url.Parse(loc)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", what, loc, err)
		return
	}
	if ref := base.ResolveReference(u); ref.Host != base.Host || ref.Scheme != base.Scheme {
		t.Errorf("%s: %q resolves to %s", what, loc, ref)
	}
	if u.Path == "/login" {
		if next := u.Query().Get("next"); next != "" {
			if _, ok := web.SafePath(next); !ok {
				t.Errorf("%s: sign-in URL %q carries unsafe next %q", what, loc, next)
			}
		}
	}
}

// driveRedirectTargets sends one hostile value through every place the app reads
// a target from, and checks every answer.
func driveRedirectTargets(t testing.TB, ta *testApp, signedIn *client, nick, h string) {
	t.Helper()
	// next on the sign-in form, signed in already (same browser) and anonymous.
	r := signedIn.post("/login", url.Values{"nickname": {nick}, "next": {h}})
	if r.status != http.StatusSeeOther {
		t.Errorf("POST /login next=%q: status %d", h, r.status)
	}
	checkOnSite(t, fmt.Sprintf("POST /login next=%q", h), r.location())
	r = signedIn.htmxFrom("/login").post("/login", url.Values{"nickname": {nick}, "next": {h}})
	checkOnSite(t, fmt.Sprintf("htmx POST /login next=%q", h), r.location())
	r = signedIn.get("/login?next=" + url.QueryEscape(h))
	checkOnSite(t, fmt.Sprintf("GET /login?next=%q signed in", h), r.location())
	anon := ta.client()
	lp := anon.get("/login?next=" + url.QueryEscape(h))
	if v, ok := lp.inputValue("login-form", "next"); ok {
		checkOnSite(t, fmt.Sprintf("sign-in form next for %q", h), v)
	}
	// HX-Current-URL, raw and as a path of this host.
	for _, cur := range []string{h, "http://example.com" + h} {
		for _, req := range []struct{ method, target string }{{"GET", "/account"}, {"POST", "/creategroup"}, {"POST", "/groups/1/rename"}} {
			c := ta.client().htmxWith(cur)
			var r *response
			if req.method == "GET" {
				r = c.get(req.target)
			} else {
				r = c.post(req.target, url.Values{"name": {"x"}})
			}
			if r.status >= 300 && r.status < 400 {
				t.Errorf("htmx %s %s from %q: status %d", req.method, req.target, cur, r.status)
			}
			checkOnSite(t, fmt.Sprintf("htmx %s %s HX-Current-URL %q", req.method, req.target, cur), r.location())
		}
	}
	// Referer of a plain POST.
	for _, ref := range []string{h, "http://example.com" + h} {
		r := ta.client().with("Referer", ref).post("/groups/1/rename", url.Values{"name": {"x"}})
		checkOnSite(t, fmt.Sprintf("POST with Referer %q", ref), r.location())
	}
}

func TestRedirectTargetsNeverLeaveTheSite(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.signedIn("Rhea")
	for _, h := range hostileTargets {
		driveRedirectTargets(t, ta, c, "Rhea", h)
		// The hostile values go to the start page exactly.
		if _, ok := web.SafePath(h); !ok {
			if got := c.post("/login", url.Values{"nickname": {"Rhea"}, "next": {h}}).location(); got != "/" {
				t.Errorf("next %q led to %q, want /", h, got)
			}
		}
	}
	// A replay whose next is hostile still lands on the site.
	for i, h := range hostileTargets[:12] {
		b := ta.client()
		nick := fmt.Sprintf("Rhea %d", i)
		ref := keepCreateGroup(t, b, "Replayed")
		r := b.post("/login", url.Values{"nickname": {nick}, "next": {h}, "kept": {store.NewToken()}})
		checkOnSite(t, fmt.Sprintf("unknown ref, next %q", h), r.location())
		r = b.post("/login", url.Values{"nickname": {nick}, "next": {h}, "kept": {ref}})
		checkOnSite(t, fmt.Sprintf("replay, next %q", h), r.location())
		r = sendKept(t, b, r)
		checkOnSite(t, fmt.Sprintf("replay sent, next %q", h), r.location())
		b.post("/confirm-logout", nil)
	}
}

func FuzzRedirectTargets(f *testing.F) {
	for _, h := range hostileTargets {
		f.Add(h)
	}
	for _, s := range []string{"/", "/groups/1", "/join/abc", "/account?x=1", "/a%2Fb", "/%", "/%%32F"} {
		f.Add(s)
	}
	ta := newTestApp(f, func(c *Config) { c.LoginRate, c.LoginBurst = rate.Inf, 1 })
	setup := *ta
	setup.t = f
	c := setup.signedIn("Fuzzy")
	f.Fuzz(func(t *testing.T, h string) {
		local := *ta
		local.t = t
		// The same browser (its cookie jar is shared) reporting to this run.
		signed := *c
		signed.ta = &local
		driveRedirectTargets(t, &local, &signed, "Fuzzy", h)
	})
}

// Issue "Trust, round three", 4: an attacker keeps a Join of their own group in
// an anonymous session, plants that session in the victim's browser, and the
// victim's sign-in runs the attacker's form as the victim. A kept form never
// acts on the account by itself: the person sees what it would send and
// decides.
func TestPlantedAnonymousSessionDoesNotReplayThePlantersFormAsTheVictim(t *testing.T) {
	t.Parallel()
	for _, htmxSignIn := range []bool{false, true} {
		t.Run(fmt.Sprintf("htmx sign-in %v", htmxSignIn), func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t)
			trap := ta.team("Team Phoenix", "Mallory-the-Planter_2026.xyzXYZ")
			tok := ta.inviteToken(trap.gid)

			// The attacker, signed out, presses Join on their own invite.
			attacker := ta.client()
			r := attacker.post("/join/"+tok, nil).wantStatus(http.StatusSeeOther)
			next, ref, ok := loginTarget(t, r.location())
			if !ok {
				t.Fatal("the join was not kept")
			}
			// ...and plants that session in the victim's browser, then sends the
			// victim the sign-in link.
			victim := ta.client()
			name := ta.app.signin.SessionCookie()
			victim.cookies[name] = attacker.cookies[name]
			signer := victim
			if htmxSignIn {
				signer = victim.htmxFrom(views.LoginPath(next, ref))
			}
			r = signer.post("/login", url.Values{"nickname": {"Victoria Long-Nickname 32 chars"}, "next": {next}, "kept": {ref}})
			if r.status >= 400 {
				t.Fatalf("sign-in: status %d", r.status)
			}
			victimUser := ta.user("Victoria Long-Nickname 32 chars")
			if _, role, _ := ta.st.GroupFor(tctx, trap.gid, victimUser.ID); role != store.RoleNone {
				t.Fatalf("the planted form joined the victim to the attacker's group (role %q)", role)
			}
			// The victim is asked, and sees what the form would do.
			kp := keptPage(t, victim, r)
			if got := kp.text("kept-what"); !strings.Contains(got, "Join the group “Team Phoenix”") {
				t.Errorf("the page says %q", got)
			}
			if _, role, _ := ta.st.GroupFor(tctx, trap.gid, victimUser.ID); role != store.RoleNone {
				t.Fatal("showing the kept form joined the group")
			}
			// The send button is a POST like any other: a cross-site one is refused.
			kept, _ := kp.inputValue("kept-form", "kept")
			victim.with("Sec-Fetch-Site", "cross-site").post(views.PathKept, url.Values{"kept": {kept}, "do": {"send"}}).wantStatus(http.StatusForbidden)
			// The victim discards it: nothing joins, and it cannot be sent later.
			r = victim.post(views.PathKept, url.Values{"kept": {kept}, "next": {next}, "do": {"discard"}}).wantStatus(http.StatusSeeOther)
			victim.get(r.location()).wantNotice("Discarded")
			r = victim.post(views.PathKept, url.Values{"kept": {kept}, "next": {next}, "do": {"send"}}).wantStatus(http.StatusSeeOther)
			if got := victim.get(r.location()).text("notice"); !strings.Contains(got, "already sent or discarded") {
				t.Errorf("sending a discarded form: notice %q", got)
			}
			if _, role, _ := ta.st.GroupFor(tctx, trap.gid, victimUser.ID); role != store.RoleNone {
				t.Fatalf("the victim is in the attacker's group after discarding (role %q)", role)
			}
			if n := ta.countRows("memberships", "group_id = ?", trap.gid); n != 1 {
				t.Fatalf("%d members in the trap group, want the owner alone", n)
			}
		})
	}
}
