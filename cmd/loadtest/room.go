package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/time/rate"
)

// The room scenario: R rooms (groups) of M people, all live at once, as a
// company's planning day. Everyone holds their room's event stream open, as
// the room page does; in each round the M people vote one second apart, the
// owner reveals a second after the last vote, then starts the next issue, which
// moves every page of the room there in place: the stream each page has open
// sends the new room ("move"), then its states; no page load, no new stream. The rooms run side by side, their
// seconds spread evenly over the second (or all on the same instant with
// -room-aligned).
//
// Measured, per room and round:
//   - vote to every screen: from just before a vote's POST until every one of
//     the room's M streams has read a state counting it;
//   - reveal to every screen: from just before the reveal's POST until every
//     stream has read the revealed state;
//   - move to every screen: from just before the start POST until every page
//     has read the new room's first state on the stream it had open;
//
// and the server's peak RSS, and every error (a status other than the one
// expected, a stream that ends or is sent elsewhere, a stream opened again, a
// state that never comes).

// Targets of issue 17 at 500 rooms × 10 people.
const (
	roomVoteTarget   = 100 * time.Millisecond
	roomRevealTarget = 250 * time.Millisecond
	roomRSSTarget    = 256 << 10 // KiB
)

type roomOptions struct {
	steps   []int // the room counts, in order; each runs after the last one held
	people  int
	rounds  int
	aligned bool
}

func parseSteps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-rooms: %q is not a room count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

type person struct {
	cookie string
	base   string // the instance this person's browser talks to
	// tab is the id the room page makes up for itself and sends with its
	// htmx requests, its stream included (X-Estimator-Tab), as app.js does.
	tab string
}

type room struct {
	group  int64
	issues []int64
	next   int // index of the next issue to estimate
	people []*person
}

// roomWorld is the rooms set up for the scenario on one or more instances (one
// database).
type roomWorld struct {
	w     *world
	bases []string
	rooms []*room
	// client sends the scenario's POSTs and page loads: keep-alive, enough idle
	// connections that thousands of people do not redial each time.
	client *http.Client
	// dials counts the event streams opened: one per screen and step, since
	// a move keeps them.
	dials atomic.Int64
}

var joinLink = regexp.MustCompile(`/join/([A-Za-z0-9_-]{16,})`)

// setupRooms signs in n×people users over HTTP, spread over the instances:
// each room's owner creates its group and imports its issues, the others join
// with the invite link read off the group page. Issue ids are read from the
// database.
func setupRooms(ctx context.Context, w *world, dbPath string, bases []string, n, people, issues int) (*roomWorld, error) {
	rw := &roomWorld{w: w, bases: bases, client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute},
	}}
	rw.rooms = make([]*room, n)
	var rows strings.Builder
	for i := range issues {
		fmt.Fprintf(&rows, "LOAD-%d,Issue %d of the planning day\n", i+1, i+1)
	}
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var personN atomic.Int64
	for r := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := rw.setupRoom(ctx, r, people, rows.String(), &personN); err != nil {
				errs <- fmt.Errorf("room %d: %w", r, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	db, ph, err := openSeeded(dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, rm := range rw.rooms {
		rs, err := db.QueryContext(ctx, "SELECT id FROM issues WHERE group_id = "+ph+" ORDER BY id", rm.group)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return nil, err
			}
			rm.issues = append(rm.issues, id)
		}
		rs.Close()
		if len(rm.issues) != issues {
			return nil, fmt.Errorf("group %d has %d issues, want %d", rm.group, len(rm.issues), issues)
		}
	}
	return rw, nil
}

