package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// shotsDir, when set, makes TestEveryPage write a full-page PNG of every page
// and variant there (go tool task shots).
var shotsDir = flag.String("shots", "", "write a screenshot of every page state and variant into this folder")

// axe-core, vendored for the tests only (go tool task vendor): the app never
// serves it.
const axePath = "testdata/axe/axe.min.js"

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(axePath)
	return string(b), err
})

// variant is one way a person sees a page: a phone or a laptop, light or dark.
type variant struct {
	name          string
	width, height int64
	dark          bool
}

var variants = []variant{
	{"360-light", 360, 800, false},
	{"360-dark", 360, 800, true},
	{"390-light", 390, 844, false},
	{"390-dark", 390, 844, true},
	{"1280-light", 1280, 800, false},
	{"1280-dark", 1280, 800, true},
}

// narrowest is the smallest phone the navigation must fit, with the longest
// nickname (the page walk checks the navigation alone at this width).
var narrowest = variant{"320-light", 320, 640, false}

// The page walk's people have nicknames as long as a nickname may be
// (store.NicknameMax): a short name hides what a long one widens.
const (
	ownerNick     = "Olga Małgorzata Wiśniewska-Nowak"
	memberNick    = "Maximilian Wolfgang Oberhuber Jr"
	miaNick       = "Mia Wilhelmina Montgomery-Walker"
	spectatorNick = "Solveig Matilde Wennerström-Berg"
	freshNick     = "Zed Maximilian Worthington-Wells"
	outsiderNick  = "Cy Wendelin Warmbrunn-Mühlheimer"
	// longKey is as long as a key may be (store.IssueKeyMax), with hyphens.
	longKey = "PAYMENTS-PLATFORM-MIGRATION-2042"
	// longLinks is a description as trackers write them: links longer than a
	// phone is wide, one in parentheses, one at the end of a sentence.
	longLinks = "Move card payments to the new provider (spec: https://jira.example.com/browse/PAYMENTS-PLATFORM-MIGRATION-2042?focusedCommentId=1234567&page=com.atlassian.jira.plugin.system.issuetabpanels%3Acomment-tabpanel#comment-1234567). Runbook: https://wiki.example.com/display/PAY/Provider+migration+runbook+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789."
)

// phone reports whether the variant is a phone's width, where tap targets must
// be big enough for a thumb.
func (v variant) phone() bool { return v.width < 600 }

// site is the world the page walk looks at: people in the states the pages
// show, with the paths of what they made.
type site struct {
	anon, anonNoJS, fresh, owner, ownerNoJS, member, memberNoJS, outsider *tab
	// keeper pressed Join while signed out, then signed in.
	keeper *tab

	solo, team, invite       string
	open, revealed, accepted string
	// long has the longest key and a description of long links.
	long string
	// second is an issue on its second round; spectator watches the team.
	second    string
	spectator *tab
}

// pageState is one row of the page walk: who looks, and how they get there.
// reach leaves the tab on the page in the state to check; ready is what must be
// visible before it is checked. Add the room's states here, one line each.
type pageState struct {
	name  string
	who   func(s *site) *tab
	reach func(s *site, tb *tab)
	ready string
}

// at opens a path that depends on the site.
func at(path func(s *site) string) func(s *site, tb *tab) {
	return func(s *site, tb *tab) { tb.open(path(s)) }
}

func fixed(path string) func(s *site, tb *tab) {
	return func(s *site, tb *tab) { tb.open(path) }
}

