package live

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"estimator/internal/testkit"
)

// world is a broker over a small set of topics kept in memory, served by a
// plain net/http server: what a page subscribes to and what it is sent.
type world struct {
	t   testing.TB
	b   *Broker
	srv *httptest.Server
	log *lockedBuffer

	mu       sync.Mutex
	state    map[int64]string           // topic → its current text (-group: a group's page)
	audience map[int64]map[int64]string // topic → user → audience
	gone     map[int64]bool
	alive    map[int64]bool // session → still signed in (absent: yes)
	renders  map[int64]int  // topic → how many times it was loaded (Render)
	// bodies counts the frames rendered: topic → "audience/lang" → renders.
	bodies map[int64]map[string]int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newWorld(t testing.TB, configure ...func(*Config)) *world {
	t.Helper()
	w := &world{t: t, log: &lockedBuffer{}, state: map[int64]string{}, audience: map[int64]map[int64]string{},
		gone: map[int64]bool{}, alive: map[int64]bool{}}
	cfg := Config{
		Render: w.render,
		Alive: func(_ context.Context, v Viewer) (bool, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			alive, known := w.alive[v.Session]
			return alive || !known, nil
		},
		Exit: func(why Reason, topic, group int64) string {
			return fmt.Sprintf("/exit/%d/%d/%d", why, topic, group)
		},
		Heartbeat: time.Hour,
		Logger:    slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range configure {
		f(&cfg)
	}
	w.b = New(cfg)
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(func() {
		w.b.Close()
		w.srv.Close()
	})
	return w
}

// set makes topic's state text, with who may watch it and in which audience.
func (w *world) set(topic int64, text string, audience map[int64]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state[topic] = text
	w.audience[topic] = audience
}

// pageOf is the world's key of a group's own page (topic 0 of the group).
func pageOf(group int64) int64 { return -group }

func (w *world) render(_ context.Context, topic, group int64, present map[int64]bool) (Frames, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if topic == 0 {
		topic = pageOf(group)
	}
	if w.gone[topic] {
		return Frames{}, fmt.Errorf("topic %d: %w", topic, ErrGone)
	}
	if w.renders == nil {
		w.renders = map[int64]int{}
	}
	w.renders[topic]++
	text, here := w.state[topic], len(present)
	f := Frames{Audience: map[int64]string{}, Body: func(_ context.Context, aud, lang string) ([]byte, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.bodies == nil {
			w.bodies = map[int64]map[string]int{}
		}
		if w.bodies[topic] == nil {
			w.bodies[topic] = map[string]int{}
		}
		w.bodies[topic][aud+"/"+lang]++
		return fmt.Appendf(nil, "%s for %s, %d here%s", text, aud, here, in(lang)), nil
	}}
	for user, aud := range w.audience[topic] {
		f.Audience[user] = aud
	}
	return f, nil
}

// in is what the world's renders add for a language ("" for none).
func in(lang string) string {
	if lang == "" {
		return ""
	}
	return " in " + lang
}

// serve is the page's stream: /?topic=&group=&user=&session=.
func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	n := func(k string) int64 {
		var v int64
		fmt.Sscan(r.URL.Query().Get(k), &v)
		return v
	}
	subscribe := w.b.Subscribe
	if n("moved") == 1 {
		subscribe = w.b.SubscribeMoved
	}
	sub, err := subscribe(n("topic"), n("group"), Viewer{User: n("user"), Session: n("session"), Lang: r.URL.Query().Get("lang"), Tab: r.URL.Query().Get("tab")})
	switch {
	case errors.Is(err, ErrSessionFull):
		http.Error(rw, "session full", http.StatusTooManyRequests)
		return
	case err != nil:
		http.Error(rw, "full", http.StatusServiceUnavailable)
		return
	}
	w.b.Serve(rw, r, sub)
}

// event is one server-sent event, or a comment (name "comment").
type event struct{ name, id, data string }

type client struct {
	t      testing.TB
	resp   *http.Response
	cancel context.CancelFunc
	events chan event
}

func (w *world) open(topic, group, user, session int64) *client {
	w.t.Helper()
	return w.openAt(fmt.Sprintf("%s/?topic=%d&group=%d&user=%d&session=%d", w.srv.URL, topic, group, user, session))
}

func (w *world) openAt(url string) *client {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		cancel()
		w.t.Fatal(err)
	}
	c := &client{t: w.t, resp: resp, cancel: cancel, events: make(chan event, 64)}
	if resp.StatusCode == http.StatusOK {
		go c.read()
	} else {
		close(c.events)
	}
	w.t.Cleanup(c.close)
	return c
}

