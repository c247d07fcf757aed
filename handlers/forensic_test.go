package handlers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestVoteAnswerSizeTellsNothing: the answer to a vote, and the estimate page
// showing it, have one length for every value from 1 to 100, asked for with and
// without gzip; so does the request log's bytes=.
func TestVoteAnswerSizeTellsNothing(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Sizes", "Olga", "Pia")
	issue := tm.owner.addIssue(tm.gid, "SIZE-1", "How big")
	pia := tm.members[0]
	path := fmt.Sprintf("/issues/%d/estimate", issue)
	for _, enc := range []string{"", "gzip", "gzip, deflate, br"} {
		kinds := map[string]map[string][]int{} // kind -> Content-Length -> values
		note := func(kind string, r *response, v int) {
			if r.header.Get("Content-Encoding") != "" {
				t.Fatalf("%s for %d is compressed (%s)", kind, v, r.header.Get("Content-Encoding"))
			}
			cl := r.header.Get("Content-Length")
			if cl != strconv.Itoa(len(r.body)) {
				t.Fatalf("%s for %d: Content-Length %q for %d bytes", kind, v, cl, len(r.body))
			}
			if kinds[kind] == nil {
				kinds[kind] = map[string][]int{}
			}
			kinds[kind][cl] = append(kinds[kind][cl], v)
		}
		hx := pia.htmxFrom(path).with("Accept-Encoding", enc)
		plain := pia.plain().with("Accept-Encoding", enc)
		for v := 1; v <= 100; v++ {
			r := hx.post(path, url.Values{"estimate": {strconv.Itoa(v)}}).wantStatus(http.StatusOK)
			if r.text("own-value") != strconv.Itoa(v) {
				t.Fatalf("htmx answer shows %q for %d", r.text("own-value"), v)
			}
			note("htmx answer", r, v)
			note("htmx panel", hx.get(path).wantStatus(http.StatusOK), v)
			plain.post(path, url.Values{"estimate": {strconv.Itoa(v)}}).wantRedirect(path)
			page := plain.get(path).wantStatus(http.StatusOK)
			if page.text("own-value") != strconv.Itoa(v) {
				t.Fatalf("page shows %q for %d", page.text("own-value"), v)
			}
			note("page after the vote", page, v)
			note("page", plain.get(path).wantStatus(http.StatusOK), v)
		}
		for kind, byLen := range kinds {
			if len(byLen) != 1 {
				t.Errorf("Accept-Encoding %q: %s has %d lengths: %v", enc, kind, len(byLen), byLen)
			}
		}
	}
	sizes := map[string]bool{}
	for _, m := range regexp.MustCompile(`method=POST route=/issues/:id/estimate status=200 duration=\S+ bytes=(\d+)`).FindAllStringSubmatch(ta.logs.String(), -1) {
		sizes[m[1]] = true
	}
	if len(sizes) != 1 {
		t.Errorf("the request log gives the vote answers %d sizes: %v", len(sizes), sizes)
	}
}

// sqliteInt is how SQLite's record format stores an integer: its serial type
// and its big-endian body.
func sqliteInt(v int64) (byte, []byte) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	switch {
	case v == 0:
		return 8, nil
	case v == 1:
		return 9, nil
	case v >= -128 && v <= 127:
		return 1, b[7:]
	case v >= -32768 && v <= 32767:
		return 2, b[6:]
	case v >= -8388608 && v <= 8388607:
		return 3, b[5:]
	case v >= -2147483648 && v <= 2147483647:
		return 4, b[4:]
	}
	return 6, b[:]
}