var pageStates = []pageState{
	{"home, signed out", func(s *site) *tab { return s.anon }, fixed("/"), testID("home-signin")},
	{"sign-in", func(s *site) *tab { return s.anon }, fixed("/login"), "#login-form"},
	{"sign-in, refused nickname", func(s *site) *tab { return s.anon }, func(s *site, tb *tab) {
		tb.open("/login")
		tb.submitLogin("Al!ce")
	}, testID("nickname-error")},
	{"sign-in, refused nickname, no JS", func(s *site) *tab { return s.anonNoJS }, func(s *site, tb *tab) {
		tb.open("/login")
		tb.submitLogin("Al!ce")
	}, testID("nickname-error")},
	{"sign-in, a form kept for after", func(s *site) *tab { return s.anon }, func(s *site, tb *tab) {
		// A create-group form sent while signed out, as from a page left open
		// when the session ended: it is kept, and the sign-in page says so.
		tb.open("/login")
		tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
			const f = Object.assign(document.createElement("form"), {method: "post", action: "/creategroup"});
			f.append(Object.assign(document.createElement("input"), {name: "name", value: "Kept Team"}));
			document.body.append(f);
			f.submit();
		})()`))
	}, testID("kept-notice")},
	{"not found", func(s *site) *tab { return s.anon }, fixed("/no-such-page"), testID("error")},
	{"My Groups, none yet", func(s *site) *tab { return s.fresh }, fixed("/"), testID("no-groups")},
	{"My Groups", func(s *site) *tab { return s.owner }, fixed("/"), testID("group-row")},
	{"group, owner alone", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.solo }), testID("invite-link")},
	{"group, owner with members", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.team }), testID("issue-row")},
	{"group, duplicate key refused", func(s *site) *tab { return s.owner }, func(s *site, tb *tab) {
		tb.open(s.team)
		tb.click("#add-issue-summary")
		tb.typeInto("#issue-key", "SHOP-12")
		tb.click(addIssueSubmit)
	}, testID("key-error")},
	{"group, member", func(s *site) *tab { return s.member }, at(func(s *site) string { return s.team }), testID("leave-group")},
	{"join confirmation", func(s *site) *tab { return s.outsider }, at(func(s *site) string { return s.invite }), testID("join-confirm")},
	{"after sign-in, the form kept before it", func(s *site) *tab { return s.keeper }, func(s *site, tb *tab) {
		// An issue added from a page left open when the session ended: after
		// the sign-in, the page says what the kept form would send and waits
		// for the click.
		tb.signIn("Kim")
		group := tb.createGroup("Kim’s backlog")
		tb.open("/confirm-logout")
		tb.click(testID("signout-confirm"))
		tb.waitVisible(testID("nav-signin"))
		tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const f = Object.assign(document.createElement("form"), {method: "post", action: %q});
			f.append(Object.assign(document.createElement("input"), {name: "key", value: "SHOP-1234-checkout-v2"}));
			f.append(Object.assign(document.createElement("input"), {name: "description", value: "As a returning customer I pay with my saved card in one step; see https://wiki.example.com/payments/saved-cards/one-step-checkout-requirements-2026"}));
			document.body.append(f);
			f.submit();
		})()`, group+"/issues")))
		tb.waitVisible(testID("kept-notice"))
		tb.submitLogin("Kim")
	}, testID("kept-send")},
	{"issue, open", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.open }), testID("reveal")},
	{"issue, open, member", func(s *site) *tab { return s.member }, at(func(s *site) string { return s.open }), testID("cards")},
	{"room, spectator", func(s *site) *tab { return s.spectator }, at(func(s *site) string { return s.open }), testID("spectating")},
	{"room, round 2 beside round 1", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.second }), testID("rounds")},
	{"room, round 2, member", func(s *site) *tab { return s.member }, at(func(s *site) string { return s.second }), testID("rounds")},
	{"group, current issue", func(s *site) *tab { return s.member }, at(func(s *site) string { return s.team }), testID("current-issue")},
	{"room, no JS", func(s *site) *tab { return s.memberNoJS }, at(func(s *site) string { return s.second }), testID("cards")},
	{"room, a member here without JS", func(s *site) *tab { return s.owner }, func(s *site, tb *tab) {
		// Max's only page on the room is one without JavaScript, so no
		// stream says he is there: his page load does, for a minute.
		s.memberNoJS.open(s.second)
		s.memberNoJS.waitShown(testID("cards"))
		tb.open(s.second)
	}, fmt.Sprintf(`[data-testid="voter"][data-member=%q] [data-testid="voter-present"] .present`, memberNick)},
	{"issue, longest key and long links", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.long }), `[data-testid="issue-description"] a[href^="https://jira.example.com/"]`},
	{"import preview", func(s *site) *tab { return s.owner }, func(s *site, tb *tab) {
		tb.open(s.team)
		tb.click(testID("import-summary"))
		// Rows as a spreadsheet copies them (typing a tab would move the focus).
		tb.do(chromedp.SetValue(chromedp.CSS("#import-rows"), "PAYMENTS-PLATFORM-MIGRATION-2043\tRetry failed payouts, see https://jira.example.com/browse/PAYMENTS-PLATFORM-MIGRATION-2043?focusedCommentId=7654321\nSHOP-16\tGift cards"))
		tb.click(testID("import-preview"))
	}, testID("import-confirm")},
	{"issue, revealed", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.revealed }), testID("result")},
	{"issue, accepted", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.accepted }), testID("final")},
	{"issue, reveal confirmation, no JS", func(s *site) *tab { return s.ownerNoJS }, func(s *site, tb *tab) {
		tb.open(s.open)
		tb.click(testID("reveal"))
	}, testID("reveal-confirmed")},
	{"estimate", func(s *site) *tab { return s.member }, at(func(s *site) string { return s.open + "/estimate" }), testID("cards")},
	{"edit issue", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.open + "/edit" }), testID("edit-issue-form")},
	{"delete group confirmation", func(s *site) *tab { return s.owner }, at(func(s *site) string { return s.team + "/delete" }), testID("delete-group-confirm")},
	{"make owner confirmation, no JS", func(s *site) *tab { return s.ownerNoJS }, func(s *site, tb *tab) {
		tb.open(s.team)
		tb.click(testID("make-owner"))
	}, testID("transfer-confirm")},
	{"remove member confirmation, no JS", func(s *site) *tab { return s.ownerNoJS }, func(s *site, tb *tab) {
		tb.open(s.team)
		tb.click(testID("remove-member"))
	}, testID("remove-confirm")},
	{"leave confirmation, no JS", func(s *site) *tab { return s.memberNoJS }, func(s *site, tb *tab) {
		tb.open(s.team)
		tb.click(testID("leave-group"))
	}, testID("leave-confirm")},
	{"account", func(s *site) *tab { return s.owner }, fixed("/account"), testID("account-nickname")},
	{"account, new sign-in link", func(s *site) *tab { return s.owner }, func(s *site, tb *tab) {
		tb.open("/account")
		tb.click(testID("replace-link"))
	}, testID("signin-link")},
	{"sign-out confirmation", func(s *site) *tab { return s.owner }, fixed("/confirm-logout"), testID("signout-confirm")},
	{"home, just signed out", func(s *site) *tab { return s.outsider }, func(s *site, tb *tab) {
		tb.open("/confirm-logout")
		tb.click(testID("signout-confirm"))
	}, testID("notice")},
}

