package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"estimator/store"
)

// Issue "The estimation room" (and item 5 of the anonymity issue).

// TestRevealNeedsAtLeastTwoVotes: with one vote, the result would be that
// person's value next to "voted": the owner is told why (409), and the round
// stays open with the vote in it.
func TestRevealNeedsAtLeastTwoVotes(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Pair", "Olga", "Mia", "Noa")
	iid := tm.owner.addIssue(tm.gid, "PAIR-1", "")
	p := fmt.Sprintf("/issues/%d", iid)
	tm.members[0].estimate(iid, "34").wantStatus(http.StatusSeeOther)
	for _, c := range []*client{tm.owner.plain(), tm.owner.htmxFrom(p)} {
		for _, form := range []url.Values{nil, {"confirmed": {"1"}}} {
			r := c.post(p+"/reveal", form)
			if r.status != http.StatusConflict || !strings.Contains(r.body, "at least 2 votes") || strings.Contains(r.body, "34") {
				t.Errorf("reveal with one vote (htmx %v, form %v): status %d, body %q", c.htmx, form, r.status, truncate(r.body, 300))
			}
		}
	}
	page := tm.owner.get(p).wantStatus(http.StatusOK)
	if page.text("state") != "open" || page.has("result") {
		t.Fatalf("after a refused reveal the room shows %q, result %v", page.text("state"), page.has("result"))
	}
	if v, _ := ta.st.OwnEstimate(tctx, iid, ta.user("Mia").ID); v.Value != 34 {
		t.Fatalf("the vote was lost: %+v", v)
	}
	if n := ta.countRows("issue_rounds", "issue_id = ?", iid); n != 0 {
		t.Fatalf("%d rounds stored", n)
	}
	tm.members[1].estimate(iid, "5").wantStatus(http.StatusSeeOther)
	tm.owner.post(p+"/reveal", url.Values{"confirmed": {"1"}}).wantRedirect(p)
	if is, _, _, _ := ta.st.IssueFor(tctx, iid, 0); is.State != store.StateRevealed || is.Result.Votes != 2 {
		t.Fatalf("reveal with two votes: %+v", is)
	}
}
