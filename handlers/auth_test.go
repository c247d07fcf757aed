package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"estimator/store"
	"estimator/web"
)

var opaqueToken = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func rawSetCookie(r *response, name string) string {
	for _, line := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

func TestSessionCookieIsOnlyAnOpaqueID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		secure        bool
		remember      bool
		wantName      string
		wantAttrs     []string
		unwantedAttrs []string
	}{
		{name: "browser session", wantName: "estimator_session", wantAttrs: []string{"Path=/", "HttpOnly", "SameSite=Lax"}, unwantedAttrs: []string{"Max-Age", "Expires", "Secure", "Domain"}},
		{name: "remember me", remember: true, wantName: "estimator_session", wantAttrs: []string{"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"}, unwantedAttrs: []string{"Secure", "Domain"}},
		{name: "behind TLS", secure: true, wantName: "__Host-estimator_session", wantAttrs: []string{"Path=/", "HttpOnly", "SameSite=Lax", "Secure"}, unwantedAttrs: []string{"Domain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t, func(c *Config) { c.SecureCookies = tc.secure })
			c := ta.client()
			// A nickname long enough that no random token holds it by chance.
			form := url.Values{"nickname": {"Anastasia"}}
			if tc.remember {
				form.Set("remember", "1")
			}
			r := c.post("/login", form).wantStatus(http.StatusSeeOther)
			raw := rawSetCookie(r, tc.wantName)
			if raw == "" {
				t.Fatalf("no %s cookie in %q", tc.wantName, r.header.Values("Set-Cookie"))
			}
			parts := strings.Split(raw, "; ")
			value := strings.TrimPrefix(parts[0], tc.wantName+"=")
			if !opaqueToken.MatchString(value) {
				t.Fatalf("cookie value %q is not just an opaque 256-bit token", value)
			}
			if strings.Contains(strings.ToLower(raw), "anastasia") {
				t.Fatalf("cookie carries the nickname: %s", raw)
			}
			for _, want := range tc.wantAttrs {
				if !strings.Contains(raw, want) {
					t.Errorf("cookie %q lacks %s", raw, want)
				}
			}
			for _, bad := range tc.unwantedAttrs {
				if strings.Contains(raw, bad) {
					t.Errorf("cookie %q has %s", raw, bad)
				}
			}
		})
	}
}

func TestSessionIDChangesAtSignInAndSignOutEndsIt(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	// An anonymous session exists first (a kept form needs one).
	c.post("/creategroup", url.Values{"name": {"Before"}}).wantStatus(http.StatusSeeOther)
	before := c.sessionCookie()
	if before == nil {
		t.Fatal("no anonymous session cookie")
	}
	c.login("Bruno")
	after := c.sessionCookie()
	if after == nil || after.Value == before.Value {
		t.Fatalf("session id did not change at sign-in: %v → %v", before, after)
	}
	// The pre-sign-in token no longer names any session.
	old := ta.client()
	old.cookies[before.Name] = before
	if r := old.get("/"); r.has("nav-signout") {
		t.Fatal("the pre-sign-in cookie is signed in")
	}
	home := c.get("/").wantStatus(http.StatusOK)
	if got := home.text("nav-signout"); got != "Sign out Bruno" {
		t.Fatalf("nav shows %q", got)
	}
	if cc := home.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("signed-in page Cache-Control %q", cc)
	}
	stolen := *after
	c.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	// The signed-in session is gone; what the browser holds now, if anything,
	// is a new, anonymous one carrying the "signed out" notice.
	if ck := c.sessionCookie(); ck != nil && ck.Value == stolen.Value {
		t.Fatal("sign-out left the session cookie")
	}
	out := c.get("/").wantStatus(http.StatusOK).wantNotice("You are signed out.")
	if out.has("nav-signout") || !out.has("nav-signin") {
		t.Fatal("signed in after signing out")
	}
	if c.get("/").has("notice") {
		t.Fatal("the sign-out notice shows twice")
	}
	// Replaying the old cookie is anonymous: the session ended on the server.
	replay := ta.client()
	replay.cookies[stolen.Name] = &stolen
	r := replay.get("/").wantStatus(http.StatusOK)
	if r.has("nav-signout") || r.has("nav-my-groups") || !r.has("nav-signin") {
		t.Fatal("old cookie still signed in after sign-out")
	}
	if r.header.Get("Cache-Control") == "no-store" {
		t.Fatal("anonymous page marked no-store (only signed-in pages are)")
	}
	if replay.get("/account").status != http.StatusSeeOther {
		t.Fatal("old cookie reached /account")
	}
}

