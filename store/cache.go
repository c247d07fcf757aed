package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The read cache. What the hot pages read (the session behind a cookie and its
// user, a user's groups, an issue with its group and the viewer's role, the
// room's voters and rounds) is kept in memory, keyed by the database's
// generation: a number that changes whenever anything may have been committed
// since it was last read, by this process or any other on the same file. A
// request asks for the generation once (Fresh); a cached read serves only an
// entry made at that same generation, so a deactivation by `estimator users
// deactivate`, a sign-out or a vote is seen by the very next request.
// Time-based rules (idle timeout, expiry) are applied to cached rows against
// the clock on every read, as to rows just read.
//
// The generation comes from SQLite's PRAGMA data_version on a connection of
// its own, which changes when any other connection (this process's writer or
// another process) has committed, and from a counter this process bumps after
// each of its writes. PostgreSQL has no such signal: there the cache is off.

// viewFor bounds how long one check of the generation serves a request: a
// request that is still reading after that (a slow one, a stream) checks again.
const viewFor = time.Second

// cacheMax bounds the entries of one cache at one generation; a full cache
// starts over.
const cacheMax = 10000

// genCheck reads the generation, one check at a time: requests that arrive
// while a check runs wait for the next one, which starts after they arrived,
// and share it.
type genCheck struct {
	mu      sync.Mutex
	cond    sync.Cond
	started uint64 // checks started
	done    uint64 // the number of the last finished check
	running bool
	closed  bool
	gen     uint64 // what the last finished check found
	local   uint64 // the write counter it read
	err     error

	// gate is the readers' (readgate.go): data_version reads the log's
	// header as a read does, and may not hold up a checkpoint's truncation.
	gate *readGate

	// Owned by the running check.
	read *atomic.Uint64 // the store's write counter
	open func() (*sql.DB, error)
	// shm is the path of the WAL index; idx its header, mapped after the
	// first check on the connection (walindex.go): nil, data_version.
	shm   string
	idx   *walIndex
	lastH walHeader
	// mapAfter: a map of the WAL index failed; the next try is not before
	// this (monoNow), so a file system that cannot map it costs no failed
	// open on every check.
	mapAfter int64
	db       *sql.DB
	conn     *sql.Conn
	stmt     driver.StmtQueryContext
	dest     []driver.Value
	cur      uint64 // the generation, bumped on every change seen
	lastDV   int64
	lastW    uint64
}

// view is one request's generation, from Fresh.
type view struct {
	st    *Store
	gen   atomic.Uint64
	local atomic.Uint64
	at    atomic.Int64 // when the check that found gen ended (monotonic ns); 0: not checked yet
	// first is the generation the request's first check found.
	first atomic.Uint64
}

type viewKey struct{}

var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }

// Fresh returns ctx marked for the store's cached reads: the first of them
// under it checks the database's generation, and they serve what was current
// when that check started, or later. A request that reads nothing (a signed-out
// asset, say) checks nothing. Without it (or on PostgreSQL, or while the check
// fails) every read goes to the database.
func (s *Store) Fresh(ctx context.Context) context.Context {
	if s.gens == nil {
		return ctx
	}
	return context.WithValue(ctx, viewKey{}, &view{st: s})
}

// generation is the generation a cached read under ctx may use, and false
// when it must read the database. It checks on the first read, and again after
// a write by this process (this request's own, typically) or past viewFor.
func (s *Store) generation(ctx context.Context) (uint64, bool) {
	v, _ := ctx.Value(viewKey{}).(*view)
	if v == nil || v.st != s {
		return 0, false
	}
	if at := v.at.Load(); at == 0 || s.writes.Load() != v.local.Load() || monoNow()-at > int64(viewFor) {
		gen, local, err := s.gens.current()
		if err != nil {
			return 0, false
		}
		if at == 0 {
			v.first.Store(gen)
		}
		v.gen.Store(gen)
		v.local.Store(local)
		v.at.Store(monoNow())
	}
	return v.gen.Load(), true
}

// Generation is the generation this request's cached reads were served at,
// and true when every one of them was served at that one generation (its
// uncached reads saw the database then or later). It is false without the
// cache (PostgreSQL), or when the request's generation changed under it. What
// a request built from its reads may be kept under the generation and served
// again at it, as the store's own cache is.
func (s *Store) Generation(ctx context.Context) (uint64, bool) {
	gen, ok := s.generation(ctx)
	if !ok {
		return 0, false
	}
	v := ctx.Value(viewKey{}).(*view)
	return gen, gen == v.first.Load()
}

// wrote counts a write of this process, after its commit (or failure).
func (s *Store) wrote() { s.writes.Add(1) }

func newGenCheck(open func() (*sql.DB, error), shm string, writes *atomic.Uint64, gate *readGate) *genCheck {
	g := &genCheck{open: open, shm: shm, read: writes, gate: gate}
	g.cond.L = &g.mu
	return g
}

// current is the generation found by a check that started after the call.
func (g *genCheck) current() (gen, local uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	need := g.started + 1
	for g.done < need {
		if g.closed {
			return 0, 0, errGenClosed
		}
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		gen, local, err := g.check()
		g.mu.Lock()
		g.running = false
		g.done, g.gen, g.local, g.err = n, gen, local, err
		g.cond.Broadcast()
	}
	return g.gen, g.local, g.err
}

// mapRetry is how long the checks go by data_version alone after the WAL
// index could not be mapped.
const mapRetry = 10 * time.Second

