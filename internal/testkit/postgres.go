package testkit

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresEnv names the test server's URL.
const PostgresEnv = "ESTIMATOR_TEST_POSTGRES"

// PostgresURL is the test server's URL. Without it the test skips, saying why
// it needs PostgreSQL, except under CI, which must run it: there it fails.
func PostgresURL(t testing.TB, why string) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must set %s: %s", PostgresEnv, why)
		}
		t.Skipf("%s: set %s=postgres://user:password@127.0.0.1:5432/db?sslmode=disable", why, PostgresEnv)
	}
	return base
}

// Schema makes a schema of its own on the test server for one test (its
// instances share it) and returns the server's URL with the schema as its
// search_path; the schema is dropped when the test ends. Without the server it
// skips or fails as PostgresURL does.
func Schema(t testing.TB, why string) string {
	t.Helper()
	return SchemaOn(t, PostgresURL(t, why))
}

// SchemaOn is Schema on the server at base.
func SchemaOn(t testing.TB, base string) string {
	t.Helper()
	db := admin(t, base)
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Database is where a test's fresh database lives: a new SQLite file in the
// test's own folder, or, with postgres set, a schema of its own on the test
// server (see Schema).
func Database(t testing.TB, postgres bool, why string) string {
	t.Helper()
	if postgres {
		return Schema(t, why)
	}
	return filepath.Join(t.TempDir(), "estimator.db")
}

var admins struct {
	sync.Mutex
	byURL map[string]*sql.DB
}

// admin is one plain connection pool per test server, kept for the whole
// test binary, for making and dropping the tests' schemas.
func admin(t testing.TB, base string) *sql.DB {
	t.Helper()
	admins.Lock()
	defer admins.Unlock()
	if db := admins.byURL[base]; db != nil {
		return db
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	if admins.byURL == nil {
		admins.byURL = map[string]*sql.DB{}
	}
	admins.byURL[base] = db
	return db
}
