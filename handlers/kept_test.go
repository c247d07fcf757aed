package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"estimator/views"
)

// Issue "Trust, round three", 5: typed forms were lost. Every form a signed-in
// person sends that changes something is kept when they turn out to be signed
// out (plain and htmx), and sent after the sign-in, once they confirm it.

// notKept are the POST routes a signed-out request is not kept for: sign-in
// itself, signing out (nothing to sign out of), the kept form's own page, a
// note after the reveal (kept, it would wait beside the browser that sent it,
// outside the round's anonymity; the invited voter writes it again), and
// connecting a tracker (its form carries a token, never stored for later).
var notKept = []string{"/login", "/login/choose", "/signin/:token", "/confirm-logout", "/account/signout-everywhere", views.PathKept, "/issues/:id/note", routeTrackerConnect}

const keptOwner = "Olga Owner-With-A-Long-Name_32"

type keptSite struct {
	ta       *testApp
	tm       team
	iid      int64
	mia, max *client
	invite   string
}

// keptRoute is one state-changing route: who sends it, what it needs first,
// the form, and what must have happened once the kept form is sent.
type keptRoute struct {
	route     string // the gin pattern it covers
	who       string // "owner", "mia" (a member), "new" (signed in before, in no group)
	prep      func(s *keptSite)
	path      func(s *keptSite) string
	form      url.Values
	formOf    func(s *keptSite) url.Values // when the form needs the site's ids
	multipart bool
	status    int // the replayed action's answer; 303 when 0
	check     func(t *testing.T, s *keptSite)
}

