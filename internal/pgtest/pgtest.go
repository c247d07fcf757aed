// Package pgtest gives tests a PostgreSQL schema of their own on the server
// that ESTIMATOR_TEST_POSTGRES names.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Env names the test server's URL.
const Env = "ESTIMATOR_TEST_POSTGRES"

// Schema makes a schema of its own on the test server for one test (its
// instances share it) and returns the server's URL with the schema as its
// search_path; the schema is dropped when the test ends. Without the URL the
// test skips, saying why it needs PostgreSQL, except under CI, which must run
// it: there the test fails.
func Schema(t testing.TB, why string) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must set %s: %s", Env, why)
		}
		t.Skipf("%s: set %s=postgres://user:password@127.0.0.1:5432/db?sslmode=disable", why, Env)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("CREATE SCHEMA: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA: %v", err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
