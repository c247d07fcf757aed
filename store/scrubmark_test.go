package store

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestDueScrubIsWrittenDownAndFinishedAtOpen: a reveal whose scrub cannot
// finish (SQLite: a reader of another connection holds a snapshot from before
// it; PostgreSQL: no Purge ran yet) leaves it written down in the database's
// keeping, and the next Open finishes it before it returns: the WAL empty and
// the marker gone (SQLite), the vacuum run (PostgreSQL).
func TestDueScrubIsWrittenDownAndFinishedAtOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newDB(t, "due.db")
	clk := newClock()
	s := openStore(t, path, Options{Now: clk.Now, BusyTimeout: 200 * time.Millisecond})
	owner, a, b := newUser(t, s, "Owner"), newUser(t, s, "Ann"), newUser(t, s, "Bob")
	g := newGroup(t, s, owner, "Team", a, b)
	is := newIssue(t, s, g.ID, "DUE-1")
	vote(t, s, is.ID, a, 5)
	vote(t, s, is.ID, b, 8)
	if !s.pg {
		// The reader's snapshot, from before the reveal.
		reader := rawDB(t, path)
		snap, err := reader.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := snap.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := snap.QueryRowContext(ctx, "SELECT COUNT(*) FROM ballots").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(scrubMarkPath(path)); err != nil || fi.Size() == 0 {
			t.Fatalf("no scrub written down after a reveal whose checkpoint could not finish: %v", err)
		}
		if walSize(t, s) == 0 {
			t.Fatal("the WAL is empty although a reader held its snapshot: the test proves nothing")
		}
		s.Close() // the reader's connection stays: SQLite does not checkpoint at this close
		snap.ExecContext(ctx, "ROLLBACK")
		snap.Close()
		s = openStore(t, path, Options{Now: clk.Now})
		if n := walSize(t, s); n != 0 {
			t.Errorf("the WAL holds %d bytes after the Open that finished the scrub", n)
		}
		if fi, err := os.Stat(scrubMarkPath(path)); err == nil && fi.Size() != 0 {
			t.Error("the scrub's marker stays after it was finished")
		}
		// The next reveal, scrubbed at once, leaves no marker behind.
		next := newIssue(t, s, g.ID, "DUE-2")
		vote(t, s, next.ID, a, 3)
		vote(t, s, next.ID, b, 3)
		if _, err := s.Reveal(ctx, next.ID, owner); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(scrubMarkPath(path)); err != nil || fi.Size() != 0 {
			t.Errorf("a reveal scrubbed at once leaves its marker (or none was made): %v", err)
		}
		return
	}
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM scrub_due WHERE issue_id = ?", is.ID); n != 1 {
		t.Fatalf("the reveal wrote down %d vacuums due", n)
	}
	// A second instance starting (or this one restarting) vacuums first.
	s2 := openStore(t, path, Options{Now: clk.Now})
	if n := count(t, s2, "SELECT COUNT(*) FROM scrub_due"); n != 0 {
		t.Errorf("%d vacuums still due after Open", n)
	}
}