// layoutChecks are a state's own checks of its layout, at every width: a
// script that lists what is wrong.
var layoutChecks = map[string]string{
	// The way back sits beside the confirmation, not under it.
	"import preview": `(() => {
		const ok = document.querySelector('[data-testid="import-confirm"]').getBoundingClientRect();
		const back = document.querySelector('[data-testid="import-cancel"]').getBoundingClientRect();
		return Math.abs(ok.top - back.top) > 1 ? ["Cancel sits under the confirm button"] : [];
	})()`,
	// The invite link comes before the member list, and the page a meeting
	// uses stays short on a phone (it was 3,400 px at 390 px).
	"group, owner with members": `(() => {
		const out = [];
		const invite = document.querySelector('[data-testid="invite"]').getBoundingClientRect();
		const members = document.querySelector('[data-testid="members"]').getBoundingClientRect();
		if (invite.top > members.top) out.push("the invite link is below the member list");
		const tall = document.documentElement.scrollHeight;
		if (innerWidth < 600 && tall > 3000) out.push("the page is " + tall + " px tall");
		return out;
	})()`,
}

// buildSite signs people in and makes a group with a member, one without, and
// issues open, revealed and accepted.
func buildSite(e *env) *site {
	s := &site{}
	s.anon = e.person("Anon (signed out)")
	s.anonNoJS = e.person("Anon (signed out, no JavaScript)")
	s.anonNoJS.javaScriptOff()

	s.owner = e.person("Olga (owner)")
	s.owner.signIn(ownerNick)
	s.solo = s.owner.createGroup("Solo")
	s.team = s.owner.createGroup("Checkout team")
	s.owner.open(s.team)
	s.open = s.owner.addIssue("SHOP-12", "Pay by invoice: the order page offers invoice payment to known business customers, with a limit set by finance.")
	s.revealed = s.owner.addIssue("SHOP-13", "Show delivery dates")
	s.accepted = s.owner.addIssue("SHOP-14", "")
	s.long = s.owner.addIssue(longKey, longLinks)
	s.invite = strings.TrimPrefix(s.owner.inviteLink(), e.base)

	s.member = e.person("Max (member)")
	s.member.join(e.base+s.invite, memberNick, "Checkout team")
	mia := e.person("Mia (member)")
	mia.join(e.base+s.invite, miaNick, "Checkout team")
	s.second = s.owner.addIssue("SHOP-15", "Gift wrapping")

	// Two of three voters: revealing without JavaScript asks first.
	s.member.vote(s.open, 5)
	s.owner.vote(s.open, 3)
	for i, path := range []string{s.revealed, s.accepted} {
		s.owner.vote(path, 3+5*i)
		s.member.vote(path, 8)
		mia.vote(path, 13)
		s.owner.open(path)
		s.owner.click(testID("reveal"))
		s.owner.waitVisible(testID("result"))
	}
	s.owner.open(s.accepted)
	s.owner.click(testID("accept"))
	s.owner.waitVisible(testID("final"))

	// Round 1 revealed, round 2 open; the group estimates it now.
	s.owner.vote(s.second, 5)
	s.member.vote(s.second, 8)
	s.owner.open(s.second)
	s.owner.click(testID("reveal"))
	s.owner.waitVisible(testID("result"))
	s.owner.click(testID("revote"))
	s.owner.waitVisible(testID("rounds"))
	s.owner.click(testID("start"))
	s.owner.waitVisible(testID("current-issue"))

	// A spectator: joins, then takes the spectator's seat on the group page.
	s.spectator = e.person("Sol (spectator)")
	s.spectator.join(e.base+s.invite, spectatorNick, "Checkout team")
	s.spectator.open(s.team)
	s.spectator.click(testID("seat-spectator"))
	s.spectator.waitVisible(testID("seat-voter"))

	s.ownerNoJS = s.owner.newTab("Olga (owner, no JavaScript)")
	s.ownerNoJS.javaScriptOff()
	s.memberNoJS = s.member.newTab("Max (member, no JavaScript)")
	s.memberNoJS.javaScriptOff()
	s.fresh = e.person("Zed (no group)")
	s.fresh.signIn(freshNick)
	s.keeper = e.person("Kim (kept form)")
	s.outsider = e.person("Cy (invited)")
	s.outsider.signIn(outsiderNick)
	return s
}

