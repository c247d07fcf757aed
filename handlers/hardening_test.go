package handlers

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"estimator/store"
)

// Tests for the attack run's findings on sign-in (issue 11).

func (c *client) browserKeyCookie() string {
	if ck := c.cookies[c.ta.app.signin.KeyCookie()]; ck != nil {
		return ck.Value
	}
	return ""
}

// stealKey is a thief's browser holding a copy of c's browser key (and, when
// withSession, of its session cookie too).
func (c *client) stealKey(withSession bool) *client {
	thief := c.ta.client()
	thief.cookies[c.ta.app.signin.KeyCookie()] = &http.Cookie{Name: c.ta.app.signin.KeyCookie(), Value: c.browserKeyCookie()}
	if ck := c.sessionCookie(); withSession && ck != nil {
		thief.cookies[ck.Name] = &http.Cookie{Name: ck.Name, Value: ck.Value}
	}
	return thief
}

func TestPlantedBrowserKeyIsNotAdopted(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	name := ta.app.signin.KeyCookie()
	for _, planted := range []string{strings.Repeat("A", 43), store.NewToken()} {
		victim := ta.client()
		victim.cookies[name] = &http.Cookie{Name: name, Value: planted}
		nick := "Zoe" + strconv.Itoa(len(victim.ta.logs.String())%1000)
		r := victim.post("/login", url.Values{"nickname": {nick}}).wantStatus(http.StatusSeeOther)
		if got := victim.browserKeyCookie(); got == planted || !opaqueToken.MatchString(got) || rawSetCookie(r, name) == "" {
			t.Fatalf("planted key %q: the browser kept %q (Set-Cookie %q)", planted, got, rawSetCookie(r, name))
		}
		// Whoever planted the key cannot sign in as the victim with it.
		attacker := ta.client()
		attacker.cookies[name] = &http.Cookie{Name: name, Value: planted}
		attacker.post("/login", url.Values{"nickname": {nick}}).wantStatus(http.StatusUnprocessableEntity)
		// The victim's browser, with the key it was given, is still known.
		victim.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
		victim.login(nick)
	}
	// A live key proves the nickname, and is then replaced: the same browser
	// entry, with a new secret.
	c := ta.signedIn("Yara")
	key := c.browserKeyCookie()
	before := c.browsers()
	c.post("/confirm-logout", nil)
	if r := c.post("/login", url.Values{"nickname": {"Yara"}}); rawSetCookie(r, name) == "" || c.browserKeyCookie() == key {
		t.Fatal("signing in again left the browser its old key")
	}
	if after := c.browsers(); len(after) != 1 || len(before) != 1 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("browsers before %v, after signing in again %v: want the same one entry", before, after)
	}
	if n := ta.countRows("browser_keys", "key_hash = ?", store.HashToken(strings.Repeat("A", 43))); n != 0 {
		t.Fatalf("the planted key is tied to %d nicknames", n)
	}
}

// browsers is the account page's browser list: id and whether it is this one.
func (c *client) browsers() map[int64]bool {
	c.ta.t.Helper()
	r := c.get("/account").wantStatus(http.StatusOK)
	out := map[int64]bool{}
	for _, n := range r.all("browser") {
		id, err := strconv.ParseInt(attr(n, "data-browser-id"), 10, 64)
		if err != nil {
			c.ta.t.Fatalf("browser row id %q", attr(n, "data-browser-id"))
		}
		out[id] = len(within(n, "this-browser")) > 0
		if len(within(n, "revoke-browser")) != 1 {
			c.ta.t.Fatalf("browser %d has no revoke form", id)
		}
	}
	return out
}

// linkedDevice signs a new browser in as c's user with c's personal link.
func (c *client) linkedDevice() *client {
	c.ta.t.Helper()
	c.post("/account/signin-link", nil).wantRedirect("/account")
	link := attr(c.get("/account").all("signin-link")[0], "value")
	u, _ := url.Parse(link)
	d := c.ta.client()
	d.post(u.Path, nil).wantStatus(http.StatusSeeOther)
	return d
}