func (rw *roomWorld) setupRoom(ctx context.Context, r, people int, rows string, personN *atomic.Int64) error {
	rm := &room{}
	for p := range people {
		base := rw.bases[int(personN.Add(1))%len(rw.bases)]
		ck, _, err := rw.w.loginAt(base, fmt.Sprintf("room%dp%d", r, p), "")
		if err != nil {
			return err
		}
		rm.people = append(rm.people, &person{cookie: ck, base: base, tab: fmt.Sprintf("load-%d-%d", r, p)})
	}
	owner := rm.people[0]
	resp, err := rw.post(ctx, owner, "/creategroup", url.Values{"name": {fmt.Sprintf("Room %d", r)}}, false)
	if err != nil {
		return err
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/groups/") {
		return fmt.Errorf("create group: status %d, Location %q", resp.StatusCode, loc)
	}
	if rm.group, err = strconv.ParseInt(strings.TrimPrefix(loc, "/groups/"), 10, 64); err != nil {
		return fmt.Errorf("create group: Location %q", loc)
	}
	resp, err = rw.post(ctx, owner, fmt.Sprintf("/groups/%d/import", rm.group), url.Values{"rows": {rows}, "confirmed": {"1"}}, false)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("import: status %d", resp.StatusCode)
	}
	page, err := rw.get(ctx, owner, fmt.Sprintf("/groups/%d", rm.group))
	if err != nil {
		return err
	}
	m := joinLink.FindStringSubmatch(page)
	if m == nil {
		return errors.New("no invite link on the group page")
	}
	for _, p := range rm.people[1:] {
		resp, err := rw.post(ctx, p, "/join/"+m[1], nil, false)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("join: status %d", resp.StatusCode)
		}
	}
	rw.rooms[r] = rm
	return nil
}

// post sends a form as a browser would: with htmx (HX-Request) or as a plain
// form. The body is read and closed.
func (rw *roomWorld) post(ctx context.Context, p *person, path string, form url.Values, htmx bool) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", p.cookie)
	if htmx {
		req.Header.Set("HX-Request", "true")
		if p.tab != "" {
			req.Header.Set("X-Estimator-Tab", p.tab)
		}
	}
	resp, err := rw.client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// get loads a page as a browser does (gzip asked for; Go's transport then
// decompresses it) and returns its body.
func (rw *roomWorld) get(ctx context.Context, p *person, path string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	req.Header.Set("Cookie", p.cookie)
	resp, err := rw.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return string(b), nil
}

// roomStep is what one room count measured.
type roomStep struct {
	rooms, people, rounds  int
	votes, reveals, starts []time.Duration // to every screen, one per event
	screens                []time.Duration // vote to each screen, one per (vote, screen)
	// the POSTs' own answers
	votePosts, revealPosts, startPosts []time.Duration
	errors                             int
	firstErr                           string
	streamsOpened                      int64         // one per page: a move opens none
	peakRSS                            int           // KiB, the highest of the instances'
	cpu                                time.Duration // the instances' CPU time over the step
	clientCPU                          time.Duration // the load generator's
	wall                               time.Duration
	// settle is how long the step's pages took to open their streams and
	// read their first states, and a second more: the votes start after.
	settle time.Duration
}

func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[int(float64(len(ds)-1)*q+0.5)]
}

func (s *roomStep) held() bool {
	return s.errors == 0 && pct(s.votes, 0.99) <= roomVoteTarget && pct(s.reveals, 0.99) <= roomRevealTarget && s.peakRSS <= roomRSSTarget
}

// screen is one person's room page: its event stream, reconnected to the new
// room each time the group moves on.
type screen struct {
	rw  *roomWorld
	rm  *room
	idx int
	p   *person
	tr  *tracker
}

// tracker is what a room's screens have seen of its current issue.
type tracker struct {
	mu       sync.Mutex
	cond     *sync.Cond
	issue    int64
	ready    []time.Time   // the first state of the issue, per screen
	counts   [][]time.Time // [screen][n]: first time a state counted n votes
	revealed []time.Time
	errs     []string
	closed   bool
}

