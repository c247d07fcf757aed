package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The store's queries are written once, in the SQL both engines speak, with
// SQLite's "?" placeholders. What differs per engine is kept here: how to
// connect, placeholders ($1 on PostgreSQL, rewritten once per query text by
// the connection), the row locks that a write transaction on PostgreSQL needs
// where SQLite's single writer already excludes everyone else, and how errors
// are classified.

// IsPostgres reports whether a --db value names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than an SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Redact is a --db value fit for logs and messages: a PostgreSQL URL loses
// its password.
func Redact(db string) string {
	if !IsPostgres(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://…"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.pg }

// rowLock locks the rows of table alias "of" that a read in a write
// transaction returns, until the commit: on PostgreSQL several transactions
// write at once, and a rule checked on those rows ("not used yet", "still
// open", "still a member") must still hold when the transaction writes. A
// second transaction reading them waits, then sees the first one's outcome.
// SQLite runs one write transaction at a time, so the rule already holds there
// and the clause is empty. (NO KEY: rows pointing at the locked one may still
// be inserted.)
func (s *Store) rowLock(of string) string {
	if s.pg {
		return " FOR NO KEY UPDATE OF " + of
	}
	return ""
}

// rowShare is the shared form of rowLock, for writers that only need the rows
// they read not to change under them: votes go on side by side, and a reveal
// waits for them (or they for it).
func (s *Store) rowShare(of string) string {
	if s.pg {
		return " FOR SHARE OF " + of
	}
	return ""
}

// lockIssues takes the row locks of the issues matching where (in id order,
// so two lockers never wait on each other) until the transaction ends, on
// PostgreSQL: the votes, reveals (by hand, auto-reveal, the timer) and seat
// changes of an issue then run one after another, as every write transaction
// does on SQLite, so a vote racing a reveal is counted or refused, never lost,
// and two instances never reveal one round twice. It is a statement of its own
// because a statement that waits for a lock still reads from the snapshot it
// started with; the transaction's next statements read what the one it waited
// for committed.
func (s *Store) lockIssues(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	if !s.pg {
		return nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT id FROM issues WHERE "+where+" ORDER BY id"+s.rowLock("issues"), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}

// ErrPostgresOnly is Notify's answer on SQLite, where one process serves.
var ErrPostgresOnly = errors.New("PostgreSQL only")

// Notify sends payload on a PostgreSQL NOTIFY channel through the store's
// pool: how live updates reach the other instances.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if !s.pg {
		return ErrPostgresOnly
	}
	_, err := s.exec(ctx, "SELECT pg_notify(?, ?)", channel, payload)
	return err
}

// LiveChannel is the NOTIFY channel of this database's live updates: one per
// schema, as the channel namespace is the server's database, and two
// installations in schemas of one database must not hear each other.
func (s *Store) LiveChannel(ctx context.Context) (string, error) {
	if !s.pg {
		return "", ErrPostgresOnly
	}
	var schema string
	if err := s.r.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", wrap(err)
	}
	ch := "estimator_live." + schema
	if len(ch) > 63 { // PostgreSQL's identifier length
		ch = ch[:63]
	}
	return ch, nil
}

// noBytes is the empty byte string as a literal: X” on SQLite is a bit
// string on PostgreSQL.
func (s *Store) noBytes() string {
	if s.pg {
		return "''::bytea"
	}
	return "X''"
}

// openPostgres opens the pool for a PostgreSQL URL. Sessions get a lock timeout
// (the counterpart of SQLite's busy timeout), so a write blocked by a lock fails
// as unavailable instead of waiting forever.
func openPostgres(dsn string, opts Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "estimator"
	}
	if _, set := cfg.RuntimeParams["lock_timeout"]; !set {
		cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// pgConnector hands out connections that take the store's SQL as written.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("pgx connection of type %T", conn)
	}
	return pgConn{sc}, nil
}

// pgConn is a pgx connection that rewrites "?" placeholders to PostgreSQL's
// $1, $2, … and passes Go bools as the 0/1 integers the schema stores flags in
// (as SQLite does), so every query and every argument list serves both engines.
type pgConn struct{ *stdlib.Conn }

func (c pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), rebind(query))
}

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if b, ok := v.(bool); ok {
		v = int64(0)
		if b {
			v = int64(1)
		}
	}
	nv.Value = v
	return nil
}

// rebound caches rewritten query texts: the store's queries are a fixed set.
var rebound sync.Map

// rebind rewrites the "?" placeholders of query to $1, $2, …, leaving string
// literals, quoted identifiers, comments and dollar-quoted bodies (PL/pgSQL
// functions in migrations) alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(query))
			b.WriteString(query[i:j])
			i = j
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			end := len(query)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$':
			// A dollar quote: $$ or $tag$, up to the same tag again.
			j := i + 1
			for j < len(query) && (query[j] == '_' || query[j] >= 'a' && query[j] <= 'z' || query[j] >= 'A' && query[j] <= 'Z' || j > i+1 && query[j] >= '0' && query[j] <= '9') {
				j++
			}
			if j < len(query) && query[j] == '$' {
				tag := query[i : j+1]
				k := strings.Index(query[j+1:], tag)
				end := len(query)
				if k >= 0 {
					end = j + 1 + k + len(tag)
				}
				b.WriteString(query[i:end])
				i = end
				continue
			}
			b.WriteByte(c)
			i++
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	q := b.String()
	rebound.Store(query, q)
	return q
}

// pgUnavailable classifies PostgreSQL faults that are not the caller's doing
// and may clear by themselves, as SQLite's busy, read-only, full and I/O
// errors are: a lost or refused connection, a server shutting down or out of
// resources, a lock or statement timeout, a read-only server (a standby), and
// the serialization and deadlock failures a retry would get past.
func pgUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources (disk full, out of memory, too many connections)
			"57", // operator intervention (shutdown, query canceled by timeout)
			"58", // system error (I/O)
			"40": // transaction rollback: serialization failure, deadlock
			return true
		}
		switch pe.Code {
		case "55P03", // lock_not_available (lock_timeout)
			"25006": // read_only_sql_transaction
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err)
}

func pgUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
