package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"estimator/store"
)

// fuzzWorld is a small populated app: an owner and a member in a group with an
// open issue on which the member voted a value nobody else may ever see.
type fuzzWorld struct {
	ta           *testApp
	owner, voter *client
	group        store.Group
	issue        store.Issue
	secret       int
	tokens       []string // every session and browser-key cookie value
}

func newFuzzWorld(tb testing.TB) *fuzzWorld {
	ta := newTestApp(tb, func(c *Config) { c.LoginBurst = 1 << 30 })
	w := &fuzzWorld{ta: ta, owner: ta.client(), voter: ta.client(), secret: 73}
	w.owner.login("alice")
	w.voter.login("bob")
	ctx := context.Background()
	alice, _ := ta.st.UserByNickname(ctx, "alice")
	var err error
	if w.group, err = ta.st.CreateGroup(ctx, alice, "Fuzz team"); err != nil {
		tb.Fatal(err)
	}
	w.voter.post("/join/"+w.group.InviteToken, nil)
	if w.issue, err = ta.st.CreateIssue(ctx, w.group.ID, store.IssueInput{Key: "FUZZ-1"}); err != nil {
		tb.Fatal(err)
	}
	w.voter.post(fmt.Sprintf("/issues/%d/estimate", w.issue.ID), url.Values{"estimate": {fmt.Sprint(w.secret)}}).wantStatus(http.StatusSeeOther)
	for _, c := range []*client{w.owner, w.voter} {
		for _, ck := range c.cookies {
			w.tokens = append(w.tokens, ck.Value)
		}
	}
	return w
}

var (
	fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "BREW"}
	fuzzTypes   = []string{"application/x-www-form-urlencoded", "", "multipart/form-data; boundary=x", "text/plain", "application/json", "application/x-www-form-urlencoded; charset=latin1"}
	fuzzSites   = []string{"", "same-origin", "cross-site", "same-site", "none"}
	voterRow    = regexp.MustCompile(`(?s)<li [^>]*data-testid="voter".*?</li>`)
)

// check serves one request built from fuzzed parts and checks the invariants:
// no 5xx, no panic, no session or browser token in any answer, and bob's value
// never shown to anyone but bob nor next to a name.
func (w *fuzzWorld) check(t *testing.T, method uint8, path, body string, ctype uint8, htmx bool, current, origin string, site, who uint8, cookie string) {
	u, err := url.Parse("http://example.com" + path)
	if err != nil || !strings.HasPrefix(path, "/") {
		return // not a request line a server would accept
	}
	req := httptest.NewRequest(http.MethodGet, "http://example.com/", strings.NewReader(body))
	req.Method = fuzzMethods[int(method)%len(fuzzMethods)]
	req.URL = u
	req.RequestURI = u.RequestURI()
	if ct := fuzzTypes[int(ctype)%len(fuzzTypes)]; ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Current-URL", current)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if s := fuzzSites[int(site)%len(fuzzSites)]; s != "" {
		req.Header.Set("Sec-Fetch-Site", s)
	}
	var as *client
	switch who % 4 {
	case 1:
		as = w.owner
	case 2:
		as = w.voter
	case 3:
		req.Header.Set("Cookie", cookie) // whatever the fuzzer makes of a cookie header
	}
	if as != nil {
		for _, ck := range as.cookies {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	}
	rec := httptest.NewRecorder()
	w.ta.app.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %q → %d\n%s", req.Method, path, rec.Code, truncate(rec.Body.String(), 600))
	}
	answer := rec.Body.String()
	for k, vs := range rec.Header() {
		answer += "\n" + k + ": " + strings.Join(vs, ", ")
	}
	for _, tok := range w.tokens {
		if strings.Contains(answer, tok) && !strings.Contains(req.Header.Get("Cookie"), tok) {
			t.Fatalf("%s %q leaked a session or browser token", req.Method, path)
		}
	}
	secret := fmt.Sprintf(`own-value">%d<`, w.secret)
	if as != w.voter && strings.Contains(answer, secret) {
		t.Fatalf("%s %q showed bob's estimate to someone else", req.Method, path)
	}
	for _, row := range voterRow.FindAllString(answer, -1) {
		if strings.Contains(row, fmt.Sprint(w.secret)) {
			t.Fatalf("%s %q put a value next to a name: %s", req.Method, path, row)
		}
	}
}