func TestRevokeALostBrowser(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	laptop := ta.signedIn("Vic")
	thief := laptop.stealKey(true)
	phone := laptop.linkedDevice()
	list := phone.browsers()
	if len(list) != 2 {
		t.Fatalf("account lists %d browsers, want 2: %v", len(list), list)
	}
	var laptopID, phoneID int64
	for id, this := range list {
		if this {
			phoneID = id
		} else {
			laptopID = id
		}
	}
	if phoneID == 0 || laptopID == 0 {
		t.Fatalf("no single 'this browser': %v", list)
	}
	page := phone.get("/account")
	if !strings.Contains(page.text("browsers"), "30 Nov 2026, 09:00 UTC") {
		t.Fatalf("first and last use not shown: %q", page.text("browsers"))
	}

	// Nobody else can revoke (or learn of) Vic's browsers.
	eve := ta.signedIn("Eve")
	eve.post(fmt.Sprintf("/account/browsers/%d/revoke", laptopID), nil).wantStatus(http.StatusNotFound)
	eve.post("/account/browsers/x/revoke", nil).wantStatus(http.StatusNotFound)
	if len(phone.browsers()) != 2 {
		t.Fatal("another user's revoke went through")
	}
	ta.client().post(fmt.Sprintf("/account/browsers/%d/revoke", laptopID), nil).wantStatus(http.StatusSeeOther)
	if len(phone.browsers()) != 2 {
		t.Fatal("a signed-out revoke went through")
	}

	phone.post(fmt.Sprintf("/account/browsers/%d/revoke", laptopID), nil).wantRedirect("/account")
	if got := phone.browsers(); len(got) != 1 || !got[phoneID] {
		t.Fatalf("after revoking the laptop: %v", got)
	}
	// The thief's copy of the session ended, and the key no longer signs in.
	if thief.get("/").has("nav-signout") || laptop.get("/").has("nav-signout") {
		t.Fatal("the revoked browser's session still works")
	}
	r := thief.post("/login", url.Values{"nickname": {"Vic"}}).wantStatus(http.StatusUnprocessableEntity)
	if !strings.Contains(r.text("nickname-error"), "is taken") {
		t.Fatalf("thief told %q", r.text("nickname-error"))
	}
	// Revoking it again: it is gone.
	phone.post(fmt.Sprintf("/account/browsers/%d/revoke", laptopID), nil).wantStatus(http.StatusNotFound)
	// The phone goes on, and comes back by nickname.
	phone.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	phone.login("Vic")
}

func TestSignOutEverywhereLocksOutOtherBrowsers(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	laptop := ta.signedIn("Wes")
	thief := laptop.stealKey(false)
	phone := laptop.linkedDevice()
	// What the attack run did: replace the link, then sign out everywhere.
	phone.post("/account/signin-link", nil).wantRedirect("/account")
	phone.post("/account/signout-everywhere", nil).wantRedirect("/")
	for name, c := range map[string]*client{"laptop": laptop, "phone": phone} {
		if c.get("/").has("nav-signout") {
			t.Fatalf("%s still signed in", name)
		}
	}
	thief.post("/login", url.Values{"nickname": {"Wes"}}).wantStatus(http.StatusUnprocessableEntity)
	laptop.post("/login", url.Values{"nickname": {"Wes"}}).wantStatus(http.StatusUnprocessableEntity)
	// This browser kept its key.
	phone.login("Wes")
	if got := phone.browsers(); len(got) != 1 {
		t.Fatalf("browsers after signing out everywhere: %v", got)
	}
}

