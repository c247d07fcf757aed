package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Issue "The estimation room".

// rowOf is the selector of an element inside an issue's row on the group page.
func rowOf(key, id string) string {
	return fmt.Sprintf(`[data-testid="issue-row"][data-key=%q] %s`, key, testID(id))
}

// pressedCards are the test ids of the cards marked as the viewer's own.
func (tb *tab) pressedCards() []string {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#estimate-panel [aria-pressed="true"]'), b => b.dataset.testid)`))
}

// waitPressed waits until exactly the card id is marked as the viewer's own.
func (tb *tab) waitPressed(id string, within time.Duration) {
	tb.t.Helper()
	tb.eventually(within, id+" should be the only card pressed", func() (bool, string) {
		got := tb.pressedCards()
		return slices.Equal(got, []string{id}), fmt.Sprintf("%q", got)
	})
}

// press sends keys to the page, as typed with nothing focused in particular.
func (tb *tab) press(keys string) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(keys))
}

// waitStreams waits until the server has answered n requests to path (event
// streams are logged once they are set up).
func (e *env) waitStreams(tb *tab, path string, n int) {
	tb.t.Helper()
	tb.eventually(stepTimeout, fmt.Sprintf("%d streams of %s should be open", n, path), func() (bool, string) {
		got := 0
		for _, r := range e.requestsTo("GET", path) {
			if r.Status == 200 {
				got++
			}
		}
		return got >= n, fmt.Sprint(got)
	})
}

// movesWithin waits until every tab shows path, and checks that each was
// taken there within the spec's bound from since: the new page's navigation
// started (performance.timeOrigin) at most liveWithin after since. Loading the
// page after that is the browser's part, and tabs are polled one by one, so
// neither counts.
func movesWithin(t *testing.T, since time.Time, path string, tabs ...*tab) {
	t.Helper()
	var slowest time.Duration
	for _, tb := range tabs {
		tb.waitPath(path)
		origin := run(tb, chromedp.Evaluate[float64](`performance.timeOrigin`))
		took := time.UnixMicro(int64(origin * 1000)).Sub(since)
		if took > liveWithin {
			t.Errorf("%s was taken to %s %v after the start, want within %v", tb.label, path, took, liveWithin)
		}
		slowest = max(slowest, took)
	}
	t.Logf("%d rooms were taken to %s within %v", len(tabs), path, slowest.Round(time.Millisecond))
}

// screenshots saves the page at 1280 and 390 px wide, light and dark, as PNG
// files under $ESTIMATOR_SCREENSHOTS, when it is set: for people to look at.
func (tb *tab) screenshots(name string) {
	tb.t.Helper()
	dir := os.Getenv("ESTIMATOR_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	media := func(scheme string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		})
	}
	for _, width := range []int64{1280, 390} {
		for _, scheme := range []string{"light", "dark"} {
			tb.do(chromedp.EmulateViewport(width, 900), media(scheme))
			time.Sleep(150 * time.Millisecond) // let the layout settle after the resize
			png := run(tb, chromedp.FullScreenshot(100))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d-%s.png", name, width, scheme)), png, 0o644); err != nil {
				tb.t.Fatal(err)
			}
		}
	}
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}))
}

