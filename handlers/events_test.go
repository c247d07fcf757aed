package handlers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"estimator/internal/testkit"
	"estimator/store"
)

// sse is one server-sent event as read off the wire.
type sse struct {
	name, id, data string
}

// stream is a live GET /issues/:id/events over a real HTTP connection, read
// by the test kit's one reader of events.
type stream struct {
	*testkit.Stream
	t    testing.TB
	resp *http.Response
}

// openStream connects as the client c (its cookies) to the issue's event stream.
func openStream(t testing.TB, srv *httptest.Server, c *client, issueID int64) *stream {
	t.Helper()
	return openStreamAt(t, srv, c, fmt.Sprintf("/issues/%d/events", issueID))
}

// openStreamAt connects as c to an event stream path (an issue's or a group's).
func openStreamAt(t testing.TB, srv *httptest.Server, c *client, path string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	for k, vs := range c.header {
		req.Header[k] = vs // the browser's own headers (Accept-Language)
	}
	req.Header.Set("HX-Request", "true")
	req.Header.Set("Accept", "text/html, text/event-stream")
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return &stream{Stream: testkit.NewStream(t, resp, cancel), t: t, resp: resp}
}

func asSSE(ev testkit.Event) sse {
	if ev.Comment {
		return sse{name: "comment", data: ev.Data}
	}
	return sse{name: ev.Name, id: ev.ID, data: ev.Data}
}

func (s *stream) close() { s.Close() }

// isBacklog says whether an event is the room's backlog, which a stream
// sends after a state when it changed (live.Frames.Side): next, nextAny and
// mustNext pass over it, until sees it.
func isBacklog(ev sse) bool { return strings.HasPrefix(ev.data, `<hx-partial hx-target="#backlog"`) }

// next returns the next event other than a heartbeat comment or the backlog.
func (s *stream) next(timeout time.Duration) (sse, bool) {
	deadline := time.Now().Add(timeout)
	for {
		ev, ok := s.Next(time.Until(deadline))
		if e := asSSE(ev); !ok || !isBacklog(e) {
			return e, ok
		}
	}
}

// nextAny is next with the heartbeat comments (named "comment").
func (s *stream) nextAny(timeout time.Duration) (sse, bool) {
	deadline := time.Now().Add(timeout)
	for {
		ev, ok := s.NextAny(time.Until(deadline))
		if e := asSSE(ev); !ok || !isBacklog(e) {
			return e, ok
		}
	}
}

func (s *stream) mustNext() sse {
	s.t.Helper()
	for {
		if e := asSSE(s.MustNext()); !isBacklog(e) {
			return e
		}
	}
}

// until reads events until one satisfies ok, or fails after within.
func (s *stream) until(within time.Duration, what string, ok func(sse) bool) sse {
	s.t.Helper()
	return asSSE(s.Until(within, what, func(ev testkit.Event) bool { return ok(asSSE(ev)) }))
}

// round sets up an owner and members in one group with one issue.
type round struct {
	ta      *testApp
	srv     *httptest.Server
	owner   *client
	members []*client
	groupID int64
	issueID int64
}

func newRound(t testing.TB, ta *testApp, members int) *round {
	t.Helper()
	rd := &round{ta: ta, owner: ta.client()}
	rd.owner.login("owner")
	ctx := context.Background()
	u, _ := ta.st.UserByNickname(ctx, "owner")
	g, err := ta.st.CreateGroup(ctx, u, "Live team")
	if err != nil {
		t.Fatal(err)
	}
	rd.groupID = g.ID
	for i := range members {
		c := ta.client()
		c.login(fmt.Sprintf("member%d", i+1))
		c.post("/join/"+g.InviteToken, nil).wantStatus(http.StatusSeeOther)
		rd.members = append(rd.members, c)
	}
	is, err := ta.st.CreateIssue(ctx, g.ID, store.IssueInput{Key: "LIVE-1", Description: "Live updates"})
	if err != nil {
		t.Fatal(err)
	}
	rd.issueID = is.ID
	rd.srv = httptest.NewServer(ta.app)
	t.Cleanup(func() {
		ta.app.Close()
		rd.srv.Close()
	})
	return rd
}

