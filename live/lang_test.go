package live

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

// openIn opens a stream of a viewer who reads lang.
func (w *world) openIn(topic, group, user, session int64, lang string) *client {
	w.t.Helper()
	return w.openAt(fmt.Sprintf("%s/?topic=%d&group=%d&user=%d&session=%d&lang=%s", w.srv.URL, topic, group, user, session, lang))
}

// counts is how often topic was loaded (Render) and each of its frames
// rendered ("audience/lang"), and resets both.
func (w *world) counts(topic int64) (loads int, frames map[string]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	loads, frames = w.renders[topic], w.bodies[topic]
	w.renders[topic], w.bodies[topic] = 0, nil
	return loads, frames
}

// Ten streams of a room, in German and French, of facilitators and members
// (one facilitator with a second browser): a change loads the room once and
// renders it four times, once per role and language, never per person; each
// stream gets its role's frame in its own language, and nothing else.
func TestTenWatchersInTwoLanguagesAndTwoRolesCostFourRendersPerChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	audience := map[int64]string{}
	for u := int64(1); u <= 9; u++ {
		audience[u] = "member"
		if u <= 4 {
			audience[u] = "facilitator"
		}
	}
	langOf := func(u int64) string {
		if u%2 == 1 {
			return "de"
		}
		return "fr"
	}
	w.set(1, "v1", audience)
	type watcher struct {
		c         *client
		aud, lang string
	}
	var watchers []watcher
	for u := int64(1); u <= 9; u++ {
		watchers = append(watchers, watcher{w.openIn(1, 7, u, 100+u, langOf(u)), audience[u], langOf(u)})
	}
	// Facilitator 2 reads French on the laptop, German on the phone.
	watchers = append(watchers, watcher{w.openIn(1, 7, 2, 222, "de"), "facilitator", "de"})
	for i, wt := range watchers {
		wt.c.want(fmt.Sprintf("v1 for %s, 9 here in %s", wt.aud, wt.lang))
		if i == 0 {
			eventually(t, "everyone present", func() bool { return len(w.b.Present(1)) == 9 })
		}
	}
	time.Sleep(400 * time.Millisecond) // no presence render left pending
	w.counts(1)

	for _, v := range []string{"v2", "v3"} {
		w.set(1, v, audience)
		w.b.TopicChanged(1)
		for i, wt := range watchers {
			want := fmt.Sprintf("%s for %s, 9 here in %s", v, wt.aud, wt.lang)
			if ev, ok := wt.c.next(); !ok || ev.data != want {
				t.Fatalf("%s: watcher %d got %+v, want %q", v, i, ev, want)
			}
		}
		time.Sleep(300 * time.Millisecond)
		loads, frames := w.counts(1)
		want := map[string]int{"facilitator/de": 1, "facilitator/fr": 1, "member/de": 1, "member/fr": 1}
		if loads != 1 || !maps.Equal(frames, want) {
			t.Errorf("%s: %d loads, frames %v; want 1 load and %v", v, loads, frames, want)
		}
	}
	for i, wt := range watchers {
		if ev, ok := wt.c.nextWithin(100 * time.Millisecond); ok {
			t.Errorf("watcher %d got one more event: %+v", i, ev)
		}
	}
}

// A stream in a language nobody watched the room in gets the room's current
// state at once, in its language: rendered from what was loaded, without
// loading the room again, and without sending it anew to the others.
func TestAStreamInANewLanguageGetsTheCurrentStateWithoutAReload(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.set(1, "v1", map[int64]string{1: "owner", 2: "member"})
	de := w.openIn(1, 7, 1, 100, "de")
	member := w.openIn(1, 7, 2, 200, "de")
	de.want("v1 for owner, 2 here in de")
	member.want("v1 for member, 2 here in de")
	time.Sleep(400 * time.Millisecond)
	w.counts(1)

	// The owner's phone, in Spanish: they are here already.
	es := w.openIn(1, 7, 1, 101, "es")
	start := time.Now()
	if ev, ok := es.next(); !ok || ev.data != "v1 for owner, 2 here in es" {
		t.Fatalf("the Spanish stream's first event %+v", ev)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the Spanish stream waited %v for its first frame", d)
	}
	loads, frames := w.counts(1)
	if loads != 0 || !maps.Equal(frames, map[string]int{"owner/es": 1}) {
		t.Errorf("a new language: %d loads, frames %v; want none, and only the owner's in Spanish", loads, frames)
	}
	for name, c := range map[string]*client{"owner's laptop": de, "member": member} {
		if ev, ok := c.nextWithin(300 * time.Millisecond); ok {
			t.Errorf("%s got %+v again", name, ev)
		}
	}
	// Later changes reach the Spanish stream in Spanish.
	w.set(1, "v2", map[int64]string{1: "owner", 2: "member"})
	w.b.TopicChanged(1)
	es.want("v2 for owner, 2 here in es")
	de.want("v2 for owner, 2 here in de")
}

