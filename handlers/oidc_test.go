package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/time/rate"

	"estimator/assets"
	"estimator/signin"
	"estimator/store"
)

// idp is a real OpenID Connect provider (oauth2-proxy/mockoidc) served on
// loopback: the app discovers it, exchanges codes with PKCE and verifies the ID
// tokens it signs, all over HTTP.
type idp struct {
	t testing.TB
	m *mockoidc.MockOIDC
	// agent is the person's browser at the provider: it does not follow the
	// provider's redirect, so the test sees where the browser is sent back to.
	agent *http.Client
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return &idp{t: t, m: m, agent: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// configure points the app at the provider; the app's public address is the
// test requests' host.
func (p *idp) configure(cfg *Config) {
	cfg.OIDC = signin.OIDCConfig{Issuer: p.m.Issuer(), ClientID: p.m.ClientID, ClientSecret: p.m.ClientSecret, Name: "Acme SSO"}
	cfg.BaseURL = "http://example.com"
}

// next queues who signs in at the provider next.
func (p *idp) next(subject, preferredUsername string) {
	p.m.QueueUser(&mockoidc.MockUser{Subject: subject, PreferredUsername: preferredUsername})
}

// authorize takes the app's redirect to the provider, as a browser would, and
// returns the callback (path and query) the provider sends the browser back to.
func (p *idp) authorize(start *response) string {
	p.t.Helper()
	start.wantStatus(http.StatusSeeOther)
	loc := start.header.Get("Location")
	if !strings.HasPrefix(loc, p.m.AuthorizationEndpoint()+"?") {
		p.t.Fatalf("sign-in start sent the browser to %q, want the provider", loc)
	}
	resp, err := p.agent.Get(loc)
	if err != nil {
		p.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		p.t.Fatalf("provider answered %d: %s", resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Scheme != "http" || back.Host != "example.com" || back.Path != signin.OIDCCallbackPath {
		p.t.Fatalf("provider sent the browser to %q, want the app's callback", resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// oidcSignIn runs the whole round trip from GET /login/oidc with query, and
// returns the app's answer to the callback.
func (c *client) oidcSignIn(p *idp, query string) *response {
	c.ta.t.Helper()
	return c.get(p.authorize(c.get("/login/oidc" + query)))
}

// signedInAs is the nickname the browser is signed in as ("" when anonymous).
func (c *client) signedInAs() string {
	c.ta.t.Helper()
	r := c.get("/account")
	if r.status == http.StatusSeeOther && strings.HasPrefix(r.location(), "/login") {
		return ""
	}
	r.wantStatus(http.StatusOK)
	return r.text("account-nickname")
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure)

	// The sign-in page offers the provider beside the nickname form.
	lp := ta.client().get("/login?next=/account").wantStatus(http.StatusOK)
	if !lp.has("login-form") || !lp.has("oidc-signin") {
		t.Fatalf("sign-in page: nickname form %v, provider button %v", lp.has("login-form"), lp.has("oidc-signin"))
	}
	if got := lp.text("oidc-signin"); got != "Sign in with Acme SSO" {
		t.Errorf("button says %q", got)
	}
	href := attr(lp.all("oidc-signin")[0], "href")
	if href != "/login/oidc?next=%2Faccount" {
		t.Fatalf("button goes to %q", href)
	}

	c := ta.client()
	p.next("sub-ana", "Ana")
	start := c.get(href).wantStatus(http.StatusSeeOther)
	before := c.sessionCookie()
	if before == nil {
		t.Fatal("starting the sign-in stored no session to bind the flow to")
	}
	auth, _ := url.Parse(start.header.Get("Location"))
	q := auth.Query()
	for k, want := range map[string]string{
		"response_type":         "code",
		"client_id":             p.m.ClientID,
		"redirect_uri":          "http://example.com/login/oidc/callback",
		"scope":                 "openid profile",
		"code_challenge_method": "S256",
	} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorization request %s = %q, want a fresh random value", k, q.Get(k))
		}
	}
	if strings.Contains(start.header.Get("Location"), "account") {
		t.Errorf("where to go next travelled to the provider: %s", start.header.Get("Location"))
	}
	if start.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", start.header.Get("Cache-Control"))
	}

	cb := p.authorize(start)
	back, _ := url.Parse(cb)
	c.get(cb).wantRedirect("/account")
	if after := c.sessionCookie(); after == nil || after.Value == before.Value {
		t.Error("the session identifier did not change at sign-in")
	}
	acc := c.get("/account").wantStatus(http.StatusOK).wantNotice("Signed in as Ana.")
	if got := acc.text("account-nickname"); got != "Ana" {
		t.Fatalf("signed in as %q, want Ana", got)
	}
	if got := acc.text("account-scheme"); got != "Signed in with Acme SSO." {
		t.Errorf("account page says %q", got)
	}
	u, err := ta.st.UserByIdentity(tctx, p.m.Issuer(), "sub-ana")
	if err != nil || u.ID != ta.user("Ana").ID {
		t.Fatalf("identity links to %+v (%v), want Ana", u, err)
	}
	if n := ta.countRows("events", "action = ? AND user_id = ? AND detail = ?", store.ActSignIn, u.ID, "with Acme SSO"); n != 1 {
		t.Errorf("%d sign-in audit lines with the provider, want 1", n)
	}
	// The flow is used up and nothing secret reached the log.
	if n := ta.countRows("signin_flows", ""); n != 0 {
		t.Errorf("%d sign-in flows left", n)
	}
	logs := ta.logs.String()
	for _, secret := range []string{back.Query().Get("code"), back.Query().Get("state"), q.Get("nonce"), c.sessionCookie().Value} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret of the sign-in: %q", secret)
		}
	}
	// A nickname guest cannot become Ana by typing her name.
	r := ta.client().post("/login", url.Values{"nickname": {"ana"}}).wantStatus(http.StatusUnprocessableEntity)
	if !strings.Contains(r.text("nickname-error"), "taken") {
		t.Errorf("guest typing Ana: %q", r.text("nickname-error"))
	}
	// Signing out ends the session for real, whichever scheme made it.
	c.post("/confirm-logout", nil).wantRedirect("/")
	if got := c.signedInAs(); got != "" {
		t.Fatalf("after sign-out still %q", got)
	}
}

func TestOIDCSameSubjectIsTheSameUser(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure)
	p.next("sub-1", "Ana")
	first := ta.client()
	first.oidcSignIn(p, "").wantRedirect("/")
	ana := ta.user("Ana")

	// Renamed at the provider: still Ana here, in another browser too.
	p.next("sub-1", "Ana Renamed")
	second := ta.client()
	second.oidcSignIn(p, "").wantRedirect("/")
	if got := second.signedInAs(); got != "Ana" {
		t.Fatalf("same subject, new preferred_username: signed in as %q, want Ana", got)
	}
	if _, err := ta.st.UserByNickname(tctx, "Ana Renamed"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a second user was made: %v", err)
	}
	if n := ta.countRows("users", ""); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
	if n, _ := ta.st.IdentityCount(tctx, ana.ID); n != 1 {
		t.Fatalf("Ana has %d identities", n)
	}
}

