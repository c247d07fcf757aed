package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue "The meeting", item 7: the room is a table with a seat for each
// person. On a phone (360 and 390 px) neither the cards nor the room scroll
// sideways, with four people of 32-character nicknames, the longest key in
// the backlog, and a T-shirt deck; before and after the reveal.
func TestTheRoomFitsAPhoneWithoutScrollingSideways(t *testing.T) {
	e := newEnv(t)
	owner := e.person("Olga (owner)")
	owner.signIn(ownerNick)
	group := owner.createGroup("Checkout team")
	owner.open(group)
	owner.click(`[data-testid="settings"] > summary`)
	owner.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#settings-deck").value = "tshirt"`))
	owner.click(testID("settings-save"))
	owner.waitText(testID("notice"), "saved", stepTimeout)
	room := owner.addIssue("SHOP-12", "Pay by invoice: the order page offers invoice payment to known business customers, with a limit set by finance.")
	done := owner.addIssue("SHOP-11", "Show delivery dates")
	owner.addIssue(longKey, longLinks)
	owner.addIssue("SHOP-14", "Gift wrapping")
	link := owner.inviteLink()
	max := e.person("Max (member)")
	max.join(link, memberNick, "Checkout team")
	mia := e.person("Mia (member)")
	mia.join(link, miaNick, "Checkout team")
	zed := e.person("Zed (member)")
	zed.join(link, freshNick, "Checkout team")

	// SHOP-11 is estimated: the backlog shows its size.
	for _, who := range []*tab{max, mia} {
		who.open(done)
		who.click(testID("card-3"))
		who.waitVisible(testID("own-value"))
	}
	owner.open(done)
	owner.click(testID("reveal"))
	owner.waitText(testID("state"), "revealed", stepTimeout)
	owner.click(testID("accept"))
	owner.waitVisible(testID("final"))

	// SHOP-12 is the one the group is on: two of four have voted.
	owner.open(room)
	owner.click(testID("start"))
	owner.waitVisible(testID("backlog-current"))
	for _, who := range []*tab{max, mia} {
		who.open(room)
		who.click(testID("card-5"))
		who.waitVisible(testID("own-value"))
	}
	zed.open(room)
	owner.open(room)
	owner.waitText(testID("voted-count"), "2 of 4 voted", stepTimeout)
	owner.screenshots("table-open-owner")
	zed.screenshots("table-open-member")

	check := func(state string, tabs ...*tab) {
		for _, tb := range tabs {
			for _, width := range []int64{360, 390} {
				tb.show(variant{name: fmt.Sprint(width), width: width, height: 800})
				for _, sel := range []string{"html", testID("cards"), testID("voters"), testID("backlog"), testID("owner-controls")} {
					facts := run(tb, chromedp.Evaluate[[]int](fmt.Sprintf(`(e => e ? [e.scrollWidth, e.clientWidth] : [])(document.querySelector(%q))`, sel)))
					if len(facts) == 0 {
						continue // not on this person's page (the cards after the reveal, the bar for a member)
					}
					if facts[0] > facts[1] {
						t.Errorf("%s, %s at %d px: %s is %d px wide in %d px: it scrolls sideways", state, tb.label, width, sel, facts[0], facts[1])
					}
				}
			}
		}
	}
	check("open round", owner, zed)

	// The backlog: beside the table on a laptop, folded under the cards on a
	// phone; opened there, it stays open when the room updates live.
	listShown := func(tb *tab) bool {
		return run(tb, chromedp.Evaluate[bool](`(e => !!e && e.getBoundingClientRect().height > 0 && e.checkVisibility())(document.querySelector(".backlog-list"))`))
	}
	zed.show(variant{name: "1280", width: 1280, height: 800})
	if !listShown(zed) {
		t.Error("on a laptop the backlog is folded away")
	}
	zed.show(variant{name: "390", width: 390, height: 844})
	if listShown(zed) {
		t.Error("on a phone the backlog is not folded under the cards")
	}
	if run(zed, chromedp.Evaluate[bool](`(() => { const c = document.querySelector('[data-testid="cards"]').getBoundingClientRect(), b = document.querySelector('[data-testid="backlog"]').getBoundingClientRect(); return b.top > c.bottom; })()`)) != true {
		t.Error("on a phone the backlog is not under the cards")
	}
	zed.click(`[data-testid="backlog"] > summary`)
	if !listShown(zed) {
		t.Fatal("the backlog does not open on a phone")
	}
	zed.click(testID("card-3"))
	zed.waitText(testID("voted-count"), "3 of 4 voted", stepTimeout)
	if !listShown(zed) {
		t.Error("a live update folded the backlog the person had opened")
	}
	owner.click(testID("reveal"))
	owner.waitText(testID("state"), "revealed", stepTimeout)
	zed.waitText(testID("state"), "revealed", stepTimeout)
	// The backlog's own update (the issue is revealed there too) keeps the
	// fold as the person left it.
	zed.waitText(`.backlog-item.is-current [data-testid="backlog-state"]`, "revealed", stepTimeout)
	if !listShown(zed) {
		t.Error("the backlog's update folded the backlog the person had opened")
	}
	owner.screenshots("table-revealed-owner")
	zed.screenshots("table-revealed-member")
	check("after the reveal", owner, zed)
}