func newTracker(m int) *tracker {
	t := &tracker{ready: make([]time.Time, m), revealed: make([]time.Time, m), counts: make([][]time.Time, m)}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// reset starts tracking issue: what was seen of the last one is dropped.
func (t *tracker) reset(issue int64, m int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.issue = issue
	for i := range t.ready {
		t.ready[i], t.revealed[i] = time.Time{}, time.Time{}
		t.counts[i] = make([]time.Time, m+1)
	}
}

func (t *tracker) fail(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.errs = append(t.errs, fmt.Sprintf(format, args...))
	}
	t.cond.Broadcast()
}

// seen records one state of issue read by screen i at time at.
func (t *tracker) seen(i int, issue int64, at time.Time, count int, revealed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if issue != t.issue {
		return
	}
	if t.ready[i].IsZero() {
		t.ready[i] = at
	}
	c := t.counts[i]
	for n := min(count, len(c)-1); n >= 0 && c[n].IsZero(); n-- {
		c[n] = at
	}
	if revealed && t.revealed[i].IsZero() {
		t.revealed[i] = at
	}
	t.cond.Broadcast()
}

// most is the highest count of votes each screen has read a state of.
func (t *tracker) most() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]int, len(t.counts))
	for i, c := range t.counts {
		for n := len(c) - 1; n >= 0; n-- {
			if !c[n].IsZero() {
				out[i] = n
				break
			}
		}
	}
	return out
}

// all waits until every screen has got somewhere (when gives the time it did,
// zero until then), a screen fails, or the deadline. It returns when the last
// one got there, and whether they all did.
func (t *tracker) all(deadline time.Time, when func(i int) time.Time) (time.Time, bool) {
	stop := time.AfterFunc(time.Until(deadline), func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer stop.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.errs) == 0 {
		var last time.Time
		all := true
		for i := range t.ready {
			w := when(i)
			if w.IsZero() {
				all = false
				break
			}
			if w.After(last) {
				last = w
			}
		}
		if all {
			return last, true
		}
		if time.Now().After(deadline) {
			break
		}
		t.cond.Wait()
	}
	return time.Time{}, false
}

var (
	countMark = []byte(`data-testid="voted-count"`)
	countRe   = regexp.MustCompile(`data-testid="voted-count">(\d+) of`)
	stateRe   = regexp.MustCompile(`data-state="([a-z]+)"`)
	// movePathRe is the address of the room a move event brings.
	movePathRe = regexp.MustCompile(`id="room-head" data-path="(/issues/\d+)"`)
)

// watch keeps a screen's stream open: it reads states, and follows the
// group's moves on the same stream, as the room page does. It ends when ctx
// does, or the stream fails.
func (s *screen) watch(ctx context.Context, issue int64) {
	err := s.stream(ctx, issue)
	if ctx.Err() == nil && err != nil {
		s.tr.fail("room %d screen %d: %v", s.rm.group, s.idx, err)
	}
}

