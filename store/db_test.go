package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

type migrationRow struct {
	Version   int
	AppliedAt int64
}

func migrationRows(t *testing.T, s *Store) []migrationRow {
	t.Helper()
	rows, err := s.r.Query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var m migrationRow
		if err := rows.Scan(&m.Version, &m.AppliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func schemaSQL(t *testing.T, s *Store) string {
	t.Helper()
	q := "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name"
	if s.pg {
		q = `SELECT line FROM (
			SELECT 'column ' || table_name || '.' || column_name || ': ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '') AS line
				FROM information_schema.columns WHERE table_schema = current_schema()
			UNION ALL SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT 'trigger ' || trigger_name || ': ' || event_manipulation || ' ' || action_statement
				FROM information_schema.triggers WHERE trigger_schema = current_schema()
			UNION ALL SELECT 'function ' || p.proname || ': ' || md5(p.prosrc) FROM pg_proc p
				JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
		) x ORDER BY line`
	}
	rows, err := s.r.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestOpenTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	path := newDB(t, "twice.db")
	clk := newClock()
	ctx := context.Background()

	s1, err := Open(ctx, path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	first := migrationRows(t, s1)
	schema := schemaSQL(t, s1)
	u := newUser(t, s1, "Keeper")
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	if len(first) == 0 || first[len(first)-1].Version != SchemaVersion() {
		t.Fatalf("schema_migrations = %v, want versions up to %d", first, SchemaVersion())
	}
	// One row per embedded migration, by its number (numbers are handed out per
	// branch, so a tree may skip some).
	ms, err := loadMigrations(s1.pg)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(ms) {
		t.Fatalf("%d migration rows for %d migrations", len(first), len(ms))
	}
	for i, m := range first {
		if m.Version != ms[i].version || m.AppliedAt != epoch.Unix() {
			t.Errorf("migration row %d = %+v, want version %d", i, m, ms[i].version)
		}
	}

	clk.Advance(48 * time.Hour) // a re-applied migration would show a new applied_at
	s2 := openStore(t, path, Options{Now: clk.Now})
	if got := migrationRows(t, s2); !reflect.DeepEqual(got, first) {
		t.Errorf("after a second Open, schema_migrations = %v, want %v", got, first)
	}
	if got := schemaSQL(t, s2); got != schema {
		t.Errorf("schema changed on second Open:\n%s\nwant\n%s", got, schema)
	}
	if got, err := s2.UserByID(ctx, u.ID); err != nil || got.Nickname != "Keeper" {
		t.Errorf("data did not survive reopening: %+v, %v", got, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := newDB(t, "newer.db")
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	newer := SchemaVersion() + 1
	if _, err := s.w.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", newer); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, err := Open(ctx, path, Options{})
	if err == nil {
		s2.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open error = %v, want ErrSchemaTooNew", err)
	}
	msg := err.Error()
	for _, want := range []string{strconv.Itoa(newer), strconv.Itoa(SchemaVersion()), "newer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}

	// The refusal must not have touched the database: the newer row is still
	// there and a plain connection can read it.
	db := rawDB(t, path)
	var max int
	if err := db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&max); err != nil || max != newer {
		t.Errorf("schema version after refusal = %d, %v; want %d", max, err, newer)
	}
}

// TestPragmasOnEveryConnection holds several pooled connections at once (so each
// is a distinct connection) and checks the DSN pragmas on each.
func TestPragmasOnEveryConnection(t *testing.T) {
	sqliteOnly(t, "pragmas")
	t.Parallel()
	ctx := context.Background()
	const readConns = 4
	s := openStore(t, filepath.Join(t.TempDir(), "pragmas.db"), Options{ReadConns: readConns, BusyTimeout: 1234 * time.Millisecond})

	check := func(t *testing.T, c *sql.Conn, queryOnly int) {
		t.Helper()
		var mode string
		var fk, busy, qo, sync int
		for _, p := range []struct {
			pragma string
			dest   any
		}{
			{"journal_mode", &mode}, {"foreign_keys", &fk}, {"busy_timeout", &busy}, {"query_only", &qo}, {"synchronous", &sync},
		} {
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dest); err != nil {
				t.Fatalf("PRAGMA %s: %v", p.pragma, err)
			}
		}
		if mode != "wal" || fk != 1 || busy != 1234 || qo != queryOnly || sync != 1 {
			t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d query_only=%d synchronous=%d; want wal 1 1234 %d 1",
				mode, fk, busy, qo, sync, queryOnly)
		}
	}

	var conns []*sql.Conn
	for range readConns {
		c, err := s.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		t.Run("read"+strconv.Itoa(i), func(t *testing.T) { check(t, c, 1) })
		// The read pool cannot write, even by mistake.
		if _, err := c.ExecContext(ctx, "INSERT INTO groups (name, invite_token, created_at) VALUES ('x', 'y', 0)"); err == nil {
			t.Errorf("read connection %d accepted a write", i)
		}
	}
	for _, c := range conns {
		c.Close()
	}

	w, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("write", func(t *testing.T) { check(t, w, 0) })
	// foreign_keys in effect: a membership of a group that does not exist is refused.
	if _, err := w.ExecContext(ctx, "INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES (999, 999, 'member', 0)"); err == nil {
		t.Error("foreign keys are not enforced on the write connection")
	}
	w.Close()
}

func TestDefaultBusyTimeout(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	if s.pg {
		// PostgreSQL's counterpart: how long a statement waits for a row lock.
		var lock string
		if err := s.r.QueryRow("SHOW lock_timeout").Scan(&lock); err != nil || lock != "5s" {
			t.Errorf("lock_timeout = %q, %v; want 5s", lock, err)
		}
		return
	}
	var busy int
	if err := s.r.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 5000 {
		t.Errorf("busy_timeout = %d, %v; want 5000", busy, err)
	}
}

// TestLockedIsUnavailable: a write blocked by another process's lock past the
// busy timeout is ErrUnavailable (a fault to retry), not a validation error.
func TestLockedIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := newDB(t, "locked.db")
	s1 := openStore(t, path, Options{})
	clk := newClock()
	s2 := openStore(t, path, Options{BusyTimeout: 50 * time.Millisecond, Now: clk.Now})
	owner := newUser(t, s1, "Owner")

	tx, err := s1.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if s1.pg {
		// PostgreSQL has no database-wide write lock; one on the table the
		// write needs does the same.
		if _, err := tx.ExecContext(ctx, "LOCK TABLE groups IN EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s2.CreateGroup(ctx, owner, "Blocked")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("CreateGroup under a held lock = %v, want ErrUnavailable", err)
	}
	// Reads go on beside the writer (WAL).
	if _, err := s2.UserByID(ctx, owner.ID); err != nil {
		t.Errorf("read while another connection writes: %v", err)
	}
	if err := s2.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping under a held lock = %v, want ErrUnavailable", err)
	}
	tx.Rollback()
	// Health stays red until a write probe after the last failed write
	// succeeds: at most probeEvery later.
	if err := s2.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping right after a failed write = %v, want ErrUnavailable", err)
	}
	clk.Advance(probeEvery)
	if err := s2.Ping(ctx); err != nil {
		t.Errorf("Ping after the lock is released: %v", err)
	}
	if n := count(t, s2, "SELECT COUNT(*) FROM schema_migrations WHERE version < 0"); n != 0 {
		t.Errorf("Ping left %d probe rows behind", n)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	u := newUser(t, s, "Backed Up")
	newGroup(t, s, u, "Team")
	dst := filepath.Join(t.TempDir(), "copy.db")
	if s.pg {
		// The server's own tools back PostgreSQL up; the store says so.
		err := s.Backup(ctx, dst)
		if !errors.Is(err, ErrBackupPostgres) || !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("Backup on PostgreSQL = %v, want ErrBackupPostgres naming pg_dump", err)
		}
		return
	}
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	c := openStore(t, dst, Options{})
	if got, err := c.UserByNickname(ctx, "backed up"); err != nil || got.ID != u.ID {
		t.Errorf("user in the copy = %+v, %v", got, err)
	}
	if res, err := c.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("integrity of the copy = %q, %v", res, err)
	}
}
