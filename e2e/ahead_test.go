package e2e

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"estimator/store"
)

// movedClock is the wall clock moved on by the test: a deadline hours away
// passes without the test sleeping.
type movedClock struct{ ahead atomic.Int64 }

func (c *movedClock) Now() time.Time          { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *movedClock) Advance(d time.Duration) { c.ahead.Add(int64(d)) }

// Acceptance (issue 28): three people vote ahead on three issues from their
// phones (390 px), with notes, through the walk My Groups leads them to; the
// deadline passes (the server's clock moved on, nobody connected but the
// facilitator's group page, which is told what is ready); the facilitator
// accepts the consensus results in one click, and the room opens on the
// first one that needs discussion, with its notes, beside their cards and
// without names.
func TestAheadFromPhonesThenConsensusInOneClick(t *testing.T) {
	clk := &movedClock{}
	e := newEnvStore(t, testTimeout, "", store.Options{Now: clk.Now})
	owner := e.person("Facilitator")
	owner.signIn("Facilitator-of-the-planning-day1")
	group := owner.createGroup("Checkout squad, planning ahead")
	owner.open(group)
	var issues []string
	for _, k := range []string{"SHOP-101", "SHOP-102", "SHOP-103"} {
		issues = append(issues, owner.addIssue(k, "Checkout: "+k+" https://tracker.example.com/browse/"+k))
	}
	link := owner.inviteLink()
	owner.click(testID("ahead-summary"))
	owner.typeInto("#ahead-hours", "2")
	owner.click(testID("ahead-open-submit"))
	owner.waitText(testID("ahead-open"), "3 issues take votes ahead", stepTimeout)
	owner.do(chromedp.EmulateViewport(1280, 900))

	nicks := []string{"Ana-Maria-from-the-backend-team1", "Bertrand-of-the-mobile-squad-xyz", "Chiara.di.Lorenzo_frontend-0042a"}
	votes := [][]int{{5, 5, 5}, {3, 8, 13}, {2, 2, 2}}
	notes := [][]string{{"Same as SHOP-12", "", ""}, {"Only the API", "The payment provider has no sandbox", "Legacy importer, no tests"}, {"", "", ""}}
	for p, nick := range nicks {
		phone := e.person(fmt.Sprintf("Phone %d", p+1))
		phone.do(chromedp.EmulateViewport(390, 844))
		phone.join(link, nick, "Checkout squad, planning ahead")
		phone.open("/")
		phone.waitText(testID("ahead-vote-now"), "3 issues wait", stepTimeout)
		if p == 0 {
			phone.screenshots("ahead-my-groups")
		}
		phone.click(testID("ahead-vote-now"))
		phone.waitPath(group + "/ahead")
		for i := range issues {
			phone.waitText(testID("ahead-key"), fmt.Sprintf("SHOP-10%d", i+1), stepTimeout)
			phone.waitText(testID("ahead-progress"), fmt.Sprintf("1 of %d", 3-i), stepTimeout)
			if notes[i][p] != "" {
				phone.typeInto("#ahead-note", notes[i][p])
			}
			if p == 0 && i == 1 {
				phone.screenshots("ahead-walk")
				fits := run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= innerWidth`))
				if !fits {
					t.Error("at 390 px the walk scrolls sideways")
				}
			}
			phone.click(testID(fmt.Sprintf("card-%d", votes[i][p])))
		}
		phone.waitVisible(testID("ahead-done"))
		if p == 0 {
			phone.screenshots("ahead-done")
		}
		phone.noConsoleErrors()
		phone.do(chromedp.Navigate("about:blank")) // nobody connected at the deadline
	}

	// The deadline passes; the facilitator's group page is told, live.
	clk.Advance(2*time.Hour + time.Second)
	owner.waitText(testID("ahead-ready"), "2 results with consensus, 1 to discuss", 10*time.Second)
	owner.screenshots("ahead-ready")
	owner.click(testID("accept-consensus"))
	owner.waitPath(issues[1])
	owner.waitText(testID("issue-key"), "SHOP-102", stepTimeout)
	got := owner.texts(testID("note"))
	if len(got) != 3 {
		t.Fatalf("the room shows notes %q, want the 3 of the round", got)
	}
	for _, want := range []string{"3 Only the API", "8 The payment provider has no sandbox", "13 Legacy importer, no tests"} {
		found := false
		for _, n := range got {
			found = found || n == want
		}
		if !found {
			t.Errorf("no note %q beside its card in %q", want, got)
		}
	}
	for _, n := range got {
		for _, nick := range nicks {
			if strings.Contains(n, nick) {
				t.Errorf("a note shows a name: %q", n)
			}
		}
	}
	owner.screenshots("ahead-discuss")
	owner.open(group)
	for i, want := range []string{"accepted", "revealed", "accepted"} {
		row := fmt.Sprintf(`[data-testid="issue-row"][data-key="SHOP-10%d"] [data-testid="issue-state"]`, i+1)
		if s := owner.text(row); s != want {
			t.Errorf("SHOP-10%d is %s, want %s", i+1, s, want)
		}
	}
	owner.noConsoleErrors()
}