// stream reads the event stream of a room page opened on issue until it fails
// or ctx ends. A "move" event takes it to the issue it names; every state
// names its issue in its id.
func (s *screen) stream(ctx context.Context, issue int64) error {
	addr := strings.TrimPrefix(s.p.base, "http://")
	var d net.Dialer
	s.rw.dials.Add(1)
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })() // the step ends
	fmt.Fprintf(conn, "GET /issues/%d/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nHX-Request: true\r\nX-Estimator-Tab: %s\r\nCookie: %s\r\n\r\n",
		issue, addr, s.p.tab, s.p.cookie)
	r := bufio.NewReaderSize(conn, 4096)
	status, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("stream of issue %d: %w", issue, err)
	}
	if !strings.Contains(status, " 200 ") {
		return fmt.Errorf("stream of issue %d: %s", issue, strings.TrimSpace(status))
	}
	for { // the head
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
	}
	// The load generator shares the server's cores: it reads the lines as
	// bytes and looks only for the two it needs (the state and the count),
	// instead of keeping and searching whole events.
	name, target := "", ""
	count, state := -1, ""
	stateIssue := issue
	var tail, carry []byte
	// A line longer than the buffer comes in pieces (an event is one long
	// data line): each piece is searched, the count across pieces.
	start, isData := true, false
	for {
		piece, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("stream of issue %d ended: %w", issue, err)
		}
		ends := err == nil
		data := piece
		if start {
			isData = bytes.HasPrefix(piece, []byte("data: "))
			switch {
			case len(piece) == 1 && ends: // the blank line that ends an event
				at := time.Now()
				switch name {
				case "navigate":
					return fmt.Errorf("stream of issue %d sent the page to %q: a move should keep it", issue, target)
				case "move":
					id, err := strconv.ParseInt(strings.TrimPrefix(target, "/issues/"), 10, 64)
					if err != nil {
						return fmt.Errorf("a move to %q", target)
					}
					issue = id
				}
				if count >= 0 {
					s.tr.seen(s.idx, stateIssue, at, count, state == "revealed")
				}
				name, target, count, state, tail, stateIssue = "", "", -1, "", nil, issue
				continue
			case bytes.HasPrefix(piece, []byte("event: ")):
				name = string(bytes.TrimSpace(piece[len("event: "):]))
			case bytes.HasPrefix(piece, []byte("id: ")):
				// "ISSUE-VERSION": the issue the state is of.
				head, _, _ := bytes.Cut(bytes.TrimSpace(piece[len("id: "):]), []byte("-"))
				if id, err := strconv.ParseInt(string(head), 10, 64); err == nil {
					stateIssue = id
				}
			case isData:
				data = piece[len("data: "):]
				switch name {
				case "navigate":
					target = string(bytes.TrimSpace(data))
				case "move":
					if m := movePathRe.FindSubmatch(data); m != nil && target == "" {
						target = string(m[1])
					}
				}
				if m := stateRe.FindSubmatch(data); m != nil && state == "" {
					state = string(m[1])
				}
			}
		}
		if isData && count < 0 {
			// The count's mark may lie across two pieces: the end of the
			// last piece is searched with this one.
			if tail == nil && !start && len(carry) > 0 {
				data = append(append([]byte(nil), carry...), data...)
			}
			carry = append(carry[:0], data[max(0, len(data)-len(countMark)):]...)
			if tail != nil || bytes.Contains(data, []byte(`"voted-count"`)) {
				i := bytes.Index(data, countMark)
				if tail == nil && i > 0 {
					data = data[i:]
				}
				tail = append(tail, bytes.TrimRight(data, "\r\n")...)
				if m := countRe.FindSubmatch(tail); m != nil {
					count, _ = strconv.Atoi(string(m[1]))
					tail = nil
				} else if len(tail) > 256 {
					tail = nil // not the count after all
				}
			}
		}
		start = ends
	}
}