func TestSessionExpiresWhenIdleAndAtItsLifetime(t *testing.T) {
	t.Parallel()
	policy := store.SessionPolicy{Idle: time.Hour, Lifetime: 3 * time.Hour, Remember: 24 * time.Hour}
	for _, tc := range []struct {
		name     string
		remember bool
		steps    []time.Duration // advance, then request; all but the last stay signed in
	}{
		{name: "idle", steps: []time.Duration{59 * time.Minute, time.Hour}},
		{name: "absolute lifetime despite activity", steps: []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 31 * time.Minute}},
		{name: "remembered survives idle, not its lifetime", remember: true, steps: []time.Duration{5 * time.Hour, 10 * time.Hour, 9 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta := newTestApp(t, func(c *Config) { c.Sessions = policy })
			c := ta.client()
			form := url.Values{"nickname": {"Clara"}}
			if tc.remember {
				form.Set("remember", "1")
			}
			c.post("/login", form).wantStatus(http.StatusSeeOther)
			for i, d := range tc.steps {
				ta.clock.Advance(d)
				signedIn := c.get("/").has("nav-signout")
				last := i == len(tc.steps)-1
				if signedIn == last {
					t.Fatalf("step %d (+%v): signed in = %v", i, d, signedIn)
				}
			}
		})
	}
}

func TestPlantedSessionIDIsNotAdopted(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	planted := store.NewToken()
	c.cookies["estimator_session"] = &http.Cookie{Name: "estimator_session", Value: planted}
	if r := c.get("/"); !r.has("nav-signin") {
		t.Fatal("planted id is signed in")
	}
	c.login("Dora")
	got := c.sessionCookie()
	if got == nil || got.Value == planted {
		t.Fatalf("server adopted the planted id: %v", got)
	}
	// And the planted token names no session at all.
	if _, _, err := ta.st.LoadSession(context.Background(), planted, store.DefaultSessionPolicy); err != store.ErrNotFound {
		t.Fatalf("planted token loads a session: %v", err)
	}
}

func TestTakenNicknameIsRefusedInAnotherBrowser(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	owner := ta.client()
	owner.login("Emil")
	owner.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	// The same browser (it kept its key) gets the nickname back.
	owner.login("emil")
	if got := owner.get("/").text("nav-signout"); got != "Sign out Emil" {
		t.Fatalf("same browser got %q", got)
	}
	other := ta.client()
	for _, nick := range []string{"Emil", "EMIL", " emil ", "Ｅｍｉｌ"} {
		r := other.post("/login", url.Values{"nickname": {nick}}).wantStatus(http.StatusUnprocessableEntity)
		if msg := r.text("nickname-error"); !strings.Contains(msg, "is taken") {
			t.Fatalf("%q: message %q", nick, msg)
		}
		if other.sessionCookie() != nil && other.get("/").has("nav-signout") {
			t.Fatalf("%q: other browser got signed in", nick)
		}
	}
	// htmx: the form fragment comes back with the message.
	r := other.htmxFrom("/login").post("/login", url.Values{"nickname": {"Emil"}}).wantStatus(http.StatusUnprocessableEntity)
	if !r.has("login-form") || r.has("nav-signin") {
		t.Fatal("htmx 422 is not the form fragment")
	}
}

func TestNicknameValidation(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	for _, nick := range []string{"", " ", "a", strings.Repeat("x", 33), "ab<script>", "a\x00b", "ab\xff", "a\u200bb", "ab/cd"} {
		r := c.post("/login", url.Values{"nickname": {nick}}).wantStatus(http.StatusUnprocessableEntity)
		if r.text("nickname-error") == "" {
			t.Errorf("%q: no message", nick)
		}
	}
	if c.sessionCookie() != nil {
		t.Fatal("an invalid sign-in made a session")
	}
}