// estimateRecord is the start of an estimates row as SQLite writes it (issue,
// user, value or NULL when value is 0, then a 4-byte updated_at), followed by
// updated_at's bytes when at is not zero.
func estimateRecord(issue, user, value int64, at time.Time) []byte {
	ti, bi := sqliteInt(issue)
	tu, bu := sqliteInt(user)
	tv, bv := byte(0), []byte(nil)
	if value != 0 {
		tv, bv = sqliteInt(value)
	}
	rec := []byte{5, ti, tu, tv, 4}
	rec = append(append(append(rec, bi...), bu...), bv...)
	if !at.IsZero() {
		var ts [4]byte
		binary.BigEndian.PutUint32(ts[:], uint32(at.Unix()))
		rec = append(rec, ts[:]...)
	}
	return rec
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

// TestNothingAtRestTiesAVoteToAVoterAfterReveal votes distinctive values (one
// changed, one sent while signed out and replayed at sign-in), reveals, and
// searches the raw bytes of the database, its WAL and its shared-memory file —
// while the server runs and after it stopped — for any record pairing a voter
// with a value or with the time of their vote, or a kept form with a value.
func TestNothingAtRestTiesAVoteToAVoterAfterReveal(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Forensics", "Rita", "Sam", "Tess", "Uma", "Vera")
	issue := tm.owner.addIssue(tm.gid, "SECRET-1", "")
	path := fmt.Sprintf("/issues/%d/estimate", issue)
	type vote struct {
		nick  string
		c     *client
		value int64
		at    time.Time
	}
	votes := []vote{{nick: "Sam", value: 97}, {nick: "Sam", value: 37}, {nick: "Tess", value: 59}, {nick: "Uma", value: 71}, {nick: "Vera", value: 83}}
	for i := range votes {
		votes[i].c = tm.members[map[string]int{"Sam": 0, "Tess": 1, "Uma": 2, "Vera": 3}[votes[i].nick]]
	}
	for i, v := range votes {
		ta.clock.Advance(time.Duration(7+i) * time.Minute)
		votes[i].at = ta.clock.Now()
		if v.nick == "Vera" {
			// Signed out: the vote is kept, then replayed when she signs in.
			v.c.post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
			r := v.c.estimate(issue, strconv.FormatInt(v.value, 10)).wantStatus(http.StatusSeeOther)
			_, ref, _ := loginTarget(t, r.location())
			v.c.post("/login", url.Values{"nickname": {"Vera"}, "kept": {ref}}).wantRedirect(path)
			continue
		}
		v.c.estimate(issue, strconv.FormatInt(v.value, 10)).wantRedirect(path)
	}
	// A signed-out browser's vote that is never replayed: kept until the reveal.
	stranger := ta.client()
	stranger.estimate(issue, "67").wantStatus(http.StatusSeeOther)

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
	for _, v := range votes[1:] {
		if find(before, estimateRecord(int64(issue), ta.user(v.nick).ID, v.value, v.at)) == "" {
			t.Fatalf("before the reveal the search finds no record of %s's vote: it would prove nothing", v.nick)
		}
	}
	if find(before, []byte("estimate=67")) == "" {
		t.Fatal("before the reveal the search finds no kept vote")
	}

	ta.clock.Advance(time.Hour)
	tm.owner.plain().post(fmt.Sprintf("/issues/%d/reveal", issue), url.Values{"confirmed": {"1"}}).wantStatus(http.StatusSeeOther)

	uids := map[string]int64{}
	for _, v := range votes {
		uids[v.nick] = ta.user(v.nick).ID
	}
	check := func(when string, files map[string][]byte) {
		t.Helper()
		for _, v := range votes {
			uid := uids[v.nick]
			for what, pattern := range map[string][]byte{
				"value":             estimateRecord(int64(issue), uid, v.value, time.Time{}),
				"value and time":    estimateRecord(int64(issue), uid, v.value, v.at),
				"time of the vote":  estimateRecord(int64(issue), uid, 0, v.at),
				"kept form's value": []byte("estimate=" + strconv.FormatInt(v.value, 10)),
			} {
				if f := find(files, pattern); f != "" {
					t.Errorf("%s: %s holds %s's %s (%d)", when, f, v.nick, what, v.value)
				}
			}
		}
		if f := find(files, []byte("estimate=67")); f != "" {
			t.Errorf("%s: %s holds the kept, never replayed vote", when, f)
		}
	}
	check("after the reveal", databaseBytes(t, dbPath))
	// Every estimate row of the issue carries the same time now.
	if n := ta.countRows("estimates", "issue_id = ? AND (value IS NOT NULL OR updated_at <> ?)", issue, ta.clock.Now().Unix()); n != 0 {
		t.Errorf("%d estimates keep a value or their own time after the reveal", n)
	}
	ta.app.Close()
	if err := ta.st.Close(); err != nil {
		t.Fatal(err)
	}
	check("after a clean stop", databaseBytes(t, dbPath))
}