func (c *client) read() {
	defer close(c.events)
	r := testkit.NewReader(c.resp.Body)
	for {
		ev, err := r.Next()
		if err != nil {
			return
		}
		if ev.Comment {
			c.events <- event{name: "comment", data: ev.Data}
			continue
		}
		c.events <- event{name: ev.Name, id: ev.ID, data: ev.Data}
	}
}

func (c *client) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next is the next event other than a comment; ok false when the stream ended
// or nothing came in time.
func (c *client) next() (event, bool) { return c.nextWithin(5 * time.Second) }

func (c *client) nextWithin(d time.Duration) (event, bool) {
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return event{}, false
			}
			if ev.name != "comment" {
				return ev, true
			}
		case <-deadline:
			return event{}, false
		}
	}
}

// want waits for an event with data, skipping states before it (presence
// changes may come first).
func (c *client) want(data string) {
	c.t.Helper()
	var seen []string
	for {
		ev, ok := c.next()
		if !ok {
			c.t.Fatalf("no event %q; got %q", data, seen)
		}
		if ev.data == data {
			return
		}
		seen = append(seen, ev.data)
	}
}

// ended checks the stream ends, after a navigate event to target if it is set
// (states sent before it are skipped).
func (c *client) ended(target string) {
	c.t.Helper()
	for {
		ev, ok := c.next()
		if !ok {
			if target != "" {
				c.t.Fatalf("ended without a navigate event to %q", target)
			}
			return
		}
		if ev.name == "navigate" {
			if ev.data != target {
				c.t.Fatalf("navigate to %q, want %q", ev.data, target)
			}
			if ev, ok := c.next(); ok {
				c.t.Fatalf("stream goes on after navigate: %+v", ev)
			}
			return
		}
	}
}

// eventually waits for cond, or fails with what.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, what, cond)
}

func TestFanOutReachesEverySubscriberOncePerChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 200
	audience := map[int64]string{1: "owner"}
	for u := int64(2); u <= n; u++ {
		audience[u] = "member"
	}
	w.set(7, "v1", audience)
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = w.open(7, 3, int64(i+1), int64(100+i))
	}
	for i, c := range clients {
		ev, ok := c.next()
		if !ok || !strings.HasPrefix(ev.data, "v1 for ") {
			t.Fatalf("client %d: first event %+v", i, ev)
		}
	}
	// Presence settles once every stream is counted.
	eventually(t, "presence of all", func() bool { return len(w.b.Present(7)) == n })
	w.set(7, "v2", audience)
	w.b.TopicChanged(7)
	for i, c := range clients {
		aud := "member"
		if i == 0 {
			aud = "owner"
		}
		want := fmt.Sprintf("v2 for %s, %d here", aud, n)
		for {
			ev, ok := c.next()
			if !ok {
				t.Fatalf("client %d: no v2", i)
			}
			if strings.HasPrefix(ev.data, "v2") {
				if ev.data != want {
					t.Fatalf("client %d: %q, want %q", i, ev.data, want)
				}
				break
			}
		}
	}
	// A change to another topic reaches nobody here.
	w.set(8, "other", map[int64]string{1: "owner"})
	w.b.TopicChanged(8)
	select {
	case ev := <-clients[1].events:
		t.Fatalf("a change to another topic arrived: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestEventIDsGrowAndAReconnectStartsWithTheCurrentState(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "a", map[int64]string{5: "member"})
	c := w.open(1, 1, 5, 50)
	first, _ := c.next()
	w.set(1, "b", map[int64]string{5: "member"})
	w.b.TopicChanged(1)
	second, _ := c.next()
	if first.id == "" || second.id == "" || first.id == second.id {
		t.Fatalf("event ids %q then %q", first.id, second.id)
	}
	c.close()
	eventually(t, "the closed stream gone", func() bool { return w.b.Subscribers() == 0 })
	again := w.open(1, 1, 5, 50)
	again.want("b for member, 1 here")
}

func TestLimitsPerSessionAndInTotal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *Config) { c.MaxStreams, c.MaxStreamsPerSession = 3, 2 })
	w.set(1, "s", map[int64]string{1: "member", 2: "member"})
	a1, a2 := w.open(1, 1, 1, 10), w.open(1, 1, 1, 10)
	a1.next()
	a2.next()
	if c := w.open(1, 1, 1, 10); c.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third stream of a session: %d", c.resp.StatusCode)
	}
	if _, err := w.b.Subscribe(1, 1, Viewer{User: 1, Session: 10}); !errors.Is(err, ErrSessionFull) {
		t.Fatalf("Subscribe over the session cap: %v", err)
	}
	w.open(1, 1, 2, 20).next()
	if c := w.open(1, 1, 2, 21); c.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stream over the total cap: %d", c.resp.StatusCode)
	}
	// A closed stream gives its slot back.
	a1.close()
	eventually(t, "a slot freed", func() bool { return w.b.Subscribers() == 2 })
	w.open(1, 1, 1, 10).want("s for member, 2 here")
}

