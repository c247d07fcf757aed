package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"estimator/signin"
	"estimator/store"
)

// Test requests come from 192.0.2.1 (httptest's RemoteAddr).
func proxyConfig(proxies ...string) func(*Config) {
	return func(c *Config) {
		c.TrustedProxies = proxies
		c.TrustedUserHeader = "X-Forwarded-User"
	}
}

func TestTrustedHeaderFromTrustedProxy(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, proxyConfig("192.0.2.0/24"))

	carol := ta.client().with("X-Forwarded-User", "carol")
	home := carol.get("/").wantStatus(http.StatusOK)
	if got := home.text("nav-signout"); got != "Sign out carol" {
		t.Fatalf("nav says %q, want the proxy's user signed in", got)
	}
	if home.header.Get("Cache-Control") != "no-store" {
		t.Errorf("a signed-in page with Cache-Control %q", home.header.Get("Cache-Control"))
	}
	u, err := ta.st.UserByIdentity(tctx, store.HeaderIssuer, "carol")
	if err != nil || u.Nickname != "carol" {
		t.Fatalf("header identity: %+v, %v", u, err)
	}
	// Later requests ride the session: no new sign-in each time.
	cookie := carol.sessionCookie().Value
	acc := carol.get("/account").wantStatus(http.StatusOK)
	if !strings.Contains(acc.text("account-scheme"), "proxy") {
		t.Errorf("account page says %q", acc.text("account-scheme"))
	}
	carol.get("/").wantStatus(http.StatusOK)
	if carol.sessionCookie().Value != cookie {
		t.Error("the session was replaced on a request with the same header")
	}
	if n := ta.countRows("events", "action = ? AND user_id = ?", store.ActSignIn, u.ID); n != 1 {
		t.Errorf("%d sign-ins recorded, want 1", n)
	}
	// Protected pages are simply there: the proxy already signed the person in.
	gid := carol.createGroup("Proxy team")
	carol.get(fmt.Sprintf("/groups/%d", gid)).wantStatus(http.StatusOK)

	// The proxy names someone else on the same browser: that person, now.
	dave := carol.with("X-Forwarded-User", "dave")
	if got := dave.signedInAs(); got != "dave" {
		t.Fatalf("header changed to dave: signed in as %q", got)
	}

	// A guest took "erin" first: the proxy's erin is not that guest and is
	// asked for a nickname.
	guest := ta.signedIn("Erin")
	erin := ta.client().with("X-Forwarded-User", "erin")
	r := erin.get("/account").wantStatus(http.StatusOK)
	if !r.has("choose-form") || r.has("nav-signout") {
		t.Fatalf("no nickname choice for a taken header name:\n%s", truncate(r.body, 1200))
	}
	choice, _ := r.inputValue("choose-form", "choice")
	erin.post("/login/choose", url.Values{"choice": {choice}, "nickname": {"Erin P"}}).wantRedirect("/account")
	if got := erin.signedInAs(); got != "Erin P" {
		t.Fatalf("after choosing: %q", got)
	}
	if got := guest.signedInAs(); got != "Erin" {
		t.Fatalf("the guest is now %q", got)
	}
	if n := ta.countRows("identities", "user_id = ?", ta.user("Erin").ID); n != 0 {
		t.Fatal("the guest was linked to the proxy's name")
	}

	// A value no proxy should send is refused, and signs nobody in.
	for _, bad := range []string{strings.Repeat("x", signin.MaxHeaderSubject+1), "a\x7fb"} {
		c := ta.client().with("X-Forwarded-User", bad)
		c.get("/").wantStatus(http.StatusBadRequest)
		if c.sessionCookie() != nil {
			t.Errorf("header %q made a session", bad)
		}
	}
	// Deactivated at the console: the header no longer signs them in.
	if _, err := ta.st.SetActive(tctx, "carol", false); err != nil {
		t.Fatal(err)
	}
	ta.client().with("X-Forwarded-User", "carol").get("/").wantStatus(http.StatusForbidden)
}

func TestTrustedHeaderFromElsewhereIsIgnored(t *testing.T) {
	t.Parallel()
	// The proxy is 10.0.0.0/8; these requests come from 192.0.2.1.
	ta := newTestApp(t, proxyConfig("10.0.0.0/8"))
	for i, c := range []*client{
		ta.client().with("X-Forwarded-User", "carol"),
		// Claiming to be forwarded by the proxy changes nothing: only the peer
		// address counts.
		ta.client().with("X-Forwarded-User", "carol", "X-Forwarded-For", "10.0.0.7"),
	} {
		home := c.get("/").wantStatus(http.StatusOK)
		if !home.has("nav-signin") {
			t.Fatalf("header from an untrusted address signed someone in: %q", home.text("nav-signout"))
		}
		if got := c.signedInAs(); got != "" {
			t.Fatalf("signed in as %q", got)
		}
		// The person can still sign in as a guest, as themselves.
		c.login(fmt.Sprintf("Mallory %d", i))
		if got := c.signedInAs(); !strings.HasPrefix(got, "Mallory") {
			t.Fatalf("guest sign-in with a stray header: %q", got)
		}
	}
	if n := ta.countRows("identities", ""); n != 0 {
		t.Fatalf("%d identities from an untrusted header", n)
	}
	if n := strings.Count(ta.logs.String(), "ignoring the trusted user header"); n != 1 {
		t.Fatalf("the untrusted header was logged %d times, want once (at warn):\n%s", n, ta.logs.String())
	}
	if !strings.Contains(ta.logs.String(), "level=WARN msg=\"ignoring the trusted user header") {
		t.Error("not logged at warn level")
	}
}

// TestTrustedHeaderSigninRenewsAPlantedLiveKey: the proxy signs carol in on a
// browser holding Mallory's live key; the browser leaves with another key, and
// Mallory's no longer serves anything there.
func TestTrustedHeaderSigninRenewsAPlantedLiveKey(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, proxyConfig("192.0.2.0/24"))
	name := ta.app.signin.KeyCookie()
	m := ta.client()
	m.login("Mallory")
	k := m.browserKeyCookie()
	carol := ta.client()
	carol.cookies[name] = &http.Cookie{Name: name, Value: k}
	carol = carol.with("X-Forwarded-User", "carol")
	if got := carol.signedInAs(); got != "carol" || carol.browserKeyCookie() == k {
		t.Fatalf("signed in as %q; key renewed %v", got, carol.browserKeyCookie() != k)
	}
	if n := ta.countRows("browser_keys", "key_hash = ?", store.HashToken(k)); n != 0 {
		t.Fatalf("the planted key still serves %d nicknames", n)
	}
}

// TestTrustedHeaderOfficeChoosingNicknamesIsNotLimited: the proxy vouches for
// 30 colleagues behind one address whose names are taken here; each is asked
// for a nickname (a session row each), past the signed-out per-address cap.
func TestTrustedHeaderOfficeChoosingNicknamesIsNotLimited(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, proxyConfig("192.0.2.0/24"), func(c *Config) { c.KeptFormsPerAddress, c.KeptFormsWindow = 0, 0 })
	for i := range 30 {
		ta.client().login(fmt.Sprintf("colleague-%02d", i)) // guests took the names first
	}
	for i := range 30 {
		r := ta.client().with("X-Forwarded-User", fmt.Sprintf("colleague-%02d", i)).get("/").wantStatus(http.StatusOK)
		if !strings.Contains(r.body, "already used here") {
			t.Fatalf("colleague %d was not asked for a nickname: %s", i, truncate(r.body, 300))
		}
	}
}
