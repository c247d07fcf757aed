package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"estimator/internal/testkit"
	"estimator/store"
)

// pgDatabase is a fresh PostgreSQL database for a test's instances to share:
// a schema of its own on ESTIMATOR_TEST_POSTGRES, dropped at the end. Without
// the URL the test skips, except under CI, which must run it.
func pgDatabase(t *testing.T) string {
	return testkit.Schema(t, "the several-instances tests need PostgreSQL")
}

// TestInstancesShareSessions: two instances on one PostgreSQL database behind
// no sticky load balancer. A sign-in on A is a sign-in on B; a form kept on A
// while signed out is shown after a sign-in on B and sent by the click on A; a
// sign-out on B ends the session on A.
func TestInstancesShareSessions(t *testing.T) {
	t.Parallel()
	db := pgDatabase(t)
	a := startServer(t, db)
	b := startServer(t, db)

	ann := newBrowser(a.base, nil)
	// Signed out, on A: the create-group form is kept, and the browser is sent
	// to sign in.
	kept, err := ann.post("/creategroup", url.Values{"name": {"Made far away"}})
	if err != nil || kept.status != http.StatusSeeOther || !strings.HasPrefix(kept.header.Get("Location"), "/login") {
		t.Fatalf("anonymous POST /creategroup on A: %v %v", kept, err)
	}
	// The sign-in lands on B, which replays the form kept on A (the login
	// page's form carries the reference from its URL as the kept field).
	loginURL, err := url.Parse(kept.header.Get("Location"))
	if err != nil || loginURL.Query().Get("kept") == "" {
		t.Fatalf("login page for the kept form: %q", kept.header.Get("Location"))
	}
	ref := loginURL.Query().Get("kept")
	login, err := ann.at(b.base).post("/login", url.Values{"nickname": {"Ann"}, "kept": {ref}})
	if err != nil || login.status != http.StatusSeeOther || !strings.HasPrefix(login.header.Get("Location"), "/kept?") {
		t.Fatalf("sign-in on B did not show the form kept on A: %v %v", login, err)
	}
	// A kept form is sent by its owner's click only: the confirmation, on A.
	sent, err := ann.post("/kept", url.Values{"kept": {ref}, "do": {"send"}})
	if err != nil || sent.status != http.StatusSeeOther || !groupLocation.MatchString(sent.header.Get("Location")) {
		t.Fatalf("sending the form kept on A after the sign-in on B: %v %v", sent, err)
	}
	group := sent.header.Get("Location")
	// Both instances know the session and the group it made.
	for name, srv := range map[string]*proc{"A": a, "B": b} {
		page := ann.at(srv.base).mustGet(t, group)
		if n := findTestID(parseHTML(t, page.body), "group-name"); n == nil || textOf(n) != "Made far away" {
			t.Errorf("group page on %s does not show the replayed group", name)
		}
		if acct := ann.at(srv.base).mustGet(t, "/account"); !strings.Contains(acct.body, "Ann") {
			t.Errorf("account page on %s does not know Ann", name)
		}
	}
	// Signing out on B ends the session on A as well.
	ann.at(b.base).mustPost(t, "/confirm-logout", nil)
	after, err := ann.get("/account")
	if err != nil || after.status != http.StatusSeeOther || !strings.HasPrefix(after.header.Get("Location"), "/login") {
		t.Errorf("after signing out on B, /account on A = %v %v; want the sign-in page", after, err)
	}
}