func TestForgetThisBrowserRevokesIt(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	laptop := ta.signedIn("Xia")
	thief := laptop.stealKey(true)
	phone := laptop.linkedDevice()
	laptop.post("/account/forget-browser", nil).wantRedirect("/account")
	if got := phone.browsers(); len(got) != 1 {
		t.Fatalf("browsers after forgetting the laptop: %v", got)
	}
	// The laptop stays signed in until it signs out; the stolen copy of the key
	// signs nobody in.
	if !laptop.get("/").has("nav-signout") {
		t.Fatal("forgetting the browser signed it out")
	}
	thief.cookies = map[string]*http.Cookie{ta.app.signin.KeyCookie(): thief.cookies[ta.app.signin.KeyCookie()]}
	thief.post("/login", url.Values{"nickname": {"Xia"}}).wantStatus(http.StatusUnprocessableEntity)
	laptop.post("/confirm-logout", nil)
	laptop.post("/login", url.Values{"nickname": {"Xia"}}).wantStatus(http.StatusUnprocessableEntity)
}

func TestLookAlikeNicknames(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	ta.signedIn("Zelda")
	ta.signedIn("cop")
	other := ta.client()
	for _, tc := range []struct{ nick, want string }{
		{"\u0396elda", "Greek and Latin"},      // Greek capital Zeta
		{"Zeld\u0430", "Latin and Cyrillic"},   // Cyrillic a
		{"ZeIda", "is taken"},                  // capital I for l
		{"Ze1da", "is taken"},                  // digit one for l
		{"\u0441\u043e\u0440", "is taken"},     // "сор", all Cyrillic
		{"Zelda\ufe00", "invisible character"}, // an invisible variation selector
	} {
		r := other.post("/login", url.Values{"nickname": {tc.nick}}).wantStatus(http.StatusUnprocessableEntity)
		if msg := r.text("nickname-error"); !strings.Contains(msg, tc.want) {
			t.Errorf("%q: message %q, want %q", tc.nick, msg, tc.want)
		}
	}
	if n := ta.countRows("users", ""); n != 2 {
		t.Fatalf("%d users, want 2", n)
	}
	// Names in one script, or in scripts used together, are fine.
	for _, nick := range []string{"Zoë", "Ζωή", "Дарья", "山田太郎", "山田たろう", "김민준", "Ana-María", "Łukasz"} {
		ta.signedIn(nick)
	}
}

func TestLoginHonoursNextInTheQuery(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Next", "Nina")
	invite := "/join/" + ta.inviteToken(tm.gid)
	for i, tc := range []struct {
		query string
		form  url.Values
		want  string
	}{
		{"?next=/account", url.Values{}, "/account"},
		{"?next=" + url.QueryEscape(invite), url.Values{}, invite},
		{"?next=/account", url.Values{"next": {"/creategroup"}}, "/creategroup"},
		{"?next=//evil.example", url.Values{}, "/"},
	} {
		c := ta.client()
		tc.form.Set("nickname", "Quinn "+strconv.Itoa(i))
		c.do(http.MethodPost, "/login"+tc.query, strings.NewReader(tc.form.Encode()), "application/x-www-form-urlencoded").wantRedirect(tc.want)
	}
}

