// Package store is the domain of Estimator and its persistence in SQLite or
// PostgreSQL: users, sessions, groups, issues, estimates and the rules that
// govern them. The rules are written once; dialect.go holds what differs
// between the two engines.
package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// migrations/*.sql are SQLite's; migrations/postgres holds their PostgreSQL
// twins, one per number, making the same schema.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Sentinel errors that handlers map to answers with errors.Is.
var (
	ErrNotFound         = errors.New("not found")
	ErrInvalid          = errors.New("invalid input")
	ErrNicknameTaken    = errors.New("nickname is taken")
	ErrInactive         = errors.New("user is deactivated")
	ErrAlreadyMember    = errors.New("already a member")
	ErrKeyTaken         = errors.New("issue key is taken")
	ErrNotOpen          = errors.New("issue is not open for estimates")
	ErrNotRevealed      = errors.New("issue is not revealed")
	ErrOwnerCannotLeave = errors.New("the owner cannot leave the group")
	ErrNotMember        = errors.New("not a member")
	ErrIsOwner          = errors.New("the owner runs the meeting already")
	ErrSchemaTooNew     = errors.New("database schema is newer than this program")
	// ErrUnavailable wraps database faults that are not the caller's doing and may
	// clear by themselves: locked, read-only or full database, I/O errors.
	ErrUnavailable = errors.New("database unavailable")
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Now is the clock; tests inject one to move time.
	Now func() time.Time
	// ReadConns is the size of the read pool (default: 2 × CPUs, at least 4).
	ReadConns int
	// BusyTimeout is how long a statement waits for a lock (default 5s).
	BusyTimeout time.Duration
	// KeptFormsMaxBytes caps the bodies of all kept forms together (default
	// 64 MiB): people who are not signed in cannot fill the disk.
	KeptFormsMaxBytes int64
	// KeptFormsMax caps the number of kept forms together (default 2,000):
	// empty forms take rows, if not bytes.
	KeptFormsMax int
	// AnonymousSessionsMax caps the sessions nobody signed in to (default
	// 10,000): each holds a kept form or a provider sign-in under way.
	AnonymousSessionsMax int
	// MaxConns is the PostgreSQL pool size of this instance (default 16);
	// reads and writes share it. SQLite ignores it.
	MaxConns int
	// Driver is the database/sql driver that opens an SQLite file (default
	// "sqlite", modernc's). The growth tests name a wrapper of it that counts
	// the statements a request runs.
	Driver string
	// Changes hears of every committed change (nil: nobody listens, as for
	// the operator's subcommands).
	Changes Changes
	// TrackerKey, when set, seals the trackers' tokens at rest (AES-256-GCM
	// with the SHA-256 of the key): a copy of the database alone does not
	// give them away. Empty: tokens are stored as given.
	TrackerKey []byte
}

// Store is the domain store. On SQLite it holds two pools: a single writer
// connection (SQLite allows one writer at a time; queueing in Go is cheaper than
// spinning on SQLITE_BUSY) and a pool of read connections, which WAL lets run
// beside the writer. On PostgreSQL w and r are one pool, and write
// transactions lock the rows their rules read (forUpdate).
type Store struct {
	w, r      *sql.DB
	pg        bool
	readConns int
	now       func() time.Time
	path      string
	// changes hears of every committed change (Options.Changes).
	changes Changes
	// sealer seals the trackers' tokens (Options.TrackerKey); nil: none.
	sealer cipher.AEAD
	// keptMax caps the bytes of all kept forms (Options.KeptFormsMaxBytes),
	// keptRows their number, anonMax the sessions nobody signed in to.
	keptMax  int64
	keptRows int
	anonMax  int
	stmts    sync.Map // query text + pool -> *sql.Stmt
	// fault is the last write that failed for reasons outside the caller's
	// control; probe caches Ping's write probe.
	fault atomic.Pointer[outcome]
	probe atomic.Pointer[outcome]
	// scrubDue: a reveal's checkpoint did not finish; Purge tries again.
	scrubDue atomic.Bool
	// scrub lets the reveals of a busy moment share their checkpoints; mark
	// is the durable marker of a scrub due (scrubmark.go).
	scrub       scrubQueue
	mark        scrubMark
	checkpoints atomic.Int64 // run after reveals, for tests
	// checkpointBusy counts the checkpoint's tries a reader made fail;
	// checkpointBusyIdle those of them with no read of this process in
	// flight (countBusy).
	checkpointBusy, checkpointBusyIdle atomic.Int64
	// checkpointHeld is how long the last try held the writer (ns).
	checkpointHeld atomic.Int64
	// ck is the checkpointer's connection (SQLite): it copies the WAL into
	// the file without holding the writer.
	ck *sql.DB
	// gate holds this process's reads back while a checkpoint truncates the
	// WAL (readgate.go).
	gate readGate
	// wq orders those waiting for the writer (SQLite): writing takes a turn.
	wq writerQueue
	// votes commits the votes waiting for the writer together (SQLite).
	votes voteBatch
	// busyTimeout is Options.BusyTimeout: how long SQLite waits for a lock.
	busyTimeout time.Duration
	// readOnly is set by SetReadOnly, maxPages by SetMaxPages: what the
	// operator chose, kept when the connections are opened again.
	readOnly atomic.Bool
	maxPages atomic.Int64
	// reopened is when the connections were last opened again (unix ns).
	reopened atomic.Int64
	// writes counts this process's writes; gens checks the generation and
	// cache holds what was read at it (cache.go). Both nil on PostgreSQL.
	writes atomic.Uint64
	gens   *genCheck
	cache  *caches
}