// A client that stops reading is dropped after the write timeout; the others
// keep getting every change meanwhile.
func TestSlowSubscriberIsDroppedWithoutStallingOthers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *Config) { c.WriteTimeout = 200 * time.Millisecond })
	big := strings.Repeat("x", 256<<10) // fills the socket buffers quickly
	aud := map[int64]string{1: "member", 2: "member"}
	w.set(1, big+"0", aud)

	// The slow one: a bare connection that never reads.
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /?topic=1&group=1&user=1&session=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	eventually(t, "the slow one subscribed", func() bool { return w.b.Subscribers() == 1 })

	fast := w.open(1, 1, 2, 2)
	for i := 1; w.b.Subscribers() == 2; i++ {
		if i > 200 {
			t.Fatal("the slow subscriber was never dropped")
		}
		w.set(1, fmt.Sprintf("%s%d", big, i), aud)
		w.b.TopicChanged(1)
		// The fast one gets every state, in order, whatever the slow one does.
		for {
			ev, ok := fast.next()
			if !ok {
				t.Fatalf("the fast subscriber stalled at change %d", i)
			}
			if strings.HasPrefix(ev.data, fmt.Sprintf("%s%d ", big, i)) {
				break
			}
		}
	}
}

// What a subscriber that cannot keep up receives is the latest state, not a
// backlog: changes while it is busy coalesce.
func TestBusySubscriberGetsOnlyTheLatestState(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	aud := map[int64]string{1: "member"}
	w.set(1, "0", aud)
	sub, err := w.b.Subscribe(1, 1, Viewer{User: 1, Session: 1})
	if err != nil {
		t.Fatal(err)
	}
	sink := &blockingSink{release: make(chan struct{}), got: make(chan string, 100)}
	go w.b.pump(sub, sink, nil)
	first := <-sink.got // the first state went out; the next write blocks
	if !strings.HasPrefix(first, "0 ") {
		t.Fatalf("first state %q", first)
	}
	for i := 1; i <= 20; i++ {
		w.set(1, fmt.Sprint(i), aud)
		w.b.TopicChanged(1)
	}
	eventually(t, "the last change rendered", func() bool {
		fs := sub.t.current.Load()
		return fs != nil && strings.Contains(string(fs.wire[face{"member", ""}]), "data: 20 ")
	})
	close(sink.release)
	var got []string
	for {
		select {
		case s := <-sink.got:
			got = append(got, s)
			if strings.HasPrefix(s, "20 ") {
				if len(got) > 2 {
					t.Fatalf("a backlog was sent: %q", got)
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the latest state never came; got %q", got)
		}
	}
}

type blockingSink struct {
	release chan struct{}
	got     chan string
	writes  int
}

func (s *blockingSink) write(ps ...[]byte) error {
	if len(ps) == 0 {
		return nil
	}
	if s.writes > 0 {
		<-s.release
	}
	s.writes++
	if data, ok := strings.CutPrefix(lastData(bytes.Join(ps, nil)), "data: "); ok {
		s.got <- data
	}
	return nil
}

func (s *blockingSink) close() {}

func lastData(p []byte) string {
	for _, line := range strings.Split(string(p), "\n") {
		if strings.HasPrefix(line, "data: ") {
			return line
		}
	}
	return ""
}

// A client that vanishes (closes its connection without a word) is noticed:
// its slot is freed and the others see it gone from the presence count.
func TestVanishedSubscriberIsNoticed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "s", map[int64]string{1: "member", 2: "member"})
	stay := w.open(1, 1, 1, 1)
	stay.want("s for member, 1 here")

	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /?topic=1&group=1&user=2&session=2 HTTP/1.1\r\nHost: x\r\n\r\n")
	stay.want("s for member, 2 here")
	conn.Close()
	stay.want("s for member, 1 here")
	eventually(t, "the slot freed", func() bool { return w.b.Subscribers() == 1 })
	if p := w.b.Present(1); len(p) != 1 || !p[1] {
		t.Fatalf("present %v", p)
	}
}