// Acceptance: every page and state, on phones (360 and 390 px) and a laptop,
// light and dark, with nicknames of 32 characters: nothing scrolls sideways,
// the navigation stays on one line (and fits a 320 px phone), keys do not wrap,
// tap targets are big enough on a phone, and axe finds nothing serious or
// critical.
func TestEveryPage(t *testing.T) {
	src, err := axeSource()
	if err != nil {
		t.Fatalf("reading the vendored axe-core (go tool task vendor): %v", err)
	}
	// About 30 pages, four ways each, each measured and checked by axe: a
	// minute and a half alone, several under -race on a shared machine.
	e := newEnvWithin(t, 12*time.Minute)
	s := buildSite(e)
	if *shotsDir != "" {
		if err := os.MkdirAll(*shotsDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, ps := range pageStates {
		tb := ps.who(s)
		ps.reach(s, tb)
		tb.waitShown(ps.ready)
		if tb.noJS {
			// The page has loaded without running its own scripts; measuring
			// and axe need animation frames and timers, which run only with
			// scripts on. Nothing of the page runs late.
			tb.scripts(true)
		}
		for _, v := range variants {
			what := fmt.Sprintf("%s at %s", ps.name, v.name)
			tb.show(v)
			if *shotsDir != "" {
				tb.screenshot(filepath.Join(*shotsDir, fmt.Sprintf("%02d-%s-%s.png", i+1, slug(ps.name), v.name)))
			}
			l := tb.layout()
			if l.ScrollWidth > l.InnerWidth {
				t.Errorf("%s: the page is %d px wide in a %d px window (scrolls sideways); widest: %s", what, l.ScrollWidth, l.InnerWidth, strings.Join(l.Widest, "; "))
			}
			if l.NavRows > 1 {
				t.Errorf("%s: the navigation takes %d rows", what, l.NavRows)
			}
			if len(l.Wrapped) > 0 {
				t.Errorf("%s: wraps onto two lines: %q", what, l.Wrapped)
			}
			if v.phone() && len(l.Small) > 0 {
				t.Errorf("%s: tap targets under 44 px: %q", what, l.Small)
			}
			if js, ok := layoutChecks[ps.name]; ok {
				for _, p := range run(tb, chromedp.Evaluate[[]string](js)) {
					t.Errorf("%s: %s", what, p)
				}
			}
			for _, viol := range tb.axe(src) {
				t.Errorf("%s: axe %s (%s): %s\n\t%s", what, viol.ID, viol.Impact, viol.Help, strings.Join(viol.Nodes, "\n\t"))
			}
		}
		tb.show(narrowest)
		if *shotsDir != "" {
			tb.screenshot(filepath.Join(*shotsDir, fmt.Sprintf("%02d-%s-%s.png", i+1, slug(ps.name), narrowest.name)))
		}
		if l := tb.layout(); l.NavRight > l.InnerWidth || l.NavRows > 1 {
			t.Errorf("%s at %s: the navigation takes %d rows and reaches %d px in a %d px window", ps.name, narrowest.name, l.NavRows, l.NavRight, l.InnerWidth)
		}
		if bare := tb.focusUnseen(4); len(bare) > 0 {
			t.Errorf("%s: keyboard focus is not visible on %q", ps.name, bare)
		}
		if tb.noJS {
			tb.scripts(false)
		}
	}
	for _, tb := range []*tab{s.anon, s.anonNoJS, s.fresh, s.owner, s.ownerNoJS, s.member, s.memberNoJS, s.outsider, s.keeper} {
		tb.noPageErrors()
	}
}

// answeredOnPurpose is the browser's note on a page or fragment sent with the
// status it should have (a refused form, the not-found page).
var answeredOnPurpose = regexp.MustCompile(`^Failed to load resource: the server responded with a status of (404|422)\b`)

// noPageErrors is noConsoleErrors, less the browser's notes on 404 and 422
// answers for pages (never for assets).
func (tb *tab) noPageErrors() {
	tb.t.Helper()
	for _, m := range tb.consoleMessages() {
		if !m.IsException() && m.Type != chromedp.ConsoleError {
			continue
		}
		if answeredOnPurpose.MatchString(m.Text) && !strings.Contains(m.URL, "/assets/") {
			continue
		}
		tb.t.Errorf("%s: browser console error: %s (%s)", tb.label, m.Text, m.URL)
	}
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// waitShown waits for an element with a box on the page. (chromedp's
// WaitVisible can stall in a tab whose scripts are off.)
func (tb *tab) waitShown(sel string) {
	tb.t.Helper()
	tb.eventually(stepTimeout, sel+" should be on the page", func() (bool, string) {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`(e => !!e && e.getBoundingClientRect().height > 0)(document.querySelector(%q))`, sel)))
		if err != nil {
			return false, err.Error()
		}
		return ok, "none"
	})
}