// DSN builds the connection string with the pragmas every pooled connection needs.
func DSN(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL in WAL mode: a commit survives a crash of this process; only a power
	// loss or OS crash may roll back the last transactions (never corrupts).
	q.Add("_pragma", "synchronous(NORMAL)")
	// Deleted and overwritten content is zeroed, in the WAL and in the file's
	// free pages alike: after a reveal, no old page still holds a vote.
	q.Add("_pragma", "secure_delete(1)")
	// Temporary files stay in memory: a batch of votes keeps the pages its
	// savepoints may roll back to (old ballots among them) in a statement
	// journal, which would otherwise spill to a file above 64 KiB that
	// neither secure_delete nor a checkpoint scrubs.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	// A file: URI: "%", "?" and "#" in the path are escaped so they stay part of it.
	return "file:" + uriPath.Replace(path) + "?" + q.Encode()
}

var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Open opens the database and applies migrations: an SQLite file at path
// (created if needed), or the PostgreSQL database a postgres:// URL names.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.ReadConns == 0 {
		opts.ReadConns = max(4, 2*runtime.NumCPU())
	}
	if opts.KeptFormsMaxBytes == 0 {
		opts.KeptFormsMaxBytes = 64 << 20
	}
	if opts.KeptFormsMax == 0 {
		opts.KeptFormsMax = 2000
	}
	if opts.AnonymousSessionsMax == 0 {
		opts.AnonymousSessionsMax = 10000
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = 16
	}
	if opts.Driver == "" {
		opts.Driver = "sqlite"
	}
	if IsPostgres(path) {
		db, err := openPostgres(path, opts)
		if err != nil {
			return nil, err
		}
		s := &Store{w: db, r: db, pg: true, now: opts.Now, path: path, keptMax: opts.KeptFormsMaxBytes,
			keptRows: opts.KeptFormsMax, anonMax: opts.AnonymousSessionsMax, changes: opts.Changes, sealer: newSealer(opts.TrackerKey)}
		if err := s.migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
		if err := s.finishScrub(ctx); err != nil {
			db.Close()
			return nil, err
		}
		if err := s.fillSkeletons(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
			db.Close()
			return nil, err
		}
		return s, nil
	}
	if err := repairSidecars(path); err != nil {
		return nil, err
	}
	w, err := openSQLite(opts.Driver, DSN(path, opts.BusyTimeout, false), nil)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, now: opts.Now, path: path, keptMax: opts.KeptFormsMaxBytes, keptRows: opts.KeptFormsMax,
		anonMax: opts.AnonymousSessionsMax, busyTimeout: opts.BusyTimeout, changes: opts.Changes, sealer: newSealer(opts.TrackerKey)}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// A reveal's scrub that a crash left undone is finished before the store
	// serves.
	if err := s.finishScrub(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.fillSkeletons(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
		// A database that takes no writes now still serves; the skeletons are
		// filled at a later start.
		w.Close()
		return nil, err
	}
	r, err := openSQLite(opts.Driver, DSN(path, opts.BusyTimeout, true), &s.gate)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	r.SetConnMaxIdleTime(0)
	s.r, s.readConns = r, opts.ReadConns
	s.gens = newGenCheck(func() (*sql.DB, error) {
		db, err := sql.Open("sqlite", DSN(path, opts.BusyTimeout, true))
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return db, nil
	}, path+"-shm", &s.writes, &s.gate)
	s.cache = &caches{}
	// The checkpointer's own connection copies the WAL into the file beside
	// the writer (see truncateWAL).
	if s.ck, err = openSQLite(opts.Driver, DSN(path, opts.BusyTimeout, false), nil); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	s.ck.SetMaxOpenConns(1)
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	s.votes.close()
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	if s.r == s.w {
		return s.w.Close()
	}
	var gerr error
	if s.gens != nil {
		gerr = s.gens.shutdown()
	}
	var cerr error
	if s.ck != nil {
		cerr = s.ck.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close(), gerr, cerr, s.closeMark())
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Path is the database file, or the PostgreSQL URL.
func (s *Store) Path() string { return s.path }

// ErrSQLiteOnly is what a setting of SQLite's own answers on PostgreSQL, where
// the server's configuration does that job.
var ErrSQLiteOnly = errors.New("an SQLite setting: on PostgreSQL the server's own configuration does this")

func (s *Store) unix() int64 { return s.now().Unix() }

// faultWindow is how long a failed write keeps /healthz failing after it,
// unless a write probe succeeds after it. A small write may still succeed on a
// full disk, so the successes of other writes do not end it: the probe's own
// write needs new pages.
const faultWindow = 10 * time.Second

// probeEvery bounds how often Ping takes the write lock for its probe.
const probeEvery = time.Second

// outcome is a write's result and when it happened.
type outcome struct {
	at  time.Time
	err error
}

// Ping checks that the database answers a read and takes writes: it fails while
// writes are failing (read-only file, full disk, a lock held elsewhere) and
// recovers by itself once they succeed again. The write probe runs at most once a
// second, so health checks stay cheap under load.
//
// It follows the truth within probeEvery: a write that failed after the last
// probe makes it fail, and the next probe (at most a second later) that
// succeeds makes it pass again, whenever the failure was.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return wrap(err)
	}
	p := s.probe.Load()
	if now := s.now(); p == nil || now.Sub(p.at) >= probeEvery {
		p = &outcome{at: now, err: s.probeWrite(ctx)}
		s.probe.Store(p)
	}
	if f := s.fault.Load(); f != nil && s.now().Sub(f.at) < faultWindow && !p.at.After(f.at) {
		return f.err
	}
	return p.err
}

