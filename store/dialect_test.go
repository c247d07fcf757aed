package store

import (
	"slices"
	"testing"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ? AND c IN (?, ?)", "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
		{"SELECT '?', \"a?\" FROM t WHERE x = ?", "SELECT '?', \"a?\" FROM t WHERE x = $1"},
		{"SELECT 'it''s ?' WHERE y = ?", "SELECT 'it''s ?' WHERE y = $1"},
		{"-- who? \nSELECT ? /* what? */, ?", "-- who? \nSELECT $1 /* what? */, $2"},
		{"CREATE FUNCTION f() AS $$ SELECT '?' $$; SELECT ?", "CREATE FUNCTION f() AS $$ SELECT '?' $$; SELECT $1"},
		{"DO $body$ BEGIN PERFORM ?; END $body$", "DO $body$ BEGIN PERFORM ?; END $body$"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"estimator.db", "estimator.db"},
		{"postgres://app:s3cret@db:5432/est?sslmode=require", "postgres://app:xxxxx@db:5432/est?sslmode=require"},
		{"postgresql://db/est?password=s3cret&user=app", "postgresql://db/est?password=xxxxx&user=app"},
		{"postgres://app@db/est", "postgres://app@db/est"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEveryMigrationHasItsTwin: the PostgreSQL migrations are the SQLite ones'
// twins, number for number, so both engines reach the same schema version by
// the same steps.
func TestEveryMigrationHasItsTwin(t *testing.T) {
	t.Parallel()
	lite, err := loadMigrations(false)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(true)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) (out []string) {
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	if a, b := names(lite), names(pg); !slices.Equal(a, b) {
		t.Errorf("SQLite migrations %v, PostgreSQL migrations %v: every one needs its twin of the same name", a, b)
	}
}