// runRoomStep runs the first n rooms for o.rounds rounds each.
func (rw *roomWorld) runRoomStep(ctx context.Context, pids []int, pprofs []string, n int, o roomOptions) (*roomStep, error) {
	st := &roomStep{rooms: n, people: o.people, rounds: o.rounds}
	stepCtx, cancel := context.WithCancel(ctx)
	defer cancel() // closes every stream of the step

	var rssMu sync.Mutex
	go func() { // the instances' peak RSS while the step runs
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stepCtx.Done():
				return
			case <-t.C:
			}
			for _, pid := range pids {
				rss := rssKiB(pid)
				rssMu.Lock()
				st.peakRSS = max(st.peakRSS, rss)
				rssMu.Unlock()
			}
		}
	}()

	var mu sync.Mutex
	record := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	startCh := make(chan time.Time, 1)
	var startOnce sync.Once
	var start time.Time
	// begin is when the rooms' first second starts (each room's phase is
	// added), once every room is ready.
	begin := func() time.Time {
		startOnce.Do(func() { start = <-startCh })
		return start
	}
	fail := func(format string, args ...any) {
		record(func() {
			st.errors++
			if st.firstErr == "" {
				st.firstErr = fmt.Sprintf(format, args...)
			}
		})
	}
	began := time.Now()
	// The votes start once every page has its stream open and its first
	// state, and the arrivals' renders have settled: the scenario is a
	// meeting in which everyone's page is open. Each room says it is ready
	// (or failed) once; start is the first room's first second.
	var ready sync.WaitGroup
	ready.Add(n)
	go func() {
		ready.Wait()
		startAt := time.Now().Add(time.Second)
		record(func() { st.settle = startAt.Sub(began) })
		startCh <- startAt
	}()
	var cpuBefore time.Duration
	for _, pid := range pids {
		cpuBefore += cpuTime(pid)
	}
	clientBefore := cpuTime(0)
	for i, addr := range pprofs {
		if addr == "" || profileDir == "" {
			continue
		}
		go func() {
			sleepUntil(stepCtx, begin())
			if err := saveProfile(stepCtx, addr, "profile?seconds=22", filepath.Join(profileDir, fmt.Sprintf("room-%d-instance-%d.pprof", n, i))); err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: profile:", err)
			}
			// What the heap holds then, every stream open.
			if err := saveProfile(stepCtx, addr, "heap", filepath.Join(profileDir, fmt.Sprintf("room-%d-instance-%d-heap.pprof", n, i))); err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: heap profile:", err)
			}
			// The same as text, with the runtime's memory figures (stacks,
			// heap in use and kept) at its end.
			if err := saveProfile(stepCtx, addr, "heap?debug=1", filepath.Join(profileDir, fmt.Sprintf("room-%d-instance-%d-heap.txt", n, i))); err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: heap figures:", err)
			}
		}()
	}
	dialsBefore := rw.dials.Load()
	var wg sync.WaitGroup
	// The streams of a step open at a bounded rate: thousands of dials at once
	// would overflow the listen backlog.
	dials := rate.NewLimiter(3200, 64)
	for r, rm := range rw.rooms[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			phase := time.Duration(0)
			if !o.aligned {
				phase = time.Duration(r) * time.Second / time.Duration(n)
			}
			var once sync.Once
			isReady := func() { once.Do(ready.Done) }
			defer isReady() // a room that failed before its screens were ready
			rw.runRoom(stepCtx, rm, func() time.Time { isReady(); return begin().Add(phase) }, o, dials, record, fail, st)
		}()
	}
	wg.Wait()
	st.wall = time.Since(began)
	st.streamsOpened = rw.dials.Load() - dialsBefore
	if pages := int64(n * o.people); st.streamsOpened > pages {
		fail("%d event streams opened for %d pages: a move should open none", st.streamsOpened, pages)
	}
	for _, pid := range pids {
		st.cpu += cpuTime(pid)
	}
	st.cpu -= cpuBefore
	st.clientCPU = cpuTime(0) - clientBefore
	cancel()
	for _, ds := range [][]time.Duration{st.votes, st.reveals, st.starts, st.screens, st.votePosts, st.revealPosts, st.startPosts} {
		slices.Sort(ds)
	}
	return st, nil
}

