package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"estimator/store"
)

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// readmeConfig is a row of the README's configuration table.
type readmeConfig struct {
	flag, env, def string
}

var readmeRow = regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `(ESTIMATOR_[A-Z_]+)` \\| ([^|]*) \\|")

func readmeConfigRows(t *testing.T) []readmeConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []readmeConfig
	for _, m := range readmeRow.FindAllStringSubmatch(string(b), -1) {
		rows = append(rows, readmeConfig{m[1], m[2], strings.TrimSpace(m[3])})
	}
	if len(rows) == 0 {
		t.Fatal("README has no configuration table rows (| `--flag` | `ESTIMATOR_…` | default | meaning |)")
	}
	return rows
}

// TestHelp: --help lists every flag with its ESTIMATOR_* variable (every row of
// the README's configuration table, and nothing the README leaves out) and the
// subcommands, and the binary exits 2 without an error line.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--help"}, noEnv, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help: %v, want flag.ErrHelp", err)
	}
	help := stdout.String() + stderr.String()

	rows := readmeConfigRows(t)
	documented := map[string]bool{}
	for _, r := range rows {
		documented[r.flag] = true
		if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(r.flag) + `\b`).MatchString(help) {
			t.Errorf("--help does not list --%s", r.flag)
		}
		if !strings.Contains(help, r.env) {
			t.Errorf("--help does not name %s (for --%s)", r.env, r.flag)
		}
	}
	for _, f := range []string{"addr", "db", "secure-cookies", "log-level"} { // SPEC.md's minimum
		if !documented[f] {
			t.Errorf("README's configuration table lacks --%s", f)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(help, -1) {
		if !documented[m[1]] {
			t.Errorf("--help lists -%s, which README's configuration table lacks", m[1])
		}
	}
	for _, sub := range []string{"serve", "users deactivate NICKNAME", "users activate NICKNAME", "backup PATH", "seed", "healthcheck"} {
		if !strings.Contains(help, "estimator [flags] "+sub) {
			t.Errorf("--help does not show the subcommand %q", sub)
		}
	}
	if !strings.Contains(help, "estimator --version") {
		t.Error("--help does not show --version")
	}

	for _, arg := range []string{"--help", "-h"} {
		_, stderr, code := runCLI(t, nil, arg)
		if code != 2 {
			t.Errorf("estimator %s exited %d, want 2", arg, code)
		}
		if !strings.Contains(stderr, "Usage:") || strings.Contains(stderr, "help requested") {
			t.Errorf("estimator %s printed:\n%s", arg, stderr)
		}
	}
}

// TestConfigFromEnvAndFlags: each README row's variable sets the value, its
// flag wins over it, and with neither the README's default holds.
func TestConfigFromEnvAndFlags(t *testing.T) {
	cases := []struct {
		flag, envVal, flagVal string
		wantEnv, wantFlag     string
		def                   string // README's default, as the config holds it
		get                   func(*config) string
	}{
		{"addr", "127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9000", "127.0.0.1:9001", ":8080", func(c *config) string { return c.addr }},
		{"db", "/srv/env.db", "/srv/flag.db", "/srv/env.db", "/srv/flag.db", "estimator.db", func(c *config) string { return c.db }},
		{"db-conns", "8", "24", "8", "24", "16", func(c *config) string { return strconv.Itoa(c.dbConns) }},
		{"max-streams", "20000", "30000", "20000", "30000", "10000", func(c *config) string { return strconv.Itoa(c.maxStreams) }},
		{"secure-cookies", "true", "false", "true", "false", "false", func(c *config) string { return fmt.Sprint(c.secureCookies) }},
		{"log-level", "debug", "warn", "debug", "warn", "info", func(c *config) string { return c.logLevel }},
		{"base-url", "https://env.example", "https://flag.example", "https://env.example", "https://flag.example", "", func(c *config) string { return c.baseURL }},
		{"idle-timeout", "2h", "3h", "2h0m0s", "3h0m0s", "12h0m0s", func(c *config) string { return c.idle.String() }},
		{"session-lifetime", "48h", "72h", "48h0m0s", "72h0m0s", "168h0m0s", func(c *config) string { return c.lifetime.String() }},
		{"remember-lifetime", "240h", "480h", "240h0m0s", "480h0m0s", "720h0m0s", func(c *config) string { return c.remember.String() }},
		{"trusted-proxies", "10.0.0.1", "10.0.0.2,10.0.0.3", "10.0.0.1", "10.0.0.2,10.0.0.3", "", func(c *config) string { return c.trustedProxies }},
		{"oidc-issuer", "https://env.example/realms/a", "https://flag.example/realms/b", "https://env.example/realms/a", "https://flag.example/realms/b", "", func(c *config) string { return c.oidcIssuer }},
		{"oidc-client-id", "env-client", "flag-client", "env-client", "flag-client", "", func(c *config) string { return c.oidcClientID }},
		{"oidc-client-secret", "env-secret", "flag-secret", "env-secret", "flag-secret", "", func(c *config) string { return c.oidcClientSecret }},
		{"oidc-name", "Env SSO", "Flag SSO", "Env SSO", "Flag SSO", "single sign-on", func(c *config) string { return c.oidcName }},
		{"trusted-user-header", "X-Env-User", "X-Flag-User", "X-Env-User", "X-Flag-User", "", func(c *config) string { return c.trustedUserHeader }},
		{"guests", "false", "true", "false", "true", "true", func(c *config) string { return fmt.Sprint(c.guests) }},
		{"dev-assets", "/env/assets", "/flag/assets", "/env/assets", "/flag/assets", "", func(c *config) string { return c.devAssets }},
		{"log-format", "json", "text", "json", "text", "text", func(c *config) string { return c.logFormat }},
		{"shutdown-timeout", "3s", "4s", "3s", "4s", "8s", func(c *config) string { return c.shutdownTimeout.String() }},
		{"shutdown-delay", "5s", "2s", "5s", "2s", "0s", func(c *config) string { return c.shutdownDelay.String() }},
		{"metrics-addr", "127.0.0.1:9100", "127.0.0.1:9101", "127.0.0.1:9100", "127.0.0.1:9101", "", func(c *config) string { return c.metricsAddr }},
		{"signin-rate", "2/s", "120/min", "2/s", "120/min", "1/s", func(c *config) string { return c.signinRate }},
		{"signin-burst", "80", "100", "80", "100", "60", func(c *config) string { return strconv.Itoa(c.signinBurst) }},
		{"trackers", "jira=https://acme.atlassian.net", "github=https://api.github.com,gitlab=http://127.0.0.1:8929", "jira=https://acme.atlassian.net", "github=https://api.github.com,gitlab=http://127.0.0.1:8929", "", func(c *config) string { return c.trackers }},
		{"tracker-key-file", "/run/secrets/env.key", "/run/secrets/flag.key", "/run/secrets/env.key", "/run/secrets/flag.key", "", func(c *config) string { return c.trackerKeyFile }},
	}
	rows := readmeConfigRows(t)
	if len(rows) != len(cases) {
		t.Errorf("README documents %d settings, this test checks %d: keep them in step", len(rows), len(cases))
	}
	for _, r := range rows {
		var found bool
		for _, c := range cases {
			if c.flag != r.flag {
				continue
			}
			found = true
			t.Run(r.flag, func(t *testing.T) {
				parse := func(env map[string]string, args ...string) *config {
					t.Helper()
					cfg, rest, err := parseFlags(args, envOf(env), &bytes.Buffer{})
					if err != nil || len(rest) != 0 {
						t.Fatalf("parseFlags(%v, %v): %v %v", args, env, rest, err)
					}
					return cfg
				}
				if got := c.get(parse(nil)); got != c.def {
					t.Errorf("default %q, want %q", got, c.def)
				}
				// The README's default column says the same (when it is a value).
				if d, ok := strings.CutPrefix(r.def, "`"); ok {
					d = strings.TrimSuffix(d, "`")
					if dur, err := time.ParseDuration(d); err == nil {
						d = dur.String()
					}
					if d != c.def {
						t.Errorf("README says the default is %s, the program has %q", r.def, c.def)
					}
				}
				env := map[string]string{r.env: c.envVal}
				if got := c.get(parse(env)); got != c.wantEnv {
					t.Errorf("%s=%s gives %q, want %q", r.env, c.envVal, got, c.wantEnv)
				}
				if got := c.get(parse(env, "--"+r.flag+"="+c.flagVal)); got != c.wantFlag {
					t.Errorf("%s=%s with --%s=%s gives %q; the flag must win", r.env, c.envVal, r.flag, c.flagVal, got)
				}
			})
		}
		if !found {
			t.Errorf("README documents --%s (%s) and this test does not check it", r.flag, r.env)
		}
	}

	// The real binary reads its environment: where it listens and which file it
	// opens come from ESTIMATOR_ADDR and ESTIMATOR_DB, and --db beats the latter.
	t.Run("binary", func(t *testing.T) {
		dir := t.TempDir()
		envDB, flagDB := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
		env := cleanEnv("ESTIMATOR_ADDR=127.0.0.1:0", "ESTIMATOR_DB="+envDB)
		p := startServerWith(t, env)
		if !strings.Contains(p.stderr.String(), "db="+envDB) {
			t.Errorf("with ESTIMATOR_DB the server did not open %s:\n%s", envDB, p.stderr)
		}
		p.stop()
		if _, err := os.Stat(envDB); err != nil {
			t.Errorf("ESTIMATOR_DB file: %v", err)
		}
		if err := os.Remove(envDB); err != nil {
			t.Fatal(err)
		}
		p = startServerWith(t, env, "--db", flagDB)
		p.stop()
		if _, err := os.Stat(flagDB); err != nil {
			t.Errorf("--db file: %v", err)
		}
		if _, err := os.Stat(envDB); err == nil {
			t.Errorf("--db was given, yet ESTIMATOR_DB's file was created")
		}
	})
}

// TestUsersCommand: `users deactivate NICKNAME` and `users activate NICKNAME`
// on a database file, including while the server runs on it.
func TestUsersCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "users.db")
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := st.ClaimNickname(ctx, "Alice", store.NewToken())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateSession(ctx, u.ID, false, nil, store.DefaultSessionPolicy); err != nil {
		t.Fatal(err)
	}
	st.Close()
	sessions := func() int {
		t.Helper()
		return count(t, openRaw(t, db), "SELECT COUNT(*) FROM sessions WHERE user_id = ?", u.ID)
	}
	active := func() bool {
		t.Helper()
		return count(t, openRaw(t, db), "SELECT active FROM users WHERE id = ?", u.ID) == 1
	}

	runUsers := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		err := run(ctx, append([]string{"--db", db, "users"}, args...), noEnv, &stdout, &bytes.Buffer{})
		return stdout.String(), err
	}
	// Nicknames match ignoring case, as at sign-in.
	out, err := runUsers("deactivate", "alice")
	if err != nil {
		t.Fatalf("users deactivate: %v", err)
	}
	if !strings.Contains(out, "Alice is now deactivated") || active() || sessions() != 0 {
		t.Errorf("after deactivate: printed %q, active %v, %d sessions", out, active(), sessions())
	}
	out, err = runUsers("activate", "ALICE")
	if err != nil || !strings.Contains(out, "Alice is now active") || !active() {
		t.Errorf("users activate: %q %v, active %v", out, err, active())
	}

	_, err = runUsers("deactivate", "nobody")
	if err == nil || !strings.Contains(err.Error(), `no user with nickname "nobody"`) || errors.Is(err, errUsage) {
		t.Errorf("unknown nickname: %v; want a clear error that is not a usage error", err)
	}
	_, stderr, code := runCLI(t, nil, "--db", db, "users", "deactivate", "nobody")
	if code != 1 || !strings.Contains(stderr, `estimator: no user with nickname "nobody"`) {
		t.Errorf("binary, unknown nickname: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{}, {"deactivate"}, {"remove", "Alice"}, {"deactivate", "Alice", "Bob"}} {
		if _, err := runUsers(args...); !errors.Is(err, errUsage) {
			t.Errorf("users %v: %v, want a usage error", args, err)
		}
	}

	// On the database of a running server (another process): the user's
	// session stops working at once and they cannot sign in; activate undoes it.
	t.Run("while serving", func(t *testing.T) {
		srv := startServer(t, db)
		b := newBrowser(srv.base, nil)
		if err := b.signIn("Bob"); err != nil {
			t.Fatal(err)
		}
		b.mustGet(t, "/account")
		if stdout, stderr, code := runCLI(t, nil, "--db", db, "users", "deactivate", "bob"); code != 0 {
			t.Fatalf("users deactivate bob: exit %d\n%s%s", code, stdout, stderr)
		}
		a, err := b.get("/account")
		if err != nil || a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/login") {
			t.Errorf("a deactivated user's session still works: %v %v", a, err)
		}
		if err := b.signIn("Bob"); err == nil {
			t.Errorf("a deactivated user signed in again")
		}
		if stdout, stderr, code := runCLI(t, nil, "--db", db, "users", "activate", "bob"); code != 0 {
			t.Fatalf("users activate bob: exit %d\n%s%s", code, stdout, stderr)
		}
		if err := b.signIn("Bob"); err != nil {
			t.Errorf("after activate, Bob's own browser cannot sign in: %v", err)
		}
		srv.stop()
	})
}