func TestOIDCNewSubjectWithTakenNickname(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure)
	guest := ta.signedIn("Bob")
	bob := ta.user("Bob")

	p.next("sub-2", "bob")
	c := ta.client()
	r := c.oidcSignIn(p, "?next=/account").wantStatus(http.StatusOK)
	if !r.has("choose-form") {
		t.Fatalf("no nickname choice:\n%s", truncate(r.body, 1500))
	}
	if !strings.Contains(r.text("nickname-error"), "“bob” is already used") {
		t.Errorf("why a nickname is asked for: %q", r.text("nickname-error"))
	}
	if v, _ := r.inputValue("choose-form", "nickname"); v != "bob" {
		t.Errorf("proposed %q", v)
	}
	choice, _ := r.inputValue("choose-form", "choice")
	if got := c.signedInAs(); got != "" {
		t.Fatalf("a new subject named like a guest is signed in as %q", got)
	}
	if n, _ := ta.st.IdentityCount(tctx, bob.ID); n != 0 {
		t.Fatal("the guest Bob was linked to the provider's subject")
	}

	// Another browser cannot answer this choice.
	ta.client().post("/login/choose", url.Values{"choice": {choice}, "nickname": {"Mallory"}}).wantStatus(http.StatusBadRequest)

	for _, tc := range []struct{ nick, want string }{
		{"BOB", "already used"},
		{"ｂｏｂ", "already used"},
		{"b", "at least 2"},
		{"bob@example.com", "“@” is not allowed"},
	} {
		r := c.post("/login/choose", url.Values{"choice": {choice}, "nickname": {tc.nick}}).wantStatus(http.StatusUnprocessableEntity)
		if !strings.Contains(r.text("nickname-error"), tc.want) {
			t.Errorf("choosing %q: %q, want %q", tc.nick, r.text("nickname-error"), tc.want)
		}
		if v, _ := r.inputValue("choose-form", "nickname"); v != tc.nick {
			t.Errorf("choosing %q: the form came back with %q", tc.nick, v)
		}
	}
	if got := c.signedInAs(); got != "" {
		t.Fatalf("refused nicknames signed in %q", got)
	}

	c.post("/login/choose", url.Values{"choice": {choice}, "nickname": {"Bob Two"}}).wantRedirect("/account")
	if got := c.signedInAs(); got != "Bob Two" {
		t.Fatalf("signed in as %q, want Bob Two", got)
	}
	if got := guest.signedInAs(); got != "Bob" {
		t.Fatalf("the guest is now %q", got)
	}
	// Used up: a second answer (back, refresh) makes nobody.
	c.post("/login/choose", url.Values{"choice": {choice}, "nickname": {"Bob Three"}}).wantStatus(http.StatusBadRequest)
	if _, err := ta.st.UserByNickname(tctx, "Bob Three"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a used choice made a user: %v", err)
	}

	// Next time the subject is signed in as Bob Two straight away.
	p.next("sub-2", "bob")
	again := ta.client()
	again.oidcSignIn(p, "").wantRedirect("/")
	if got := again.signedInAs(); got != "Bob Two" {
		t.Fatalf("second sign-in of the subject: %q", got)
	}

	// A name that cannot be a nickname is asked about too, starting from its
	// usable part.
	p.next("sub-3", "carol@example.com")
	r = ta.client().oidcSignIn(p, "").wantStatus(http.StatusOK)
	if v, _ := r.inputValue("choose-form", "nickname"); v != "carol" {
		t.Errorf("proposed %q for an e-mail-style name, want carol", v)
	}
	if !strings.Contains(r.text("nickname-error"), "cannot be a nickname") {
		t.Errorf("why: %q", r.text("nickname-error"))
	}
}

