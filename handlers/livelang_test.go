package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"estimator/i18n"
)

var liveTimeRe = regexp.MustCompile(`<time datetime="([^"]+)" data-local>([^<]*)</time>`)

// writtenIn checks that every moment in a live frame is written the way lang
// writes it (there is at least one), and says which it found.
func writtenIn(t *testing.T, who string, data string, lang i18n.Lang) {
	t.Helper()
	ms := liveTimeRe.FindAllStringSubmatch(data, -1)
	if len(ms) == 0 {
		t.Fatalf("%s: no moment in the frame: %s", who, truncate(data, 600))
	}
	for _, m := range ms {
		at, err := time.Parse(time.RFC3339, m[1])
		if err != nil {
			t.Fatalf("%s: datetime %q: %v", who, m[1], err)
		}
		if want := lang.DateTime(at); m[2] != want {
			t.Errorf("%s: a moment written %q, want %q (%s)", who, m[2], want, lang)
		}
	}
}

// Two members of a group read it in two languages (Ana's browser asks for
// German; Bo chose French for his account, on a browser that asks for
// German), the owner in English: the room's live frames and the group page's
// reach each of them in their language, at once and after every change. The
// deadline of votes ahead on the room's table and the dates members joined
// on the group page are written the way each language writes them.
func TestEachMemberGetsTheLiveFramesInTheirLanguage(t *testing.T) {
	t.Parallel()
	rt := newRoomTeam(t, "PHX-1042-checkout-v2")
	iid := rt.issues[0]
	room := fmt.Sprintf("/issues/%d", iid)
	gp := fmt.Sprintf("/groups/%d", rt.gid)
	rt.owner.post(gp+"/ahead", aheadForm("24", iid)).wantStatus(http.StatusSeeOther)
	rt.members[1].post("/account/language", url.Values{"lang": {"fr"}}).wantRedirect("/account")
	ana := rt.members[0].with("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	bo := rt.members[1].with("Accept-Language", "de")

	readers := []struct {
		who  string
		c    *client
		lang i18n.Lang
	}{{"Ana", ana, i18n.DE}, {"Bo", bo, i18n.FR}, {"Olga", rt.owner, i18n.EN}}
	rooms, pages := map[string]*stream{}, map[string]*stream{}
	for _, r := range readers {
		rooms[r.who] = openStream(t, rt.srv, r.c, iid)
		pages[r.who] = openStreamAt(t, rt.srv, r.c, gp+"/events")
	}
	for _, r := range readers {
		ev := rooms[r.who].until(5*time.Second, "the room's deadline", func(ev sse) bool {
			return strings.Contains(ev.data, `data-testid="ahead-room-until"`)
		})
		writtenIn(t, r.who+"'s room", ev.data, r.lang)
		ev = pages[r.who].until(5*time.Second, "the group's members", func(ev sse) bool {
			return strings.Contains(ev.data, `data-testid="members"`)
		})
		writtenIn(t, r.who+"'s group page", ev.data, r.lang)
	}

	// A vote: everyone's room and group page change, each in its language.
	rt.members[2].htmxFrom(room).post(room+"/estimate", url.Values{"estimate": {"13"}}).wantStatus(http.StatusOK)
	for _, r := range readers {
		ev := rooms[r.who].until(5*time.Second, "the room after the vote", func(ev sse) bool {
			return strings.Contains(ev.data, `data-testid="ahead-room-until"`) && strings.Contains(ev.data, `data-testid="voted-count">1 `)
		})
		writtenIn(t, r.who+"'s room after the vote", ev.data, r.lang)
	}
	// A member moves to a spectator's seat: the group page's member table
	// changes, in each reader's language.
	rt.members[2].post(gp+"/role", url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	for _, r := range readers {
		spectator := r.lang.T("grp.seat.spectator")
		ev := pages[r.who].until(5*time.Second, "the members after Cyd's move", func(ev sse) bool {
			return strings.Contains(ev.data, `data-testid="member-seat">`+spectator+`<`)
		})
		writtenIn(t, r.who+"'s group page after the move", ev.data, r.lang)
	}
}
