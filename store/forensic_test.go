package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPagesTellNotWhoVotedWhatNorInWhichOrder: the same 10 people vote the
// same cards (1, 2, 5, 21, ? and coffee) on an issue, twice, each time in
// another order and with the cards dealt to other people (one changes their
// mind on the way), while another issue of the group is voted on in between
// and an earlier one is already revealed. After the reveal — by the owner,
// auto-reveal, the timer, and a seat change that completes the round — and
// its checkpoint, the database file's pages of every table and index that
// ever held a vote (and of the issues and rounds, which hold the result) are
// read raw: header, cell pointers, cell sizes, freeblocks, fragmented bytes,
// content. Both runs must give the same bytes: anything that differed would
// depend on who voted what, or when.
func TestPagesTellNotWhoVotedWhatNorInWhichOrder(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"owner", "auto-reveal", "timer", "seat"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			var runs [2]map[string][]pageLayout
			for run := range runs {
				r := rand.New(rand.NewPCG(uint64(run)+1, 23))
				runs[run] = forensicPages(t, by, r)
			}
			if len(runs[0]) == 0 {
				t.Fatal("no pages read: the check would prove nothing")
			}
			names := make([]string, 0, len(runs[0]))
			for name := range runs[0] {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				a, b := runs[0][name], runs[1][name]
				if len(a) != len(b) {
					t.Errorf("%s: %d pages in one run, %d in the other", name, len(a), len(b))
					continue
				}
				for i := range a {
					if !bytes.Equal(a[i].raw, b[i].raw) {
						t.Errorf("%s, its page %d (of %d) differs with who voted what and when:\n  run 1: %s\n  run 2: %s", name, i+1, len(a), a[i], b[i])
					}
				}
			}
		})
	}
}