func TestHeartbeatWhileIdle(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *Config) { c.Heartbeat = 20 * time.Millisecond })
	w.set(1, "s", map[int64]string{1: "member"})
	c := w.open(1, 1, 1, 1)
	c.want("s for member, 1 here")
	for range 2 {
		select {
		case ev := <-c.events:
			if ev.name != "comment" || ev.data != "ping" {
				t.Fatalf("idle stream got %+v, want a heartbeat comment", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
}

// Sessions that end without a notice (expiry, another process) are found by
// the heartbeat's check; their pages go to the sign-in exit.
func TestHeartbeatClosesStreamsOfEndedSessions(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *Config) { c.Heartbeat = 20 * time.Millisecond })
	w.set(4, "s", map[int64]string{1: "member", 2: "member"})
	ended, stays := w.open(4, 9, 1, 11), w.open(4, 9, 2, 22)
	ended.next()
	stays.next()
	w.mu.Lock()
	w.alive[11] = false
	w.mu.Unlock()
	ended.ended(fmt.Sprintf("/exit/%d/4/9", SignedOut))
	stays.want("s for member, 1 here")
}

func TestNoticesCloseTheStreamsTheyName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	all := map[int64]string{1: "owner", 2: "member", 3: "member"}
	w.set(1, "one", all)
	w.set(2, "two", all)
	w.set(3, "three", map[int64]string{1: "owner"})
	// Topics 1 and 2 are in group 10, topic 3 in group 20.
	owner1, member1, other1 := w.open(1, 10, 1, 1), w.open(1, 10, 2, 2), w.open(1, 10, 3, 3)
	member2 := w.open(2, 10, 2, 2)
	owner3 := w.open(3, 20, 1, 1)
	member2.next()
	owner3.next()
	owner1.want("one for owner, 3 here")
	member1.want("one for member, 3 here")
	other1.want("one for member, 3 here")

	// Member 3 leaves group 10: its stream closes, the others are told again.
	delete(all, 3)
	w.set(1, "one", all)
	w.b.MemberLeft(10, 3, 0)
	other1.ended(fmt.Sprintf("/exit/%d/1/10", Removed))
	owner1.want("one for owner, 2 here")

	// Member 2's session is signed out: both its streams close.
	w.b.SessionsEnded([]int64{2})
	member1.ended(fmt.Sprintf("/exit/%d/1/10", SignedOut))
	member2.ended(fmt.Sprintf("/exit/%d/2/10", SignedOut))

	// Topic 1 is deleted.
	w.b.TopicDeleted(1)
	owner1.ended(fmt.Sprintf("/exit/%d/1/10", TopicGone))

	// Group 20 is deleted.
	w.b.GroupDeleted(20)
	owner3.ended(fmt.Sprintf("/exit/%d/3/20", Removed))
	eventually(t, "every stream gone", func() bool { return w.b.Subscribers() == 0 })
}

// A group's own page is topic 0 of the group: a topic of its own beside the
// group's other topics, told apart by its group.
func TestGroupPagesAreTopicsOfTheirOwn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(pageOf(10), "page 10", map[int64]string{1: "owner", 2: "member"})
	w.set(pageOf(20), "page 20", map[int64]string{1: "owner"})
	w.set(5, "room 5", map[int64]string{1: "owner", 2: "member"})
	owner10, member10 := w.open(0, 10, 1, 1), w.open(0, 10, 2, 2)
	owner20 := w.open(0, 20, 1, 1)
	room := w.open(5, 10, 2, 2)
	owner10.want("page 10 for owner, 2 here")
	member10.want("page 10 for member, 2 here")
	owner20.want("page 20 for owner, 1 here")
	room.want("room 5 for member, 1 here")
	if p := w.b.Present(0); len(p) != 0 {
		t.Fatalf("Present(0) = %v: a group's page is nobody's room", p)
	}

	// A change the group's page shows reaches that page only.
	w.set(pageOf(10), "page 10 v2", map[int64]string{1: "owner", 2: "member"})
	w.set(5, "room 5 v2", map[int64]string{1: "owner", 2: "member"})
	w.b.GroupPageChanged(10)
	owner10.want("page 10 v2 for owner, 2 here")
	member10.want("page 10 v2 for member, 2 here")
	if ev, ok := room.nextWithin(200 * time.Millisecond); ok {
		t.Fatalf("the room got %+v from a change of the group's page", ev)
	}
	// TopicChanged(0) names no topic: it reaches no group's page.
	w.set(pageOf(20), "page 20 v2", map[int64]string{1: "owner"})
	w.b.TopicChanged(0)
	if ev, ok := owner20.nextWithin(200 * time.Millisecond); ok {
		t.Fatalf("TopicChanged(0) reached a group's page: %+v", ev)
	}
	// A group page's viewer signed out goes to the sign-in exit of the page.
	w.b.SessionsEnded([]int64{2})
	member10.ended(fmt.Sprintf("/exit/%d/0/10", SignedOut))
	room.ended(fmt.Sprintf("/exit/%d/5/10", SignedOut))
	// A deleted group closes its page.
	w.b.GroupDeleted(20)
	owner20.ended(fmt.Sprintf("/exit/%d/0/20", Removed))
	owner10.want("page 10 v2 for owner, 1 here")
}