// probeWrite runs a real, rolled-back write: it needs the write lock and a
// writable file.
func (s *Store) probeWrite(ctx context.Context) error {
	err := s.probeOnce(ctx)
	// After the probe's connection is back in the pool, so it can be closed.
	s.reopenIfWritable(err)
	return err
}

func (s *Store) probeOnce(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (-1, 0)"); err != nil {
		return wrap(err)
	}
	if !s.pg {
		// New pages, as real writes need: on a full disk this fails though
		// the row above fitted in a page that had room.
		if _, err := tx.ExecContext(ctx, "CREATE TABLE write_probe (b BLOB)"); err != nil {
			return wrap(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO write_probe VALUES (zeroblob(16384))"); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// noteWrite remembers a write that failed for a reason outside the caller's
// control (read-only or full database, a lock held elsewhere, I/O), for Ping.
func (s *Store) noteWrite(err error) error {
	if errors.Is(err, ErrUnavailable) && !errors.Is(err, context.Canceled) {
		s.fault.Store(&outcome{at: s.now(), err: err})
		s.reopenIfWritable(err)
	}
	return err
}

// reopenIfWritable recovers from a database file that was read-only when the
// connections opened it: SQLite then opened it read-only for good, so after a
// chmod back every write would still fail. When a write fails as read-only
// although the file is writable now (and the operator did not make the store
// read-only), the -wal and -shm get the file's mode back and the connections
// are closed, to be opened afresh by the next statement. At most once a second.
func (s *Store) reopenIfWritable(err error) {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_READONLY || s.readOnly.Load() || !writable(s.path) {
		return
	}
	now := time.Now().UnixNano()
	last := s.reopened.Load()
	if now-last < int64(time.Second) || !s.reopened.CompareAndSwap(last, now) {
		return
	}
	if repairSidecars(s.path) != nil {
		return
	}
	// Idle connections close now; ones in use close when they come back.
	s.w.SetMaxIdleConns(0)
	s.w.SetMaxIdleConns(1)
	if s.r != nil {
		s.r.SetMaxIdleConns(0)
		s.r.SetMaxIdleConns(s.readConns)
	}
	if n := s.maxPages.Load(); n > 0 {
		s.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", n))
	}
}

// SetReadOnly makes the store refuse writes (SQLite's query_only) or take them
// again: for maintenance windows, and to drill a read-only database file.
func (s *Store) SetReadOnly(ctx context.Context, readOnly bool) error {
	if s.pg {
		return ErrSQLiteOnly
	}
	v := 0
	if readOnly {
		v = 1
	}
	_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA query_only = %d", v))
	if err == nil {
		s.readOnly.Store(readOnly)
	}
	return wrap(err)
}

// SetMaxPages caps the database file at n pages (0 lifts the cap): a write that
// needs more space fails as it would on a full disk. Operators can keep the file
// from filling a shared disk; tests use it to drill a full disk.
func (s *Store) SetMaxPages(ctx context.Context, n int64) error {
	if s.pg {
		return ErrSQLiteOnly
	}
	if n <= 0 {
		n = 0xfffffffe // SQLite's largest page count
	}
	_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n))
	if err == nil {
		s.maxPages.Store(n)
	}
	return wrap(err)
}

// PageCount is the database's current size in pages.
func (s *Store) PageCount(ctx context.Context) (int64, error) {
	if s.pg {
		return 0, ErrSQLiteOnly
	}
	var n int64
	err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&n)
	return n, wrap(err)
}