// forgedClaims is a provider user whose ID token the provider signs with a
// claim changed, as a misconfigured or hostile provider (or a token meant for
// another app) would.
type forgedClaims struct {
	*mockoidc.MockUser
	forge func(*mockoidc.IDTokenClaims)
}

func (u forgedClaims) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	u.forge(base)
	return u.MockUser.Claims(scope, base)
}

func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure)

	// Each case returns the callback to send and the browser to send it from;
	// the answer must be 400 with nobody signed in.
	cases := []struct {
		name string
		// why is what the log says (the person is told only that it failed).
		why string
		run func(t *testing.T) (*client, string)
	}{
		{"wrong state", "foreign state", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-x", "Xavier")
			return c, withQuery(p.authorize(c.get("/login/oidc")), "state", store.NewToken())
		}},
		{"no state", "foreign state", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-x", "Xavier")
			return c, withQuery(p.authorize(c.get("/login/oidc")), "state", "")
		}},
		{"another browser's state", "foreign state", func(t *testing.T) (*client, string) {
			owner := ta.client()
			p.next("sub-x", "Xavier")
			cb := p.authorize(owner.get("/login/oidc"))
			t.Cleanup(func() {
				// The stranger's try did not spoil the owner's sign-in.
				owner.get(cb).wantRedirect("/")
				if got := owner.signedInAs(); got != "Xavier" {
					t.Errorf("owner after a stranger used the state: %q", got)
				}
				owner.post("/confirm-logout", nil)
			})
			return ta.client(), cb
		}},
		{"replayed state and code", "foreign state", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-y", "Yann")
			cb := p.authorize(c.get("/login/oidc"))
			c.get(cb).wantRedirect("/")
			c.post("/confirm-logout", nil).wantRedirect("/")
			return c, cb
		}},
		{"replayed code with a fresh state", "refused the code", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-y", "Yann")
			used := p.authorize(c.get("/login/oidc"))
			c.get(used).wantRedirect("/")
			c.post("/confirm-logout", nil).wantRedirect("/")
			p.next("sub-z", "Zoe")
			fresh := p.authorize(c.get("/login/oidc"))
			u, _ := url.Parse(used)
			return c, withQuery(fresh, "code", u.Query().Get("code"))
		}},
		{"no code", "refused the code", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-x", "Xavier")
			return c, withQuery(p.authorize(c.get("/login/oidc")), "code", "")
		}},
		{"provider refused", "access_denied", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-x", "Xavier")
			return c, withQuery(withQuery(p.authorize(c.get("/login/oidc")), "code", ""), "error", "access_denied")
		}},
		{"expired ID token", "expired", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.next("sub-x", "Xavier")
			cb := p.authorize(c.get("/login/oidc"))
			// The provider's clock runs an hour behind: its token expired
			// 50 minutes ago by the app's.
			p.m.FastForward(-time.Hour)
			t.Cleanup(func() { p.m.FastForward(time.Hour) })
			return c, cb
		}},
		{"ID token for another client", "audience", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.m.QueueUser(forgedClaims{&mockoidc.MockUser{Subject: "sub-x", PreferredUsername: "Xavier"},
				func(cl *mockoidc.IDTokenClaims) { cl.Audience = jwt.ClaimStrings{"another-app"} }})
			return c, p.authorize(c.get("/login/oidc"))
		}},
		{"ID token from another issuer", "different provider", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.m.QueueUser(forgedClaims{&mockoidc.MockUser{Subject: "sub-x", PreferredUsername: "Xavier"},
				func(cl *mockoidc.IDTokenClaims) { cl.Issuer = "https://idp.example.net" }})
			return c, p.authorize(c.get("/login/oidc"))
		}},
		{"another flow's nonce", "nonce mismatch", func(t *testing.T) (*client, string) {
			c := ta.client()
			p.m.QueueUser(forgedClaims{&mockoidc.MockUser{Subject: "sub-x", PreferredUsername: "Xavier"},
				func(cl *mockoidc.IDTokenClaims) { cl.Nonce = store.NewToken() }})
			return c, p.authorize(c.get("/login/oidc"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, cb := tc.run(t)
			users, identities := ta.countRows("users", ""), ta.countRows("identities", "")
			logged := len(ta.logs.String())
			r := c.get(cb).wantStatus(http.StatusBadRequest)
			if why := ta.logs.String()[logged:]; !strings.Contains(why, tc.why) {
				t.Errorf("refused for another reason than %q:\n%s", tc.why, why)
			}
			if r.errorStatus() != "400" {
				t.Errorf("not the error page:\n%s", truncate(r.body, 800))
			}
			if got := c.signedInAs(); got != "" {
				t.Errorf("signed in as %q", got)
			}
			if ta.countRows("users", "") != users || ta.countRows("identities", "") != identities {
				t.Error("a refused callback made a user or linked an identity")
			}
			// Refused once, refused again: the flow is spent.
			if !strings.Contains(tc.name, "another browser") {
				c.get(cb).wantStatus(http.StatusBadRequest)
			}
		})
	}
	if _, err := ta.st.UserByIdentity(tctx, p.m.Issuer(), "sub-x"); !errors.Is(err, store.ErrNotFound) && err != nil {
		t.Fatal(err)
	}
}