// GroupMoved takes every page of the group to the topic it moved to (Moved's
// exit names that topic); that topic's own pages stay and get its state again,
// and other groups are left alone.
func TestGroupMovedTakesTheGroupsPagesToTheTopic(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	both := map[int64]string{1: "owner", 2: "member"}
	w.set(pageOf(10), "page", both)
	w.set(5, "room 5", both)
	w.set(6, "room 6", both)
	w.set(7, "room 7", both) // group 20
	page, room5, room6 := w.open(0, 10, 2, 2), w.open(5, 10, 2, 2), w.open(6, 10, 1, 1)
	other := w.open(7, 20, 1, 1)
	page.want("page for member, 1 here")
	room5.want("room 5 for member, 1 here")
	room6.want("room 6 for owner, 1 here")
	other.want("room 7 for owner, 1 here")

	w.set(6, "room 6 started", both)
	w.b.GroupMoved(10, 6)
	page.ended(fmt.Sprintf("/exit/%d/6/10", Moved))
	room5.ended(fmt.Sprintf("/exit/%d/6/10", Moved))
	room6.want("room 6 started for owner, 1 here")
	if ev, ok := other.nextWithin(200 * time.Millisecond); ok {
		t.Fatalf("another group's room got %+v", ev)
	}
	eventually(t, "the moved pages gone", func() bool { return w.b.Subscribers() == 2 })
}

// A render that finds the topic gone, or the viewer no longer in its
// audience, closes the streams without any notice.
func TestRenderClosesStreamsOfGoneTopicsAndViewers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "s", map[int64]string{1: "owner", 2: "member"})
	owner, member := w.open(1, 5, 1, 1), w.open(1, 5, 2, 2)
	owner.next()
	member.next()
	w.set(1, "s", map[int64]string{1: "owner"})
	w.b.GroupChanged(5)
	member.ended(fmt.Sprintf("/exit/%d/1/5", Removed))
	w.mu.Lock()
	w.gone[1] = true
	w.mu.Unlock()
	w.b.TopicChanged(1)
	for {
		ev, ok := owner.next()
		if !ok {
			t.Fatal("ended without a navigate event")
		}
		if ev.name == "navigate" {
			if want := fmt.Sprintf("/exit/%d/1/5", TopicGone); ev.data != want {
				t.Fatalf("navigate to %q, want %q", ev.data, want)
			}
			break
		}
	}
}

// Two brokers on one bus stand for two instances: a change published on one
// reaches the pages served by the other.
func TestNoticesTravelOverTheBus(t *testing.T) {
	t.Parallel()
	bus := NewLocalBus()
	a := newWorld(t, func(c *Config) { c.Bus = bus })
	b := newWorld(t, func(c *Config) { c.Bus = bus })
	aud := map[int64]string{1: "member"}
	a.set(1, "v1", aud)
	b.set(1, "v1", aud)
	onB := b.open(1, 1, 1, 1)
	onB.want("v1 for member, 1 here")
	b.set(1, "v2", aud) // the shared database, as b reads it
	a.b.TopicChanged(1)
	onB.want("v2 for member, 1 here")
	a.b.SessionsEnded([]int64{1})
	onB.ended(fmt.Sprintf("/exit/%d/1/1", SignedOut))
}

func TestCloseEndsStreamsAndRefusesNewOnes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "s", map[int64]string{1: "member"})
	c := w.open(1, 1, 1, 1)
	c.next()
	w.b.Close()
	c.ended("")
	eventually(t, "no subscribers", func() bool { return w.b.Subscribers() == 0 })
	if _, err := w.b.Subscribe(1, 1, Viewer{User: 1, Session: 1}); !errors.Is(err, ErrFull) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	w.b.Close() // twice is fine
}

// Without a connection to take over (HTTP/2, a recorder), the stream is served
// in the request's goroutine through the ResponseWriter.
func TestServeWithoutHijacking(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "s", map[int64]string{1: "member"})
	sub, err := w.b.Subscribe(1, 1, Viewer{User: 1, Session: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{}, 16)}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	done := make(chan struct{})
	go func() {
		w.b.Serve(rec, req, sub)
		close(done)
	}()
	<-rec.flushed
	w.b.Close()
	<-done
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
		t.Fatalf("Content-Type %q", got)
	}
	if body := rec.Body.String(); !strings.Contains(body, "data: s for member, 1 here\n\n") {
		t.Fatalf("body %q", body)
	}
}

type flushRecorder struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	flushed chan struct{}
}

func (r *flushRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ResponseRecorder.Write(p)
}

