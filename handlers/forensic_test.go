package handlers

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"estimator/internal/testkit"
	"estimator/store"
)

// TestVoteAnswerSizeTellsNothing: the answer to a vote, the cards panel, the
// deck page and the room showing it have one length for every vote — each
// number from 1 to 100 (cards and free numbers), ? and coffee, and on a deck
// of labels (tshirt) each label — asked for with and without gzip; so does the
// request log's bytes=.
func TestVoteAnswerSizeTellsNothing(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Sizes", "Olga", "Pia")
	pia := tm.members[0]
	numbers := []string{"?", "coffee"}
	for v := 1; v <= 100; v++ {
		numbers = append(numbers, strconv.Itoa(v))
	}
	labels := map[string]string{"1": "XS", "2": "S", "3": "M", "5": "L", "8": "XL", "13": "XXL", "?": "?", "coffee": "coffee"}
	var shirts []string
	for v := range labels {
		shirts = append(shirts, v)
	}
	sort.Strings(shirts)

	fib := tm.owner.addIssue(tm.gid, "SIZE-1", "How big")
	measure(t, ta, pia, fib, numbers, func(v string) string { return v })

	tees := ta.team("Shirts", "Quinn", "Rosa")
	tees.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tees.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	shirt := tees.owner.addIssue(tees.gid, "SIZE-2", "How big")
	measure(t, ta, tees.members[0], shirt, shirts, func(v string) string { return labels[v] })
}

// measure votes each of votes on the issue, in every way a vote is sent and
// shown, and checks that every kind of answer has one length for them all.
func measure(t *testing.T, ta *testApp, voter *client, issue int64, votes []string, label func(string) string) {
	t.Helper()
	room := fmt.Sprintf("/issues/%d", issue)
	path := room + "/estimate"
	logFrom := len(ta.logs.String())
	for _, enc := range []string{"", "gzip", "gzip, deflate, br"} {
		kinds := map[string]map[string][]string{} // kind -> Content-Length -> votes
		note := func(kind string, r *response, v string) {
			t.Helper()
			if r.header.Get("Content-Encoding") != "" {
				t.Fatalf("%s for %s is compressed (%s)", kind, v, r.header.Get("Content-Encoding"))
			}
			cl := r.header.Get("Content-Length")
			if cl != strconv.Itoa(len(r.body)) {
				t.Fatalf("%s for %s: Content-Length %q for %d bytes", kind, v, cl, len(r.body))
			}
			if got := r.text("own-value"); got != label(v) {
				t.Fatalf("%s shows %q for %s, want %q", kind, got, v, label(v))
			}
			if kinds[kind] == nil {
				kinds[kind] = map[string][]string{}
			}
			kinds[kind][cl] = append(kinds[kind][cl], v)
		}
		hx := voter.htmxFrom(room).with("Accept-Encoding", enc)
		plain := voter.plain().with("Accept-Encoding", enc)
		for _, v := range votes {
			note("htmx answer", hx.post(path, url.Values{"estimate": {v}}).wantStatus(http.StatusOK), v)
			note("htmx cards panel", hx.get(path).wantStatus(http.StatusOK), v)
			plain.post(path, url.Values{"estimate": {v}}).wantRedirect(room)
			note("room after the vote", plain.get(room).wantStatus(http.StatusOK), v)
			note("room", plain.get(room).wantStatus(http.StatusOK), v)
			note("deck page", plain.get(path).wantStatus(http.StatusOK), v)
		}
		for kind, byLen := range kinds {
			if len(byLen) != 1 {
				t.Errorf("issue %d, Accept-Encoding %q: %s has %d lengths: %v", issue, enc, kind, len(byLen), byLen)
			}
		}
	}
	sizes := map[string]bool{}
	for _, m := range regexp.MustCompile(`method=POST route=/issues/:id/estimate status=200 duration=\S+ bytes=(\d+)`).FindAllStringSubmatch(ta.logs.String()[logFrom:], -1) {
		sizes[m[1]] = true
	}
	if len(sizes) != 1 {
		t.Errorf("issue %d: the request log gives the vote answers %d sizes: %v", issue, len(sizes), sizes)
	}
}