func keptRoutes() []keptRoute {
	issue := func(suffix string) func(s *keptSite) string {
		return func(s *keptSite) string { return fmt.Sprintf("/issues/%d%s", s.iid, suffix) }
	}
	group := func(suffix string) func(s *keptSite) string {
		return func(s *keptSite) string { return fmt.Sprintf("/groups/%d%s", s.tm.gid, suffix) }
	}
	// rows checks that query q returns exactly one row.
	rows := func(s *keptSite, q string, args ...any) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			if n := s.ta.countRows("("+q+")", "", args...); n != 1 {
				t.Fatalf("after the kept form was sent, %s: %d rows, want 1", q, n)
			}
		}
	}
	votes := func(s *keptSite) {
		s.mia.estimate(s.iid, "5").wantStatus(http.StatusSeeOther)
		s.max.estimate(s.iid, "8").wantStatus(http.StatusSeeOther)
	}
	revealed := func(s *keptSite) {
		votes(s)
		s.tm.owner.post(fmt.Sprintf("/issues/%d/reveal", s.iid), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	}
	uid := func(s *keptSite, nick string) int64 { return s.ta.user(nick).ID }
	return []keptRoute{
		{route: "/creategroup", who: "owner", path: func(*keptSite) string { return "/creategroup" }, form: url.Values{"name": {"Kept Phoenix"}},
			check: func(t *testing.T, s *keptSite) { rows(s, "SELECT 1 FROM groups WHERE name = 'Kept Phoenix'")(t) }},
		{route: "/join/:token", who: "new", path: func(s *keptSite) string { return "/join/" + s.ta.inviteToken(s.tm.gid) },
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ?", s.tm.gid, uid(s, "Newcomer"))(t)
			}},
		{route: "/groups/:id/issues", who: "owner", path: group("/issues"), form: url.Values{"key": {"PHX-99"}, "description": {"Typed before the session ran out"}},
			check: func(t *testing.T, s *keptSite) { rows(s, "SELECT 1 FROM issues WHERE key = 'PHX-99'")(t) }},
		{route: "/groups/:id/quick", who: "owner", path: group("/quick"), form: url.Values{"description": {"Asked before the session ran out"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues i JOIN groups g ON g.current_issue_id = i.id WHERE i.key = 'Q-1' AND i.description = 'Asked before the session ran out'")(t)
			}},
		{route: "/quick", who: "owner", path: func(*keptSite) string { return "/quick" }, form: url.Values{"name": {"Kept quick room"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM groups g JOIN issues i ON i.id = g.current_issue_id WHERE g.name = 'Kept quick room' AND i.key = 'Q-1'")(t)
			}},
		{route: "/groups/:id/members/:uid/facilitator", who: "owner", path: func(s *keptSite) string {
			return fmt.Sprintf("/groups/%d/members/%d/facilitator", s.tm.gid, uid(s, "Mia"))
		},
			form: url.Values{"facilitator": {"1"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ? AND facilitator = 1", s.tm.gid, uid(s, "Mia"))(t)
			}},
		{route: "/groups/:id/invite", who: "owner", path: group("/invite"),
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM groups WHERE id = ? AND invite_token != ?", s.tm.gid, s.invite)(t)
			}},
		{route: "/groups/:id/rename", who: "owner", path: group("/rename"), form: url.Values{"name": {"Team Phoenix — renamed"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM groups WHERE name = 'Team Phoenix — renamed'")(t)
			}},
		{route: "/groups/:id/transfer", who: "owner", path: group("/transfer"),
			formOf: func(s *keptSite) url.Values { return url.Values{"user": {fmt.Sprint(uid(s, "Mia"))}} },
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ? AND role = 'owner'", s.tm.gid, uid(s, "Mia"))(t)
			}},
		{route: "/groups/:id/members/:uid/remove", who: "owner", path: func(s *keptSite) string { return fmt.Sprintf("/groups/%d/members/%d/remove", s.tm.gid, uid(s, "Mia")) },
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM memberships WHERE group_id = ? AND user_id = ? HAVING COUNT(*) = 0", s.tm.gid, uid(s, "Mia"))(t)
			}},
		{route: "/groups/:id/leave", who: "mia", path: group("/leave"),
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM memberships WHERE group_id = ? AND user_id = ? HAVING COUNT(*) = 0", s.tm.gid, uid(s, "Mia"))(t)
			}},
		{route: "/groups/:id/delete", who: "owner", path: group("/delete"),
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM groups WHERE id = ? HAVING COUNT(*) = 0", s.tm.gid)(t)
			}},
		{route: "/groups/:id/role", who: "mia", path: group("/role"), form: url.Values{"role": {"spectator"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM memberships WHERE group_id = ? AND user_id = ? AND seat = 'spectator'", s.tm.gid, uid(s, "Mia"))(t)
			}},
		{route: "/groups/:id/settings", who: "owner", path: group("/settings"), form: url.Values{"deck": {"fibonacci"}, "auto_reveal": {"1"}, "timer": {"90"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM groups WHERE id = ? AND auto_reveal = 1 AND timer_seconds = 90", s.tm.gid)(t)
			}},
		{route: "/groups/:id/import", who: "owner", path: group("/import"), form: url.Values{"rows": {"PHX-200\tPasted while signed out"}, "confirmed": {"1"}},
			check: func(t *testing.T, s *keptSite) { rows(s, "SELECT 1 FROM issues WHERE key = 'PHX-200'")(t) }},
		// The import form is multipart (it takes a file too): pasted rows are kept,
		// and come back as the preview.
		{route: "/groups/:id/import", who: "owner", path: group("/import"), form: url.Values{"rows": {"PHX-201\tPasted into the multipart form"}}, multipart: true, status: http.StatusOK,
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM issues WHERE key = 'PHX-201' HAVING COUNT(*) = 0")(t) // a preview adds nothing
			}},
		{route: "/issues/:id/estimate", who: "mia", path: issue("/estimate"), form: url.Values{"estimate": {"13"}},
			check: func(t *testing.T, s *keptSite) {
				if card, ok := s.ta.ballots()[s.iid][uid(s, "Mia")]; !ok || card != 13 {
					t.Errorf("Mia's kept vote: in the ballot %v, card %d", ok, card)
				}
			}},
		{route: "/issues/:id/reveal", who: "owner", prep: votes, path: issue("/reveal"), form: url.Values{"confirmed": {"1"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues WHERE id = ? AND state = 'revealed'", s.iid)(t)
			}},
		{route: "/issues/:id/accept", who: "owner", prep: revealed, path: issue("/accept"), form: url.Values{"final": {"8"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues WHERE id = ? AND state = 'accepted' AND final_estimate = 8", s.iid)(t)
			}},
		{route: "/issues/:id/revote", who: "owner", prep: revealed, path: issue("/revote"),
			check: func(t *testing.T, s *keptSite) { rows(s, "SELECT 1 FROM issues WHERE id = ? AND round = 2", s.iid)(t) }},
		{route: "/issues/:id/start", who: "owner", path: issue("/start"),
			check: func(t *testing.T, s *keptSite) { rows(s, "SELECT 1 FROM groups WHERE current_issue_id = ?", s.iid)(t) }},
		{route: "/groups/:id/ahead", who: "owner", path: group("/ahead"),
			formOf: func(s *keptSite) url.Values { return url.Values{"issue": {fmt.Sprint(s.iid)}, "hours": {"48"}} },
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues WHERE id = ? AND ahead_until IS NOT NULL", s.iid)(t)
			}},
		{route: "/groups/:id/accept-consensus", who: "owner", path: group("/accept-consensus"),
			prep: func(s *keptSite) {
				s.mia.estimate(s.iid, "5").wantStatus(http.StatusSeeOther)
				s.max.estimate(s.iid, "5").wantStatus(http.StatusSeeOther)
				s.tm.owner.post(fmt.Sprintf("/issues/%d/reveal", s.iid), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
			},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues WHERE id = ? AND state = 'accepted' AND final_estimate = 5", s.iid)(t)
			}},
		{route: "/issues/:id/timer", who: "owner", path: issue("/timer"), form: url.Values{"seconds": {"120"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues WHERE id = ? AND timer_ends_at IS NOT NULL", s.iid)(t)
			}},
		{route: "/issues/:id/edit", who: "owner", path: issue("/edit"), form: url.Values{"key": {"PHX-12-b"}, "description": {"Edited while signed out"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM issues WHERE id = ? AND key = 'PHX-12-b' AND description = 'Edited while signed out'", s.iid)(t)
			}},
		{route: "/issues/:id/delete", who: "owner", path: issue("/delete"),
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM issues WHERE id = ? HAVING COUNT(*) = 0", s.iid)(t)
			}},
		{route: "/account/signin-link", who: "owner", path: func(*keptSite) string { return "/account/signin-link" },
			check: func(t *testing.T, s *keptSite) {
				if ok, _ := s.ta.st.HasSigninToken(tctx, uid(s, keptOwner)); !ok {
					t.Fatal("no personal sign-in link after the kept form was sent")
				}
			}},
		{route: "/account/forget-browser", who: "owner", path: func(*keptSite) string { return "/account/forget-browser" },
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM browser_keys WHERE user_id = ? HAVING COUNT(*) = 0", uid(s, keptOwner))(t)
			}},
		{route: "/account/language", who: "owner", path: func(*keptSite) string { return "/account/language" },
			form: url.Values{"lang": {"pt-BR"}},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT 1 FROM users WHERE id = ? AND lang = 'pt-BR'", uid(s, keptOwner))(t)
			}},
		{route: "/account/browsers/:id/revoke", who: "owner",
			path: func(s *keptSite) string {
				bs, err := s.ta.st.UserBrowsers(tctx, uid(s, keptOwner), "")
				if err != nil || len(bs) != 1 {
					s.ta.t.Fatalf("browsers %v %v", bs, err)
				}
				return fmt.Sprintf("/account/browsers/%d/revoke", bs[0].ID)
			},
			check: func(t *testing.T, s *keptSite) {
				rows(s, "SELECT COUNT(*) FROM browser_keys WHERE user_id = ? HAVING COUNT(*) = 0", uid(s, keptOwner))(t)
			}},
	}
}