// runRoom runs one room's rounds: its screens opened on the first issue, then
// per round the votes a second apart, the reveal, and the start of the next
// issue.
func (rw *roomWorld) runRoom(ctx context.Context, rm *room, ready func() time.Time, o roomOptions, dials *rate.Limiter,
	record func(func()), fail func(string, ...any), st *roomStep) {
	m := len(rm.people)
	tr := newTracker(m)
	defer func() {
		tr.mu.Lock()
		tr.closed = true
		tr.mu.Unlock()
	}()
	owner := rm.people[0]
	if rm.next+o.rounds > len(rm.issues) {
		fail("room %d has no issues left", rm.group)
		return
	}
	issue := rm.issues[rm.next]
	rm.next++
	// The group starts the step's first issue; nobody's page is open yet.
	resp, err := rw.post(ctx, owner, fmt.Sprintf("/issues/%d/start", issue), nil, true)
	if err != nil || resp.StatusCode != http.StatusOK {
		fail("start: %v %v", err, statusOf(resp))
		return
	}
	tr.reset(issue, m)
	for i, p := range rm.people {
		s := &screen{rw: rw, rm: rm, idx: i, p: p, tr: tr}
		go func() {
			if dials.Wait(ctx) == nil {
				s.watch(ctx, issue)
			}
		}()
	}
	if _, ok := tr.all(time.Now().Add(20*time.Second), func(i int) time.Time { return tr.ready[i] }); !ok {
		fail("room %d: screens not ready: %v", rm.group, tr.errs)
		return
	}
	// Every room's screens are ready: this room's first second.
	at := ready()
	for round := range o.rounds {
		if round > 0 {
			issue = rm.issues[rm.next]
			rm.next++
			tr.reset(issue, m)
			t0 := time.Now()
			resp, err := rw.post(ctx, owner, fmt.Sprintf("/issues/%d/start", issue), nil, true)
			if err != nil || resp.StatusCode != http.StatusOK {
				fail("start: %v %v", err, statusOf(resp))
				return
			}
			answered := time.Since(t0)
			record(func() { st.startPosts = append(st.startPosts, answered) })
			last, ok := tr.all(t0.Add(10*time.Second), func(i int) time.Time { return tr.ready[i] })
			if !ok {
				fail("room %d: not every page reached issue %d: %v", rm.group, issue, tr.errs)
				return
			}
			d := last.Sub(t0)
			record(func() { st.starts = append(st.starts, d) })
			// The next round keeps the room's phase in the second.
			at = at.Add(time.Duration(m+2) * time.Second)
			for at.Before(time.Now()) {
				at = at.Add(time.Second)
			}
		}
		// The votes, one second apart.
		sent := make([]time.Time, m)
		for j, p := range rm.people {
			sleepUntil(ctx, at.Add(time.Duration(j)*time.Second))
			sent[j] = time.Now()
			resp, err := rw.post(ctx, p, fmt.Sprintf("/issues/%d/estimate", issue),
				url.Values{"estimate": {strconv.Itoa(scale[rand.IntN(len(scale))])}}, true)
			if err != nil || resp.StatusCode != http.StatusOK {
				fail("vote: %v %v", err, statusOf(resp))
				return
			}
			answered := time.Since(sent[j])
			record(func() { st.votePosts = append(st.votePosts, answered) })
		}
		if _, ok := tr.all(time.Now().Add(10*time.Second), func(i int) time.Time { return tr.counts[i][m] }); !ok {
			fail("room %d: not every screen counted %d votes (the most each counted: %v) %v", rm.group, m, tr.most(), tr.errs)
			return
		}
		tr.mu.Lock()
		for j := range m {
			var every time.Time
			for i := range m {
				seen := tr.counts[i][j+1]
				d := seen.Sub(sent[j])
				if i != j { // the voter's own screen also has the POST's answer
					record(func() { st.screens = append(st.screens, d) })
				}
				if seen.After(every) {
					every = seen
				}
			}
			d := every.Sub(sent[j])
			record(func() { st.votes = append(st.votes, d) })
		}
		tr.mu.Unlock()
		// The owner reveals a second after the last vote.
		sleepUntil(ctx, at.Add(time.Duration(m)*time.Second))
		t0 := time.Now()
		resp, err := rw.post(ctx, owner, fmt.Sprintf("/issues/%d/reveal", issue), nil, true)
		if err != nil || resp.StatusCode != http.StatusOK {
			fail("reveal: %v %v", err, statusOf(resp))
			return
		}
		answered := time.Since(t0)
		record(func() { st.revealPosts = append(st.revealPosts, answered) })
		last, ok := tr.all(t0.Add(10*time.Second), func(i int) time.Time { return tr.revealed[i] })
		if !ok {
			fail("room %d: not every screen saw the reveal: %v", rm.group, tr.errs)
			return
		}
		d := last.Sub(t0)
		record(func() { st.reveals = append(st.reveals, d) })
	}
}