// TestOfficeBehindOneAddressSignsIn: with the default limits, 60 people behind
// one address sign in at the start of a meeting; a flood from that address is
// then held to one attempt a second.
func TestOfficeBehindOneAddressSignsIn(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.LoginBurst, c.LoginRate = 0, 0 })
	for i := range 60 {
		ta.client().post("/login", url.Values{"nickname": {fmt.Sprintf("Colleague %d", i)}}).wantStatus(http.StatusSeeOther)
	}
	refused := 0
	for i := range 20 {
		r := ta.client().post("/login", url.Values{"nickname": {fmt.Sprintf("Flood %d", i)}})
		if r.status == http.StatusTooManyRequests {
			refused++
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	// The test may take a second or two: at most that many got through.
	if refused < 17 {
		t.Fatalf("only %d of 20 flooding sign-ins refused", refused)
	}
}

// TestSignedOutVisitorsCannotFillTheDisk does what the attack run did, at small
// scale: cookieless 60 KiB POSTs to a replayable route from one address and
// then from many, and a flood of GETs naming unknown kept forms.
func TestSignedOutVisitorsCannotFillTheDisk(t *testing.T) {
	t.Parallel()
	const capBytes = 4 << 20
	ta := newTestAppWith(t, store.Options{KeptFormsMaxBytes: capBytes}, func(c *Config) {
		c.KeptFormsPerAddress, c.KeptFormsWindow = 0, 0 // the defaults: 20 in 15 minutes
		c.TrustedProxies = []string{"192.0.2.1"}
	})
	body := url.Values{"name": {strings.Repeat("x", 60<<10)}}
	post := func(addr string) *response {
		return ta.client().with("X-Forwarded-For", addr).post("/creategroup", body)
	}
	stored := func() (forms, sessions, bytes int) {
		forms, sessions = ta.countRows("kept_forms", ""), ta.countRows("sessions", "")
		bytes = ta.countRows("kept_forms", "length(body) > 0") * len(body.Encode())
		return
	}

	// One address: 20 kept, then 429 with Retry-After and nothing stored.
	for i := range 30 {
		r := post("198.51.100.7")
		if i < 20 {
			r.wantStatus(http.StatusSeeOther)
			continue
		}
		r.wantStatus(http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" || r.errorStatus() != "429" || !strings.Contains(r.text("error"), "Sign in first") {
			t.Fatalf("over the per-address cap: Retry-After %q, page %q", r.header.Get("Retry-After"), r.text("error"))
		}
	}
	if f, s, _ := stored(); f != 20 || s != 20 {
		t.Fatalf("one address left %d kept forms and %d sessions, want 20 and 20", f, s)
	}
	// An IPv6 client's /64 is one address.
	for i := range 25 {
		r := post(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		if i >= 20 {
			r.wantStatus(http.StatusTooManyRequests)
		}
	}

	// Many addresses: the total cap holds, with 503 and nothing stored past it.
	refused := 0
	for i := range 40 {
		r := post(fmt.Sprintf("203.0.113.%d", i+1))
		if r.status == http.StatusServiceUnavailable {
			refused++
			if r.header.Get("Retry-After") == "" || !strings.Contains(r.text("error"), "Sign in first") {
				t.Fatalf("over the total cap: Retry-After %q, page %q", r.header.Get("Retry-After"), r.text("error"))
			}
			continue
		}
		r.wantStatus(http.StatusSeeOther)
	}
	forms, sessions, bytes := stored()
	if refused == 0 || bytes > capBytes || forms != sessions {
		t.Fatalf("after many addresses: %d refused, %d kept forms (%d bytes, cap %d), %d sessions", refused, forms, bytes, capBytes, sessions)
	}

	// GETs never store a session for a visitor without one.
	before := ta.countRows("sessions", "")
	for i := range 50 {
		for _, path := range []string{"/login?kept=x" + strconv.Itoa(i), "/", "/login", "/issues/1", "/nowhere"} {
			ta.client().get(path)
		}
	}
	if after := ta.countRows("sessions", ""); after != before {
		t.Fatalf("anonymous GETs made %d session rows", after-before)
	}
	// The unknown reference is still explained on the page itself.
	if r := ta.client().get("/login?kept=nope").wantStatus(http.StatusOK); !strings.Contains(r.text("notice"), "could not be found") {
		t.Fatalf("notice %q", r.text("notice"))
	}
}

// TestSigninFloodFromOneIPv6Slash64IsOneAddress: a client holding a /64 (as
// every IPv6 client does) gets one sign-in budget, not one per address; so
// does an IPv4 client writing its address as IPv6 (::ffff:a.b.c.d), and
// starting OpenID Connect sign-ins (each stores a session row) counts too.
func TestSigninFloodFromOneIPv6Slash64IsOneAddress(t *testing.T) {
	t.Parallel()
	const burst = 5
	ta := newTestApp(t, func(c *Config) {
		c.LoginBurst, c.LoginRate = burst, rate.Every(time.Hour)
		c.TrustedProxies = []string{"192.0.2.1"}
	})
	flood := func(name string, addrs func(i int) string) {
		t.Helper()
		passed := 0
		for i := range 50 {
			r := ta.client().with("X-Forwarded-For", addrs(i)).post("/login", url.Values{"nickname": {fmt.Sprintf("%s %d", name, i)}})
			switch r.status {
			case http.StatusSeeOther:
				passed++
			case http.StatusTooManyRequests:
			default:
				r.wantStatus(http.StatusTooManyRequests)
			}
		}
		if passed != burst {
			t.Errorf("%s: %d of 50 sign-ins passed, want %d (one address's budget)", name, passed, burst)
		}
	}
	flood("IPv6 slash 64", func(i int) string { return fmt.Sprintf("2001:db8:77:1:%x:%x::%x", i, i*7, i+1) })
	flood("IPv4", func(int) string { return "198.51.100.9" })
	// The same IPv4 client in its IPv6-mapped spellings shares that budget.
	for _, addr := range []string{"::ffff:198.51.100.9", "::FFFF:c633:6409", "198.51.100.9"} {
		ta.client().with("X-Forwarded-For", addr).post("/login", url.Values{"nickname": {"Mapped"}}).wantStatus(http.StatusTooManyRequests)
	}
	// Another /64 has its own budget.
	ta.client().with("X-Forwarded-For", "2001:db8:77:2::1").post("/login", url.Values{"nickname": {"Neighbour"}}).wantStatus(http.StatusSeeOther)
}

// TestMalloryLiveBrowserKeyPlantedInVictimsBrowser: Mallory plants her own
// live key K in the victim's browser (a shared kiosk, a cookie-injecting
// subdomain). Whatever way the victim signs in there (a new nickname, a
// nickname the browser already knew, a personal sign-in link, the provider),
// the browser leaves with a key nobody else has seen, and K never signs in as
// the victim. The Account page's list keeps one entry per browser.
func TestMalloryLiveBrowserKeyPlantedInVictimsBrowser(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	ta := newTestApp(t, p.configure)
	name := ta.app.signin.KeyCookie()
	victimNick := "Victoria Okonkwo-Lindqvist Jr."
	plant := func(c *client, key string) { c.cookies[name] = &http.Cookie{Name: name, Value: key} }
	mallories := 0
	malloryKey := func() string {
		mallories++
		m := ta.client()
		m.login(fmt.Sprintf("Mallory %d", mallories))
		return m.browserKeyCookie()
	}
	cannotSignInAsVictim := func(how, key string) {
		t.Helper()
		attacker := ta.client()
		plant(attacker, key)
		r := attacker.post("/login", url.Values{"nickname": {victimNick}})
		if r.status != http.StatusUnprocessableEntity || attacker.signedInAs() != "" {
			t.Fatalf("%s: the planted key signed in as the victim: %d", how, r.status)
		}
	}

	// A new nickname, typed in a browser holding Mallory's live key.
	k := malloryKey()
	victim := ta.client()
	plant(victim, k)
	victim.login(victimNick)
	if victim.browserKeyCookie() == k {
		t.Fatal("new nickname: the victim's browser kept Mallory's key")
	}
	cannotSignInAsVictim("new nickname", k)
	if n := ta.countRows("browser_keys", "key_hash = ?", store.HashToken(k)); n != 0 {
		t.Fatalf("Mallory's key still serves %d nicknames", n)
	}

	// The victim's own browser signs in again: a copy of its key taken before
	// (or planted as Mallory's own key later) no longer works.
	victim.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	copied := victim.browserKeyCookie()
	victim.login(victimNick) // the nickname already belongs to this browser
	// The browser follows the sign-in's answer, showing it holds its new key;
	// until then the copy still proves the nickname (it did already), so a
	// sign-in whose answer is lost does not lock the browser out.
	victim.get("/").wantStatus(http.StatusOK)
	cannotSignInAsVictim("signing in again", copied)
	for range 4 {
		victim.post("/confirm-logout", nil)
		victim.login(victimNick)
	}
	if b := victim.browsers(); len(b) != 1 {
		t.Fatalf("after six sign-ins from one browser the Account page lists %d browsers: %v", len(b), b)
	}

	// A personal sign-in link opened on a device holding Mallory's live key.
	victim.post("/account/signin-link", nil).wantStatus(http.StatusSeeOther)
	link, _ := url.Parse(attr(victim.get("/account").all("signin-link")[0], "value"))
	k = malloryKey()
	device := ta.client()
	plant(device, k)
	device.post(link.Path, nil).wantStatus(http.StatusSeeOther)
	if device.signedInAs() != victimNick || device.browserKeyCookie() == k {
		t.Fatalf("sign-in link: signed in as %q, key renewed %v", device.signedInAs(), device.browserKeyCookie() != k)
	}
	cannotSignInAsVictim("sign-in link", k)
	device.post("/confirm-logout", nil)
	device.login(victimNick) // the device now knows the nickname, with its own key

	// The provider: a browser holding Mallory's live key leaves with another.
	k = malloryKey()
	sso := ta.client()
	plant(sso, k)
	p.next("sub-victoria", "Victoria")
	sso.oidcSignIn(p, "").wantRedirect("/")
	if sso.signedInAs() != "Victoria" || sso.browserKeyCookie() == k {
		t.Fatalf("provider: signed in as %q, key renewed %v", sso.signedInAs(), sso.browserKeyCookie() != k)
	}
	attacker := ta.client()
	plant(attacker, k)
	attacker.post("/login", url.Values{"nickname": {"Victoria"}}).wantStatus(http.StatusUnprocessableEntity)
}

// TestEmptyAnonymousPostsCannotFillRows: cookieless empty-body POSTs from many
// addresses took no bytes but a session and a kept form each, without bound
// (200 addresses × 20 made 4,000 of each in 5.6 s). Rows are capped in total
// (kept forms, and sessions nobody signed in to; per address as before), the
// refusal is clear and stores nothing, and a session nobody signed in to is
// gone 30 minutes after its last use.
func TestEmptyAnonymousPostsCannotFillRows(t *testing.T) {
	t.Parallel()
	for _, caps := range []store.Options{{KeptFormsMax: 30}, {AnonymousSessionsMax: 25}} {
		t.Run(fmt.Sprintf("forms %d sessions %d", caps.KeptFormsMax, caps.AnonymousSessionsMax), func(t *testing.T) {
			t.Parallel()
			want := max(caps.KeptFormsMax, caps.AnonymousSessionsMax) // the one set
			ta := newTestAppWith(t, caps, func(c *Config) {
				c.KeptFormsPerAddress, c.KeptFormsWindow = 0, 0 // the defaults: 20 in 15 minutes
				c.TrustedProxies = []string{"192.0.2.1"}
			})
			member := ta.signedIn("Ngozi Adeyemi-Larsen")
			refused := 0
			for a := range 10 {
				for range 20 {
					r := ta.client().with("X-Forwarded-For", fmt.Sprintf("2001:db8:%x::1", a+1)).do(http.MethodPost, "/creategroup", nil, "")
					switch r.status {
					case http.StatusSeeOther:
					case http.StatusServiceUnavailable:
						refused++
						if r.header.Get("Retry-After") == "" || !strings.Contains(r.text("error"), "Sign in first") {
							t.Fatalf("over the cap: Retry-After %q, page %q", r.header.Get("Retry-After"), r.text("error"))
						}
					default:
						r.wantStatus(http.StatusSeeOther)
					}
				}
			}
			forms, anon := ta.countRows("kept_forms", ""), ta.countRows("sessions", "user_id IS NULL")
			if forms != want || anon != want || refused != 200-want {
				t.Fatalf("200 empty POSTs: %d kept forms, %d anonymous sessions, %d refused; want %d, %d, %d", forms, anon, refused, want, want, 200-want)
			}
			// The signed-in member is not held back by any of it.
			member.createGroup("Still working")

			// Never signed in: gone 30 minutes after the last use; the member stays.
			ta.clock.Advance(31 * time.Minute)
			if _, err := ta.st.Purge(tctx, ta.app.cfg.Sessions, ta.app.cfg.BrowserKeyMaxAge); err != nil {
				t.Fatal(err)
			}
			if n := ta.countRows("sessions", "user_id IS NULL"); n != 0 {
				t.Fatalf("%d anonymous sessions left 31 minutes after their last use", n)
			}
			if !member.get("/").has("nav-signout") {
				t.Fatal("the signed-in session went with them")
			}
		})
	}
}

// An office behind one address signs out at the end of the day: each sign-out
// leaves its "You are signed out" notice in a fresh session nobody is signed
// in to. Those must not use up the address's budget for visitors who are not
// signed in, or a colleague whose session ended would have the form they typed
// refused (429) instead of kept.
func TestOfficeSigningOutLeavesRoomForAColleaguesKeptForm(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) {
		c.KeptFormsPerAddress, c.KeptFormsWindow = 0, 0 // the defaults: 20 in 15 minutes
		c.TrustedProxies = []string{"192.0.2.1"}
	})
	const office = "203.0.113.7"
	for i := range 25 {
		c := ta.client().with("X-Forwarded-For", office)
		c.login(fmt.Sprintf("Office colleague number %02d", i))
		c.with("X-Forwarded-For", office).post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	}
	late := ta.client().with("X-Forwarded-For", office)
	r := late.post("/creategroup", url.Values{"name": {"Sprint 42 planning"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Fatalf("a colleague's signed-out form after 25 sign-outs: %d %s, want it kept (303 to sign-in)", r.status, r.location())
	}
	if n := ta.countRows("kept_forms", ""); n != 1 {
		t.Errorf("%d kept forms, want the colleague's", n)
	}
}

// A sign-in whose answer never reaches the browser (a double click without
// JavaScript drops the first answer; a phone loses the network) must not lock
// the browser out of its own nickname: it still holds only its old key, which
// proves the nickname until the browser shows it has the new one. Once it
// does (its next request), the old key proves nothing: a copy of it does not
// sign in.
func TestLostSignInAnswerDoesNotLockTheBrowserOut(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	name := ta.app.signin.KeyCookie()
	const nick = "Ngozi Adeyemi-Larsen on a train"
	alice := ta.signedIn(nick)
	alice.plain().post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	old := alice.browserKeyCookie()

	// The answer to this sign-in is lost: the browser never sees its cookies.
	lost := &client{ta: ta, cookies: maps.Clone(alice.cookies), header: http.Header{}}
	lost.plain().post("/login", url.Values{"nickname": {nick}}).wantStatus(http.StatusSeeOther)

	// The same browser, still holding only the old key, tries again.
	r := alice.plain().post("/login", url.Values{"nickname": {nick}})
	if r.status != http.StatusSeeOther || alice.signedInAs() != nick {
		t.Fatalf("the browser that lost the answer to its sign-in: %d %q, want signed in", r.status, r.text("nickname-error"))
	}
	fresh := alice.browserKeyCookie()
	if fresh == old {
		t.Fatal("the retry kept the old key")
	}
	// Its next request shows it has the new key: the old one is done.
	alice.plain().get(r.location()).wantStatus(http.StatusOK)
	copyOfOld := ta.client()
	copyOfOld.cookies[name] = &http.Cookie{Name: name, Value: old}
	if r := copyOfOld.post("/login", url.Values{"nickname": {nick}}); r.status != http.StatusUnprocessableEntity || copyOfOld.signedInAs() != "" {
		t.Fatalf("a copy of the old key after the browser showed its new one: %d, signed in as %q", r.status, copyOfOld.signedInAs())
	}
	// The new key goes on working.
	alice.plain().post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	alice.login(nick)
}