func TestTypedFormsAreKeptOnEveryStateChangingRoute(t *testing.T) {
	t.Parallel()
	routes := keptRoutes()
	// Every POST route is in the table, or is one that is not kept.
	covered := map[string]bool{}
	for _, r := range routes {
		covered[r.route] = true
	}
	for _, ri := range newTestApp(t).app.engine.Routes() {
		if ri.Method == http.MethodPost && !covered[ri.Path] && !slices.Contains(notKept, ri.Path) {
			t.Errorf("POST %s is in neither the kept routes' table nor notKept", ri.Path)
		}
	}
	for _, rt := range routes {
		for _, htmx := range []bool{false, true} {
			name := fmt.Sprintf("%s multipart=%v htmx=%v", rt.route, rt.multipart, htmx)
			if rt.multipart && htmx {
				continue // the import form is a plain form
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ta := newTestApp(t)
				s := &keptSite{ta: ta, tm: ta.team("Team Phoenix", keptOwner, "Mia", "Max")}
				s.mia, s.max = s.tm.members[0], s.tm.members[1]
				s.invite = ta.inviteToken(s.tm.gid)
				s.iid = s.tm.owner.addIssue(s.tm.gid, "PHX-12", "Checkout with a saved card")
				if rt.prep != nil {
					rt.prep(s)
				}
				actor, nick := s.tm.owner, keptOwner
				switch rt.who {
				case "mia":
					actor, nick = s.mia, "Mia"
				case "new":
					actor, nick = ta.signedIn("Newcomer"), "Newcomer"
				}
				path, form := rt.path(s), rt.form
				if rt.formOf != nil {
					form = rt.formOf(s)
				}
				// The session ends (signed out elsewhere, or it expired).
				actor.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)

				page := fmt.Sprintf("/groups/%d", s.tm.gid)
				sender := actor.with("Referer", "http://example.com"+page)
				if htmx {
					sender = actor.htmxFrom(page)
				}
				var r *response
				if rt.multipart {
					fields := map[string]string{}
					for k := range rt.form {
						fields[k] = rt.form.Get(k)
					}
					body, ct := multipartBody(t, fields, map[string]string{"file": ""})
					r = sender.do(http.MethodPost, path, body, ct)
				} else {
					r = sender.post(path, form)
				}
				if htmx && r.status != http.StatusOK {
					t.Fatalf("htmx: status %d, want 200 with HX-Redirect", r.status)
				}
				if !htmx && r.status != http.StatusSeeOther {
					t.Fatalf("status %d, want 303 to sign in; body:\n%s", r.status, truncate(r.body, 800))
				}
				next, ref, ok := loginTarget(t, r.location())
				if !ok || ref == "" {
					t.Fatalf("the form was not kept: %q", r.location())
				}
				if next != page {
					t.Errorf("next %q, want the page the form was on (%s)", next, page)
				}
				signIn := actor.post("/login", url.Values{"nickname": {nick}, "next": {next}, "kept": {ref}})
				want := rt.status
				if want == 0 {
					want = http.StatusSeeOther
				}
				sendKept(t, actor, signIn).wantStatus(want)
				rt.check(t, s)
			})
		}
	}
}