var votedCount = regexp.MustCompile(`data-testid="voted-count">(\d+) of (\d+) voted<`)

func voted(t testing.TB, html string) string {
	t.Helper()
	m := votedCount.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no voted count in %s", truncate(html, 500))
	}
	return m[1] + " of " + m[2]
}

func (rd *round) vote(c *client, value int) {
	c.post(fmt.Sprintf("/issues/%d/estimate", rd.issueID), url.Values{"estimate": {fmt.Sprint(value)}}).wantStatus(http.StatusSeeOther)
}

func TestEventStreamSendsStateThenOneEventPerChange(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 2)
	s := openStream(t, rd.srv, rd.owner, rd.issueID)
	if s.resp.StatusCode != http.StatusOK || !strings.HasPrefix(s.resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %q", s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
	}
	if s.resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Fatal("X-Accel-Buffering not disabled")
	}
	first := s.mustNext()
	if got := voted(t, first.data); got != "0 of 3" {
		t.Fatalf("initial state %q", got)
	}
	if !strings.Contains(first.data, `data-testid="reveal"`) {
		t.Fatal("owner's stream lacks the reveal button")
	}
	rd.vote(rd.members[0], 13)
	if got := voted(t, s.mustNext().data); got != "1 of 3" {
		t.Fatalf("after a vote: %q", got)
	}
	// Changing a vote is a change too; then nothing else arrives unasked.
	rd.vote(rd.members[0], 8)
	s.mustNext()
	if ev, ok := s.next(300 * time.Millisecond); ok {
		t.Fatalf("unexpected extra event %+v", ev)
	}
	rd.vote(rd.members[1], 89)
	if got := voted(t, s.mustNext().data); got != "2 of 3" {
		t.Fatalf("after second vote: %q", got)
	}
	rd.owner.post(fmt.Sprintf("/issues/%d/reveal", rd.issueID), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	ev := s.mustNext()
	if !strings.Contains(ev.data, `data-state="revealed"`) || !strings.Contains(ev.data, `data-testid="result-average"`) {
		t.Fatalf("reveal event lacks the result: %s", truncate(ev.data, 800))
	}
	rd.owner.post(fmt.Sprintf("/issues/%d/accept", rd.issueID), url.Values{"final": {"55"}}).wantStatus(http.StatusSeeOther)
	if ev := s.mustNext(); !strings.Contains(ev.data, `data-state="accepted"`) {
		t.Fatal("accept event lacks the accepted state")
	}
}

func TestEventStreamReconnectGetsCurrentStateAndMembersSeeNoOwnerTools(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 2)
	s := openStream(t, rd.srv, rd.members[0], rd.issueID)
	first := s.mustNext()
	if strings.Contains(first.data, `data-testid="reveal"`) {
		t.Fatal("a member's stream carries the owner's reveal button")
	}
	s.close()
	// While disconnected (a laptop asleep), votes happen.
	rd.vote(rd.members[1], 5)
	rd.vote(rd.owner, 3)
	again := openStream(t, rd.srv, rd.members[0], rd.issueID)
	if got := voted(t, again.mustNext().data); got != "2 of 3" {
		t.Fatalf("reconnect state %q", got)
	}
}