// check reads the write counter, then data_version: a write counted before
// the read is then surely in data_version too; one counted after changes the
// counter the next check reads.
//
// With the WAL index mapped, the header stands in for data_version: read
// after the counter as data_version is, and compared with the one read at the
// last check.
func (g *genCheck) check() (uint64, uint64, error) {
	if g.idx != nil {
		w := g.read.Load()
		if h := g.idx.header(); h != g.lastH || w != g.lastW {
			g.cur++
			g.lastH, g.lastW = h, w
		}
		return g.cur, g.lastW, nil
	}
	ctx := context.Background()
	if g.gate != nil {
		g.gate.enter(ctx) // never fails: its context is never done
		defer g.gate.leave()
	}
	w := g.read.Load()
	if g.conn == nil {
		if err := g.connect(ctx); err != nil {
			return 0, 0, err
		}
	}
	dv, err := g.dataVersion(ctx)
	if err != nil {
		// The next check opens a new connection, whose data_version counts
		// from its own start: the generation moves on either way.
		g.close()
		g.cur++
		return 0, 0, wrap(err)
	}
	if dv != g.lastDV || w != g.lastW {
		g.cur++
		g.lastDV, g.lastW = dv, w
	}
	if g.shm != "" && monoNow() >= g.mapAfter && !g.mapIndex(ctx) {
		g.mapAfter = monoNow() + int64(mapRetry)
	}
	return g.cur, w, nil
}

// mapIndex maps the WAL index once the check's connection has read (its
// WAL index is open, and stays so while the connection is). data_version is
// read again after the header: unchanged, nothing was committed since the
// check, and the header read stands for the generation as it is. False:
// nothing is mapped, the checks go on by data_version.
func (g *genCheck) mapIndex(ctx context.Context) bool {
	idx, err := openWALIndex(g.shm)
	if err != nil {
		return false
	}
	h := idx.header()
	dv, err := g.dataVersion(ctx)
	if err != nil {
		idx.close()
		return false
	}
	if dv != g.lastDV {
		g.cur++
		g.lastDV = dv
	}
	g.idx, g.lastH = idx, h
	return true
}

// dataVersion runs the prepared PRAGMA on the pinned connection's driver
// connection directly: database/sql's rows and scanning cost about as much as
// the pragma itself, on every request.
func (g *genCheck) dataVersion(ctx context.Context) (int64, error) {
	var dv int64
	err := g.conn.Raw(func(any) error {
		rows, err := g.stmt.QueryContext(ctx, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := rows.Next(g.dest); err != nil {
			return err
		}
		n, ok := g.dest[0].(int64)
		if !ok {
			return fmt.Errorf("data_version: %T", g.dest[0])
		}
		dv = n
		return nil
	})
	return dv, err
}

func (g *genCheck) connect(ctx context.Context) error {
	if g.db == nil {
		db, err := g.open()
		if err != nil {
			return err
		}
		g.db = db
	}
	conn, err := g.db.Conn(ctx)
	if err != nil {
		return wrap(err)
	}
	// The statement is the driver's, prepared on the connection this
	// sql.Conn holds for good, and used only inside its Raw.
	err = conn.Raw(func(dc any) error {
		p, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare", dc)
		}
		st, err := p.PrepareContext(ctx, "PRAGMA data_version")
		if err != nil {
			return err
		}
		q, ok := st.(driver.StmtQueryContext)
		if !ok {
			st.Close()
			return fmt.Errorf("driver statement %T cannot query", st)
		}
		g.stmt = q
		return nil
	})
	if err != nil {
		conn.Close()
		return wrap(err)
	}
	g.conn, g.dest = conn, make([]driver.Value, 1)
	// A new connection: whatever it reads first is a change.
	g.cur++
	g.lastDV = -1
	return nil
}

func (g *genCheck) close() {
	if g.idx != nil {
		g.idx.close()
		g.idx = nil
	}
	if g.conn != nil {
		if g.stmt != nil {
			g.conn.Raw(func(any) error { return g.stmt.(driver.Stmt).Close() })
		}
		g.conn.Close()
	}
	g.stmt, g.conn = nil, nil
}

var errGenClosed = errors.New("store closed")

// shutdown closes the check's connection; a check running now finishes first.
func (g *genCheck) shutdown() error {
	g.mu.Lock()
	for g.running {
		g.cond.Wait()
	}
	g.closed = true
	g.cond.Broadcast()
	g.mu.Unlock()
	g.close()
	if g.db != nil {
		return g.db.Close()
	}
	return nil
}

// genCache maps keys to what was read at one generation. Entries of an older
// generation are never served; the first entry of a newer one clears them.
type genCache[K comparable, V any] struct {
	mu  sync.Mutex
	gen uint64
	m   map[K]V
}

func (c *genCache[K, V]) get(gen uint64, k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		var zero V
		return zero, false
	}
	v, ok := c.m[k]
	return v, ok
}

// put keeps v, read after the check that found gen. A read under an older
// generation is not kept: what is cached may already be newer than it.
func (c *genCache[K, V]) put(gen uint64, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.gen {
		return
	}
	if gen > c.gen || c.m == nil || len(c.m) >= cacheMax {
		c.gen, c.m = gen, make(map[K]V)
	}
	c.m[k] = v
}

// caches are the store's read caches (nil on PostgreSQL).
type caches struct {
	sessions genCache[[32]byte, sessionRow]
	groups   genCache[int64, []GroupSummary]
	issues   genCache[issueViewer, issueFor]
	rooms    genCache[[2]int64, roomFacts]
}

type issueViewer struct{ issue, user int64 }

type issueFor struct {
	is   Issue
	g    Group
	role Role
}

type roomFacts struct {
	voters        []Voter
	rounds        []Round
	current, next IssueRef
	backlog       []IssueSummary
}