func TestPersonalSigninLink(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	phone := ta.client()
	laptop := ta.client()
	laptop.login("Finn")
	// Post/redirect/get: the link is on the Account page the POST leads to,
	// once; a reload shows it no more.
	laptop.post("/account/signin-link", nil).wantRedirect("/account")
	r := laptop.get("/account").wantStatus(http.StatusOK).wantNotice("new personal sign-in link")
	if again := laptop.get("/account").wantStatus(http.StatusOK); again.has("signin-link") {
		t.Errorf("a reload of the Account page shows the link again")
	}
	link, ok := r.inputValue("signin-link", "")
	if !ok {
		link = attr(r.all("signin-link")[0], "value")
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/signin/") {
		t.Fatalf("link %q", link)
	}
	// GET only asks; it does not sign in.
	confirm := phone.get(u.Path).wantStatus(http.StatusOK)
	if !confirm.has("signin-confirm") || phone.get("/").has("nav-signout") {
		t.Fatal("GET of the link signed in or showed no confirmation")
	}
	phone.post(u.Path, nil).wantStatus(http.StatusSeeOther)
	if got := phone.get("/").text("nav-signout"); got != "Sign out Finn" {
		t.Fatalf("after confirming the link: %q", got)
	}
	// The phone now knows the nickname too.
	phone.post("/confirm-logout", nil)
	phone.login("Finn")

	// Replacing the link invalidates the old one.
	laptop.post("/account/signin-link", nil).wantStatus(http.StatusSeeOther)
	third := ta.client()
	third.get(u.Path).wantStatus(http.StatusNotFound)
	third.post(u.Path, nil).wantStatus(http.StatusNotFound)
	if third.get("/").has("nav-signout") {
		t.Fatal("replaced link signed in")
	}
}

func TestForgetBrowserAndSignOutEverywhere(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	a := ta.client()
	b := ta.client()
	a.login("Gus")
	// b gets in with the link, then both are signed in.
	a.post("/account/signin-link", nil).wantStatus(http.StatusSeeOther)
	link := attr(a.get("/account").all("signin-link")[0], "value")
	u, _ := url.Parse(link)
	b.post(u.Path, nil).wantStatus(http.StatusSeeOther)
	if !b.get("/").has("nav-signout") {
		t.Fatal("b not signed in")
	}
	a.post("/account/signout-everywhere", nil).wantStatus(http.StatusSeeOther)
	if a.get("/").has("nav-signout") || b.get("/").has("nav-signout") {
		t.Fatal("sign out everywhere left a session")
	}
	// a forgets its browser: typing the nickname no longer works there.
	a.login("Gus")
	a.post("/account/forget-browser", nil).wantStatus(http.StatusSeeOther)
	a.post("/confirm-logout", nil)
	a.post("/login", url.Values{"nickname": {"Gus"}}).wantStatus(http.StatusUnprocessableEntity)
}

func TestDeactivatedUserCannotSignInAndLosesSessions(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	c.login("Hana")
	if _, err := ta.st.SetActive(context.Background(), "hana", false); err != nil {
		t.Fatal(err)
	}
	if c.get("/").has("nav-signout") {
		t.Fatal("deactivated user's session still works")
	}
	r := c.post("/login", url.Values{"nickname": {"Hana"}}).wantStatus(http.StatusForbidden)
	if !strings.Contains(r.text("nickname-error"), "deactivated") {
		t.Fatalf("message %q", r.text("nickname-error"))
	}
	if _, err := ta.st.SetActive(context.Background(), "hana", true); err != nil {
		t.Fatal(err)
	}
	c.login("Hana")
}

func TestSessionOfDeletedUserIsAnonymous(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	c.login("Ivo")
	u, err := ta.st.UserByNickname(context.Background(), "Ivo")
	if err != nil {
		t.Fatal(err)
	}
	if err := ta.st.DeleteUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	r := c.get("/").wantStatus(http.StatusOK)
	if !r.has("nav-signin") || r.has("nav-my-groups") {
		t.Fatal("session of a deleted user is not anonymous")
	}
}

func TestSessionStoreFailureFailsClosed(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	c.login("Jo")
	before := c.sessionCookie().Value
	ta.st.Close()
	r := c.get("/")
	if r.status < 500 {
		t.Fatalf("status %d with a broken store, want a 5xx", r.status)
	}
	if rawSetCookie(r, "estimator_session") != "" {
		t.Fatal("a failing store answered with a new session cookie")
	}
	if c.sessionCookie().Value != before {
		t.Fatal("cookie changed")
	}
}