// withQuery sets (or, with "", removes) one query parameter of a path.
func withQuery(target, key, value string) string {
	u, _ := url.Parse(target)
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

func TestOIDCKeptFormReplay(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure)

	for _, tc := range []struct {
		name, subject, preferred, choose string
	}{
		{"proposed nickname accepted", "sub-kim", "Kim", ""},
		{"nickname chosen first", "sub-lee", "Lee", "Lee Two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.choose != "" {
				ta.signedIn(tc.preferred) // the guest who has the name
			}
			c := ta.client()
			group := "Kept over SSO " + tc.subject
			r := c.post("/creategroup", url.Values{"name": {group}}).wantStatus(http.StatusSeeOther)
			_, ref, kept := loginTarget(t, r.location())
			if !kept {
				t.Fatalf("no form kept: %q", r.location())
			}
			lp := c.get(r.location()).wantStatus(http.StatusOK)
			if !lp.has("kept-notice") {
				t.Error("sign-in page does not say a form waits")
			}
			href := attr(lp.all("oidc-signin")[0], "href")
			if href != "/login/oidc?kept="+ref {
				t.Fatalf("provider button %q does not carry the kept form", href)
			}
			p.next(tc.subject, tc.preferred)
			start := c.get(href)
			if strings.Contains(start.header.Get("Location"), ref) {
				t.Fatal("the kept form's reference travelled to the provider")
			}
			res := c.get(p.authorize(start))
			if tc.choose != "" {
				res.wantStatus(http.StatusOK)
				choice, _ := res.inputValue("choose-form", "choice")
				res = c.post("/login/choose", url.Values{"choice": {choice}, "nickname": {tc.choose}})
			}
			res.wantStatus(http.StatusSeeOther)
			res = sendKept(t, c, res).wantStatus(http.StatusSeeOther)
			gid := groupIDFrom(t, res.location())
			page := c.get(res.location()).wantStatus(http.StatusOK)
			if !strings.Contains(page.text("notice"), "Signed in as") {
				t.Errorf("notice after the replay: %q", page.text("notice"))
			}
			want := tc.preferred
			if tc.choose != "" {
				want = tc.choose
			}
			u, err := ta.st.UserByIdentity(tctx, p.m.Issuer(), tc.subject)
			if err != nil || u.Nickname != want {
				t.Fatalf("identity user %+v (%v), want %s", u, err, want)
			}
			if n := ta.countRows("groups g JOIN memberships m ON m.group_id = g.id", "g.id = ? AND m.user_id = ? AND m.role = 'owner' AND g.name = ?", gid, u.ID, group); n != 1 {
				t.Fatalf("the replayed group is not %s's", want)
			}
			if n := c.keptForms(); n != 0 {
				t.Errorf("%d kept forms left", n)
			}
		})
	}
}

