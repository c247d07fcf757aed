package handlers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"

	_ "modernc.org/sqlite" // the driver countingDriver wraps
)

// countingDriverName is modernc's SQLite driver behind a wrapper that counts
// every statement run with a context that carries a statement counter: each
// execution of a query or exec (prepared or not, in a transaction or not), and
// BEGIN, COMMIT and ROLLBACK. Rows read are not statements: a page that runs
// one query for 1,000 rows counts 1, a page that runs one per row counts 1,000.
// Statements of other contexts (the timer loop's, the broker's) are not
// counted, so a request's figure is its own.
const countingDriverName = "sqlite-counting"

func init() {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	drv := db.Driver()
	db.Close()
	sql.Register(countingDriverName, countingDriver{drv})
}

type stmtCountKey struct{}

// stmtCounter counts the statements run with the contexts it is put in.
type stmtCounter struct{ n atomic.Int64 }

// withStmtCounter returns ctx with a new counter attached.
func withStmtCounter(ctx context.Context) (context.Context, *stmtCounter) {
	c := &stmtCounter{}
	return context.WithValue(ctx, stmtCountKey{}, c), c
}

func countStmt(ctx context.Context) *stmtCounter {
	c, _ := ctx.Value(stmtCountKey{}).(*stmtCounter)
	c.add()
	return c
}

func (c *stmtCounter) add() {
	if c != nil {
		c.n.Add(1)
	}
}

func (c *stmtCounter) load() int64 { return c.n.Load() }

type countingDriver struct{ driver.Driver }

func (d countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{c}, nil
}

// countingConn forwards every optional interface modernc's connections have,
// so database/sql drives it as it drives theirs.
type countingConn struct{ driver.Conn }

func (c *countingConn) Unwrap() driver.Conn { return c.Conn }

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{st}, nil
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	n := countStmt(ctx)
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return countingTx{tx, n}, nil
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	countStmt(ctx)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	countStmt(ctx)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// countingTx counts COMMIT and ROLLBACK for the context the transaction began
// with (database/sql gives them none of their own).
type countingTx struct {
	driver.Tx
	n *stmtCounter
}

func (t countingTx) Commit() error {
	t.n.add()
	return t.Tx.Commit()
}

func (t countingTx) Rollback() error {
	t.n.add()
	return t.Tx.Rollback()
}

type countingStmt struct{ driver.Stmt }

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	countStmt(ctx)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	countStmt(ctx)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