func TestEventStreamNeverPairsANameWithAValue(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 2)
	s := openStream(t, rd.srv, rd.owner, rd.issueID)
	var all []string
	all = append(all, s.mustNext().data)
	rd.vote(rd.members[0], 13)
	all = append(all, s.mustNext().data)
	rd.vote(rd.members[1], 89)
	all = append(all, s.mustNext().data)
	rd.owner.post(fmt.Sprintf("/issues/%d/reveal", rd.issueID), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	all = append(all, s.mustNext().data)
	rowRe := regexp.MustCompile(`(?s)<li [^>]*data-testid="voter".*?</li>`)
	for i, data := range all {
		for _, row := range rowRe.FindAllString(data, -1) {
			if strings.Contains(row, "13") || strings.Contains(row, "89") {
				t.Fatalf("event %d pairs a name with a value: %s", i, row)
			}
		}
		if i < 3 && (strings.Contains(data, ">13<") || strings.Contains(data, ">89<")) {
			t.Fatalf("event %d shows a value before the reveal", i)
		}
	}
	// After the reveal the values appear only in the anonymous result, sorted.
	if !regexp.MustCompile(`(?s)13 × 1.*89 × 1`).MatchString(all[3]) {
		t.Fatalf("revealed distribution missing or unsorted: %s", truncate(all[3], 2000))
	}
}

func TestEventStreamAccess(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	rd := newRound(t, ta, 1)
	outsider := ta.client()
	outsider.login("outsider")
	if s := openStream(t, rd.srv, outsider, rd.issueID); s.resp.StatusCode != http.StatusNotFound {
		t.Fatalf("non-member: %d", s.resp.StatusCode)
	}
	if s := openStream(t, rd.srv, rd.owner, 999999); s.resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown issue: %d", s.resp.StatusCode)
	}
	// Signed out: the stream answers in SSE, sending the browser to sign in and back.
	anon := openStream(t, rd.srv, ta.client(), rd.issueID)
	ev := anon.mustNext()
	if ev.name != "navigate" || ev.data != fmt.Sprintf("/login?next=%%2Fissues%%2F%d", rd.issueID) {
		t.Fatalf("anonymous stream: %+v", ev)
	}
}

func TestEventStreamEndsWhenSignedOutElsewhere(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 1)
	m := rd.members[0]
	s := openStream(t, rd.srv, m, rd.issueID)
	s.mustNext()
	// Another tab of the same browser signs out.
	tab := *m
	tab.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
	ev := s.mustNext()
	if ev.name != "navigate" || !strings.HasPrefix(ev.data, "/login?next=") {
		t.Fatalf("got %+v, want a navigate to sign-in", ev)
	}
	if _, ok := s.next(2 * time.Second); ok {
		t.Fatal("stream went on after sign-out")
	}
	if !s.Ends(2 * time.Second) {
		t.Fatal("stream not closed")
	}
}

func TestEventStreamNoticesSessionEndedOutOfProcess(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = 50 * time.Millisecond })
	rd := newRound(t, ta, 1)
	s := openStream(t, rd.srv, rd.members[0], rd.issueID)
	s.mustNext()
	// An operator deactivates the user from the command line (another process).
	if _, err := ta.st.SetActive(context.Background(), "member1", false); err != nil {
		t.Fatal(err)
	}
	ev := s.mustNext()
	if ev.name != "navigate" {
		t.Fatalf("got %+v", ev)
	}
}

func TestEventStreamClosesForRemovedMemberAndUpdatesOthers(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 2)
	owner := openStream(t, rd.srv, rd.owner, rd.issueID)
	gone := openStream(t, rd.srv, rd.members[1], rd.issueID)
	owner.mustNext()
	gone.mustNext()
	rd.vote(rd.members[1], 21)
	owner.mustNext()
	gone.mustNext()
	u, _ := ta.st.UserByNickname(context.Background(), "member2")
	rd.owner.post(fmt.Sprintf("/groups/%d/members/%d/remove", rd.groupID, u.ID), nil).wantStatus(http.StatusSeeOther)
	for {
		ev := gone.mustNext()
		if ev.name == "navigate" {
			if ev.data != "/" {
				t.Fatalf("removed member sent to %q", ev.data)
			}
			break
		}
	}
	// The owner sees the member and their vote gone.
	var last string
	for {
		ev, ok := owner.next(time.Second)
		if !ok {
			break
		}
		last = ev.data
	}
	if got := voted(t, last); got != "0 of 2" {
		t.Fatalf("owner sees %q after removal", got)
	}
}