func TestGuestsOff(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure, func(c *Config) { c.NoGuests = true })

	lp := ta.client().get("/login").wantStatus(http.StatusOK)
	if lp.has("login-form") || !lp.has("oidc-signin") {
		t.Fatalf("sign-in page with guests off: nickname form %v, provider %v", lp.has("login-form"), lp.has("oidc-signin"))
	}
	c := ta.client()
	for _, who := range []*client{c, c.htmxFrom("/login")} {
		who.post("/login", url.Values{"nickname": {"Zed"}}).wantStatus(http.StatusForbidden)
	}
	if got := c.signedInAs(); got != "" {
		t.Fatalf("signed in as %q", got)
	}
	if n := ta.countRows("users", ""); n != 0 {
		t.Fatalf("%d users made with guests off", n)
	}
	p.next("sub-zed", "Zed")
	c.oidcSignIn(p, "").wantRedirect("/")
	if got := c.signedInAs(); got != "Zed" {
		t.Fatalf("the provider's sign-in with guests off: %q", got)
	}

	// Off with nothing else on would lock everyone out: refused at start.
	for _, cfg := range []Config{
		{NoGuests: true},
		{OIDC: signin.OIDCConfig{Issuer: p.m.Issuer()}, BaseURL: "http://example.com"},
		{OIDC: signin.OIDCConfig{Issuer: p.m.Issuer(), ClientID: "x"}},
		{TrustedUserHeader: "X-Forwarded-User"},
	} {
		if _, err := New(Deps{Store: ta.st, Assets: assets.FS, Config: cfg, Changes: new(store.Relay)}); err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("New(%+v) = %v, want a refusal naming the flag", cfg, err)
		}
	}
}

