package store

import (
	"context"
	"database/sql/driver"
	"sync"
	"time"
)

// The scrub after a reveal truncates the write-ahead log, which SQLite does
// only when no connection is reading from it. Under a planning day's steady
// reads (every screen's state, every page) some read was nearly always in
// flight, each try of the checkpoint gave up after checkpointHold holding the
// writer, and the tries (one a millisecond) held the writer three quarters of
// the time: at 500 live rooms a reveal waited for the writer 94 ms at the
// median and a second at p99, behind the checkpoints of the reveals before it.
//
// So the reader connections of this process pass a gate. A checkpoint about to
// truncate closes it (reads that start wait, for as long as the truncation
// takes), waits up to gateDrain for the reads in flight to end, and then finds
// the log free at its first try. Reads in other processes (a backup, the
// sqlite3 shell) are still waited for as before.

// gateDrain is how long a closed gate waits for the reads in flight to end
// before the checkpoint tries anyway (a read that waits for the writer while
// its rows are open would otherwise hold it until then).
const gateDrain = 5 * time.Millisecond

// readGate counts the statements reading on the reader connections, and holds
// new ones back while a checkpoint truncates the log.
type readGate struct {
	closer sync.Mutex // one closer at a time
	mu     sync.Mutex
	active int
	// shut is closed when the gate opens again; nil while it is open.
	shut chan struct{}
	// idle is closed when the last read in flight ends while the gate is
	// shut.
	idle chan struct{}
}

// enter waits for the gate to be open and counts one more read.
func (g *readGate) enter(ctx context.Context) error {
	g.mu.Lock()
	for g.shut != nil {
		shut := g.shut
		g.mu.Unlock()
		select {
		case <-shut:
		case <-ctx.Done():
			return ctx.Err()
		}
		g.mu.Lock()
	}
	g.active++
	g.mu.Unlock()
	return nil
}

// leave counts one read fewer.
func (g *readGate) leave() {
	g.mu.Lock()
	g.active--
	if g.active == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// hold shuts the gate and waits up to drain for the reads in flight to end;
// idle says whether they did. open must be called to let reads through again.
func (g *readGate) hold(drain time.Duration) (open func(), idle bool) {
	g.closer.Lock()
	g.mu.Lock()
	shut := make(chan struct{})
	g.shut = shut
	var wait chan struct{}
	if g.active > 0 {
		wait = make(chan struct{})
		g.idle = wait
	}
	g.mu.Unlock()
	open = func() {
		g.mu.Lock()
		g.shut, g.idle = nil, nil
		g.mu.Unlock()
		close(shut)
		g.closer.Unlock()
	}
	if wait == nil {
		return open, true
	}
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-wait:
		return open, true
	case <-t.C:
		return open, false
	}
}

// gatedRows leaves the gate when closed (database/sql closes rows once, also
// after QueryRow's Scan).
type gatedRows struct {
	driver.Rows
	gate *readGate
}

func (r *gatedRows) Close() error {
	err := r.Rows.Close()
	r.gate.leave()
	return err
}

// gatedStmt is a statement prepared on a reader connection for a *sql.Stmt:
// its reads pass the gate.
type gatedStmt struct {
	stmt fullStmt
	gate *readGate
}

func (s *gatedStmt) Close() error  { return s.stmt.Close() }
func (s *gatedStmt) NumInput() int { return s.stmt.NumInput() }

func (s *gatedStmt) Exec(args []driver.Value) (driver.Result, error) { //nolint:staticcheck // the interface's
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *gatedStmt) Query(args []driver.Value) (driver.Rows, error) { //nolint:staticcheck // the interface's
	return s.QueryContext(context.Background(), namedValues(args))
}

func (s *gatedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.gate.enter(ctx); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	return s.stmt.ExecContext(ctx, args)
}

func (s *gatedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.gate.query(ctx, func() (driver.Rows, error) { return s.stmt.QueryContext(ctx, args) })
}

// query runs fn, which opens rows, through the gate: the rows leave it when
// closed.
func (g *readGate) query(ctx context.Context, fn func() (driver.Rows, error)) (driver.Rows, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	rows, err := fn()
	if err != nil {
		g.leave()
		return nil, err
	}
	return &gatedRows{Rows: rows, gate: g}, nil
}

func namedValues(args []driver.Value) []driver.NamedValue {
	named := make([]driver.NamedValue, len(args))
	for i, v := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return named
}
