package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// Acceptance (issue 25, the quick vote): on a phone, from signing in to a room
// others can join in one click: "Quick vote" on My Groups lands in the room
// of Q-1 with the invite link in view and its copy button; a teammate opens
// the link and joins; the owner makes them a facilitator, and their room
// shows the facilitator's controls at once.
func TestQuickVoteFromMyGroupsOnAPhone(t *testing.T) {
	e := newEnv(t)
	const nick = "Owner-of-the-backlog-32-chars-ab"
	owner := e.person("Owner")
	owner.do(chromedp.EmulateViewport(390, 844))
	owner.signIn(nick)
	owner.open("/")
	owner.waitVisible(testID("quick-room"))
	owner.screenshots("my-groups-quick")
	owner.do(chromedp.EmulateViewport(390, 844))
	owner.click(testID("quick-room"))
	room := owner.waitPath("/issues/*").Path
	owner.waitText(testID("issue-key"), "Q-1", stepTimeout)
	owner.waitText(testID("group-crumb"), nick+"’s room", stepTimeout)
	owner.waitVisible(testID("invite-link"))
	owner.waitVisible(testID("copy-invite"))
	link := owner.inviteLink()
	fits := run(owner, chromedp.Evaluate[bool](`(() => {
		const b = document.querySelector('[data-testid="copy-invite"]').getBoundingClientRect();
		return document.documentElement.scrollWidth <= innerWidth && b.right <= innerWidth && b.bottom <= innerHeight;
	})()`))
	if !fits {
		t.Error("at 390 px the copy button is off the screen, or the page scrolls sideways")
	}
	owner.click(testID("copy-invite"))
	owner.waitText(testID("copy-invite"), "Copied", stepTimeout)
	owner.screenshots("quick-room")

	mate := e.person("Teammate")
	mate.join(link, "Teammate", nick+"’s room")
	mate.open(room)
	mate.waitText(testID("issue-key"), "Q-1", stepTimeout)
	if _, ok := mate.textOf(testID("owner-controls")); ok {
		t.Fatal("a member's room shows the facilitator's controls")
	}
	if _, ok := mate.textOf(testID("room-invite")); ok {
		t.Fatal("a member's room shows the owner's controls or the invite link")
	}

	owner.click(testID("group-crumb"))
	owner.waitPath("/groups/*")
	owner.click(testID("facilitator-on"))
	owner.waitText(testID("notice"), "runs the meeting with you", stepTimeout)
	owner.screenshots("group-facilitator")
	mate.waitVisible(testID("owner-controls"))
	mate.waitVisible(testID("quick-vote"))
	mate.screenshots("room-facilitator")
	mate.click(testID("quick-vote"))
	mate.waitText(testID("issue-key"), "Q-2", stepTimeout)
	owner.noConsoleErrors()
	mate.noConsoleErrors()
}