// show sizes the viewport and sets the colour scheme the page is asked for.
func (tb *tab) show(v variant) {
	tb.t.Helper()
	scheme := "light"
	if v.dark {
		scheme = "dark"
	}
	tb.do(
		chromedp.EmulateViewport(v.width, v.height),
		// The pointer rests off the content, so no button is measured in its
		// hover colours.
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: 0, Y: 0})
			return err
		}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				// Reduced motion: Pico then drops its colour transitions, which
				// axe would otherwise catch half-way.
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}, {Name: "prefers-reduced-motion", Value: "reduce"}},
			})
			return err
		}),
		// Two frames: the new layout and styles are applied before measuring.
		chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise),
	)
}

func (tb *tab) screenshot(path string) {
	tb.t.Helper()
	png := run(tb, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// focusUnseen presses Tab n times from the top of the page and lists the
// elements that took the focus without showing it (no outline, no ring).
func (tb *tab) focusUnseen(n int) []string {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0)`))
	var bare []string
	for range n {
		tb.do(chromedp.KeyEvent(kb.Tab))
		if el := run(tb, chromedp.Evaluate[string](focusScript)); el != "" {
			bare = append(bare, el)
		}
	}
	return bare
}

// focusScript names the focused element when nothing shows that it has the
// focus; "" when it shows (or nothing has it).
const focusScript = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0;
  // A ring is a box shadow with some colour and a spread of a pixel or more.
  const ring = Array.from(cs.boxShadow.matchAll(/rgba?\(\d+, \d+, \d+(?:, ([\d.]+))?\) [-\d.]+px [-\d.]+px [\d.]+px ([\d.]+)px/g))
    .some(m => (m[1] === undefined ? 1 : parseFloat(m[1])) >= 0.3 && parseFloat(m[2]) >= 1);
  return outline || ring ? "" : el.tagName.toLowerCase() + " " + (el.textContent || el.name || "").trim().slice(0, 30);
})()`

// layoutFacts is what layoutScript measures.
type layoutFacts struct {
	ScrollWidth, InnerWidth int
	Widest                  []string
	NavRows                 int
	NavRight                int
	Wrapped                 []string
	Small                   []string
}

// layoutScript measures the page: its width against the window's, the
// elements reaching furthest right, how many rows the navigation takes and how
// far right it reaches, which one-line texts (navigation, the room's "here
// now", the account's browser dates) wrapped, which issue keys broke though
// they fit their line, and which buttons are smaller than a 44 px tap target.
const layoutScript = `(() => {
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"; };
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.dataset.testid ? "[" + el.dataset.testid + "]" : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  // The lines an element's text takes: the boxes of its text, a line
  // starting below the one before (a table cell's height says nothing).
  const lines = el => {
    const boxes = [];
    const range = document.createRange();
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!n.textContent.trim()) continue;
      range.selectNodeContents(n);
      boxes.push(...Array.from(range.getClientRects()).filter(r => r.width > 1 && r.height > 1));
    }
    let count = 0, bottom = -Infinity;
    for (const r of boxes.sort((a, b) => a.top - b.top)) {
      if (r.top >= bottom - 2) { count++; bottom = r.bottom; } else { bottom = Math.max(bottom, r.bottom); }
    }
    return count;
  };
  const all = Array.from(document.body.querySelectorAll("*")).filter(visible);
  const widest = all.map(el => [el, el.getBoundingClientRect().right]).filter(([, r]) => r > innerWidth + 0.5)
    .sort((a, b) => b[1] - a[1]).slice(0, 4).map(([el, r]) => name(el) + " to " + Math.round(r));
  const navRight = Math.max(0, ...Array.from(document.querySelectorAll("body > header nav, body > header nav *")).filter(visible).map(el => Math.ceil(el.getBoundingClientRect().right)));
  // Items of one row overlap vertically, whatever their heights (the logo is
  // taller than a link's text); a row starts below the one before it.
  let navRows = 0, rowBottom = -Infinity;
  for (const r of Array.from(document.querySelectorAll("body > header nav li"), li => li.getBoundingClientRect()).sort((a, b) => a.top - b.top)) {
    if (r.top >= rowBottom - 1) { navRows++; rowBottom = r.bottom; } else { rowBottom = Math.max(rowBottom, r.bottom); }
  }
  // A key may break only when it is longer than its whole line (a key of 32
  // characters in a heading on a phone), never where it would fit ("SHOP-" /
  // "12" at the end of a line).
  const canvas = document.createElement("canvas").getContext("2d");
  const fitsItsLine = el => {
    let box = el.parentElement;
    while (box && ["inline", "contents"].includes(getComputedStyle(box).display)) box = box.parentElement;
    const bs = getComputedStyle(box);
    canvas.font = getComputedStyle(el).font;
    return canvas.measureText(el.textContent.trim()).width <= box.clientWidth - parseFloat(bs.paddingLeft) - parseFloat(bs.paddingRight);
  };
  const oneLine = "body > header nav a, [data-testid=voters] th, .present, [data-testid=browser] td:first-child";
  const wrapped = Array.from(document.querySelectorAll(oneLine + ", .key, [data-testid=issue-link], [data-testid=issue-key]"))
    .filter(visible).filter(el => lines(el) > 1 && (el.matches(oneLine) || fitsItsLine(el))).map(el => el.textContent.trim());
  const small = Array.from(document.querySelectorAll("button, [role=button], input[type=submit], input[type=checkbox], body > header nav a, summary"))
    .filter(visible).filter(el => { const r = el.getBoundingClientRect(); const box = el.type === "checkbox" ? el.closest("label") || el : el; const b = box.getBoundingClientRect(); return Math.max(r.height, b.height) < 44; })
    .map(el => name(el) + " " + Math.round(el.getBoundingClientRect().height) + " px");
  return {ScrollWidth: document.documentElement.scrollWidth, InnerWidth: innerWidth, Widest: widest, NavRows: navRows, NavRight: navRight, Wrapped: wrapped, Small: small};
})()`

func (tb *tab) layout() layoutFacts {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[layoutFacts](layoutScript))
}

// axeViolation is one serious or critical finding, with the elements it is on.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// axeScript runs every axe rule on the document and keeps what is serious or
// critical. The source goes in through the DevTools protocol: the page's CSP
// allows no inline script, and the app does not serve axe.
const axeScript = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Nodes: v.nodes.slice(0, 6).map(n => n.target.join(" ") + ": " + n.failureSummary.replace(/\s+/g, " "))})))`

func (tb *tab) axe(src string) []axeViolation {
	tb.t.Helper()
	if !run(tb, chromedp.Evaluate[bool](`typeof window.axe === "object"`)) {
		tb.do(chromedp.Evaluate[chromedp.Void](src))
	}
	raw := run(tb, chromedp.Evaluate[[]byte](axeScript, chromedp.EvalAwaitPromise))
	var out []axeViolation
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.t.Fatalf("%s: axe result: %v", tb.label, err)
	}
	return out
}
