package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A scrub that is due must survive a crash: a reveal whose checkpoint could
// not finish (a reader holding an old snapshot, say) and a SIGKILL would
// otherwise leave the round's values in the write-ahead log until the next
// reveal's checkpoint. So each reveal writes down, before it commits, that a
// scrub is due, and Open finishes a due scrub before it returns.
//
// On SQLite the marker is a file beside the database (scrubMarkPath): the
// checkpoint that scrubs must leave the WAL empty, which a row deleted after
// it could not. A byte is written into it in the reveal's transaction, before
// the commit, and the checkpoint that covers every reveal committed so far
// empties it again (both hold the single writer connection, so no reveal
// commits in between): a write and a truncation of a file kept open, cheaper
// on the reveal's path than creating and removing one each time.
// Like the commits (synchronous=NORMAL), the mark survives a crash of the
// process; a power loss may lose the last transactions, and the mark with
// them.
// On PostgreSQL it is a row per revealed issue in scrub_due, written in the
// reveal's transaction and deleted once a VACUUM ran after it.

// scrubMarkPath is SQLite's "a scrub is due" file.
func scrubMarkPath(path string) string { return path + "-scrub" }

// scrubMark is the marker file, once opened, and whether it is marked.
type scrubMark struct {
	mu  sync.Mutex
	f   *os.File
	set bool
}

// scrubAtStartWait bounds how long Open waits for readers of an old snapshot
// to let a due scrub finish before it gives up (and the server does not start).
const scrubAtStartWait = time.Minute

// markScrubDue writes down, in the reveal's transaction, that a scrub is due.
func (s *Store) markScrubDue(ctx context.Context, tx *sql.Tx, issueID int64) error {
	if s.pg {
		_, err := tx.ExecContext(ctx, "INSERT INTO scrub_due (issue_id) VALUES (?) ON CONFLICT (issue_id) DO NOTHING", issueID)
		return err
	}
	m := &s.mark
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set {
		return nil
	}
	if m.f == nil {
		f, err := os.OpenFile(scrubMarkPath(s.path), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("%w: the reveal cannot write down its scrub: %w", ErrUnavailable, err)
		}
		syncDir(filepath.Dir(s.path))
		m.f = f
	}
	if _, err := m.f.WriteAt([]byte{1}, 0); err != nil {
		return fmt.Errorf("%w: the reveal cannot write down its scrub: %w", ErrUnavailable, err)
	}
	m.set = true
	return nil
}

// scrubMarkDone removes the marker: called by a checkpoint that emptied the
// WAL while it holds the writer connection.
func (s *Store) scrubMarkDone() {
	m := &s.mark
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.set {
		return
	}
	if m.f == nil {
		// Marked by an earlier process (finishScrub).
		if err := os.Truncate(scrubMarkPath(s.path), 0); err == nil || errors.Is(err, os.ErrNotExist) {
			m.set = false
		}
		return
	}
	if m.f.Truncate(0) == nil {
		m.set = false
	}
}

// closeMark closes the marker file (Close).
func (s *Store) closeMark() error {
	m := &s.mark
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}

// syncDir makes a file created in dir survive a power loss (best effort: not
// every system syncs a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// finishScrub runs at Open, before the store serves: a scrub a reveal wrote
// down and no checkpoint (or vacuum) finished is finished now. On SQLite it
// waits for readers of an older snapshot (another process) up to
// scrubAtStartWait.
func (s *Store) finishScrub(ctx context.Context) error {
	if s.pg {
		var due bool
		if err := s.w.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM scrub_due)").Scan(&due); err != nil || !due {
			return wrap(err)
		}
		return s.vacuumValues(ctx, false)
	}
	if fi, err := os.Stat(scrubMarkPath(s.path)); err != nil || fi.Size() == 0 {
		return nil
	}
	s.mark.set = true
	deadline := time.Now().Add(max(scrubAtStartWait, s.busyTimeout))
	for {
		busy, err := s.checkpointOnce(ctx)
		if err != nil {
			return fmt.Errorf("finish the scrub of a reveal: %w", wrap(err))
		}
		if !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: a reveal's scrub is due (%s) and a reader of the database holds an older snapshot: end it (a backup, an sqlite3 shell) and start again", ErrUnavailable, scrubMarkPath(s.path))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// vacuumValues frees the dead row versions that held votes or kept forms on
// PostgreSQL (VACUUM runs outside a transaction; in Purge, SKIP_LOCKED leaves
// a table another vacuum holds for the next Purge), and then forgets the
// reveals written down before it started.
func (s *Store) vacuumValues(ctx context.Context, skipLocked bool) error {
	rows, err := s.w.QueryContext(ctx, "SELECT issue_id FROM scrub_due")
	if err != nil {
		return wrap(err)
	}
	var ids []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return wrap(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	q := "VACUUM ballots, kept_forms, open_notes, note_keys"
	if skipLocked {
		q = "VACUUM (SKIP_LOCKED) ballots, kept_forms, open_notes, note_keys"
	}
	if _, err := s.w.ExecContext(ctx, q); err != nil {
		return wrap(err)
	}
	if len(ids) > 0 {
		if _, err := s.w.ExecContext(ctx, "DELETE FROM scrub_due WHERE issue_id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", ids...); err != nil {
			return wrap(err)
		}
	}
	s.scrubDue.Store(false)
	return nil
}