func TestEventStreamPresence(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 1)
	owner := openStream(t, rd.srv, rd.owner, rd.issueID)
	if strings.Count(owner.mustNext().data, "● here") != 1 {
		t.Fatal("owner alone should be the one present")
	}
	m := openStream(t, rd.srv, rd.members[0], rd.issueID)
	m.mustNext()
	if n := strings.Count(owner.mustNext().data, "● here"); n != 2 {
		t.Fatalf("%d present, want 2", n)
	}
	m.close()
	if n := strings.Count(owner.mustNext().data, "● here"); n != 1 {
		t.Fatalf("%d present after the member left, want 1", n)
	}
}

func TestEventStreamHeartbeatAndShutdown(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = 20 * time.Millisecond })
	rd := newRound(t, ta, 0)
	s := openStream(t, rd.srv, rd.owner, rd.issueID)
	s.mustNext()
	if ev, ok := s.nextAny(5 * time.Second); !ok || ev.name != "comment" {
		t.Fatalf("expected a heartbeat comment, got %+v (%v)", ev, ok)
	}
	ta.app.Close()
	if !s.Ends(5 * time.Second) {
		t.Fatal("stream not ended by shutdown")
	}
	if n := ta.app.hub.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after shutdown", n)
	}
}

func TestEventStreamLimits(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) {
		c.StreamHeartbeat = time.Hour
		c.MaxStreamsPerSession = 2
		c.MaxStreams = 3
	})
	rd := newRound(t, ta, 1)
	openStream(t, rd.srv, rd.owner, rd.issueID).mustNext()
	openStream(t, rd.srv, rd.owner, rd.issueID).mustNext()
	third := openStream(t, rd.srv, rd.owner, rd.issueID)
	if third.resp.StatusCode != http.StatusTooManyRequests || third.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream of one session: %d", third.resp.StatusCode)
	}
	openStream(t, rd.srv, rd.members[0], rd.issueID).mustNext()
	over := openStream(t, rd.srv, rd.members[0], rd.issueID)
	if over.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stream over the total cap: %d", over.resp.StatusCode)
	}
}