func TestOIDCProviderUnreachable(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	issuer := p.m.Issuer()
	p.m.Shutdown()
	ta := newTestApp(t, func(c *Config) {
		c.OIDC = signin.OIDCConfig{Issuer: issuer, ClientID: "x", Name: "Acme SSO"}
		c.BaseURL = "http://example.com"
	})
	c := ta.client()
	r := c.get("/login/oidc").wantStatus(http.StatusServiceUnavailable)
	if !strings.Contains(r.body, "cannot be reached") {
		t.Errorf("message: %s", truncate(r.body, 500))
	}
	// Guests still sign in.
	c.login("Guest")
	// Without a provider configured the routes do not exist.
	plain := newTestApp(t)
	for _, path := range []string{"/login/oidc", "/login/oidc/callback?state=x&code=y"} {
		plain.client().get(path).wantStatus(http.StatusNotFound)
	}
	if lp := plain.client().get("/login"); lp.has("oidc-signin") {
		t.Error("a provider button without a provider")
	}
}

// TestOIDCStartFloodFromOneSlash64IsLimited: each GET /login/oidc stores a
// session row (the flow is bound to it), so it spends the sign-in budget of its
// address, and a /64 is one address.
func TestOIDCStartFloodFromOneSlash64IsLimited(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	const burst = 5
	ta := newTestApp(t, p.configure, func(c *Config) {
		c.LoginBurst, c.LoginRate = burst, rate.Every(time.Hour)
		c.TrustedProxies = []string{"192.0.2.1"}
	})
	started := 0
	for i := range 50 {
		r := ta.client().with("X-Forwarded-For", fmt.Sprintf("2001:db8:5:6:%x::%x", i, i+1)).get("/login/oidc")
		switch r.status {
		case http.StatusSeeOther:
			started++
		case http.StatusTooManyRequests:
		default:
			r.wantStatus(http.StatusTooManyRequests)
		}
	}
	if started != burst || ta.countRows("sessions", "") != burst {
		t.Fatalf("50 starts from one /64: %d started, %d session rows; want %d", started, ta.countRows("sessions", ""), burst)
	}
}

// TestGuestsOffPersonalSigninLinkDoesNotGetAround: with --guests=false a
// personal sign-in link (made while guests were on, or kept from before) would
// sign in for 30 days with the provider down. It signs nobody in, and the
// Account page offers none.
func TestGuestsOffPersonalSigninLinkDoesNotGetAround(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure, func(c *Config) { c.NoGuests = true })
	owner := ta.client()
	p.next("sub-zed", "Zed")
	owner.oidcSignIn(p, "").wantRedirect("/")
	tok, err := ta.st.ReplaceSigninToken(tctx, ta.user("Zed").ID) // a link from when guests were on
	if err != nil {
		t.Fatal(err)
	}

	thief := ta.client()
	thief.get("/signin/" + tok).wantStatus(http.StatusForbidden)
	r := thief.post("/signin/"+tok, url.Values{"remember": {"1"}}).wantStatus(http.StatusForbidden)
	if !strings.Contains(r.text("error"), "turned off") {
		t.Fatalf("refusal says %q", r.text("error"))
	}
	if got := thief.signedInAs(); got != "" {
		t.Fatalf("the link signed in as %q with guests off", got)
	}

	acct := owner.get("/account").wantStatus(http.StatusOK)
	if acct.has("replace-link") || strings.Contains(acct.body, "sign-in link") {
		t.Fatal("the Account page offers a personal sign-in link with guests off")
	}
	owner.post("/account/signin-link", nil).wantStatus(http.StatusForbidden)
}
