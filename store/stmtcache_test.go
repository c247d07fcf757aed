package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func openCachedPair(t testing.TB) (cached, plain *sql.DB) {
	path := filepath.Join(t.TempDir(), "cache.db")
	cached, err := openSQLite("sqlite", DSN(path, 0, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	cached.SetMaxOpenConns(1)
	t.Cleanup(func() { cached.Close() })
	if _, err := cached.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"); err != nil {
		t.Fatal(err)
	}
	plain, err = sql.Open("sqlite", DSN(path, 0, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	return cached, plain
}

// A statement still being read when the same text runs again on the
// connection (a query inside its own rows loop) gets a statement of its own:
// both read their own rows.
func TestStatementCacheNestedRuns(t *testing.T) {
	db, _ := openCachedPair(t)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT id, v FROM t WHERE id >= ? ORDER BY id"
	rows, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []string
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, v)
		var n int
		in, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		for in.Next() {
			n++
		}
		in.Close()
		inner = append(inner, fmt.Sprint(n))
		if _, err := tx.ExecContext(ctx, "UPDATE t SET v = v WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if fmt.Sprint(outer) != "[a b c]" || fmt.Sprint(inner) != "[3 2 1]" {
		t.Fatalf("outer %v, inner %v", outer, inner)
	}
	// Once the rows are closed, the text runs on its kept statement again.
	var v string
	if err := tx.QueryRowContext(ctx, q, 2).Scan(new(int64), &v); err != nil || v != "b" {
		t.Fatalf("after the nested runs: %q, %v", v, err)
	}
}

// More distinct statements than a connection keeps: the cache starts over,
// and every answer is still right.
func TestStatementCacheBound(t *testing.T) {
	db, _ := openCachedPair(t)
	for i := range stmtCacheMax + 10 {
		var n int
		if err := db.QueryRow(fmt.Sprintf("SELECT COUNT(*) + %d FROM t", i)).Scan(&n); err != nil || n != 3+i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
}

// What the cache buys: a small transaction of text statements (as a vote's)
// on a connection that keeps them, against one that prepares each afresh.
func BenchmarkStatementCache(b *testing.B) {
	cached, plain := openCachedPair(b)
	plain.SetMaxOpenConns(1)
	for _, c := range []struct {
		name string
		db   *sql.DB
	}{{"prepared-each-time", plain}, {"kept", cached}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				tx, err := c.db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				var v string
				if err := tx.QueryRowContext(ctx, `SELECT t.v FROM t JOIN t u ON u.id = t.id LEFT JOIN t w ON w.id = ? WHERE t.id = ?`, 1, 2).Scan(&v); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, "UPDATE t SET v = ? WHERE id = ?", v, 3); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