// saveProfile saves one of a -profile build's profiles (what: "profile?seconds=22"
// for 22 s of its CPU, "heap" for its memory).
func saveProfile(ctx context.Context, addr, what, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/"+what, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", addr, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func statusOf(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return "status " + strconv.Itoa(resp.StatusCode)
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// runRooms sets up the largest room count and runs every step in order,
// those after a step that missed a target included: how it grows past what
// holds is part of the report.
func runRooms(ctx context.Context, w *world, dbPath string, srvs []*server, o roomOptions, say func(string, ...any)) ([]*roomStep, error) {
	var bases, pprofs []string
	var pids []int
	for _, s := range srvs {
		bases, pprofs, pids = append(bases, s.base), append(pprofs, s.pprof), append(pids, s.cmd.Process.Pid)
	}
	most := slices.Max(o.steps)
	issues := 0
	for range o.steps {
		issues += o.rounds
	}
	say("room scenario: signing in %d people into %d rooms", most*o.people, most)
	rw, err := setupRooms(ctx, w, dbPath, bases, most, o.people, issues)
	if err != nil {
		return nil, err
	}
	var out []*roomStep
	for _, n := range o.steps {
		say("room scenario: %d rooms × %d people, %d rounds", n, o.people, o.rounds)
		st, err := rw.runRoomStep(ctx, pids, pprofs, n, o)
		if err != nil {
			return out, err
		}
		out = append(out, st)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		time.Sleep(2 * time.Second) // the last step's streams close
	}
	return out, nil
}

func printRooms(title string, steps []*roomStep) {
	fmt.Printf("\n%s\n", title)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rooms × people\tstreams\tvote→every screen p50\tp99\tvote→a screen p50\tp99\treveal→every screen p50\tp99\tmove→every page p50\tp99\terrors\tpeak RSS MiB\ttargets\t")
	largest := 0
	for _, s := range steps {
		ok := "held"
		if !s.held() {
			ok = "missed"
		} else {
			largest = max(largest, s.rooms)
		}
		fmt.Fprintf(tw, "%d × %d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.1f\t%s\t\n", s.rooms, s.people, s.streamsOpened,
			msf(pct(s.votes, 0.5)), msf(pct(s.votes, 0.99)), msf(pct(s.screens, 0.5)), msf(pct(s.screens, 0.99)),
			msf(pct(s.reveals, 0.5)), msf(pct(s.reveals, 0.99)), msf(pct(s.starts, 0.5)), msf(pct(s.starts, 0.99)),
			s.errors, float64(s.peakRSS)/1024, ok)
	}
	tw.Flush()
	fmt.Printf("times in ms; targets: vote→every screen p99 ≤ %d ms, reveal→every screen p99 ≤ %d ms, no errors, RSS ≤ %d MiB\n",
		roomVoteTarget.Milliseconds(), roomRevealTarget.Milliseconds(), roomRSSTarget>>10)
	fmt.Printf("largest room count that held: %d\n", largest)
	for _, s := range steps {
		fmt.Printf("%d rooms: every page open with its first state after %.1f s, the votes a second later; the POSTs' own answers, p50/p99 ms: vote %.1f/%.1f, reveal %.1f/%.1f, start %.1f/%.1f; server CPU %.1f s in %.1f s (%.0f %% of a core), %.2f ms per vote with its share of the rest; load generator CPU %.1f s\n", s.rooms,
			(s.settle - time.Second).Seconds(),
			msf(pct(s.votePosts, 0.5)), msf(pct(s.votePosts, 0.99)), msf(pct(s.revealPosts, 0.5)), msf(pct(s.revealPosts, 0.99)),
			msf(pct(s.startPosts, 0.5)), msf(pct(s.startPosts, 0.99)), s.cpu.Seconds(), s.wall.Seconds(), 100*s.cpu.Seconds()/s.wall.Seconds(),
			msf(s.cpu/time.Duration(max(len(s.votes), 1))), s.clientCPU.Seconds())
	}
	for _, s := range steps {
		if s.firstErr != "" {
			fmt.Printf("%d rooms: first error: %s\n", s.rooms, s.firstErr)
		}
	}
}
