package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// hereNow is who the room shows as here now, by nickname.
func hereNow(r *response) []string {
	var here []string
	for _, row := range r.all("voter") {
		if cells := seatCells(row); len(cells) == 3 && cells[2] == "● here" {
			here = append(here, strings.TrimSpace(cells[0]))
		}
	}
	slices.Sort(here)
	return here
}

// Without JavaScript a page opens no stream, so nothing else says its person
// is in the room: loading the room (or reloading it) counts as being here for
// a minute, for everyone who looks. A fragment, a HEAD request or the deck
// alone is no load of the room.
func TestAMemberWithoutJavaScriptShowsAsHere(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	tm := ta.team("Quiet Crew", "Olga", "Ana", "Bo")
	issueID := tm.owner.addIssue(tm.gid, "QUIET-1", "")
	room := fmt.Sprintf("/issues/%d", issueID)
	ana, bo := tm.members[0].plain(), tm.members[1]

	if got := hereNow(tm.owner.plain().get(room)); strings.Join(got, ",") != "Olga" {
		t.Fatalf("before anyone else came, here now: %q", got)
	}
	bo.htmxFrom(room).get(room).wantStatus(http.StatusOK)
	bo.do("HEAD", room, nil, "").wantStatus(http.StatusOK)
	bo.plain().get(room + "/estimate").wantStatus(http.StatusOK)
	ana.get(room).wantStatus(http.StatusOK)
	if got := hereNow(tm.owner.plain().get(room)); strings.Join(got, ",") != "Ana,Olga" {
		t.Errorf("after Ana loaded the room without JavaScript (and Bo asked for a fragment, a HEAD and the deck), here now: %q", got)
	}
	if got := hereNow(bo.plain().get(room)); strings.Join(got, ",") != "Ana,Bo,Olga" {
		t.Errorf("Bo's own page load: here now %q", got)
	}
}

// A member leaving with JavaScript on has the group page (and a room) open,
// each with its stream: those streams end without sending the page to "/",
// where a page load would take the one-time "You left …" notice before the
// leave's own answer gets there. A member the owner removes is sent away.
func TestLeavingKeepsItsNoticeForItsOwnAnswer(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, func(c *Config) { c.StreamHeartbeat = time.Hour })
	rd := newRound(t, ta, 2)
	group := fmt.Sprintf("/groups/%d", rd.groupID)
	mia, bo := rd.members[0], rd.members[1]
	streams := map[string]*stream{
		"Mia's group page": openStreamAt(t, rd.srv, mia, group+"/events"),
		"Mia's room":       openStream(t, rd.srv, mia, rd.issueID),
		"Bo's group page":  openStreamAt(t, rd.srv, bo, group+"/events"),
	}
	for _, s := range streams {
		s.mustNext()
	}

	mia.htmxFrom(group).post(group+"/leave", nil).wantHXRedirect("/")
	for _, name := range []string{"Mia's group page", "Mia's room"} {
		for {
			ev, ok := streams[name].next(5 * time.Second)
			if !ok {
				break
			}
			if ev.name == "navigate" {
				t.Errorf("%s: the stream sent the page to %q", name, ev.data)
			}
		}
	}
	mia.get("/").wantNotice("You left “Live team”.")

	rd.owner.post(group+"/members/"+fmt.Sprint(ta.user("member2").ID)+"/remove", nil).wantStatus(http.StatusSeeOther)
	ev := streams["Bo's group page"].until(5*time.Second, "the removal", func(ev sse) bool { return ev.name == "navigate" })
	if ev.data != "/" {
		t.Errorf("the removed member's page is sent to %q, want /", ev.data)
	}
}