// A person's own part is rendered in each language they watch the room in,
// and each of their streams gets the one in its language; a move sends every
// page the entry of its seat in its language, rendered once per seat and
// language, with the own part of an ahead voter in theirs.
func TestOwnPartsAndMovesSpeakEachStreamsLanguage(t *testing.T) {
	t.Parallel()
	w := newMoveWorld(t)
	all := map[int64]string{1: "owner", 2: "voter", 3: "voter"}
	w.set(5, "room 5", all)
	w.set(6, "room 6", all)
	w.voted[6] = map[int64]bool{2: true}
	streams := map[string]*client{
		"2 de":       w.openIn(5, 10, 2, 2, "de"),
		"2 de (tab)": w.openIn(5, 10, 2, 2, "de"),
		"2 fr":       w.openIn(5, 10, 2, 9, "fr"),
		"1 pt-BR":    w.openIn(5, 10, 1, 1, "pt-BR"),
		"3 fr":       w.openIn(5, 10, 3, 3, "fr"),
	}
	for name, c := range streams {
		who, lang, _ := strings.Cut(strings.TrimSuffix(name, " (tab)"), " ")
		c.want(fmt.Sprintf("room 5 for %s, 3 here in %s", all[map[string]int64{"1": 1, "2": 2, "3": 3}[who]], lang))
	}
	time.Sleep(400 * time.Millisecond) // no presence render left pending
	w.b.OwnChanged(5, 2, "")
	streams["2 de"].want("own 5 of user 2 moved=false in de")
	streams["2 de (tab)"].want("own 5 of user 2 moved=false in de")
	streams["2 fr"].want("own 5 of user 2 moved=false in fr")
	for _, name := range []string{"1 pt-BR", "3 fr"} {
		for _, ev := range collect(streams[name], 300*time.Millisecond) {
			if strings.HasPrefix(ev.data, "own ") {
				t.Errorf("%s carried another person's own part: %+v", name, ev)
			}
		}
	}
	w.mu.Lock()
	if w.owns[2] != 2 {
		t.Errorf("%d own renders for two languages", w.owns[2])
	}
	w.owns[2] = 0
	w.mu.Unlock()

	w.set(6, "room 6 started", all)
	w.b.GroupMoved(10, 6)
	for name, c := range streams {
		aud, lang, _ := strings.Cut(strings.TrimSuffix(name, " (tab)"), " ")
		seat := all[map[string]int64{"1": 1, "2": 2, "3": 3}[aud]]
		var got []string
		for _, ev := range collect(c, 500*time.Millisecond) {
			got = append(got, ev.name+":"+ev.data)
		}
		joined := strings.Join(got, " | ")
		want := fmt.Sprintf("move:entry 6 for %s in %s | :room 6 started for %s, 3 here in %s", seat, lang, seat, lang)
		if !strings.HasPrefix(joined, want) {
			t.Errorf("%s: got %s, want it to begin with %s", name, joined, want)
		}
		if own := fmt.Sprintf("own 6 of user 2 moved=true in %s", lang); strings.Contains(joined, own) != (aud == "2") {
			t.Errorf("%s: own part after the move: %s", name, joined)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Faces: owner/pt-BR, voter/de, voter/fr.
	if w.entryBodies[6] != 3 || w.owns[2] != 2 {
		t.Errorf("the move rendered %d entries (want 3: one per seat and language) and %d own parts (want 2)", w.entryBodies[6], w.owns[2])
	}
}
