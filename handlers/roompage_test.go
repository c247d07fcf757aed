package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"estimator/views/htmltest"
)

// dataNow is the server clock a room page gives its countdown.
func (r *response) dataNow() int64 {
	lives := r.all("live")
	if len(lives) != 1 {
		return 0
	}
	n, _ := strconv.ParseInt(htmltest.Attr(lives[0], "data-now"), 10, 64)
	return n
}

// keptRoom reports whether a room page of nick's for the issue is kept.
func (ta *testApp) keptRoom(nick string, issueID int64) bool {
	rp := &ta.app.roomPages
	rp.mu.Lock()
	defer rp.mu.Unlock()
	_, ok := rp.m[roomPageKey{user: ta.user(nick).ID, issue: issueID}]
	return ok
}

// TestKeptRoomPage: a room page loaded again at the same generation comes from
// what was kept, with the clock of its own answer; anything the page shows
// that changes (a vote, someone arriving, the viewer's language) shows at
// once; a page with the viewer's own vote or a running countdown is never
// kept.
func TestKeptRoomPage(t *testing.T) {
	ta := newTestApp(t)
	olga, mia32 := strings.Repeat("o", 32), strings.Repeat("m", 32)
	tm := ta.team("A team with a name that is long", olga, mia32, "Noah-Ånd-Friends")
	issue := tm.owner.addIssue(tm.gid, "PROJ-1042", "See https://tracker.example.com/browse/PROJ-1042?focusedCommentId=1234567&page=com.atlassian.jira")
	room := fmt.Sprintf("/issues/%d", issue)
	owner, mia, noah := tm.owner, tm.members[0], tm.members[1]
	owner.get(room).wantStatus(200) // the notice of the issue added is shown once
	first := owner.get(room).wantStatus(200)
	if !ta.keptRoom(olga, issue) {
		t.Fatal("the owner's room page, without a vote, was not kept")
	}
	ta.clock.Advance(90 * time.Second)
	again := owner.get(room).wantStatus(200)
	if got, want := again.dataNow()-first.dataNow(), int64(90_000); got != want {
		t.Errorf("the kept page's clock moved by %d ms, want %d", got, want)
	}
	if got := again.text("voted-count"); got != "0 of 3 voted" {
		t.Errorf("kept page: %q", got)
	}

	// A vote changes the store's generation: the next load shows it.
	mia.get(room).wantStatus(200) // the notice of her joining is shown once
	mia.get(room).wantStatus(200)
	if !ta.keptRoom(mia32, issue) {
		t.Fatal("Mia's room page, before her vote, was not kept")
	}
	mia.estimate(issue, "8").wantStatus(303)
	if got := owner.get(room).wantStatus(200).text("voted-count"); got != "1 of 3 voted" {
		t.Errorf("after a vote, the room page shows %q", got)
	}
	// Mia's own page shows her card and is not kept, before the reveal or after.
	for range 2 {
		r := mia.get(room).wantStatus(200)
		if cards := r.all("card-8"); len(cards) != 1 || htmltest.Attr(cards[0], "aria-pressed") != "true" {
			t.Error("Mia's room page does not show her vote")
		}
	}
	if ta.keptRoom(mia32, issue) {
		t.Error("a room page showing the viewer's vote is kept")
	}

	// Noah arriving shows on the owner's next load (the broker's knowledge,
	// not the store's).
	// here counts the seats marked as looking at the room now.
	here := func(r *response) int {
		n := 0
		for _, mark := range r.all("voter-present") {
			if strings.TrimSpace(htmltest.Text(mark)) != "" {
				n++
			}
		}
		return n
	}
	herePrev := here(owner.get(room).wantStatus(200))
	noah.get(room).wantStatus(200)
	if got := here(owner.get(room).wantStatus(200)); got != herePrev+1 {
		t.Errorf("after Noah opened the room, the owner's page shows %d here, want %d", got, herePrev+1)
	}

	// Another language, asked by the browser: the page speaks it.
	de := owner.with("Accept-Language", "de")
	if r := de.get(room).wantStatus(200); !strings.Contains(r.body, `<html lang="de"`) {
		t.Errorf("with Accept-Language de, the room page is not German: %s", truncate(r.body, 200))
	}
	if r := owner.get(room).wantStatus(200); !strings.Contains(r.body, `<html lang="en"`) {
		t.Error("back to English, the kept German page was served")
	}

	// A running countdown reads the clock: its page is not kept, and shows the
	// time left at each load.
	owner.post(room+"/timer", url.Values{"seconds": {"90"}}).wantStatus(303)
	owner.get(room).wantStatus(200) // the timer's notice is shown once
	owner.get(room).wantStatus(200)
	if ta.keptRoom(olga, issue) {
		t.Error("a room page with a running countdown was kept")
	}
	ta.clock.Advance(30 * time.Second)
	if got := owner.get(room).wantStatus(200).text("countdown"); got != "1:00" {
		t.Errorf("30 s into a 90 s countdown, the page shows %q", got)
	}
}
