package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Issue "Every page as a demanding user sees it", 5: a double click on Reveal
// showed a red "already revealed" banner above the result. A second reveal,
// accept (same value) or start answers like the first: same status, same
// landing place, no error — with htmx and without, one after the other and at
// the same moment.
func TestDoubleClickOnRevealAcceptOrStartAnswersLikeTheFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action string
		form   url.Values
		prep   func(s *keptSite)
		notice string
	}{
		{"reveal", url.Values{"confirmed": {"1"}}, nil, "The result of PHX-12 is revealed."},
		{"accept", url.Values{"final": {"8"}}, func(s *keptSite) {
			s.tm.owner.post(fmt.Sprintf("/issues/%d/reveal", s.iid), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
		}, "The final estimate of PHX-12 is 8."},
		{"start", nil, nil, "The group is now estimating PHX-12."},
	} {
		for _, mode := range []string{"plain", "htmx", "at once"} {
			t.Run(tc.action+" "+mode, func(t *testing.T) {
				t.Parallel()
				ta := newTestApp(t)
				s := &keptSite{ta: ta, tm: ta.team("Team Phoenix", keptOwner, "Mia", "Max")}
				s.iid = s.tm.owner.addIssue(s.tm.gid, "PHX-12", "")
				s.tm.members[0].estimate(s.iid, "5").wantStatus(http.StatusSeeOther)
				s.tm.members[1].estimate(s.iid, "8").wantStatus(http.StatusSeeOther)
				if tc.prep != nil {
					tc.prep(s)
				}
				room := fmt.Sprintf("/issues/%d", s.iid)
				target := room + "/" + tc.action
				owner := s.tm.owner
				if mode == "htmx" {
					owner = owner.htmxFrom(room)
				}
				audits := ta.countRows("events", "")
				var answers [2]*response
				if mode == "at once" {
					var wg sync.WaitGroup
					for i := range answers {
						wg.Add(1)
						go func() { defer wg.Done(); answers[i] = owner.post(target, tc.form) }()
					}
					wg.Wait()
				} else {
					for i := range answers {
						answers[i] = owner.post(target, tc.form)
					}
				}
				for i, r := range answers {
					if mode == "htmx" && tc.action == "start" {
						r.wantHXRedirect(room) // start goes to the room, both times
						continue
					}
					if mode == "htmx" {
						if r.status != http.StatusOK || r.header.Get("HX-Retarget") != "" || !r.has("status") {
							t.Fatalf("click %d: status %d HX-Retarget %q, want the room's panel", i+1, r.status, r.header.Get("HX-Retarget"))
						}
						if strings.Contains(r.body, "notice-error") || !strings.Contains(r.text("notice"), tc.notice) {
							t.Errorf("click %d: notice %q", i+1, r.text("notice"))
						}
						continue
					}
					r.wantRedirect(room)
				}
				if mode != "htmx" || tc.action == "start" {
					page := owner.plain().get(room).wantStatus(http.StatusOK)
					if strings.Contains(page.body, "notice-error") || !strings.Contains(page.text("notice"), tc.notice) {
						t.Errorf("the room after the double click: notice %q", page.text("notice"))
					}
				}
				if tc.action != "reveal" {
					// An action done twice is recorded once.
					if n := ta.countRows("events", ""); n != audits+1 {
						t.Errorf("%d audit rows for a double click, want 1", n-audits)
					}
				}
				if tc.action == "reveal" && ta.countRows("issue_rounds", "issue_id = ?", s.iid) != 1 {
					t.Error("the double reveal did not keep exactly one round")
				}
			})
		}
	}
}
