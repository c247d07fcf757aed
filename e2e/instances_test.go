package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"estimator/internal/testkit"
)

// pgDatabase is a schema of its own on ESTIMATOR_TEST_POSTGRES for a test's
// instances to share, dropped at the end; without the URL the test skips,
// except under CI.
func pgDatabase(t *testing.T) string {
	return testkit.Schema(t, "the browser test of two instances needs PostgreSQL")
}

// TestLiveUpdatesAcrossInstances is TestLiveUpdates with the owner's browser on
// one instance and the member's on another, both on one PostgreSQL database:
// the member's vote (on B) shows on the owner's page (from A) and the owner's
// reveal (on A) on the member's page (from B), in place, within the spec's
// bound.
func TestLiveUpdatesAcrossInstances(t *testing.T) {
	db := pgDatabase(t)
	a := newEnvOn(t, testTimeout, db)
	b := newEnvOn(t, testTimeout, db)
	owner := a.person("Olga (owner, browser on A)")
	owner.signIn("Olga")
	const group = "Two Instances"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	issuePath := owner.addIssue("SPLIT-1", "")
	link := strings.Replace(owner.inviteLink(), a.base, b.base, 1)

	member := b.person("Max (member, browser on B)")
	member.join(link, "Max", group)
	owner.open(issuePath)
	owner.mark()
	member.open(issuePath)
	member.mark()
	for _, tb := range []*tab{owner, member} {
		tb.eventually(stepTimeout, "both people should show as here now", func() (bool, string) {
			n := len(tb.texts(testID("voter-present") + " .present"))
			return n >= 1, fmt.Sprint(n, " here")
		})
		tb.waitText(testID("voted-count"), "0 of 2 voted", stepTimeout)
	}

	member.newTab("Max (estimate tab, on B)").vote(issuePath, 5)
	saved := time.Now()
	owner.waitText(testID("voted-count"), "1 of 2 voted", liveWithin)
	t.Logf("the vote on B showed on the owner's page from A %v after it was saved", time.Since(saved).Round(time.Millisecond))

	owner.newTab("Olga (estimate tab, on A)").vote(issuePath, 3)
	member.waitText(testID("voted-count"), "2 of 2 voted", liveWithin)

	owner.click(testID("reveal"))
	owner.waitVisible(testID("result"))
	revealed := time.Now()
	member.eventually(liveWithin, "the member's page on B should show the result", func() (bool, string) {
		got, ok := member.textOf(testID("result-average"))
		return ok && got == "4.0", fmt.Sprintf("%q", got)
	})
	t.Logf("the reveal on A showed on the member's page from B %v after the owner's", time.Since(revealed).Round(time.Millisecond))
	for _, tb := range []*tab{owner, member} {
		if !tb.stillMarked() {
			t.Errorf("%s: the page reloaded; it should update in place", tb.label)
		}
		tb.noConsoleErrors()
	}
}
