package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestVoteAnswersAsIssueAccessDid: the vote's own transaction checks who may
// vote (estimatePost is not behind issueAccess, so that a vote reads its issue
// once), and answers as issueAccess did:
// 404 to a stranger, for an issue that does not exist or a malformed id, with
// a valid form or not; 409 on a closed round, 403 to a spectator; nothing is
// stored for any of them.
func TestVoteAnswersAsIssueAccessDid(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Platform-Team", "Olga-Owner-With-A-Long-Name-0001", "Mia-Member", "Sam-Spectator")
	issue := tm.owner.addIssue(tm.gid, "PLAT-2048", "")
	stranger := ta.signedIn("Stranger-from-another-team-00042")
	spectator := tm.members[1]
	spectator.plain().post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	vote := func(c *client, path string, form url.Values) *response {
		return c.plain().post(path, form)
	}
	path := fmt.Sprintf("/issues/%d/estimate", issue)
	for _, tc := range []struct {
		who  *client
		path string
		form url.Values
		want int
	}{
		{stranger, path, url.Values{"estimate": {"5"}}, http.StatusNotFound},
		{stranger, path, url.Values{"estimate": {"seven"}}, http.StatusNotFound},
		{stranger, path, url.Values{"estimate": {"5"}, "then": {"ahead"}, "note": {strings.Repeat("n", 400)}}, http.StatusNotFound},
		{tm.members[0], "/issues/999999/estimate", url.Values{"estimate": {"5"}}, http.StatusNotFound},
		{tm.members[0], "/issues/999999/estimate", url.Values{"estimate": {"seven"}}, http.StatusNotFound},
		{tm.members[0], "/issues/PLAT-2048/estimate", url.Values{"estimate": {"5"}}, http.StatusNotFound},
		{spectator, path, url.Values{"estimate": {"5"}}, http.StatusForbidden},
		{spectator, path, url.Values{"estimate": {"seven"}}, http.StatusForbidden},
		{tm.members[0], path, url.Values{"estimate": {"seven"}}, http.StatusUnprocessableEntity},
		{tm.members[0], path, url.Values{"estimate": {"5"}, "note": {strings.Repeat("n", 400)}}, http.StatusUnprocessableEntity},
	} {
		r := vote(tc.who, tc.path, tc.form)
		if r.status != tc.want {
			t.Errorf("%s %v: status %d, want %d", tc.path, tc.form, r.status, tc.want)
		}
	}
	if n := ta.countRows("ballots", ""); n != 0 {
		t.Errorf("refused votes left %d ballots", n)
	}

	// A vote that is taken answers as before: to the room, with the notice.
	tm.members[0].estimate(issue, "8").wantRedirect(fmt.Sprintf("/issues/%d", issue))
	room := tm.members[0].get(fmt.Sprintf("/issues/%d", issue)).wantStatus(http.StatusOK)
	if got := room.text("notice"); !strings.Contains(got, "PLAT-2048") {
		t.Errorf("after the vote the room's notice is %q", got)
	}
	// The answer for htmx carries the cards with the vote, from the vote's
	// own reads.
	r := tm.members[0].htmxFrom(fmt.Sprintf("/issues/%d", issue)).post(path, url.Values{"estimate": {"13"}}).wantStatus(http.StatusOK)
	if !strings.Contains(r.body, `data-testid="card-13"`) || !strings.Contains(r.body, `aria-pressed="true"`) {
		t.Errorf("the htmx answer does not show the vote: %s", truncate(r.body, 400))
	}

	// Once revealed, a vote is refused with a link to the result.
	tm.owner.estimate(issue, "5").wantStatus(http.StatusSeeOther)
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/reveal", issue), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	if r := tm.members[0].estimate(issue, "3"); r.status != http.StatusConflict {
		t.Errorf("a vote on a revealed round: status %d, want 409", r.status)
	}
	if r := tm.members[0].estimate(issue, "three"); r.status != http.StatusConflict {
		t.Errorf("a malformed vote on a revealed round: status %d, want 409", r.status)
	}
}

// TestNoticesStayInMemory: with one process serving (SQLite), a form's
// notice is shown once by the page after it and is never written to the
// session's row; it does not outlive the session.
func TestNoticesStayInMemory(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Platform-Team", "Olga-Owner", "Mia-Member")
	issue := tm.owner.addIssue(tm.gid, "PLAT-7", "")
	mia := tm.members[0]
	room := fmt.Sprintf("/issues/%d", issue)
	mia.get(room).wantStatus(http.StatusOK)
	mia.estimate(issue, "5").wantRedirect(room)
	if n := ta.countRows("sessions", "data LIKE '%notice%'"); n != 0 {
		t.Errorf("%d session rows hold a notice", n)
	}
	if got := mia.get(room).wantStatus(http.StatusOK).text("notice"); !strings.Contains(got, "PLAT-7") {
		t.Errorf("the page after the vote shows %q", got)
	}
	if mia.get(room).wantStatus(http.StatusOK).has("notice") {
		t.Error("the notice is shown twice")
	}

	// A notice left just before signing out is gone with the session.
	mia.estimate(issue, "8").wantRedirect(room)
	mia.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	mia.login("Mia-Member")
	for range 2 {
		if got := mia.get(room).wantStatus(http.StatusOK).text("notice"); strings.Contains(got, "PLAT-7") {
			t.Errorf("after signing out and in, the old session's notice shows: %q", got)
		}
	}
}
