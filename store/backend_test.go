package store

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for rawDB

	"estimator/internal/testkit"
)

// The store's suite runs twice: on SQLite, then, when ESTIMATOR_TEST_POSTGRES
// holds a URL, every test again on PostgreSQL, each in a schema of its own. So
// every rule is proven on both engines, and a test added later runs on both
// without asking.

// pgURL is the PostgreSQL server of the second pass; "" in the SQLite pass.
var pgURL string

const pgEnv = testkit.PostgresEnv

func TestMain(m *testing.M) {
	code := m.Run()
	u := os.Getenv(pgEnv)
	if f := flag.Lookup("test.fuzz"); u == "" || (f != nil && f.Value.String() != "") {
		os.Exit(code)
	}
	fmt.Println("=== store suite, second pass: PostgreSQL (" + Redact(u) + ")")
	pgURL = u
	if c := m.Run(); c != 0 {
		code = c
	}
	os.Exit(code)
}

// TestPostgresSuite says whether the PostgreSQL pass runs: without the URL it
// skips with how to turn it on, except under CI, which must prove both engines.
func TestPostgresSuite(t *testing.T) {
	u := os.Getenv(pgEnv)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the store suite on PostgreSQL too: set %s to a database URL (.ci/run does)", pgEnv)
		}
		t.Skipf("PostgreSQL pass skipped: set %s=postgres://user:password@127.0.0.1:5432/db?sslmode=disable to run every store test on PostgreSQL as well", pgEnv)
	}
	db := rawDB(t, testkit.SchemaOn(t, u))
	var version int
	if err := db.QueryRow("SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatalf("%s does not answer: %v", pgEnv, err)
	}
	// EXECUTE FUNCTION in the migrations' triggers needs PostgreSQL 11.
	if version < 110000 {
		t.Fatalf("PostgreSQL %d: the migrations need 11 or newer", version)
	}
}

// newDB is where a test's fresh database lives: a file named name in the
// test's own folder on SQLite, a schema of its own (dropped at the end) on
// PostgreSQL.
func newDB(t testing.TB, name string) string {
	t.Helper()
	if pgURL == "" {
		return filepath.Join(t.TempDir(), name)
	}
	return testkit.SchemaOn(t, pgURL)
}

// sqliteOnly skips a test in the PostgreSQL pass: it checks something only
// SQLite has (pragmas, the database file).
func sqliteOnly(t testing.TB, what string) {
	t.Helper()
	if pgURL != "" {
		t.Skip("SQLite only: " + what)
	}
}

// rawDB opens the test's database without the store, to look at it as an
// operator's tool would.
func rawDB(t testing.TB, db string) *sql.DB {
	t.Helper()
	var c *sql.DB
	var err error
	if IsPostgres(db) {
		c, err = sql.Open("pgx", db)
	} else {
		c, err = sql.Open("sqlite", "file:"+db)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