// TestInstanceKilledLosesNothing: 64 people write (estimates and new groups)
// through two instances on one PostgreSQL database; one instance is killed
// (SIGKILL) mid-run while the other goes on. Every write either instance
// acknowledged is in the database afterwards, whole.
func TestInstanceKilledLosesNothing(t *testing.T) {
	t.Parallel()
	db := pgDatabase(t)
	a := startServer(t, db, "--trusted-proxies", "127.0.0.1")
	b := startServer(t, db, "--trusted-proxies", "127.0.0.1")
	tr := &http.Transport{MaxIdleConns: 2 * crashWorkers, MaxIdleConnsPerHost: 2 * crashWorkers, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)

	owner := newBrowser(a.base, tr)
	owner.xff = "10.8.0.1"
	if err := owner.signIn("two owner"); err != nil {
		t.Fatal(err)
	}
	_, invite, issueID := owner.groupWithIssue(t, "two instances", "TWO-1")

	// Even workers write through A, odd ones through B.
	workers := make([]*crashWorker, crashWorkers)
	var wg sync.WaitGroup
	setupErrs := make(chan error, crashWorkers)
	for i := range workers {
		srv := []*proc{a, b}[i%2]
		w := &crashWorker{nick: fmt.Sprintf("two-%02d", i), b: newBrowser(srv.base, tr), tried: map[string]bool{}}
		w.b.xff = fmt.Sprintf("10.8.1.%d", i+1)
		workers[i] = w
		wg.Go(func() {
			if err := w.b.signIn(w.nick); err != nil {
				setupErrs <- err
				return
			}
			if j, err := w.b.post("/join/"+invite, nil); err != nil || j.status != http.StatusSeeOther {
				setupErrs <- fmt.Errorf("%s joins: %v %v", w.nick, j, err)
			}
		})
	}
	wg.Wait()
	close(setupErrs)
	for err := range setupErrs {
		t.Fatal(err)
	}

	var (
		acked, ackedAfterKill atomic.Int64
		killed                atomic.Bool
		stop                  = make(chan struct{})
	)
	estimatePath := fmt.Sprintf("/issues/%d/estimate", issueID)
	for i, w := range workers {
		wg.Go(func() {
			send := func(path string, form url.Values) (answer, bool) {
				ans, err := w.b.post(path, form)
				if err != nil {
					if !killed.Load() || i%2 == 1 {
						w.unknown = append(w.unknown, fmt.Sprintf("POST %s: %v", path, err))
					}
					return ans, false
				}
				if !ans.acked() {
					w.unknown = append(w.unknown, fmt.Sprintf("POST %s: %s", path, ans))
					return ans, false
				}
				w.acks++
				acked.Add(1)
				if killed.Load() {
					ackedAfterKill.Add(1)
				}
				return ans, true
			}
			for round := range crashMaxRounds {
				select {
				case <-stop:
					return
				default:
				}
				v := 1 + (i*37+round*7)%100
				w.pending = append(w.pending, v)
				if _, ok := send(estimatePath, url.Values{"estimate": {strconv.Itoa(v)}}); !ok {
					return
				}
				w.lastAck, w.pending = v, nil
				if round%2 == 1 {
					name := fmt.Sprintf("%s group %d", w.nick, round)
					w.tried[name] = true
					ans, ok := send("/creategroup", url.Values{"name": {name}})
					if !ok {
						return
					}
					m := groupLocation.FindStringSubmatch(ans.header.Get("Location"))
					if m == nil {
						w.unknown = append(w.unknown, "create group: "+ans.String())
						return
					}
					id, _ := strconv.ParseInt(m[1], 10, 64)
					w.groups = append(w.groups, ackedGroup{id, name})
				}
			}
		})
	}
	start := time.Now()
	for acked.Load() < crashKillAfter && time.Since(start) < crashKillAtMost {
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !a.wait(10 * time.Second) {
		t.Fatal("A still alive 10s after SIGKILL")
	}
	// B serves on: its writers keep being acknowledged.
	testkit.Eventually(t, 30*time.Second, "B to acknowledge writes after A was killed", func() bool { return ackedAfterKill.Load() >= 10 })
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("workers still running 60s after the stop")
	}
	for _, w := range workers {
		for _, u := range w.unknown {
			t.Errorf("%s: unexpected answer: %s", w.nick, u)
		}
	}
	if ackedAfterKill.Load() == 0 {
		t.Error("no write was acknowledged by B after A was killed")
	}

	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("integrity after the kill: %q %v", res, err)
	}
	groups, estimates := 0, 0
	for _, w := range workers {
		u := mustUser(t, st, w.nick)
		for _, g := range w.groups {
			got, role, err := st.GroupFor(ctx, g.id, u.ID)
			if err != nil || got.Name != g.name || role != store.RoleOwner {
				t.Errorf("%s: acknowledged group %d %q: %+v %q %v", w.nick, g.id, g.name, got, role, err)
				continue
			}
			groups++
		}
		vote, err := st.OwnEstimate(ctx, issueID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		v := vote.Value
		ok := v == w.lastAck
		for _, p := range w.pending {
			ok = ok || v == p
		}
		if !ok {
			t.Errorf("%s: stored estimate %d; last acknowledged %d, sent after it %v", w.nick, v, w.lastAck, w.pending)
		} else if w.lastAck != 0 {
			estimates++
		}
	}
	fmt.Fprintf(os.Stdout, "two instances: %d writes acknowledged (%d by B after A's SIGKILL); all verified: %d acknowledged groups whole with their owner, %d voters hold their last acknowledged estimate or the one in flight\n",
		acked.Load(), ackedAfterKill.Load(), groups, estimates)
}