// FuzzRouter drives every route with random methods, paths, bodies and headers
// (htmx, Origin, Sec-Fetch-Site, Cookie) as anonymous, owner, member or a forged
// cookie. Its seed corpus (here and in testdata/fuzz/FuzzRouter) runs as an
// ordinary test.
func FuzzRouter(f *testing.F) {
	w := newFuzzWorld(f)
	g, i := w.group.ID, w.issue.ID
	paths := []string{
		"/", "/login", "/login?next=//evil.com&kept=x", "/signin/abc", "/account", "/confirm-logout", "/creategroup",
		"/join/" + w.group.InviteToken, "/join/nope", fmt.Sprintf("/groups/%d", g), fmt.Sprintf("/groups/%d/issues", g),
		fmt.Sprintf("/groups/%d/invite", g), fmt.Sprintf("/groups/%d/rename", g), fmt.Sprintf("/groups/%d/transfer", g),
		fmt.Sprintf("/groups/%d/members/2/remove", g), fmt.Sprintf("/groups/%d/leave", g), fmt.Sprintf("/groups/%d/delete", g),
		fmt.Sprintf("/issues/%d", i), fmt.Sprintf("/issues/%d/estimate", i), fmt.Sprintf("/issues/%d/reveal", i),
		fmt.Sprintf("/issues/%d/accept", i), fmt.Sprintf("/issues/%d/revote", i), fmt.Sprintf("/issues/%d/edit", i),
		fmt.Sprintf("/issues/%d/delete", i), "/issues/0", "/issues/-1", "/issues/99999999999999999999", "/groups/abc",
		"/assets/app.css", "/assets/../../etc/passwd", "/healthz", "/account/signin-link", "/account/forget-browser",
	}
	bodies := []string{
		"", "name=Team", "name=%00", "name=%ff%fe", "estimate=5", "estimate=1e2", "estimate=0x10", "estimate=%2B5",
		"estimate=+5+", "estimate=%EF%BC%95", "final=55", "key=A&description=B", "key=a;b", "nickname=carol&next=/groups/1",
		"nickname=alice", "name=" + strings.Repeat("x", 5000), "estimate=5&estimate=6", "confirmed=1", "user=2", "%zz",
		"kept=abc&nickname=dave",
	}
	for n, p := range paths {
		for m := range 3 {
			body := bodies[(n+m)%len(bodies)]
			f.Add(uint8(m), p, body, uint8(n%3), n%2 == 0, "http://example.com/", "", uint8(m%2), uint8((n+m)%4), "estimator_session=x")
		}
	}
	f.Add(uint8(1), "/creategroup", "name=x", uint8(0), true, "javascript:alert(1)", "https://evil.example", uint8(2), uint8(0), "")
	f.Add(uint8(1), "/login", "nickname=eve&next=%2F%2Fevil.com", uint8(0), false, "", "http://example.com", uint8(0), uint8(3), "estimator_session="+store.NewToken())
	f.Fuzz(func(t *testing.T, method uint8, path, body string, ctype uint8, htmx bool, current, origin string, site, who uint8, cookie string) {
		w.check(t, method, path, body, ctype, htmx, current, origin, site, who, cookie)
	})
}

// Hostile input, each answered with a clear 4xx or accepted exactly as the
// README documents (first value of a repeated field counts; surrounding spaces
// are trimmed).
func TestHostileInputs(t *testing.T) {
	t.Parallel()
	w := newFuzzWorld(t)
	issue := fmt.Sprintf("/issues/%d/estimate", w.issue.ID)
	many := make([]string, 10001)
	for i := range many {
		many[i] = fmt.Sprintf("f%d=v", i)
	}
	for _, tc := range []struct {
		name, path, body, ctype string
		owner                   bool
		want                    int
		check                   func(t *testing.T, r *response)
	}{
		{name: "invalid UTF-8 in a name", path: "/creategroup", body: "name=%ff%fe", want: 422},
		{name: "NUL in a name", path: "/creategroup", body: "name=a%00b", want: 422},
		{name: "control characters in a key", path: fmt.Sprintf("/groups/%d/issues", w.group.ID), body: "key=A%07B", owner: true, want: 422},
		{name: "10,001 fields", path: "/creategroup", body: "name=x&" + strings.Join(many, "&"), want: 400},
		{name: "10,000 fields, name first", path: "/creategroup", body: "name=Many&" + strings.Join(many[:9999], "&"), want: 303},
		{name: "very long value", path: "/creategroup", body: "name=" + strings.Repeat("x", 2<<20), want: 413},
		{name: "value over the length limit", path: "/creategroup", body: "name=" + strings.Repeat("x", 81), want: 422},
		{name: "duplicate fields: the first counts", path: issue, body: "estimate=8&estimate=99", want: 303, check: func(t *testing.T, r *response) {
			if got := w.voter.get(issue).text("own-value"); got != "8" {
				t.Fatalf("stored %q, want the first value 8", got)
			}
		}},
		{name: "number 1e2", path: issue, body: "estimate=1e2", want: 422},
		{name: "number 0x10", path: issue, body: "estimate=0x10", want: 422},
		{name: "number +5", path: issue, body: "estimate=%2B5", want: 422},
		{name: "number with spaces", path: issue, body: "estimate=+5+", want: 303, check: func(t *testing.T, r *response) {
			if got := w.voter.get(issue).text("own-value"); got != "5" {
				t.Fatalf("stored %q, want 5", got)
			}
		}},
		{name: "full-width digit", path: issue, body: "estimate=%EF%BC%95", want: 422},
		{name: "negative", path: issue, body: "estimate=-3", want: 422},
		{name: "semicolon separator", path: "/creategroup", body: "name=a;b=c", want: 400},
		{name: "bad escape", path: "/creategroup", body: "name=%zz", want: 400},
		{name: "multipart", path: "/creategroup", body: "--x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nT\r\n--x--\r\n", ctype: "multipart/form-data; boundary=x", want: 415},
		{name: "JSON", path: "/creategroup", body: `{"name":"T"}`, ctype: "application/json", want: 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "application/x-www-form-urlencoded"
			}
			as := w.voter
			if tc.owner {
				as = w.owner
			}
			r := as.do(http.MethodPost, tc.path, strings.NewReader(tc.body), ctype)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, truncate(r.body, 400))
			}
			if tc.want >= 400 && tc.want != 422 && !r.has("error") {
				t.Fatalf("%d without an error page", tc.want)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