// A file chosen while signed out is not kept: the person is told to sign in
// first, and with htmx the message goes to the notice area, leaving the page
// (and what was typed on it) as it was.
func TestSignedOutFileUploadIsRefusedWithAMessage(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Team Phoenix", keptOwner)
	tm.owner.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	path := fmt.Sprintf("/groups/%d/import", tm.gid)
	body := func() (*bytes.Buffer, string) {
		return multipartBody(t, map[string]string{"rows": ""}, map[string]string{"file": "key,description\nPHX-300,From a file\n"})
	}
	page := fmt.Sprintf("/groups/%d", tm.gid)
	b, ct := body()
	r := tm.owner.with("Referer", "http://example.com"+page).do(http.MethodPost, path, b, ct)
	if r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("plain: status %d, want 415", r.status)
	}
	if got := r.text("error"); !strings.Contains(got, "Sign in first") {
		t.Errorf("plain: message %q", got)
	}
	if !strings.Contains(r.body, `href="`+strings.ReplaceAll(views.LoginPath(page, ""), "&", "&amp;")+`"`) {
		t.Errorf("plain: no link to sign in and come back to %s", page)
	}
	b, ct = body()
	r = tm.owner.htmxFrom(page).do(http.MethodPost, path, b, ct)
	if r.status != http.StatusUnsupportedMediaType || r.header.Get("HX-Retarget") != "#notice" || r.header.Get("HX-Redirect") != "" {
		t.Fatalf("htmx: status %d HX-Retarget %q HX-Redirect %q", r.status, r.header.Get("HX-Retarget"), r.header.Get("HX-Redirect"))
	}
	if !strings.Contains(r.body, "Sign in first") {
		t.Errorf("htmx: message %q", r.body)
	}
	if n := ta.countRows("kept_forms", ""); n != 0 {
		t.Fatalf("%d forms kept for a file upload", n)
	}
	if n := ta.countRows("issues", ""); n != 0 {
		t.Fatalf("%d issues imported", n)
	}
}

// The kept form's page reads as the rest of the app does: on a T-shirt deck a
// kept vote shows its size (the card M posts 3), the deck its title, and a
// removal names whom it removes.
func TestKeptFormPageReadsAsTheAppDoes(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Shirts", keptOwner, "Mia Member-With-A-Long-Name_32")
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	iid := tm.owner.addIssue(tm.gid, "SHIRT-1", "")
	keptAfterSignIn := func(c *client, nick, path string, form url.Values) *response {
		t.Helper()
		c.plain().post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
		next, ref, ok := loginTarget(t, c.plain().post(path, form).wantStatus(http.StatusSeeOther).location())
		if !ok || ref == "" {
			t.Fatalf("POST %s signed out kept nothing", path)
		}
		return keptPage(t, c, c.plain().post("/login", url.Values{"nickname": {nick}, "next": {next}, "kept": {ref}}))
	}
	mia := tm.members[0]
	page := keptAfterSignIn(mia, "Mia Member-With-A-Long-Name_32", fmt.Sprintf("/issues/%d/estimate", iid), url.Values{"estimate": {"3"}})
	if got := page.text("kept-fields"); !strings.Contains(got, "M") || strings.Contains(got, "3") {
		t.Errorf("a kept vote for M on a T-shirt deck reads %q", got)
	}
	page = keptAfterSignIn(tm.owner, keptOwner, fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}})
	if got := page.text("kept-fields"); !strings.Contains(got, "T-shirt sizes") {
		t.Errorf("kept settings read %q, want the deck's title", got)
	}
	miaID := ta.user("Mia Member-With-A-Long-Name_32").ID
	page = keptAfterSignIn(tm.owner, keptOwner, fmt.Sprintf("/groups/%d/members/%d/remove", tm.gid, miaID), url.Values{"confirmed": {"1"}})
	if got := page.text("kept-what"); !strings.Contains(got, "Remove Mia Member-With-A-Long-Name_32 from") {
		t.Errorf("a kept removal reads %q, want it to name the member", got)
	}
}