func TestHostileNextLandsOnStartPage(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	hostile := []string{
		"//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/%2F%2Fevil.com", "/%2f%2fevil.com",
		"/%5Cevil.com", "/%255C%255Cevil.com", "https:evil.com", "https://evil.com", "http:/evil.com",
		"\t//evil.com", " //evil.com", "/\t/evil.com", "/\n/evil.com", "/%09/evil.com", "/%0d%0aSet-Cookie:x",
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "/javascript:alert(1)x//%0a", "data:text/html,x",
		"evil.com", "", "?x", "#x", "/" + strings.Repeat("a", 8192), "/ok\x00", "//", "/\u2028x", "/a b",
		"/%2F%2F%2Fevil.com", "/%252F%252Fevil.com",
	}
	for i, next := range hostile {
		c := ta.client()
		r := c.post("/login", url.Values{"nickname": {fmt.Sprintf("user%d", i)}, "next": {next}})
		if r.status != http.StatusSeeOther || r.location() != "/" {
			t.Errorf("next %q: status %d, location %q", next, r.status, r.location())
		}
		if _, ok := web.SafePath(next); ok && next != "/javascript:alert(1)x//%0a" {
			t.Errorf("SafePath accepted %q", next)
		}
	}
	for i, next := range []string{"/groups/12", "/issues/3/estimate", "/join/abc-DEF_123", "/?tab=mine", "/account"} {
		c := ta.client()
		r := c.post("/login", url.Values{"nickname": {fmt.Sprintf("good%d", i)}, "next": {next}})
		if r.location() != next {
			t.Errorf("valid next %q became %q", next, r.location())
		}
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	victim := ta.client()
	victim.login("Kim")
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign Origin, old browser", map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range []string{"/login", "/confirm-logout"} {
				c := *victim
				c.header = http.Header{}
				for k, v := range tc.header {
					c.header.Set(k, v)
				}
				r := c.post(target, url.Values{"nickname": {"Mallory"}})
				if r.status != http.StatusForbidden {
					t.Fatalf("%s: status %d, want 403", target, r.status)
				}
				if len(r.header.Values("Set-Cookie")) > 0 {
					t.Fatalf("%s: refused request set cookies", target)
				}
			}
		})
	}
	if _, err := ta.st.UserByNickname(context.Background(), "Mallory"); err != store.ErrNotFound {
		t.Fatalf("cross-site sign-in made a user: %v", err)
	}
	if !victim.get("/").has("nav-signout") {
		t.Fatal("cross-site sign-out ended the session")
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	for _, target := range []string{"/", "/login", "/nope", "/assets/app.css", "/healthz", "/livez"} {
		r := c.get(target)
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
			"X-Frame-Options":        "DENY",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", target, k, got, want)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline code: %q", target, csp)
		}
	}
	// No inline script anywhere in the pages.
	c.login("Lea")
	for _, target := range []string{"/", "/account", "/login", "/confirm-logout"} {
		body := c.get(target).body
		for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
			if !strings.Contains(m, "src=") {
				t.Errorf("%s: inline script %s", target, m)
			}
		}
		if strings.Contains(body, " style=") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
			t.Errorf("%s: inline style or handler", target)
		}
	}
}