// sseStream is an open GET /issues/{id}/events on a raw connection (the
// status line and headers are read as lines the event reader skips).
type sseStream struct {
	conn net.Conn
	r    *testkit.Reader
}

// openStream opens the live updates of an issue on srv with b's cookies.
func openStream(t *testing.T, srv *proc, b *browser, issueID int64) *sseStream {
	t.Helper()
	u, _ := url.Parse(srv.base)
	var cookies []string
	for _, c := range b.hc.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /issues/%d/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nHX-Request: true\r\nCookie: %s\r\n\r\n",
		issueID, u.Host, strings.Join(cookies, "; "))
	return &sseStream{conn: conn, r: testkit.NewReader(conn)}
}

// next reads events until one's data holds want, and returns that data.
func (s *sseStream) next(t *testing.T, want string, within time.Duration) string {
	t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(within))
	for {
		ev, err := s.r.Next()
		if err != nil {
			t.Fatalf("no event holding %q within %v: %v", want, within, err)
		}
		if !ev.Comment && strings.Contains(ev.Data, want) {
			return ev.Data
		}
	}
}

// TestInstancesLiveUpdates: a vote on A reaches the stream B serves, and the
// owner's reveal on B reaches the stream A serves; the events hold what the
// page holds (who voted, the result), never a voter's value.
func TestInstancesLiveUpdates(t *testing.T) {
	t.Parallel()
	db := pgDatabase(t)
	a := startServer(t, db)
	b := startServer(t, db)
	owner := newBrowser(a.base, nil)
	if err := owner.signIn("Olga"); err != nil {
		t.Fatal(err)
	}
	groupID, invite, issueID := owner.groupWithIssue(t, "across", "LIVE-1")
	vic, wes := newBrowser(a.base, nil), newBrowser(b.base, nil)
	for nick, br := range map[string]*browser{"Vic": vic, "Wes": wes} {
		if err := br.signIn(nick); err != nil {
			t.Fatal(err)
		}
		br.mustPost(t, "/join/"+invite, nil)
	}
	onB := openStream(t, b, owner, issueID) // the owner's page, served by B
	onA := openStream(t, a, wes, issueID)   // Wes's page, served by A
	onB.next(t, "0 of 3 voted", 10*time.Second)
	onA.next(t, "0 of 3 voted", 10*time.Second)

	start := time.Now()
	vic.mustPost(t, fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {"13"}})
	ev := onB.next(t, "1 of 3 voted", 2*time.Second)
	t.Logf("vote on A reached B's stream in %v", time.Since(start))
	if strings.Contains(ev, ">13<") {
		t.Errorf("the event on B shows the vote's value before the reveal: %s", ev)
	}
	wes.at(b.base).mustPost(t, fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {"21"}})
	onA.next(t, "2 of 3 voted", 2*time.Second)

	start = time.Now()
	owner.at(b.base).mustPost(t, fmt.Sprintf("/issues/%d/reveal", issueID), url.Values{"confirmed": {"1"}})
	ev = onA.next(t, `data-testid="result"`, 2*time.Second)
	t.Logf("reveal on B reached A's stream in %v", time.Since(start))
	// The result holds the values and no name; the members list, names and
	// no value.
	i := strings.Index(ev, `data-testid="result"`)
	result := ev[i:]
	if j := strings.Index(result, "</article>"); j >= 0 {
		result = result[:j]
	}
	if !strings.Contains(result, "13") || !strings.Contains(result, "21") {
		t.Errorf("the result on A lacks the values 13 and 21: %s", result)
	}
	for _, name := range []string{"Olga", "Vic", "Wes"} {
		if strings.Contains(result, name) {
			t.Errorf("the result on A names %s", name)
		}
	}
	// The backlog beside the room, which A keeps between votes: the reveal on
	// B shows there, and so does an issue added through B.
	onA.next(t, `data-testid="backlog-state">revealed<`, 2*time.Second)
	owner.at(b.base).mustPost(t, fmt.Sprintf("/groups/%d/issues", groupID), url.Values{"key": {"LIVE-2-added-through-B"}})
	onA.next(t, `data-key="LIVE-2-added-through-B"`, 2*time.Second)
}

