package live

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// moveWorld is a world whose broker moves pages in place (Config.Enter) and
// sends people their own part (Config.Own); it counts the renders of both.
type moveWorld struct {
	*world
	mu      sync.Mutex
	entries map[int64]int // topic → entry loads (Enter)
	// entryBodies: topic → entry frames rendered (once per audience and
	// language).
	entryBodies map[int64]int
	owns        map[int64]int // user → own renders
	voted       map[int64]map[int64]bool
	// slow: topic → how long loading its state takes (Render), as a busy
	// database would.
	slow map[int64]time.Duration
}

func newMoveWorld(t *testing.T) *moveWorld {
	mw := &moveWorld{entries: map[int64]int{}, entryBodies: map[int64]int{}, owns: map[int64]int{}, voted: map[int64]map[int64]bool{}, slow: map[int64]time.Duration{}}
	mw.world = newWorld(t, func(cfg *Config) {
		cfg.Render = func(ctx context.Context, topic, group int64, present map[int64]bool) (Frames, error) {
			mw.mu.Lock()
			d := mw.slow[topic]
			mw.mu.Unlock()
			time.Sleep(d)
			return mw.world.render(ctx, topic, group, present)
		}
		cfg.Enter = func(_ context.Context, topic, group int64) (Frames, error) {
			mw.world.mu.Lock()
			aud := mw.world.audience[topic]
			mw.world.mu.Unlock()
			mw.mu.Lock()
			defer mw.mu.Unlock()
			mw.entries[topic]++
			f := Frames{Audience: map[int64]string{}, Own: map[int64]bool{}, Body: func(_ context.Context, a, lang string) ([]byte, error) {
				mw.mu.Lock()
				defer mw.mu.Unlock()
				mw.entryBodies[topic]++
				return fmt.Appendf(nil, "entry %d for %s%s", topic, a, in(lang)), nil
			}}
			for user, a := range aud {
				f.Audience[user] = a
				f.Own[user] = mw.voted[topic][user]
			}
			return f, nil
		}
		cfg.Own = func(_ context.Context, topic, user int64, lang string, moved bool) ([]byte, error) {
			mw.mu.Lock()
			defer mw.mu.Unlock()
			mw.owns[user]++
			return fmt.Appendf(nil, "own %d of user %d moved=%v%s", topic, user, moved, in(lang)), nil
		}
	})
	return mw
}