// forensicPages plays one run (the order and the dealing of the cards drawn
// from r) and returns the pages of each object that held votes or results.
func forensicPages(t *testing.T, by string, r *rand.Rand) map[string][]pageLayout {
	ctx := context.Background()
	clk := newClock()
	path := filepath.Join(t.TempDir(), "forensic.db")
	s := openStore(t, path, Options{Now: clk.Now})
	owner := newUser(t, s, "Facilitator-of-the-planning-day1")
	var people []User
	for i := range 10 {
		people = append(people, newUser(t, s, fmt.Sprintf("Estimator-with-a-longer-nick-%02d", i)))
	}
	// The 11th member: a spectator from the start on auto-reveal (every
	// voter then votes), the one whose change of seat completes the round.
	extra := newUser(t, s, "Late-member-who-turns-spectator")
	g := newGroup(t, s, owner, "Forensics team with a long name", append(slices.Clone(people), extra)...)
	if by == "auto-reveal" || by == "seat" {
		if err := s.SaveSettings(ctx, g.ID, GroupSettings{Deck: DefaultDeck(), AutoReveal: true}, owner); err != nil {
			t.Fatal(err)
		}
	}
	if by == "auto-reveal" {
		if _, err := s.SetSeat(ctx, g.ID, extra.ID, SeatSpectator); err != nil {
			t.Fatal(err)
		}
	}
	// An earlier issue, revealed alike in both runs.
	earlier := newIssue(t, s, g.ID, "PLAN-1")
	for i, p := range people[:4] {
		vote(t, s, earlier.ID, p, Scale[i])
	}
	if _, err := s.Reveal(ctx, earlier.ID, owner); err != nil {
		t.Fatal(err)
	}
	is := newIssue(t, s, g.ID, "PLAN-2")
	other := newIssue(t, s, g.ID, "PLAN-3")
	if by == "timer" {
		if _, err := s.SetTimer(ctx, is.ID, 60, owner); err != nil {
			t.Fatal(err)
		}
	}
	cards := []Vote{{Value: 1}, {Value: 2}, {Value: 5}, {Value: 21}, {Special: CardUnsure}, {Special: CardCoffee},
		{Value: 1}, {Value: 2}, {Value: 21}, {Special: CardCoffee}}
	// Each card comes with its note (of every length, one in another
	// script): the pairs are the same in both runs, who holds which is not.
	notes := []string{"", "Small change", "Needs a migration of the orders table — see SHOP-7 and SHOP-9",
		"API only", "Nobody knows the payment provider's sandbox", "Lunch first",
		strings.Repeat("見積もり ", 40), "x", "Risky: the legacy importer has no tests at all, and the CSV format changes often", "☕"}
	order := r.Perm(len(people))
	deal := r.Perm(len(cards))
	for step, who := range order {
		clk.Advance(time.Duration(3+step) * time.Minute)
		card := cards[deal[step]]
		if step == 0 {
			// The first to vote changes their mind at the end.
			card = Vote{Special: CardUnsure}
			if cards[deal[step]] == card {
				card = Vote{Value: 5}
			}
		}
		note := notes[deal[step]]
		if _, err := s.EstimateNote(ctx, is.ID, people[who].ID, card, &note); err != nil {
			t.Fatal(err)
		}
		// The other issue gets a vote now and then, by the same people in
		// both runs.
		if step%3 == 1 {
			vote(t, s, other.ID, people[step], Scale[step%len(Scale)])
		}
	}
	clk.Advance(time.Minute)
	if _, err := s.Estimate(ctx, is.ID, people[order[0]].ID, cards[deal[0]]); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	switch by {
	case "owner":
		if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
			t.Fatal(err)
		}
	case "auto-reveal":
		// The owner votes last: every voter has voted.
		if revealed, err := s.Estimate(ctx, is.ID, owner.ID, Vote{Value: 3}); err != nil || !revealed {
			t.Fatalf("the last vote: revealed %v, %v", revealed, err)
		}
	case "timer":
		clk.Advance(time.Hour)
		if out, err := s.FireTimers(ctx); err != nil || len(out) != 1 || !out[0].Revealed {
			t.Fatalf("FireTimers = %+v, %v", out, err)
		}
	case "seat":
		if _, err := s.Estimate(ctx, is.ID, owner.ID, Vote{Value: 3}); err != nil {
			t.Fatal(err)
		}
		if ch, err := s.SetSeat(ctx, g.ID, extra.ID, SeatSpectator); err != nil || !slices.Contains(ch.Revealed, is.ID) {
			t.Fatalf("SetSeat = %+v, %v", ch, err)
		}
	}
	if st := mustStatus(t, s, is.ID); st.Issue.State != StateRevealed || st.Issue.Result.Votes < 10 {
		t.Fatalf("after the reveal by %s: %s, %d votes", by, st.Issue.State, st.Issue.Result.Votes)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("the WAL holds %d bytes after the reveal's checkpoint", fi.Size())
	}
	roots := map[string]uint32{}
	rows, err := s.r.Query(`SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0
		AND tbl_name IN ('estimates', 'ballots', 'issues', 'issue_rounds', 'kept_forms', 'open_notes', 'note_keys', 'note_rights')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var root uint32
		if err := rows.Scan(&name, &root); err != nil {
			t.Fatal(err)
		}
		roots[name] = root
	}
	rows.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db := dbFile(raw)
	out := map[string][]pageLayout{}
	for name, root := range roots {
		out[name] = db.btree(t, root)
		if randomBytes[name] {
			for i, p := range out[name] {
				out[name][i] = p.cellsMasked()
			}
		}
	}
	out["(free pages)"] = db.freelist(t)
	return out
}

// randomBytes are the tables whose live cells hold random bytes: a round's
// note key, and the hashes of tokens made with a key deleted at the reveal
// (notes.go). Their cells' content differs from run to run by chance, not by
// who voted what; everything else of their pages (where each cell sits, how
// large it is, the free space, which secure_delete zeroes) must still match.
var randomBytes = map[string]bool{"note_keys": true, "note_rights": true}

// cellsMasked is the page with the content of its live cells zeroed.
func (p pageLayout) cellsMasked() pageLayout {
	p.raw = bytes.Clone(p.raw)
	for _, c := range p.cells {
		clear(p.raw[c[0] : c[0]+c[1]])
	}
	return p
}

// dbFile is an SQLite database file as bytes.
type dbFile []byte

func (db dbFile) pageSize() int {
	n := int(binary.BigEndian.Uint16(db[16:]))
	if n == 1 {
		return 65536
	}
	return n
}

func (db dbFile) page(t *testing.T, n uint32) []byte {
	ps := db.pageSize()
	if n == 0 || int(n)*ps > len(db) {
		t.Fatalf("page %d is outside the file", n)
	}
	return db[int(n-1)*ps : int(n)*ps]
}

// pageLayout is what a b-tree page shows about its cells: where each sits and
// how large it is, its freeblocks and fragmented bytes, and its raw bytes.
type pageLayout struct {
	number       uint32
	kind         byte
	cells        [][2]int // offset, size, in cell-pointer order
	freeblocks   [][2]int // offset, size
	contentStart int
	fragmented   int
	raw          []byte
}

func (p pageLayout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "page %d type %#x, content from %d, %d fragmented bytes, cells (offset:size)", p.number, p.kind, p.contentStart, p.fragmented)
	for _, c := range p.cells {
		fmt.Fprintf(&b, " %d:%d", c[0], c[1])
	}
	b.WriteString(", freeblocks")
	for _, f := range p.freeblocks {
		fmt.Fprintf(&b, " %d:%d", f[0], f[1])
	}
	return b.String()
}

// btree reads every page of the b-tree rooted at root, in tree order.
func (db dbFile) btree(t *testing.T, root uint32) []pageLayout {
	var out []pageLayout
	var walk func(n uint32)
	walk = func(n uint32) {
		p := db.layout(t, n)
		out = append(out, p)
		if p.kind == 0x05 || p.kind == 0x02 {
			for _, c := range p.cells {
				walk(binary.BigEndian.Uint32(p.raw[c[0]:]))
			}
			walk(binary.BigEndian.Uint32(p.raw[db.hdr(n)+8:]))
		}
	}
	walk(root)
	return out
}

func (db dbFile) hdr(n uint32) int {
	if n == 1 {
		return 100
	}
	return 0
}

func (db dbFile) layout(t *testing.T, n uint32) pageLayout {
	pg := db.page(t, n)
	h := db.hdr(n)
	p := pageLayout{number: n, kind: pg[h], raw: pg}
	p.contentStart = int(binary.BigEndian.Uint16(pg[h+5:]))
	if p.contentStart == 0 {
		p.contentStart = 65536
	}
	p.fragmented = int(pg[h+7])
	ptrs := h + 8
	if p.kind == 0x05 || p.kind == 0x02 {
		ptrs = h + 12
	}
	for i := range int(binary.BigEndian.Uint16(pg[h+3:])) {
		off := int(binary.BigEndian.Uint16(pg[ptrs+2*i:]))
		p.cells = append(p.cells, [2]int{off, db.cellSize(pg[off:], p.kind)})
	}
	for fb := int(binary.BigEndian.Uint16(pg[h+1:])); fb != 0; fb = int(binary.BigEndian.Uint16(pg[fb:])) {
		p.freeblocks = append(p.freeblocks, [2]int{fb, int(binary.BigEndian.Uint16(pg[fb+2:]))})
		if len(p.freeblocks) > len(pg) {
			t.Fatalf("page %d: a freeblock loop", n)
		}
	}
	return p
}

// cellSize is the bytes a cell takes on its page (SQLite's file format, 1.6).
func (db dbFile) cellSize(c []byte, kind byte) int {
	u := db.pageSize() - int(db[20])
	at := 0
	if kind == 0x05 || kind == 0x02 {
		at = 4
	}
	if kind == 0x05 {
		_, n := varint(c[at:])
		return at + n
	}
	payload, n := varint(c[at:])
	at += n
	if kind == 0x0d {
		_, n := varint(c[at:])
		at += n
	}
	maxLocal := u - 35
	if kind != 0x0d {
		maxLocal = (u-12)*64/255 - 23
	}
	if int(payload) <= maxLocal {
		return at + int(payload)
	}
	minLocal := (u-12)*32/255 - 23
	local := minLocal + (int(payload)-minLocal)%(u-4)
	if local > maxLocal {
		local = minLocal
	}
	return at + local + 4
}

func varint(b []byte) (uint64, int) {
	var v uint64
	for i := range 8 {
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return v<<8 | uint64(b[8]), 9
}

// freelist reads the free pages (trunk pages and leaves alike).
func (db dbFile) freelist(t *testing.T) []pageLayout {
	var out []pageLayout
	for trunk := binary.BigEndian.Uint32(db[32:]); trunk != 0; {
		pg := db.page(t, trunk)
		out = append(out, pageLayout{number: trunk, raw: pg})
		for i := range binary.BigEndian.Uint32(pg[4:]) {
			leaf := binary.BigEndian.Uint32(pg[8+4*i:])
			out = append(out, pageLayout{number: leaf, raw: db.page(t, leaf)})
		}
		trunk = binary.BigEndian.Uint32(pg)
	}
	return out
}