func (r *flushRecorder) Flush() {
	r.flushed <- struct{}{}
}

// A client that resets its connection before the first byte costs one debug
// line and its slot back, and nothing is written through the ResponseWriter
// of a connection that is no longer the server's.
func TestResetBeforeFirstByte(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "s", map[int64]string{1: "member"})
	sub, err := w.b.Subscribe(1, 1, Viewer{User: 1, Session: 1})
	if err != nil {
		t.Fatal(err)
	}
	server, client := net.Pipe()
	client.Close() // the reset: every write of the server fails
	rw := &hijackable{header: http.Header{}, conn: server}
	w.b.Serve(rw, httptest.NewRequest(http.MethodGet, "/", nil), sub)
	if rw.written {
		t.Fatal("written through the ResponseWriter after the hijack")
	}
	if n := w.b.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after the reset", n)
	}
	lines := strings.Split(strings.TrimSpace(w.log.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=DEBUG") {
		t.Fatalf("logged %q, want one debug line", lines)
	}
}

type hijackable struct {
	header  http.Header
	conn    net.Conn
	written bool
}

func (h *hijackable) Header() http.Header { return h.header }
func (h *hijackable) Write(p []byte) (int, error) {
	h.written = true
	return len(p), nil
}
func (h *hijackable) WriteHeader(int) { h.written = true }
func (h *hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(io.Discard)), nil
}

func TestEncodeEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, id, data, want string
	}{
		{"", "3", "<p>hi</p>", "id: 3\ndata: <p>hi</p>\n\n"},
		{"navigate", "", "/login", "event: navigate\ndata: /login\n\n"},
		{"", "", "a\r\nb\nc", "data: a\ndata: b\ndata: c\n\n"},
		{"", "", "", "data: \n\n"},
	} {
		if got := string(encodeEvent(tc.name, tc.id, []byte(tc.data))); got != tc.want {
			t.Errorf("encodeEvent(%q, %q, %q) = %q, want %q", tc.name, tc.id, tc.data, got, tc.want)
		}
	}
}

// TestResyncRendersEveryTopic: after a Resync notice (a transport between
// instances lost notices) every open topic is rendered from the current state,
// and a viewer who lost access meanwhile is closed.
func TestResyncRendersEveryTopic(t *testing.T) {
	t.Parallel()
	bus := NewLocalBus()
	w := newWorld(t, func(c *Config) { c.Bus = bus })
	w.set(1, "one", map[int64]string{1: "member"})
	w.set(2, "two", map[int64]string{1: "member", 2: "member"})
	c1, c2, gone := w.open(1, 1, 1, 1), w.open(2, 1, 1, 2), w.open(2, 1, 2, 3)
	c1.want("one for member, 1 here")
	c2.want("two for member, 2 here")
	gone.want("two for member, 2 here")
	// Changes whose notices never arrived.
	w.set(1, "one'", map[int64]string{1: "member"})
	w.set(2, "two'", map[int64]string{1: "member"})
	bus.Publish(context.Background(), Notice{Kind: Resync})
	c1.want("one' for member, 1 here")
	c2.want("two' for member, 1 here")
	gone.ended(fmt.Sprintf("/exit/%d/2/1", Removed))
}

// A room's people arriving within moments of each other (the facilitator moved
// the group) are shown by a render or two, not one each, and the last event
// every page gets counts them all; a change of the topic itself is still
// rendered at once.
func TestArrivalsShareARender(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *Config) { c.PresenceDelay = time.Second })
	const n = 10
	audience := map[int64]string{}
	for u := int64(1); u <= n; u++ {
		audience[u] = "member"
	}
	w.set(5, "v1", audience)
	first := w.open(5, 2, 1, 101)
	if ev, ok := first.next(); !ok || ev.data != "v1 for member, 1 here" {
		t.Fatalf("first event %+v", ev)
	}
	w.mu.Lock()
	before := w.renders[5]
	w.mu.Unlock()
	clients := []*client{first}
	for u := int64(2); u <= n; u++ {
		clients = append(clients, w.open(5, 2, u, 100+u))
	}
	want := fmt.Sprintf("v1 for member, %d here", n)
	for i, c := range clients {
		for {
			ev, ok := c.next()
			if !ok {
				t.Fatalf("client %d never saw everyone here", i)
			}
			if ev.data == want {
				break
			}
		}
	}
	w.mu.Lock()
	arrivals := w.renders[5] - before
	w.mu.Unlock()
	if arrivals > 3 {
		t.Errorf("%d arrivals took %d renders", n-1, arrivals)
	}
	w.set(5, "v2", audience)
	start := time.Now()
	w.b.TopicChanged(5)
	if ev, ok := first.next(); !ok || ev.data != fmt.Sprintf("v2 for member, %d here", n) {
		t.Fatalf("after the change: %+v", ev)
	}
	if d := time.Since(start); d >= time.Second {
		t.Errorf("a change waited %v, as long as presence does", d)
	}
}