// TestInstancesTimerOutlivesItsInstance: the owner starts a 2 s countdown
// through instance A, and A is killed (SIGKILL) before it ends. The countdown
// lives in the database, so B's timer loop reveals the round: B's stream shows
// the result, and the round is stored and audited exactly once.
func TestInstancesTimerOutlivesItsInstance(t *testing.T) {
	t.Parallel()
	db := pgDatabase(t)
	a := startServer(t, db)
	b := startServer(t, db)
	owner := newBrowser(a.base, nil)
	if err := owner.signIn("Olga"); err != nil {
		t.Fatal(err)
	}
	_, invite, issueID := owner.groupWithIssue(t, "countdown", "TIMER-1")
	for nick, v := range map[string]string{"Vic": "5", "Wes": "8"} {
		br := newBrowser(b.base, nil)
		if err := br.signIn(nick); err != nil {
			t.Fatal(err)
		}
		br.mustPost(t, "/join/"+invite, nil)
		br.mustPost(t, fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {v}})
	}
	onB := openStream(t, b, owner, issueID)
	onB.next(t, "2 of 3 voted", 10*time.Second)

	// The countdown starts while the POST is served: timed from just before
	// it, so that a reveal a hair under 2 s after the answer is not mistaken
	// for an early one.
	started := time.Now()
	owner.mustPost(t, fmt.Sprintf("/issues/%d/timer", issueID), url.Values{"seconds": {"2"}})
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !a.wait(10 * time.Second) {
		t.Fatal("A still alive 10s after SIGKILL")
	}
	ev := onB.next(t, `data-testid="result"`, 10*time.Second)
	t.Logf("the countdown started on A was revealed by B %v after it started", time.Since(started))
	if elapsed := time.Since(started); elapsed < 2*time.Second {
		t.Errorf("revealed %v after a 2 s countdown started", elapsed)
	}
	result := ev[strings.Index(ev, `data-testid="result"`):]
	if j := strings.Index(result, "</article>"); j >= 0 {
		result = result[:j]
	}
	if !strings.Contains(result, ">5<") || !strings.Contains(result, ">8<") {
		t.Errorf("B's result lacks the values 5 and 8: %s", result)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// B's loop keeps looking; a second reveal would show in the rounds and the
	// audit trail. A countdown of 1 s on another issue, with no votes, runs out
	// (time is up) only once B's loop has looked again a second later.
	olga := mustUser(t, st, "Olga")
	_, g0, _, err := st.IssueFor(ctx, issueID, olga.ID)
	if err != nil {
		t.Fatal(err)
	}
	marker, err := st.CreateIssue(ctx, g0.ID, store.IssueInput{Key: "MARKER-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetTimer(ctx, marker.ID, 1, olga); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, "B's timer loop to run out the marker's countdown", func() bool {
		is, _, _, err := st.IssueFor(ctx, marker.ID, olga.ID)
		return err == nil && is.TimeUp
	})
	rounds, err := st.Rounds(ctx, issueID)
	if err != nil || len(rounds) != 1 || rounds[0].Result.Votes != 2 {
		t.Errorf("stored rounds %+v, %v; want one round of 2 votes", rounds, err)
	}
	is, g, _, err := st.IssueFor(ctx, issueID, mustUser(t, st, "Olga").ID)
	if err != nil || is.State != store.StateRevealed {
		t.Fatalf("issue after the countdown: %s, %v", is.State, err)
	}
	events, err := st.GroupEvents(ctx, g.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	reveals := 0
	for _, e := range events {
		if e.Action == store.ActReveal {
			reveals++
			if !strings.Contains(e.Detail, string(store.RevealByTimer)) {
				t.Errorf("the reveal was not the timer's: %q", e.Detail)
			}
		}
	}
	if reveals != 1 {
		t.Errorf("%d reveal audit lines, want 1", reveals)
	}
}