// Acceptance: three people estimate in one room while a fourth watches; they
// vote with clicks and with keys; a reveal, a new round beside the first one's
// result, a 2 s timer that reveals by itself, and the owner taking every room
// to the next issue.
func TestRoom(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	const group = "Room Team"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	first := owner.addIssue("ROOM-1", "The first story")
	second := owner.addIssue("ROOM-2", "The second story")
	link := owner.inviteLink()

	max := e.person("Max")
	max.join(link, "Max", group)
	mia := e.person("Mia")
	mia.join(link, "Mia", group)
	sam := e.person("Sam (spectator)")
	sam.join(link, "Sam", group)
	sam.click(testID("seat-spectator"))
	sam.waitText(testID("notice"), "spectator", stepTimeout)

	// Everyone waits on the group page; the owner starts the first issue there.
	for _, tb := range []*tab{max, mia, sam} {
		tb.waitText(testID("no-current-issue"), "No issue is being estimated yet", stepTimeout)
	}
	e.waitStreams(owner, groupPath+"/events", 4)
	owner.screenshots("group")
	owner.click(rowOf("ROOM-1", "start-issue"))
	started := time.Now()
	owner.waitPath(first)
	movesWithin(t, started, first, max, mia, sam)

	// Every room is live once the owner sees all four here now.
	owner.eventually(stepTimeout, "all four should show as here now", func() (bool, string) {
		n := len(owner.texts(testID("voter-present") + " .present"))
		return n == 4, fmt.Sprint(n, " here")
	})
	owner.waitText(testID("voted-count"), "0 of 3 voted", stepTimeout)
	if got := sam.text(testID("spectating")); !strings.Contains(got, "spectator") {
		t.Errorf("the spectator's panel says %q", got)
	}
	if len(sam.texts(testID("cards"))) > 0 {
		t.Error("the spectator is offered cards")
	}
	owner.screenshots("room-open")

	// Max clicks a card: it is marked in place, the page stays.
	max.mark()
	max.click(testID("card-8"))
	max.waitPressed("card-8", stepTimeout)
	if !max.stillMarked() {
		t.Error("voting reloaded Max's room; htmx should swap the cards in place")
	}
	voted := time.Now()
	for _, tb := range []*tab{owner, mia, sam} {
		tb.waitText(testID("voted-count"), "1 of 3 voted", liveWithin-time.Since(voted))
	}

	// Mia uses keys: 3 is the third card (3), then 5 is the fifth (8).
	mia.press("3")
	mia.waitPressed("card-3", stepTimeout)
	mia.press("5")
	mia.waitPressed("card-8", stepTimeout)

	// The owner tabs through every card, then picks the fourth (5) by key.
	owner.do(chromedp.Focus(chromedp.CSS(testID("card-1"))))
	var order []string
	for range 12 {
		order = append(order, run(owner, chromedp.Evaluate[string](`document.activeElement.dataset.testid || document.activeElement.tagName`)))
		owner.press("\t")
	}
	want := []string{"card-1", "card-2", "card-3", "card-5", "card-8", "card-13", "card-21", "card-34", "card-55", "card-89", "card-100", "card-unsure"}
	if !slices.Equal(order, want) {
		t.Errorf("Tab goes through %q, want every card %q", order, want)
	}
	owner.press("4")
	owner.waitPressed("card-5", stepTimeout)
	owner.waitText(testID("voted-count"), "3 of 3 voted", stepTimeout)
	sam.waitText(testID("voted-count"), "3 of 3 voted", stepTimeout)
	owner.screenshots("room-voted")

	// Everyone voted: the reveal asks nothing, and every room shows the result.
	ownerLoads := owner.countLoads()
	owner.click(testID("reveal"))
	revealed := time.Now()
	for _, tb := range []*tab{owner, max, mia, sam} {
		tb.waitText(testID("result-votes"), "3", liveWithin-time.Since(revealed)+time.Second)
	}
	// The owner's cards closed with the reveal's answer, in the same swap as
	// the result: not fetched after it (the room would move under the pointer
	// on its way to Accept). The others' pages fetch theirs.
	owner.waitVisible(testID("estimates-closed"))
	max.waitVisible(testID("estimates-closed"))
	ownerLoads.mu.Lock()
	if n := ownerLoads.cardFetches; n != 0 {
		t.Errorf("the owner's page fetched its cards %d times after its own reveal", n)
	}
	ownerLoads.mu.Unlock()
	if d := owner.dialogsSeen(); len(d) != 0 {
		t.Errorf("everyone voted, yet the reveal asked: %q", d)
	}
	for id, want := range map[string]string{"result-average": "7.0", "result-median": "8", "result-card": "8"} {
		if got := max.text(testID(id)); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	// The chart has every card of the deck, zero counts included, and ? and coffee.
	if n := len(mia.texts(testID("bar"))); n != 13 {
		t.Errorf("the chart has %d bars, want 13", n)
	}
	if got := owner.value("#final"); got != "8" {
		t.Errorf("the final estimate is prefilled with %q, want 8 (chosen by more than half)", got)
	}
	max.waitVisible(testID("estimates-closed"))
	owner.screenshots("room-revealed")

	// A new round: round 1's result stays beside the open round 2, and the cards
	// of every room are fresh.
	owner.click(testID("revote"))
	for _, tb := range []*tab{owner, max, mia, sam} {
		tb.waitText(testID("round"), "Round 2", liveWithin+time.Second)
		tb.waitText(testID("round-title"), "Round 1", stepTimeout)
	}
	for _, tb := range []*tab{max, mia} {
		tb.waitVisible(testID("card-13"))
		if got := tb.pressedCards(); len(got) != 0 {
			t.Errorf("%s: cards of round 2 start pressed: %q", tb.label, got)
		}
	}
	owner.screenshots("room-round2")

	// A 2 s timer reveals by itself, with nobody clicking.
	max.click(testID("card-13"))
	max.waitPressed("card-13", stepTimeout)
	mia.press("6")
	mia.waitPressed("card-13", stepTimeout)
	owner.waitText(testID("voted-count"), "2 of 3 voted", stepTimeout)
	owner.typeInto("#timer-seconds", "2")
	owner.click(testID("timer-start"))
	timerStarted := time.Now()
	max.waitVisible(testID("countdown"))
	for _, tb := range []*tab{owner, max, mia, sam} {
		tb.waitText(testID("result-votes"), "2", 2*time.Second+liveWithin-time.Since(timerStarted))
	}
	took := time.Since(timerStarted)
	if took < 1500*time.Millisecond {
		t.Errorf("the round was revealed %v after a 2 s timer started", took)
	}
	t.Logf("the 2 s timer revealed every room %v after it started", took.Round(time.Millisecond))
	if got := sam.text(testID("round-title")); got != "Round 1" {
		t.Errorf("earlier rounds show %q", got)
	}

	// The owner starts the next issue: every room goes there by itself, in
	// place.
	e.waitStreams(owner, first+"/events", 4)
	for _, tb := range []*tab{max, mia, sam} {
		tb.mark()
		tb.watchMoves()
	}
	owner.click(testID("start-next"))
	started = time.Now()
	owner.waitPath(second)
	movedInPlace(t, started, second, max, mia, sam)
	max.waitText(testID("issue-key"), "ROOM-2", stepTimeout)
	max.waitVisible(testID("card-1"))

	for _, tb := range []*tab{owner, max, mia, sam} {
		tb.noConsoleErrors()
	}
}

// createGroupPlain creates a group from "/" with a plain form (no JavaScript)
// and returns its page's path.
func (tb *tab) createGroupPlain(name string) string {
	tb.t.Helper()
	tb.open("/")
	tb.typeInto("#group-name", name)
	tb.click(createSubmit)
	return tb.waitPath("/groups/*").Path
}

// addIssuePlain adds an issue on the group page with a plain form.
func (tb *tab) addIssuePlain(key string) string {
	tb.t.Helper()
	// With issues listed, the form is folded away; a person unfolds it. The
	// page may still be loading after the last plain POST's redirect.
	tb.do(chromedp.WaitReady(chromedp.CSS("#add-issue")))
	if run(tb, chromedp.Evaluate[bool](`!document.querySelector("#add-issue").closest("details").open`)) {
		tb.click("#add-issue-summary")
	}
	tb.typeInto("#issue-key", key)
	tb.click(addIssueSubmit)
	sel := rowOf(key, "issue-link")
	tb.waitVisible(sel)
	return run(tb, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).pathname`, sel)))
}

// Acceptance: the room without JavaScript, as far as it goes: plain forms vote
// and land back in the room, the timer reveals on the server, and links (not
// live moves) say where the group is.
func TestRoomWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner, no JavaScript)")
	owner.javaScriptOff()
	owner.signIn("Olga")
	const group = "Plain Room"
	groupPath := owner.createGroupPlain(group)
	first := owner.addIssuePlain("PLAIN-1")
	second := owner.addIssuePlain("PLAIN-2")
	link := owner.inviteLink()

	nia := e.person("Nia (no JavaScript)")
	nia.javaScriptOff()
	nia.join(link, "Nia", group)
	ola := e.person("Ola (spectator, no JavaScript)")
	ola.javaScriptOff()
	ola.join(link, "Ola", group)
	ola.click(testID("seat-spectator"))
	ola.waitText(testID("notice"), "spectator", stepTimeout)
	// A round needs 2 numbers beside the owner's coffee.
	pia := e.person("Pia (no JavaScript)")
	pia.javaScriptOff()
	pia.join(link, "Pia", group)

	owner.open(groupPath)
	owner.click(rowOf("PLAIN-1", "start-issue"))
	owner.waitPath(first)
	// Nothing moves by itself without JavaScript: the group page says where the
	// group is, and the link leads there.
	nia.open(groupPath)
	nia.waitText(testID("current-issue"), "PLAIN-1", stepTimeout)
	nia.click(testID("go-to-room"))
	nia.waitPath(first)
	ola.open(groupPath + "/room")
	ola.waitPath(first)
	if got := ola.text(testID("spectating")); !strings.Contains(got, "spectator") {
		t.Errorf("the spectator's panel says %q", got)
	}

	// A card is a plain form: the vote lands back in the room, marked.
	nia.click(testID("card-8"))
	nia.waitPath(first)
	nia.waitText(testID("notice"), "saved", stepTimeout)
	if got := nia.pressedCards(); !slices.Equal(got, []string{"card-8"}) {
		t.Errorf("after the plain vote, pressed cards %q", got)
	}
	pia.open(first)
	pia.click(testID("card-3"))
	pia.waitPath(first)
	owner.click(testID("card-coffee"))
	owner.waitText(testID("voted-count"), "3 of 3 voted", stepTimeout)

	// The timer: the page shows it; the server reveals when it ends.
	owner.typeInto("#timer-seconds", "2")
	owner.click(testID("timer-start"))
	owner.waitText(testID("countdown"), "0:0", stepTimeout)
	owner.eventually(2*time.Second+5*time.Second, "the server should reveal when the timer ends", func() (bool, string) {
		owner.do(chromedp.Reload())
		got, _ := owner.textOf(testID("state"))
		return got == "revealed", fmt.Sprintf("%q", got)
	})
	if got := owner.text(testID("result-specials")); got != "0 · 1" {
		t.Errorf("? and coffee counts %q, want 0 · 1", got)
	}

	// A new round without a confirm dialog; round 1 stays beside round 2.
	owner.click(testID("revote"))
	owner.waitText(testID("round"), "Round 2", stepTimeout)
	owner.waitText(testID("round-title"), "Round 1", stepTimeout)

	// The next issue: rooms without JavaScript stay; reloaded, they say where
	// the group is now.
	owner.click(testID("start-next"))
	owner.waitPath(second)
	nia.do(chromedp.Reload())
	nia.waitText(testID("current-issue"), "PLAIN-2", stepTimeout)
	nia.click(testID("current-issue-link"))
	nia.waitPath(second)

	for _, r := range e.requests() {
		if r.HTMX {
			t.Errorf("with JavaScript off, a request came from htmx: %+v", r)
		}
	}
}
