package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// slowNetwork makes every request of the tab wait ms before its answer
// arrives, as on a slow mobile network.
func (tb *tab) slowNetwork(ms float64) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		// Spelled out rather than network.EmulateNetworkConditionsByRuleParams:
		// Chromium up to at least 148 wants offline beside the rules, where
		// the protocol's newer form (the Go type's) has it in each rule.
		var res network.EmulateNetworkConditionsByRuleResult
		return t.Call(ctx, network.CommandEmulateNetworkConditionsByRule, map[string]any{
			"offline": false,
			"matchedNetworkConditions": []map[string]any{{
				"urlPattern": "", "latency": ms, "downloadThroughput": -1, "uploadThroughput": -1,
			}},
		}, &res)
	}))
}

// clickTwice clicks the element sel twice, gap apart: a double click (the
// second press counts 2) when gap is 0.
func (tb *tab) clickTwice(sel string, gap time.Duration) {
	tb.t.Helper()
	tb.waitVisible(sel)
	xy := run(tb, chromedp.Evaluate[[]float64](fmt.Sprintf(
		`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, sel)))
	second := chromedp.ClickCount(2)
	if gap > 0 {
		second = chromedp.ClickCount(1)
	}
	tb.do(chromedp.MouseClickXY(xy[0], xy[1]))
	if gap > 0 {
		time.Sleep(gap)
	}
	tb.do(chromedp.MouseClickXY(xy[0], xy[1], second))
}

// Issue "Every page as a demanding user sees it", 4: a double click on
// "Create group" made two "Team Phoenix" groups, also with the clicks 120 ms
// apart through a slow network. Now the button is disabled while the request
// is in flight, and the form's once makes a second request (a plain form has
// no htmx to stop it) land on the first's group.
func TestDoubleClickOnCreateGroupMakesOneGroup(t *testing.T) {
	e := newEnv(t)
	const name = "Team Phoenix"
	for i, tc := range []struct {
		what  string
		gap   time.Duration
		noJS  bool
		delay float64
	}{
		{"double click, slow network", 0, false, 800},
		{"two clicks 120 ms apart, slow network", 120 * time.Millisecond, false, 800},
		{"double click, JavaScript off", 0, true, 300},
	} {
		t.Run(tc.what, func(t *testing.T) {
			nick := fmt.Sprintf("Phoenix Owner-Long_Name.%d", i)
			ann := e.person(nick)
			if tc.noJS {
				ann.javaScriptOff()
			}
			ann.signIn(nick)
			ann.open("/")
			ann.typeInto("#group-name", name)
			before := len(e.requestsTo("POST", "/creategroup"))
			ann.slowNetwork(tc.delay)
			ann.clickTwice(createSubmit, tc.gap)
			if !tc.noJS {
				// The answer is still on its way: the button is disabled.
				if !run(ann, chromedp.Evaluate[bool](`document.querySelector('#create-group button[type="submit"]').disabled`)) {
					t.Error("the Create group button is not disabled while its request is in flight")
				}
				ann.groupLink(name)
				// The fresh form's button works again.
				if run(ann, chromedp.Evaluate[bool](`document.querySelector('#create-group button[type="submit"]').disabled`)) {
					t.Error("the Create group button stays disabled after the answer")
				}
			} else {
				ann.waitPath("/groups/*")
				ann.waitText(testID("group-name"), name, stepTimeout)
				ann.open("/")
			}
			if got := ann.texts(testID("group-link")); !slices.Equal(got, []string{name}) {
				t.Errorf("My Groups lists %q after the double click, want one %q", got, name)
			}
			posts := e.requestsTo("POST", "/creategroup")[before:]
			t.Logf("%s: %d POST /creategroup reached the server: %+v", tc.what, len(posts), posts)
			if !tc.noJS && len(posts) != 1 {
				t.Errorf("%d requests sent by a double click with htmx, want 1 (the button is disabled)", len(posts))
			}
			ann.noConsoleErrors()
		})
	}
}