func TestParallelSignInsAndOutsStayConsistent(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ta.client()
			nick := fmt.Sprintf("par%02d", i%25) // pairs race for the same nickname
			r := c.post("/login", url.Values{"nickname": {nick}})
			switch r.status {
			case http.StatusSeeOther:
			case http.StatusUnprocessableEntity:
				return // the other browser of the pair got it first
			default:
				errs <- fmt.Errorf("%s: sign-in status %d", nick, r.status)
				return
			}
			if got := c.get("/").text("nav-signout"); got != "Sign out "+nick {
				errs <- fmt.Errorf("%s: nav %q", nick, got)
			}
			c.post("/confirm-logout", nil)
			if c.get("/").has("nav-signout") {
				errs <- fmt.Errorf("%s: still signed in after sign-out", nick)
			}
			c.login(nick)
			if got := c.get("/").text("nav-signout"); got != "Sign out "+nick {
				errs <- fmt.Errorf("%s: nav after second sign-in %q", nick, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var users int
	ctx := context.Background()
	for i := range 25 {
		if _, err := ta.st.UserByNickname(ctx, fmt.Sprintf("par%02d", i)); err == nil {
			users++
		}
	}
	if users != 25 {
		t.Fatalf("%d users, want 25", users)
	}
	// Every winner ends signed in once more; every sign-out removed its session
	// and a losing browser made none: one live session per nickname, each its own.
	if n := ta.countRows("sessions", "user_id IS NOT NULL"); n != 25 {
		t.Fatalf("%d signed-in sessions, want 25", n)
	}
	if n := ta.countRows("sessions", "user_id IS NULL"); n != 0 {
		t.Fatalf("%d anonymous sessions left over", n)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	r := ta.client().get("/healthz").wantStatus(http.StatusOK)
	if r.body != "ok\n" {
		t.Fatalf("body %q", r.body)
	}
}

// The sign-in page as a returning person sees it: the nickname this browser
// used last is in the field, the navigation does not offer the page itself,
// and a refused nickname is named with the character at fault.
func TestSignInPageForAReturningBrowser(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	fresh := c.get("/login").wantStatus(http.StatusOK)
	if v, _ := fresh.inputValue("login-form", "nickname"); v != "" {
		t.Errorf("a new browser finds %q in the field", v)
	}
	if fresh.has("nav-signin") {
		t.Error("the sign-in page links to itself")
	}
	if !c.get("/").has("nav-signin") {
		t.Error("other pages do not offer to sign in")
	}
	c.login("Ingrid")
	c.post("/confirm-logout", nil).wantRedirect("/")
	if v, _ := c.get("/login").inputValue("login-form", "nickname"); v != "Ingrid" {
		t.Errorf("after signing out, the field holds %q, want Ingrid", v)
	}
	// Another browser knows nothing of it.
	if v, _ := ta.client().get("/login").inputValue("login-form", "nickname"); v != "" {
		t.Errorf("another browser finds %q", v)
	}
	// Forgotten, the browser no longer offers it.
	c.login("Ingrid")
	c.post("/account/forget-browser", nil).wantRedirect("/account")
	c.post("/confirm-logout", nil).wantRedirect("/")
	if v, _ := c.get("/login").inputValue("login-form", "nickname"); v != "" {
		t.Errorf("a forgotten browser still offers %q", v)
	}

	r := ta.client().post("/login", url.Values{"nickname": {"Al!ce"}}).wantStatus(http.StatusUnprocessableEntity)
	if got := r.text("nickname-error"); !strings.HasPrefix(got, "“!” is not allowed") {
		t.Errorf("the refusal says %q, want it to name “!”", got)
	}
	if r.has("nav-signin") || !r.has("login-form") {
		t.Error("the refused sign-in page links to itself, or has no form")
	}
}

// Account → Recent activity names the issue of each line and says the zone of
// its time.
func TestAccountActivityNamesIssueAndZone(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Chronicle", "Olga", "Mia")
	iid := tm.owner.addIssue(tm.gid, "SHOP-12", "")
	tm.owner.estimate(iid, "5").wantStatus(http.StatusSeeOther)
	tm.members[0].estimate(iid, "8").wantStatus(http.StatusSeeOther)
	p := fmt.Sprintf("/issues/%d", iid)
	tm.owner.post(p+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(p)
	tm.owner.post(p+"/revote", nil).wantRedirect(p)

	acct := tm.owner.get("/account").wantStatus(http.StatusOK)
	table := acct.all("activity")
	if len(table) != 1 {
		t.Fatal("no activity table")
	}
	text := textOf(table[0])
	for _, want := range []string{"Olga revealed round 1 of SHOP-12 (2 votes)", "Olga started round 2 of SHOP-12"} {
		if !strings.Contains(text, want) {
			t.Errorf("activity %q lacks %q", text, want)
		}
	}
	times := findAll(table[0], func(n *html.Node) bool { return n.Data == "time" })
	if len(times) == 0 {
		t.Fatal("no <time> in the activity")
	}
	for _, tm := range times {
		if _, err := time.Parse(time.RFC3339, attr(tm, "datetime")); err != nil || !strings.HasSuffix(textOf(tm), " UTC") {
			t.Errorf("time %q (datetime %q): want a machine-readable moment and the zone named", textOf(tm), attr(tm, "datetime"))
		}
	}
}