// TestUsageErrors: what the binary cannot understand is a usage error (exit 2)
// with a message, and touches no database.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "never.db")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "now"}, "serve takes no arguments"},
		{[]string{"backup"}, "estimator backup PATH"},
		{[]string{"backup", "a.db", "b.db"}, "estimator backup PATH"},
		{[]string{"users"}, "users deactivate|activate NICKNAME"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--shutdown-delay", "-1s"}, "--shutdown-delay"},
		{[]string{"--shutdown-timeout", "0s"}, "--shutdown-timeout"},
		{[]string{"--max-streams", "0"}, "--max-streams"},
		{[]string{"healthcheck", "now"}, "healthcheck takes no arguments"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		// Sign-in settings that cannot work.
		{[]string{"--guests=false"}, "--guests=false would leave no way to sign in"},
		{[]string{"--oidc-issuer", "https://sso.example.com"}, "--oidc-client-id"},
		{[]string{"--oidc-issuer", "https://sso.example.com", "--oidc-client-id", "estimator"}, "--base-url"},
		{[]string{"--trusted-user-header", "X-Forwarded-User"}, "--trusted-proxies"},
		{[]string{"--signin-rate", "fast"}, "--signin-rate"},
		{[]string{"--signin-rate", "5/day"}, "--signin-rate"},
		{[]string{"--signin-rate", "0/s"}, "--signin-rate"},
		{[]string{"--signin-burst", "0"}, "--signin-burst"},
		// Trackers: only the three kinds, http:// only on loopback.
		{[]string{"--trackers", "jira=http://10.0.0.7"}, "http:// only for a loopback address"},
		{[]string{"--trackers", "bugzilla=https://bugs.example.com"}, "--trackers"},
		{[]string{"--tracker-key-file", "/dev/null"}, "at least 32 bytes"},
	} {
		// On loopback, should one of them serve after all.
		args := append([]string{"--addr", "127.0.0.1:0", "--db", db}, tc.args...)
		err := run(context.Background(), args, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, errUsage) {
			t.Errorf("run %v: %v, want a usage error", tc.args, err)
		}
		_, stderr, code := runCLI(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, tc.msg) {
			t.Errorf("estimator %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.msg)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error created the database file")
	}
}

// TestInvalidEnvironment: a value that does not parse is a usage error naming
// the variable, never silently the default (ESTIMATOR_SECURE_COOKIES=yes must
// not mean insecure cookies).
func TestInvalidEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	for _, kv := range []string{
		"ESTIMATOR_SECURE_COOKIES=yes",
		"ESTIMATOR_IDLE_TIMEOUT=12",
		"ESTIMATOR_SESSION_LIFETIME=a week",
		"ESTIMATOR_REMEMBER_LIFETIME=30d",
		"ESTIMATOR_SHUTDOWN_TIMEOUT=soon",
		"ESTIMATOR_SHUTDOWN_DELAY=later",
		"ESTIMATOR_LOG_FORMAT=xml",
		"ESTIMATOR_GUESTS=nope",
		"ESTIMATOR_SIGNIN_RATE=fast",
		"ESTIMATOR_SIGNIN_BURST=many",
	} {
		name, value, _ := strings.Cut(kv, "=")
		_, _, err := parseFlags(nil, envOf(map[string]string{name: value}), &bytes.Buffer{})
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want a usage error naming it", kv, err)
		}
		// On loopback, should it serve after all.
		_, stderr, code := runCLI(t, cleanEnv(kv), "--addr", "127.0.0.1:0", "--db", db)
		if code != 2 || !strings.Contains(stderr, name) {
			t.Errorf("estimator with %s: exit %d, stderr %q; want 2 and the variable named", kv, code, stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a bad setting still opened the database")
	}
}

// TestFlagsAfterSubcommand: operator subcommands take the global flags after
// their name too (estimator backup --db x.db out.db).
func TestFlagsAfterSubcommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "src.db")
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ClaimNickname(ctx, "Carol", store.NewToken()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := filepath.Join(dir, "out.db")
	var stdout bytes.Buffer
	if err := run(ctx, []string{"backup", "--db", db, out}, noEnv, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("backup --db %s %s: %v", db, out, err)
	}
	if want := fmt.Sprintf("backed up %s to %s", db, out); !strings.Contains(stdout.String(), want) {
		t.Errorf("printed %q, want %q", stdout.String(), want)
	}
	if n := count(t, openRaw(t, out), "SELECT COUNT(*) FROM users WHERE nickname = 'Carol'"); n != 1 {
		t.Errorf("the backup made with flags after the subcommand lacks the user")
	}
	// The same through the binary, with the flag between subcommand words.
	out2 := filepath.Join(dir, "out2.db")
	if stdout, stderr, code := runCLI(t, nil, "backup", "--db", db, out2); code != 0 {
		t.Errorf("estimator backup --db x out: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, nil, "users", "deactivate", "--db", db, "carol"); code != 0 || !strings.Contains(stdout, "Carol is now deactivated") {
		t.Errorf("estimator users deactivate --db x carol: exit %d\n%s%s", code, stdout, stderr)
	}
}

var seededLine = regexp.MustCompile(`seeded .*: (\d+) users, (\d+) groups, (\d+) memberships, (\d+) issues, (\d+) estimates`)

// TestSeedCommand: `seed` fills a fresh database with what it says it made,
// with its own flags and the global ones in either place.
func TestSeedCommand(t *testing.T) {
	dir := t.TempDir()
	for i, args := range [][]string{
		{"--db", "DB", "seed", "--users", "40", "--groups", "6", "--issues", "30", "--members", "5", "--seed", "7"},
		{"seed", "--db", "DB", "--users", "40", "--groups", "6", "--issues", "30", "--members", "5"},
	} {
		db := filepath.Join(dir, fmt.Sprintf("seed%d.db", i))
		for j := range args {
			if args[j] == "DB" {
				args[j] = db
			}
		}
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, noEnv, &stdout, &stderr); err != nil {
			t.Fatalf("estimator %v: %v\n%s", args, err, stderr.String())
		}
		m := seededLine.FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("seed printed %q", stdout.String())
		}
		raw := openRaw(t, db)
		got := []string{
			fmt.Sprint(count(t, raw, "SELECT COUNT(*) FROM users")),
			fmt.Sprint(count(t, raw, "SELECT COUNT(*) FROM groups")),
			fmt.Sprint(count(t, raw, "SELECT COUNT(*) FROM memberships")),
			fmt.Sprint(count(t, raw, "SELECT COUNT(*) FROM issues")),
			fmt.Sprint(count(t, raw, "SELECT COALESCE(SUM(length(votes)), 0) / 9 FROM ballots")),
		}
		if strings.Join(got, " ") != strings.Join(m[1:], " ") {
			t.Errorf("seed printed users, groups, memberships, issues, estimates = %v; the database holds %v", m[1:], got)
		}
		if want := []string{"40", "6", "30", "30"}; strings.Join(m[1:5], " ") != strings.Join(want, " ") {
			t.Errorf("seed made %v users, groups, memberships, issues; asked for %v", m[1:5], want)
		}
		if count(t, raw, "SELECT COUNT(*) FROM groups g WHERE (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id AND m.role = 'owner') != 1") != 0 {
			t.Error("a seeded group does not have exactly one owner")
		}
		if res := integrity(t, db); res != "ok" {
			t.Errorf("integrity_check of the seeded database: %q", res)
		}
	}
	// Usage errors of seed's own flags.
	err := run(context.Background(), []string{"--db", filepath.Join(dir, "bad.db"), "seed", "--members", "9", "--users", "3"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, errUsage) {
		t.Errorf("seed with more members than users: %v, want a usage error", err)
	}
}

func integrity(t *testing.T, path string) string {
	t.Helper()
	var res string
	if err := openRaw(t, path).QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBackupOnPostgres: the backup command does not pretend to copy a
// PostgreSQL database; it says to use pg_dump and fails, and the URL's
// password is not in the message. The database is not even opened.
func TestBackupOnPostgres(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "copy.db")
	err := run(context.Background(), []string{"--db", "postgres://app:s3cret@127.0.0.1:1/none", "backup", out}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !errors.Is(err, store.ErrBackupPostgres) || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("backup on PostgreSQL = %v, want the pg_dump advice", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("backup on PostgreSQL wrote a file")
	}
}

// TestDatabaseURLNotInErrors: a PostgreSQL URL that cannot be reached fails the
// start with its address, never its password.
func TestDatabaseURLNotInErrors(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"--db", "postgres://app:s3cret@127.0.0.1:1/none?connect_timeout=2", "users", "activate", "x"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("open error = %v, want one naming the server without the password", err)
	}
}