// 500 subscribers to one issue all get the update, and when they disconnect the
// goroutine count returns to where it started.
func TestEventStreamFanOutTo500(t *testing.T) {
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour; c.MaxStreamsPerSession = 1000 })
	rd := newRound(t, ta, 1)
	// Warm up the connection pool machinery so the baseline is fair.
	rd.srv.Client().Get(rd.srv.URL + "/healthz")
	runtime.GC()
	baseline := runtime.NumGoroutine()

	const n = 500
	var ready, got sync.WaitGroup
	ready.Add(n)
	got.Add(n)
	streams := make([]*stream, n)
	var mu sync.Mutex
	var failures []string
	for i := range n {
		go func() {
			c := rd.owner
			if i%2 == 1 {
				c = rd.members[0]
			}
			s := openStream(t, rd.srv, c, rd.issueID)
			streams[i] = s
			first, ok := s.next(30 * time.Second)
			ready.Done()
			if !ok || !strings.Contains(first.data, "voted") {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("stream %d: no initial state (status %d)", i, s.resp.StatusCode))
				mu.Unlock()
				got.Done()
				return
			}
			defer got.Done()
			for {
				ev, ok := s.next(30 * time.Second)
				if !ok {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("stream %d: no update", i))
					mu.Unlock()
					return
				}
				if strings.Contains(ev.data, ">1 of 2 voted<") {
					return
				}
			}
		}()
	}
	ready.Wait()
	rd.vote(rd.members[0], 34)
	got.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	for _, s := range streams {
		s.close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		if ta.app.hub.Subscribers() == 0 && runtime.NumGoroutine() <= baseline+5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after disconnect: %d subscribers, %d goroutines (baseline %d)", ta.app.hub.Subscribers(), runtime.NumGoroutine(), baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HEAD on a stream (an issue's room, a group's page) answers the headers a
// stream gets and holds nothing open: no subscriber, no presence, no slot of the
// session's stream budget.
func TestEventStreamHEADHoldsNothing(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) {
		c.StreamHeartbeat = time.Hour
		c.MaxStreamsPerSession = 2
	})
	rd := newRound(t, ta, 1)
	member := rd.members[0]
	streams := []string{fmt.Sprintf("/issues/%d/events", rd.issueID), fmt.Sprintf("/groups/%d/events", rd.groupID)}
	for _, path := range streams {
		for i := range 5 { // more than the session may hold open
			req, _ := http.NewRequest(http.MethodHead, rd.srv.URL+path, nil)
			for _, ck := range member.cookies {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			resp, err := rd.srv.Client().Do(req)
			if err != nil {
				t.Fatalf("HEAD %s %d: %v", path, i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || len(body) != 0 {
				t.Fatalf("HEAD %s %d: status %d, type %q, %d body bytes", path, i, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
			}
		}
	}
	if n := ta.app.hub.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after HEAD requests, want 0", n)
	}
	if p := ta.app.hub.Present(rd.issueID); len(p) != 0 {
		t.Fatalf("present after HEAD requests: %v", p)
	}
	if logs := ta.logs.String(); strings.Contains(logs, "panic") {
		t.Fatalf("HEAD panicked:\n%s", logs)
	}
	// The session's real streams still open.
	for _, path := range streams {
		s := openStreamAt(t, rd.srv, member, path)
		if s.resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s after HEADs: %d", path, s.resp.StatusCode)
		}
		s.mustNext()
	}
}

// resetOnHijack hands the stream a connection whose client has already reset
// it: the client closes with RST as soon as the server takes the connection
// over, and the server sees the reset before it writes the first byte.
type resetOnHijack struct {
	http.ResponseWriter
	reset chan<- struct{} // the client resets when told
}

func (w resetOnHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.ResponseWriter.(http.Hijacker).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.reset <- struct{}{}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [1]byte
	conn.Read(buf[:]) // returns when the reset arrives
	return conn, rw, nil
}

// A stream (an issue's room, a group's page) whose client resets it before the
// first byte logs at most one debug line, nothing through the HTTP server's
// error log, and frees its slot.
func TestEventStreamResetBeforeFirstByte(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 1)
	var serverLog syncBuffer
	resets := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ta.app.ServeHTTP(resetOnHijack{ResponseWriter: w, reset: resets}, r)
	}))
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	before := strings.Count(ta.logs.String(), "\n")
	const n = 3
	for i := range 2 * n {
		path := fmt.Sprintf("/issues/%d/events", rd.issueID)
		if i%2 == 1 {
			path = fmt.Sprintf("/groups/%d/events", rd.groupID)
		}
		s := dialStreamAt(t, addr, path, cookieList(rd.members[0]))
		select {
		case <-resets:
		case <-time.After(5 * time.Second):
			t.Fatal("the stream was never taken over")
		}
		s.conn.(*net.TCPConn).SetLinger(0) // close with RST
		s.conn.Close()
	}
	testkit.Eventually(t, 5*time.Second, "every reset stream to be let go", func() bool { return ta.app.hub.Subscribers() == 0 })
	srv.Close() // the server's error log is complete once it is closed
	if got := serverLog.String(); got != "" {
		t.Fatalf("the HTTP server logged:\n%s", got)
	}
	var streamLines []string
	for _, line := range strings.Split(ta.logs.String(), "\n")[before:] {
		if line != "" && !strings.Contains(line, "msg=request") {
			streamLines = append(streamLines, line)
		}
	}
	if len(streamLines) > 2*n {
		t.Fatalf("%d log lines for %d resets, want at most one each:\n%s", len(streamLines), 2*n, strings.Join(streamLines, "\n"))
	}
	for _, line := range streamLines {
		if !strings.Contains(line, "level=DEBUG") {
			t.Fatalf("a reset stream logged above debug: %s", line)
		}
	}
}