// A page without JavaScript opens no stream: its load counts as its person's
// presence for SeenFor (a reload renews it), on the room's streams and in
// Present, and is forgotten after. A stream of their own takes over: when it
// ends, they are gone at once.
func TestAPageLoadIsPresenceForAWhile(t *testing.T) {
	t.Parallel()
	const seenFor = 600 * time.Millisecond
	w := newWorld(t, func(c *Config) { c.SeenFor = seenFor; c.PresenceDelay = 10 * time.Millisecond })
	w.set(1, "one", map[int64]string{1: "owner", 2: "member", 3: "member"})
	owner := w.open(1, 10, 1, 100)
	owner.want("one for owner, 1 here")

	loaded := time.Now()
	w.b.Seen(1, 2)
	owner.want("one for owner, 2 here")
	if !w.b.Present(1)[2] {
		t.Error("Present leaves out a user who just loaded the page")
	}
	owner.want("one for owner, 1 here")
	if took := time.Since(loaded); took < seenFor {
		t.Errorf("the page load was forgotten after %v, want %v", took, seenFor)
	}
	if w.b.Present(1)[2] {
		t.Error("Present still has a page load older than SeenFor")
	}

	// A room nobody streams has its page loads too.
	w.b.Seen(7, 3)
	if got := w.b.Present(7); !got[3] || len(got) != 1 {
		t.Errorf("Present of a room without streams: %v", got)
	}
	// A group's page is no room: nobody is "here" on it.
	w.b.Seen(0, 3)
	if got := w.b.Present(0); len(got) != 0 {
		t.Errorf("Present of a group's page: %v", got)
	}

	w.b.Seen(1, 3)
	owner.want("one for owner, 2 here")
	member := w.open(1, 10, 3, 300)
	member.want("one for member, 2 here")
	closed := time.Now()
	member.close()
	owner.want("one for owner, 1 here")
	if took := time.Since(closed); took >= seenFor {
		t.Errorf("the member was shown here %v after their stream ended, as if by their page load", took)
	}
}

// A member who leaves has their streams of the group closed: the pages of the
// session that left just end (its own answer takes it on, with the notice
// that says it left, which a page load sent by the stream could take first),
// while their other sessions' pages are sent away; nobody else's stream ends.
func TestTheSessionThatLeftIsNotSentAway(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	all := map[int64]string{1: "owner", 3: "member"}
	w.set(1, "one", all)
	w.set(pageOf(10), "page", all)
	owner := w.open(1, 10, 1, 100)
	leaving := []*client{w.open(1, 10, 3, 300), w.open(0, 10, 3, 300)}
	elsewhere := w.open(0, 10, 3, 301)
	for _, c := range append(leaving, owner, elsewhere) {
		c.next()
	}

	delete(all, 3)
	w.set(1, "one", all)
	w.set(pageOf(10), "page", all)
	w.b.MemberLeft(10, 3, 300)
	for _, c := range leaving {
		c.ended("")
	}
	elsewhere.ended(fmt.Sprintf("/exit/%d/0/10", Removed))
	owner.want("one for owner, 1 here")
}

// GroupNews hears the notices that change a whole group, from every
// instance on the bus (a cache of the group's shared parts is dropped there),
// and not the ones that change one topic, a person's own part or a session.
func TestGroupNewsHearsEveryInstancesGroupNotices(t *testing.T) {
	t.Parallel()
	bus := NewLocalBus()
	var mu sync.Mutex
	var heard []int64
	news := func(c *Config) {
		c.Bus = bus
		c.GroupNews = func(group int64) {
			mu.Lock()
			heard = append(heard, group)
			mu.Unlock()
		}
	}
	newWorld(t, news)
	b := newWorld(t, func(c *Config) { c.Bus = bus })
	b.b.TopicChanged(1)
	b.b.OwnChanged(1, 2, "")
	b.b.GroupPageChanged(7)
	b.b.SessionsEnded([]int64{3})
	b.b.GroupChanged(7)
	b.b.GroupMoved(8, 1)
	b.b.MemberLeft(9, 2, 0)
	b.b.GroupDeleted(10)
	bus.Publish(context.Background(), Notice{Kind: Resync})
	mu.Lock()
	defer mu.Unlock()
	if want := []int64{7, 8, 9, 10, 0}; !slices.Equal(heard, want) {
		t.Errorf("GroupNews heard %v, want %v", heard, want)
	}
}

