package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"estimator/store"
)

// Sign-in, sign-out, deactivation, ownership changes, reveal and accept leave an
// audit line (who, what, when — never an estimate); a group's lines are shown to
// its owner, and a person's own lines on their account page.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	ctx := context.Background()
	owner, member := ta.client(), ta.client()
	owner.login("Olga")
	member.login("Milo")
	olga, _ := ta.st.UserByNickname(ctx, "Olga")
	g, err := ta.st.CreateGroup(ctx, olga, "Audited")
	must(t, err)
	member.post("/join/"+g.InviteToken, nil).wantStatus(http.StatusSeeOther)
	is, err := ta.st.CreateIssue(ctx, g.ID, store.IssueInput{Key: "AUD-1"})
	must(t, err)
	member.post(fmt.Sprintf("/issues/%d/estimate", is.ID), url.Values{"estimate": {"89"}}).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/estimate", is.ID), url.Values{"estimate": {"13"}}).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/reveal", is.ID), nil).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/accept", is.ID), url.Values{"final": {"55"}}).wantStatus(http.StatusSeeOther)
	milo, _ := ta.st.UserByNickname(ctx, "Milo")
	owner.post(fmt.Sprintf("/groups/%d/transfer", g.ID), url.Values{"user": {fmt.Sprint(milo.ID)}}).wantStatus(http.StatusSeeOther)
	owner.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	_, err = ta.st.SetActive(ctx, "Olga", false)
	must(t, err)

	// The new owner sees the group's trail.
	page := member.get(fmt.Sprintf("/groups/%d", g.ID)).wantStatus(http.StatusOK)
	trail := strings.Join(page.texts("activity-text"), "\n")
	for _, want := range []string{"Olga revealed round 1 of AUD-1 (2 votes)", "Olga accepted 55 as the final estimate of AUD-1", "Olga made Milo the owner"} {
		if !strings.Contains(trail, want) {
			t.Errorf("group activity lacks %q:\n%s", want, trail)
		}
	}
	for _, secret := range []string{"89", "13"} {
		if strings.Contains(trail, secret) {
			t.Errorf("group activity shows an estimate value %s:\n%s", secret, trail)
		}
	}
	// The member's own account shows their sign-in.
	if acc := strings.Join(member.get("/account").texts("activity-text"), "\n"); !strings.Contains(acc, "Milo signed in by typing the nickname") {
		t.Errorf("account activity lacks the sign-in:\n%s", acc)
	}
	// Everything is in the events table, and no line carries a value.
	events, err := ta.st.UserEvents(ctx, olga.ID, 50)
	must(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
		if strings.Contains(e.Detail, "89") || strings.Contains(e.Detail, "13") {
			t.Errorf("event %s detail %q carries an estimate", e.Action, e.Detail)
		}
	}
	for _, want := range []string{store.ActSignIn, store.ActSignOut, "user.deactivated", store.ActOwnershipChange, store.ActReveal, store.ActAccept} {
		found := false
		for _, a := range actions {
			found = found || a == want
		}
		if !found {
			t.Errorf("no %s event for Olga; have %v", want, actions)
		}
	}
	// A member (not owner) sees no group trail.
	other := ta.client()
	other.login("Nia")
	other.post("/join/"+g.InviteToken, nil).wantStatus(http.StatusSeeOther)
	if other.get(fmt.Sprintf("/groups/%d", g.ID)).has("activity") {
		t.Error("a plain member sees the group's audit trail")
	}
}