// After a move, a person's own part waits for the state it goes after, even
// when the state takes longer to load than the own part to render: the state
// would otherwise cover their card with the one everybody sees.
func TestAMovesOwnPartWaitsForASlowState(t *testing.T) {
	t.Parallel()
	w := newMoveWorld(t)
	all := map[int64]string{1: "owner", 2: "voter"}
	w.set(5, "room 5", all)
	w.set(6, "room 6", all)
	w.voted[6] = map[int64]bool{2: true}
	c := w.open(5, 10, 2, 2)
	c.want("room 5 for voter, 1 here")
	w.mu.Lock()
	w.slow[6] = 300 * time.Millisecond
	w.mu.Unlock()
	w.set(6, "room 6 started", all)
	w.b.GroupMoved(10, 6)
	var got []string
	for _, ev := range collect(c, time.Second) {
		got = append(got, ev.name+":"+ev.data)
	}
	want := []string{"move:entry 6 for voter", ":room 6 started for voter, 1 here", ":own 6 of user 2 moved=true"}
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// collect reads a stream's events until quiet for a while.
func collect(c *client, quiet time.Duration) []event {
	var out []event
	for {
		ev, ok := c.nextWithin(quiet)
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

// A move of the group keeps every room's stream open: it follows the started
// topic and gets its entry (once rendered per audience, not per person), then
// its state, and the own part of whoever voted there ahead; the group's own
// page is still sent there; no stream is opened or closed.
func TestGroupMovedMovesRoomStreamsInPlace(t *testing.T) {
	t.Parallel()
	w := newMoveWorld(t)
	all := map[int64]string{1: "owner", 2: "voter", 3: "voter", 4: "spectator"}
	w.set(pageOf(10), "page", all)
	w.set(5, "room 5", all)
	w.set(6, "room 6", all)
	w.set(7, "room 7", map[int64]string{1: "owner"}) // group 20
	w.voted[6] = map[int64]bool{3: true}
	page := w.open(0, 10, 2, 2)
	rooms := map[string]*client{
		"owner in 5":       w.open(5, 10, 1, 1),
		"voter in 5":       w.open(5, 10, 2, 2),
		"voter in 5 (2)":   w.open(5, 10, 2, 22),
		"ahead in 5":       w.open(5, 10, 3, 3),
		"spectator in 5":   w.open(5, 10, 4, 4),
		"ahead in 6 (tab)": w.open(6, 10, 3, 33),
	}
	other := w.open(7, 20, 1, 1)
	for _, c := range rooms {
		if ev, ok := c.next(); !ok || ev.name != "" {
			t.Fatalf("first event %+v", ev)
		}
	}
	other.next()
	page.next()
	before := w.b.Subscribers()

	w.set(6, "room 6 started", all)
	w.b.GroupMoved(10, 6)
	page.ended(fmt.Sprintf("/exit/%d/6/10", Moved))
	for name, c := range rooms {
		evs := collect(c, 500*time.Millisecond)
		aud := all[map[string]int64{"owner in 5": 1, "voter in 5": 2, "voter in 5 (2)": 2, "ahead in 5": 3, "spectator in 5": 4, "ahead in 6 (tab)": 3}[name]]
		var names []string
		for _, ev := range evs {
			names = append(names, ev.name+":"+ev.data)
		}
		got := strings.Join(names, " | ")
		if strings.HasSuffix(name, "in 6 (tab)") {
			if strings.Contains(got, "move:") {
				t.Errorf("%s: the started topic's own page got an entry: %s", name, got)
			}
			continue
		}
		want := "move:entry 6 for " + aud + " | :room 6 started for " + aud
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s: got %s, want it to begin with %s", name, got, want)
		}
		ahead := strings.Contains(got, "own 6 of user 3 moved=true")
		if ahead != strings.HasPrefix(name, "ahead") {
			t.Errorf("%s: own part after the move: %v (%s)", name, ahead, got)
		}
		if strings.Contains(got, "own 6 of user") && !strings.Contains(got, "of user 3 ") {
			t.Errorf("%s: someone else's own part: %s", name, got)
		}
		for _, ev := range evs {
			if ev.name == "" && !strings.HasPrefix(ev.data, "own ") && !strings.HasPrefix(ev.id, "6-") {
				t.Errorf("%s: state after the move has id %q, want it to name topic 6", name, ev.id)
			}
		}
	}
	if n := w.b.Subscribers(); n != before-1 {
		t.Errorf("%d streams after the move, want %d (only the group page's closed)", n, before-1)
	}
	w.mu.Lock()
	if w.entries[6] != 1 || w.owns[3] != 1 || w.owns[2] != 0 {
		t.Errorf("entry renders %v, own renders %v: want one entry, one own part (the ahead voter's)", w.entries, w.owns)
	}
	w.mu.Unlock()
	if ev, ok := other.nextWithin(200 * time.Millisecond); ok {
		t.Fatalf("another group's room got %+v", ev)
	}

	// Changes of the started topic reach the moved streams.
	w.set(6, "room 6 voted", all)
	w.b.TopicChanged(6)
	for name, c := range rooms {
		aud := map[string]string{"owner in 5": "owner", "spectator in 5": "spectator"}[name]
		if aud == "" {
			aud = "voter"
		}
		c.want("room 6 voted for " + aud + ", 4 here")
	}
}

// A person's own part goes to every stream of theirs on the topic (other
// sessions, other tabs), in the latest version, and never to anyone else's.
func TestOwnChangedReachesOnlyThatPersonsStreams(t *testing.T) {
	t.Parallel()
	w := newMoveWorld(t)
	all := map[int64]string{1: "owner", 2: "voter", 3: "voter"}
	w.set(5, "room 5", all)
	w.set(6, "room 6", all)
	mine := []*client{w.open(5, 10, 2, 2), w.open(5, 10, 2, 2), w.open(5, 10, 2, 9)}
	others := []*client{w.open(5, 10, 1, 1), w.open(5, 10, 3, 3)}
	elsewhere := w.open(6, 10, 2, 2)
	for _, c := range append(append(mine, others...), elsewhere) {
		c.next()
	}
	w.b.OwnChanged(5, 2, "")
	for _, c := range mine {
		c.want("own 5 of user 2 moved=false")
	}
	for _, c := range append(others, elsewhere) {
		for _, ev := range collect(c, 300*time.Millisecond) {
			if strings.HasPrefix(ev.data, "own ") {
				t.Errorf("another person's or topic's stream carried %+v", ev)
			}
		}
	}
	w.b.OwnChanged(GroupPage, 2, "") // a group's page has no own part
}

// A page that missed a move (its stream was closed meanwhile) and subscribes
// to the topic the group is on now starts as a moved page does: the entry,
// then the state.
func TestSubscribeMovedStartsWithTheEntry(t *testing.T) {
	t.Parallel()
	w := newMoveWorld(t)
	w.set(6, "room 6", map[int64]string{2: "voter"})
	c := w.openMoved(6, 10, 2, 2)
	evs := collect(c, 400*time.Millisecond)
	if len(evs) < 2 || evs[0].name != "move" || evs[0].data != "entry 6 for voter" || !strings.HasPrefix(evs[1].data, "room 6 for voter") {
		t.Fatalf("a page that missed the move got %+v", evs)
	}
}

// openMoved opens a stream with SubscribeMoved.
func (w *world) openMoved(topic, group, user, session int64) *client {
	w.t.Helper()
	return w.openAt(fmt.Sprintf("%s/?topic=%d&group=%d&user=%d&session=%d&moved=1", w.srv.URL, topic, group, user, session))
}

// The page tab that voted has its cards in its vote's answer: its streams
// do not get the own part again; the person's other tabs do, and a change
// from no tab in particular reaches every stream of theirs. When the tab
// that voted is the only one watching, nothing is rendered.
func TestTheTabThatVotedIsNotSentItsOwnPartAgain(t *testing.T) {
	t.Parallel()
	w := newMoveWorld(t)
	all := map[int64]string{1: "owner", 2: "voter"}
	w.set(5, "room 5", all)
	open := func(session int64, tab string) *client {
		return w.openAt(fmt.Sprintf("%s/?topic=5&group=10&user=2&session=%d&lang=de&tab=%s", w.srv.URL, session, tab))
	}
	laptop := open(2, "laptop-tab-Zq3_9")
	laptop.want("room 5 for voter, 1 here in de")
	time.Sleep(400 * time.Millisecond) // no presence render left pending
	owns := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.owns[2]
	}
	w.b.OwnChanged(5, 2, "laptop-tab-Zq3_9")
	for _, ev := range collect(laptop, 300*time.Millisecond) {
		if strings.HasPrefix(ev.data, "own ") {
			t.Errorf("the tab that voted got its own part: %+v", ev)
		}
	}
	if n := owns(); n != 0 {
		t.Errorf("%d own parts rendered for nobody", n)
	}
	phone := open(3, "phone-tab-8xY-0")
	phone.want("room 5 for voter, 1 here in de")
	time.Sleep(400 * time.Millisecond)
	w.b.OwnChanged(5, 2, "laptop-tab-Zq3_9")
	phone.want("own 5 of user 2 moved=false in de")
	for _, ev := range collect(laptop, 300*time.Millisecond) {
		if strings.HasPrefix(ev.data, "own ") {
			t.Errorf("the tab that voted got its own part: %+v", ev)
		}
	}
	w.b.OwnChanged(5, 2, "phone-tab-8xY-0")
	laptop.want("own 5 of user 2 moved=false in de")
	w.b.OwnChanged(5, 2, "")
	laptop.want("own 5 of user 2 moved=false in de")
	phone.want("own 5 of user 2 moved=false in de")
}
