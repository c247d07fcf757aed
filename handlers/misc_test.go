package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"estimator/internal/testkit"
	"estimator/store"
)

// HEAD is answered like GET, without a body: a link checker following an invite
// link or a monitor probing /healthz sees the real status.
func TestHeadIsAnsweredAsGet(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	for _, path := range []string{"/", "/login", "/healthz", "/assets/app.css", "/nope"} {
		get := c.get(path)
		head := c.do(http.MethodHead, path, nil, "")
		if head.status != get.status {
			t.Errorf("HEAD %s: %d, GET: %d", path, head.status, get.status)
		}
		if head.body != "" {
			t.Errorf("HEAD %s has a body", path)
		}
	}
}

// An error page does not use up a notice meant for the next page.
func TestErrorPageKeepsThePendingNotice(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	c.login("Nora") // leaves "Signed in as Nora."
	c.get("/groups/12345").wantStatus(http.StatusNotFound)
	if got := c.get("/").text("notice"); got != "Signed in as Nora." {
		t.Fatalf("notice after an error page: %q", got)
	}
}

func TestTransferToYourselfIsRefusedClearly(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	c := ta.client()
	c.login("Otto")
	u, _ := ta.st.UserByNickname(context.Background(), "Otto")
	g, err := ta.st.CreateGroup(context.Background(), u, "Mine")
	must(t, err)
	r := c.post(fmt.Sprintf("/groups/%d/transfer", g.ID), url.Values{"user": {fmt.Sprint(u.ID)}}).wantStatus(http.StatusBadRequest)
	if r.text("error") == "" {
		t.Fatal("no error page")
	}
}

func TestAcceptWithoutAValueSaysWhatToEnter(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	rd := newRound(t, ta, 1)
	rd.vote(rd.members[0], 8)
	rd.vote(rd.owner, 5)
	rd.owner.post(fmt.Sprintf("/issues/%d/reveal", rd.issueID), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	r := rd.owner.post(fmt.Sprintf("/issues/%d/accept", rd.issueID), url.Values{"final": {" "}}).wantStatus(http.StatusUnprocessableEntity)
	if got := r.text("final-error"); got != "Enter the final estimate: a whole number from 1 to 100." {
		t.Fatalf("message %q", got)
	}
	if v, _ := r.inputValue("accept-form", "final"); v != " " {
		t.Fatalf("typed value not kept: %q", v)
	}
	is, _, _, _ := ta.st.IssueFor(context.Background(), rd.issueID, 0)
	if is.State != store.StateRevealed {
		t.Fatalf("state %s", is.State)
	}
}

// The maintenance loop purges expired sessions (and with them their kept forms)
// while the server runs.
func TestMaintenancePurgesExpiredSessions(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) {
		c.Sessions = store.SessionPolicy{Idle: time.Hour, Lifetime: 2 * time.Hour, Remember: 24 * time.Hour}
	})
	c := ta.client()
	c.post("/creategroup", url.Values{"name": {"Kept"}}).wantStatus(http.StatusSeeOther) // anonymous session + kept form
	c.login("Pia")
	ta.clock.Advance(3 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ta.app.RunMaintenance(ctx, 10*time.Millisecond)
	testkit.Eventually(t, 5*time.Second, "maintenance to end every expired session", func() bool { return ta.countSessions() == 0 })
}

func (ta *testApp) countSessions() int {
	return ta.countRows("sessions", "1=1")
}

// The security headers are set by their canonical names, as Header.Set
// would: each reads back through Header.Get.
func TestSecurityHeaderNamesAreCanonical(t *testing.T) {
	for _, kv := range securityHeaderValues {
		if got := http.CanonicalHeaderKey(kv.key); got != kv.key || len(kv.value) != 1 || cap(kv.value) != 1 {
			t.Errorf("%q: canonical %q, value %q (cap %d)", kv.key, got, kv.value, cap(kv.value))
		}
	}
	if http.CanonicalHeaderKey("Strict-Transport-Security") != "Strict-Transport-Security" || cap(hstsValue) != 1 {
		t.Error("Strict-Transport-Security")
	}
}