// stmt returns a prepared statement for query on db, prepared once per store.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{db, query}
	if st, ok := s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, wrap(err)
	}
	if prev, loaded := s.stmts.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// writerStmts returns the writer's prepared statements for queries, for a
// transaction to run with tx.StmtContext (which reuses them on the writer's
// connection). Call it before the transaction: the writer has one connection,
// and preparing waits for it.
func (s *Store) writerStmts(ctx context.Context, queries ...string) ([]*sql.Stmt, error) {
	sts := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		st, err := s.stmt(ctx, s.w, q)
		if err != nil {
			return nil, err
		}
		sts[i] = st
	}
	return sts, nil
}

type stmtKey struct {
	db    *sql.DB
	query string
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := s.stmt(ctx, s.r, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.r, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	return rows, wrap(err)
}

// insert runs an INSERT … RETURNING id on the writer and returns the new row's
// id: RETURNING serves both engines (pgx has no LastInsertId).
func (s *Store) insert(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := s.stmt(ctx, s.w, query)
	if err != nil {
		return 0, err
	}
	done, err := s.writerTurn(ctx)
	if err != nil {
		return 0, s.noteWrite(wrap(err))
	}
	defer done()
	var id int64
	err = st.QueryRowContext(ctx, args...).Scan(&id)
	s.wrote()
	return id, s.noteWrite(wrap(err))
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, s.w, query)
	if err != nil {
		return nil, err
	}
	done, err := s.writerTurn(ctx)
	if err != nil {
		return nil, s.noteWrite(wrap(err))
	}
	defer done()
	res, err := st.ExecContext(ctx, args...)
	s.wrote()
	return res, s.noteWrite(wrap(err))
}

// writerTurn waits for this caller's turn at SQLite's writer (writerQueue);
// done ends it. On PostgreSQL it does not wait.
func (s *Store) writerTurn(ctx context.Context) (done func(), err error) {
	if s.pg {
		return func() {}, nil
	}
	if err := s.wq.lock(ctx); err != nil {
		return nil, err
	}
	return s.wq.unlock, nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE through the DSN).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	done, err := s.writerTurn(ctx)
	if err != nil {
		return s.noteWrite(wrap(err))
	}
	defer done()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.noteWrite(wrap(err))
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.noteWrite(wrap(err))
	}
	err = tx.Commit()
	s.wrote()
	return s.noteWrite(wrap(err))
}

// txRecheck is tx for a transaction that checks a unique value is free and
// then inserts it. On PostgreSQL another instance may insert the same value
// between the check and the insert; the unique index refuses the second, and
// the transaction runs once more to decide again, now seeing the other's row
// (SQLite's single writer never interleaves them). fn must set what it returns
// afresh on each run.
func (s *Store) txRecheck(ctx context.Context, fn func(*sql.Tx) error) error {
	err := s.tx(ctx, fn)
	if isUniqueViolation(err) {
		err = s.tx(ctx, fn)
	}
	return err
}