// A state's side part (Frames.Side, a room's backlog) is sent after the
// state, once per stream while its key stays: a change with the same key
// sends the state alone and does not render the part again; a new key sends
// it again; a stream of another audience that comes later gets its own; a
// stream opened again gets it again.
func TestTheSidePartIsSentOnlyWhenItChanges(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	key := "s1"
	sides := map[string]int{} // key/audience → renders
	var w *world
	w = newWorld(t, func(c *Config) {
		c.Render = func(ctx context.Context, topic, group int64, present map[int64]bool) (Frames, error) {
			f, err := w.render(ctx, topic, group, present)
			mu.Lock()
			k := key
			mu.Unlock()
			f.SideKey = k
			f.Side = func(_ context.Context, aud, lang string) ([]byte, error) {
				mu.Lock()
				defer mu.Unlock()
				sides[k+"/"+aud]++
				return fmt.Appendf(nil, "side %s for %s", k, aud), nil
			}
			return f, err
		}
	})
	w.set(1, "v1", map[int64]string{1: "member", 2: "owner"})
	member := w.open(1, 1, 1, 1)
	expect := func(c *client, want ...string) {
		t.Helper()
		for _, data := range want {
			ev, ok := c.next()
			if !ok || ev.data != data {
				t.Fatalf("got %q (%v), want %q", ev.data, ok, data)
			}
		}
	}
	expect(member, "v1 for member, 1 here", "side s1 for member")
	w.set(1, "v2", map[int64]string{1: "member", 2: "owner"})
	w.b.TopicChanged(1)
	expect(member, "v2 for member, 1 here")
	mu.Lock()
	key = "s2"
	mu.Unlock()
	w.set(1, "v3", map[int64]string{1: "member", 2: "owner"})
	w.b.TopicChanged(1)
	expect(member, "v3 for member, 1 here", "side s2 for member")
	mu.Lock()
	if sides["s1/member"] != 1 || sides["s2/member"] != 1 {
		t.Errorf("side renders %v: one per key", sides)
	}
	mu.Unlock()
	// The owner comes: its own face of the state and of the side.
	owner := w.open(1, 1, 2, 2)
	expect(owner, "v3 for owner, 1 here", "side s2 for owner")
	// The member's second tab gets the side again.
	again := w.open(1, 1, 1, 3)
	expect(again, "v3 for member, 1 here", "side s2 for member")
	mu.Lock()
	defer mu.Unlock()
	if sides["s2/member"] != 1 || sides["s2/owner"] != 1 {
		t.Errorf("side renders %v: one per key and audience", sides)
	}
}

// An idle stream over HTTP/1.1 has one goroutine (waiting for its client to
// go), not two: what it sends is written by a goroutine started for the
// occasion. Each still gets its state, its changes and its heartbeat, and a
// client that goes ends its subscription and its goroutine.
func TestAnIdleStreamHasOneGoroutineAndStillBeats(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.Heartbeat = 50 * time.Millisecond })
	w.set(7, "Seven", map[int64]string{1: "member"})
	runtime.GC()
	baseline := runtime.NumGoroutine()
	const n = 200
	addr := strings.TrimPrefix(w.srv.URL, "http://")
	conns := make([]*bufio.Reader, n)
	raw := make([]net.Conn, n)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		raw[i] = c
		fmt.Fprintf(c, "GET /?topic=7&group=1&user=1&session=%d HTTP/1.1\r\nHost: x\r\n\r\n", i+1)
		conns[i] = bufio.NewReader(c)
		readUntil(t, c, conns[i], "Seven for member")
	}
	// Their state read, the streams idle: one goroutine each, give or take
	// the test server's own and a heartbeat's writer at work.
	if extra := runtime.NumGoroutine() - baseline; extra > n+n/10 {
		t.Errorf("%d idle streams: %d goroutines more than before, want about one each", n, extra)
	}
	w.set(7, "Seven again", map[int64]string{1: "member"})
	w.b.TopicChanged(7)
	for i := range n {
		readUntil(t, raw[i], conns[i], "Seven again for member")
	}
	// Heartbeats keep coming, on every stream.
	for i := range n {
		readUntil(t, raw[i], conns[i], ": ping")
		readUntil(t, raw[i], conns[i], ": ping")
	}
	for _, c := range raw {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.b.Subscribers() != 0 || runtime.NumGoroutine() > baseline+5 {
		if time.Now().After(deadline) {
			t.Fatalf("clients gone: %d subscribers, %d goroutines (baseline %d)", w.b.Subscribers(), runtime.NumGoroutine(), baseline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readUntil reads the stream until a line holds want.
func readUntil(t *testing.T, c net.Conn, r *bufio.Reader, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if strings.Contains(line, want) {
			return
		}
	}
}