// ballotSlot is a vote as the round's ballot stores it (store/ballot.go):
// the voter's id, 8 bytes big-endian, then the card's byte (the number, 101
// for ?, 102 for coffee).
func ballotSlot(user, value int64, special string) []byte {
	card := byte(value)
	switch special {
	case "?":
		card = 101
	case "coffee":
		card = 102
	}
	return append(binary.BigEndian.AppendUint64(nil, uint64(user)), card)
}

// databaseBytes reads the database file and its -wal and -shm, when present.
func databaseBytes(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out["db"+suffix] = b
	}
	return out
}

// TestNothingAtRestTiesAVoteToAVoterAfterReveal votes distinctive values and a
// special card (one vote changed, one sent while signed out and replayed at
// sign-in), reveals — by the owner's hand, by auto-reveal when the last voter
// votes, and by the timer with nobody connected — and searches the raw bytes
// of the database, its WAL and its shared-memory file, while the server runs
// and after it stopped, for any record pairing a voter with a value, a card,
// or the time of their vote, or a kept form with a value.
func TestNothingAtRestTiesAVoteToAVoterAfterReveal(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"owner", "auto-reveal", "timer"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			forensicRound(t, by)
		})
	}
}

func forensicRound(t *testing.T, by string) {
	ta := newTestApp(t)
	tm := ta.team("Forensics", "Rita", "Sam", "Tess", "Uma", "Vera")
	if by == "auto-reveal" {
		tm.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"fibonacci"}, "auto_reveal": {"1"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	}
	issue := tm.owner.addIssue(tm.gid, "SECRET-1", "")
	room := fmt.Sprintf("/issues/%d", issue)
	type vote struct {
		nick    string
		c       *client
		value   int64
		special string
		at      time.Time
	}
	// Rita (the owner) votes last: with auto-reveal on, her vote reveals.
	votes := []vote{{nick: "Sam", value: 97}, {nick: "Sam", value: 37}, {nick: "Tess", value: 59}, {nick: "Uma", special: "coffee"},
		{nick: "Vera", value: 83}, {nick: "Rita", value: 71}}
	clients := map[string]*client{"Rita": tm.owner, "Sam": tm.members[0], "Tess": tm.members[1], "Uma": tm.members[2], "Vera": tm.members[3]}
	for i := range votes {
		votes[i].c = clients[votes[i].nick]
	}
	card := func(v vote) string {
		if v.special != "" {
			return v.special
		}
		return strconv.FormatInt(v.value, 10)
	}
	// A signed-out browser's vote that is never replayed: kept until the reveal.
	stranger := ta.client()
	stranger.estimate(issue, "67").wantStatus(http.StatusSeeOther)
	for i, v := range votes {
		ta.clock.Advance(time.Duration(7+i) * time.Minute)
		votes[i].at = ta.clock.Now()
		if v.nick == "Vera" {
			// Signed out: the vote is kept, then replayed when she signs in.
			v.c.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
			r := v.c.estimate(issue, card(v)).wantStatus(http.StatusSeeOther)
			_, ref, _ := loginTarget(t, r.location())
			sendKept(t, v.c, v.c.post("/login", url.Values{"nickname": {"Vera"}, "kept": {ref}})).wantRedirect(room)
			continue
		}
		if i == len(votes)-1 {
			break // the last vote is cast below, once the first are found
		}
		v.c.estimate(issue, card(v)).wantRedirect(room)
	}

	find := func(files map[string][]byte, pattern []byte) string {
		for name, b := range files {
			if bytes.Contains(b, pattern) {
				return name
			}
		}
		return ""
	}
	dbPath := ta.st.Path()
	before := databaseBytes(t, dbPath)
	last := votes[len(votes)-1]
	for _, v := range votes[1 : len(votes)-1] {
		if find(before, ballotSlot(ta.user(v.nick).ID, v.value, v.special)) == "" {
			t.Fatalf("before the reveal the search finds no record of %s's vote: it would prove nothing", v.nick)
		}
	}
	if find(before, []byte("estimate=67")) == "" {
		t.Fatal("before the reveal the search finds no kept vote")
	}

	switch by {
	case "owner":
		last.c.estimate(issue, card(last)).wantRedirect(room)
		ta.clock.Advance(time.Hour)
		tm.owner.plain().post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)
	case "auto-reveal":
		// The last vote completes the round.
		last.c.estimate(issue, card(last)).wantRedirect(room)
	case "timer":
		last.c.estimate(issue, card(last)).wantRedirect(room)
		tm.owner.plain().post(room+"/timer", url.Values{"seconds": {"60"}}).wantRedirect(room)
		ta.clock.Advance(time.Hour)
	}
	revealed := func() bool {
		is, _, _, err := ta.st.IssueFor(context.Background(), int64(issue), 0)
		return err == nil && is.State == store.StateRevealed
	}
	if !revealed() && by != "timer" {
		t.Fatalf("the round is not revealed by %s", by)
	}

	uids := map[string]int64{}
	for _, v := range votes {
		uids[v.nick] = ta.user(v.nick).ID
	}
	found := func(files map[string][]byte) []string {
		var out []string
		for _, v := range votes {
			uid := uids[v.nick]
			// The ballot keeps no time: the pages' order and sizes are
			// TestPagesTellNotWhoVotedWhatNorInWhichOrder's (store).
			patterns := map[string][]byte{
				"value":             ballotSlot(uid, v.value, v.special),
				"kept form's value": []byte("estimate=" + card(v)),
			}
			for what, pattern := range patterns {
				if f := find(files, pattern); f != "" {
					out = append(out, fmt.Sprintf("%s holds %s's %s (%s)", f, v.nick, what, card(v)))
				}
			}
		}
		if f := find(files, []byte("estimate=67")); f != "" {
			out = append(out, f+" holds the kept, never replayed vote")
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		for _, msg := range found(databaseBytes(t, dbPath)) {
			t.Errorf("%s: %s", when, msg)
		}
	}
	if by == "timer" {
		// The server's timer loop reveals, then scrubs the files, on its own.
		testkit.Eventually(t, 5*time.Second, "the timer to reveal and scrub", func() bool {
			return revealed() && len(found(databaseBytes(t, dbPath))) == 0
		})
	}
	check("after the reveal")
	// The ballot says who took part, and no card.
	if n := ta.cardsKept(func(id int64) bool { return id == int64(issue) }); n != 0 {
		t.Errorf("%d cards kept after the reveal", n)
	}
	if n := len(ta.ballots()[int64(issue)]); n != 5 {
		t.Errorf("%d slots in the ballot, want one per voter (who took part stays)", n)
	}
	ta.app.Close()
	if err := ta.st.Close(); err != nil {
		t.Fatal(err)
	}
	check("after a clean stop")
}

// The vote that completes a round (auto-reveal) is answered with the same
// words as every other vote: its notice is written to the voter's session
// after the reveal's scrub, so words of its own ("completed the round") would
// sit in the write-ahead log beside the last voter's session.
func TestTheLastVoteReadsLikeEveryOther(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Last word", "Olga", "Mia", "Max")
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"fibonacci"}, "auto_reveal": {"1"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	iid := tm.owner.addIssue(tm.gid, "LAST-1", "")
	room := fmt.Sprintf("/issues/%d", iid)
	var notices []string
	for _, c := range []*client{tm.owner, tm.members[0], tm.members[1]} {
		c.plain().estimate(iid, "5").wantRedirect(room)
		notices = append(notices, c.plain().get(room).text("notice"))
	}
	if is, _, _, _ := ta.st.IssueFor(tctx, iid, 0); is.State != store.StateRevealed {
		t.Fatalf("the third vote did not complete the round: %s", is.State)
	}
	for i, n := range notices {
		if n != notices[0] || n == "" {
			t.Errorf("vote %d was answered %q, the first %q: the last vote must read like every other", i+1, n, notices[0])
		}
	}
}