// wrap marks database faults that are not the caller's doing as ErrUnavailable.
func wrap(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if pgUnavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOLFS:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return err
}

func isUniqueViolation(err error) bool {
	if pgUniqueViolation(err) {
		return true
	}
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrationDir holds the migrations of one engine.
func migrationDir(pg bool) string {
	if pg {
		return "migrations/postgres"
	}
	return "migrations"
}

func loadMigrations(pg bool) ([]migration, error) {
	dir := migrationDir(pg)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and _", e.Name())
		}
		b, err := migrationFiles.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the newest migration this program knows (the same number on
// both engines: every migration has its PostgreSQL twin).
func SchemaVersion() int { return schemaVersion(false) }

func schemaVersion(pg bool) int {
	ms, err := loadMigrations(pg)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// The statements that differ between the engines in the migration runner.
const (
	sqliteMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`
	pgMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT  NOT NULL
	)`
	// Instances starting at once take turns: the first migrates, the others
	// then find nothing to do. The lock is per schema, so databases in other
	// schemas of the same server (tests) do not wait on each other.
	pgMigrationLock   = "SELECT pg_advisory_lock(hashtext('estimator.migrate.' || current_schema()))"
	pgMigrationUnlock = "SELECT pg_advisory_unlock(hashtext('estimator.migrate.' || current_schema()))"
)

// migrate applies the embedded migrations that the database lacks, each in its own
// transaction. A database migrated by a newer program is refused. It runs on one
// connection, which on PostgreSQL holds the migration lock throughout.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.pg)
	if err != nil {
		return err
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open database: %w", wrap(err))
	}
	defer conn.Close()
	table := sqliteMigrationsTable
	if s.pg {
		if _, err := conn.ExecContext(ctx, pgMigrationLock); err != nil {
			return fmt.Errorf("open database: %w", wrap(err))
		}
		// A failed unlock ends with the connection (Close above returns it to
		// the pool; a lost connection releases the lock anyway).
		defer conn.ExecContext(context.WithoutCancel(ctx), pgMigrationUnlock)
		table = pgMigrationsTable
	}
	if _, err := conn.ExecContext(ctx, table); err != nil {
		return fmt.Errorf("open database: %w", wrap(err))
	}
	var current int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", wrap(err))
	}
	// Every migration not yet recorded is applied, not only those above the
	// newest: changes made side by side get their numbers in any order, and a
	// database that has 0006 but not 0005 still gets 0005.
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("read schema version: %w", wrap(err))
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema version: %w", wrap(err))
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema version: %w", wrap(err))
	}
	if latest := schemaVersion(s.pg); current > latest {
		return fmt.Errorf("%w: the database is at schema version %d, this program knows up to %d; run a newer estimator or restore a backup", ErrSchemaTooNew, current, latest)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return s.noteWrite(wrap(err))
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, wrap(err))
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.version, s.unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, wrap(err))
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, wrap(err))
		}
	}
	return nil
}

// Backup writes a consistent copy of the database to path while it is in use.
// It runs on the write connection: the read pool is query_only, which SQLite
// also applies to VACUUM INTO. Writes wait for the copy; reads go on.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.pg {
		return ErrBackupPostgres
	}
	_, err := s.w.ExecContext(ctx, "VACUUM INTO ?", path)
	return wrap(err)
}

// ErrBackupPostgres: the store does not copy a PostgreSQL database; the
// server's own tools do it better (consistent, online, and restorable).
var ErrBackupPostgres = errors.New("the database is PostgreSQL: back it up with pg_dump (for example pg_dump --format=custom --file=estimator.dump DATABASE_URL) or the server's continuous archiving")

// IntegrityCheck runs PRAGMA integrity_check and returns its first line. On
// PostgreSQL, whose pages the server checks itself, it checks what the schema
// keeps by triggers: every group's member and open-issue counts.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	if s.pg {
		var wrong int
		err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM groups g WHERE
			g.member_count <> (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id) OR
			g.open_issues <> (SELECT COUNT(*) FROM issues i WHERE i.group_id = g.id AND i.state = 'open')`).Scan(&wrong)
		if err != nil {
			return "", wrap(err)
		}
		if wrong > 0 {
			return fmt.Sprintf("%d groups with wrong member or open-issue counts", wrong), nil
		}
		return "ok", nil
	}
	var res string
	err := s.r.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res)
	return res, wrap(err)
}
