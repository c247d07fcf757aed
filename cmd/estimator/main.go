// Command estimator serves the Estimator web app, and holds the operator
// subcommands that work on its database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"estimator/handlers"
	"estimator/internal/wiring"
	"estimator/signin"
	"estimator/store"
	"estimator/tracker"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "estimator:", err)
		}
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// config is everything flags and ESTIMATOR_* variables can set.
type config struct {
	addr, db, logLevel, logFormat  string
	baseURL, devAssets             string
	dbConns                        int
	maxStreams                     int
	trustedProxies                 string
	oidcIssuer, oidcClientID       string
	oidcClientSecret, oidcName     string
	trustedUserHeader              string
	guests                         bool
	secureCookies                  bool
	idle, lifetime, remember       time.Duration
	shutdownTimeout, shutdownDelay time.Duration
	metricsAddr                    string
	// trackers is the --trackers list, KIND=BASEURL,…; trackerKeyFile the
	// file whose content seals their tokens at rest.
	trackers, trackerKeyFile string
	// signinRate is "N/s", "N/min" or "N/h" (or N, per second); signinBurst
	// is how many may come at once.
	signinRate  string
	signinBurst int
}

// Sign-in limits per client address: an office of 60 behind one address signs
// in at once, and a flood gets one attempt a second.
const (
	defaultSigninRate  = "1/s"
	defaultSigninBurst = 60
)

// parseRate reads a rate such as "1/s", "120/min", "3600/h" or "2" (per second).
func parseRate(s string) (rate.Limit, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	per := time.Second
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s", "sec", "second":
		case "m", "min", "minute":
			per = time.Minute
		case "h", "hour":
			per = time.Hour
		default:
			return 0, fmt.Errorf("rate %q: the unit after / is s, min or h", s)
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("rate %q: want a positive number per s, min or h, such as 1/s or 120/min", s)
	}
	return rate.Limit(n / per.Seconds()), nil
}

const usageText = `Estimator: anonymous planning poker for teams.

Usage:
  estimator [flags]                              serve the web app (the default)
  estimator [flags] serve                        the same
  estimator [flags] users deactivate NICKNAME    stop a user signing in; ends their sessions
  estimator [flags] users activate NICKNAME      let a deactivated user sign in again
  estimator [flags] backup PATH                  write a consistent copy of the database to PATH,
                                                 safe while the server runs (SQLite; on PostgreSQL
                                                 use pg_dump)
  estimator [flags] seed [--users N] [--groups N] [--issues N] [--members N] [--seed N]
                                                 fill the database with a demo data set (for load tests)
  estimator [flags] healthcheck                  ask the server at --addr for GET /healthz: exit 0 when
                                                 healthy, 1 otherwise (the container image's HEALTHCHECK)
  estimator --version                            print the version, commit and Go release, and exit

A graceful shutdown (SIGTERM or SIGINT) turns GET /readyz to 503, keeps serving for
--shutdown-delay, closes the event streams and waits up to --shutdown-timeout for the
requests in flight: with the defaults it ends within docker and podman stop's 10 s.

Every flag can also be set by the environment variable shown; a flag wins over it.

Flags:
`

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, []string, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("estimator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	// A value that does not parse is an error, not silently the default (a
	// mistyped ESTIMATOR_SECURE_COOKIES must not mean insecure cookies).
	var envErrs []error
	envBool := func(name string) bool {
		v := getenv(name)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s=%q: want true or false", name, v))
		}
		return b
	}
	envBoolOr := func(name string, def bool) bool {
		if getenv(name) == "" {
			return def
		}
		return envBool(name)
	}
	envDur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s=%q: want a duration such as 30s or 12h", name, v))
			return def
		}
		return d
	}
	envInt := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s=%q: want a whole number", name, v))
			return def
		}
		return n
	}
	fs.StringVar(&cfg.addr, "addr", env("ESTIMATOR_ADDR", ":8080"), "address to listen on (ESTIMATOR_ADDR)")
	fs.StringVar(&cfg.db, "db", env("ESTIMATOR_DB", "estimator.db"), "SQLite database file, created if missing, or a postgres:// URL: several instances can share one PostgreSQL database (ESTIMATOR_DB)")
	fs.IntVar(&cfg.maxStreams, "max-streams", envInt("ESTIMATOR_MAX_STREAMS", 10000), "live update streams (open room and group pages) this instance serves at once; past it a page works without live updates until one closes (ESTIMATOR_MAX_STREAMS)")
	fs.IntVar(&cfg.dbConns, "db-conns", envInt("ESTIMATOR_DB_CONNS", 16), "PostgreSQL connections of this instance, plus one for live updates; keep instances × (this + 1) under the server's max_connections (ESTIMATOR_DB_CONNS)")
	fs.BoolVar(&cfg.secureCookies, "secure-cookies", envBool("ESTIMATOR_SECURE_COOKIES"), "the app is served over HTTPS: cookies are Secure with the __Host- prefix (ESTIMATOR_SECURE_COOKIES)")
	fs.StringVar(&cfg.logLevel, "log-level", env("ESTIMATOR_LOG_LEVEL", "info"), "log level: debug, info, warn or error (ESTIMATOR_LOG_LEVEL)")
	fs.StringVar(&cfg.logFormat, "log-format", env("ESTIMATOR_LOG_FORMAT", "text"), "log format: text (key=value) or json, one object a line (ESTIMATOR_LOG_FORMAT)")
	fs.StringVar(&cfg.baseURL, "base-url", env("ESTIMATOR_BASE_URL", ""), "public URL for links people copy, e.g. https://estimate.example.com; default: from each request (ESTIMATOR_BASE_URL)")
	fs.DurationVar(&cfg.idle, "idle-timeout", envDur("ESTIMATOR_IDLE_TIMEOUT", store.DefaultSessionPolicy.Idle), "sign out sessions unused this long (ESTIMATOR_IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.lifetime, "session-lifetime", envDur("ESTIMATOR_SESSION_LIFETIME", store.DefaultSessionPolicy.Lifetime), "absolute lifetime of a session (ESTIMATOR_SESSION_LIFETIME)")
	fs.DurationVar(&cfg.remember, "remember-lifetime", envDur("ESTIMATOR_REMEMBER_LIFETIME", store.DefaultSessionPolicy.Remember), "lifetime of a \"remember me\" session (ESTIMATOR_REMEMBER_LIFETIME)")
	fs.StringVar(&cfg.trustedProxies, "trusted-proxies", env("ESTIMATOR_TRUSTED_PROXIES", ""), "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed (ESTIMATOR_TRUSTED_PROXIES)")
	fs.StringVar(&cfg.oidcIssuer, "oidc-issuer", env("ESTIMATOR_OIDC_ISSUER", ""), "OpenID Connect provider's issuer URL: turns on \"Sign in with <oidc-name>\"; needs --base-url, the redirect URL being <base-url>/login/oidc/callback (ESTIMATOR_OIDC_ISSUER)")
	fs.StringVar(&cfg.oidcClientID, "oidc-client-id", env("ESTIMATOR_OIDC_CLIENT_ID", ""), "this app's client ID at the OpenID Connect provider (ESTIMATOR_OIDC_CLIENT_ID)")
	fs.StringVar(&cfg.oidcClientSecret, "oidc-client-secret", env("ESTIMATOR_OIDC_CLIENT_SECRET", ""), "this app's client secret at the provider; prefer the variable, which the process list does not show (ESTIMATOR_OIDC_CLIENT_SECRET)")
	fs.StringVar(&cfg.oidcName, "oidc-name", env("ESTIMATOR_OIDC_NAME", "single sign-on"), "the provider's button label: \"Sign in with <oidc-name>\" (ESTIMATOR_OIDC_NAME)")
	fs.StringVar(&cfg.trustedUserHeader, "trusted-user-header", env("ESTIMATOR_TRUSTED_USER_HEADER", ""), "header in which a proxy of --trusted-proxies names the signed-in user, e.g. X-Forwarded-User; ignored from other addresses (ESTIMATOR_TRUSTED_USER_HEADER)")
	fs.BoolVar(&cfg.guests, "guests", envBoolOr("ESTIMATOR_GUESTS", true), "let people sign in with a nickname alone; false needs --oidc-issuer or --trusted-user-header (ESTIMATOR_GUESTS)")
	fs.StringVar(&cfg.devAssets, "dev-assets", env("ESTIMATOR_DEV_ASSETS", ""), "development: serve assets from this folder, uncached (ESTIMATOR_DEV_ASSETS)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", envDur("ESTIMATOR_SHUTDOWN_TIMEOUT", defaultShutdownTimeout), "how long a graceful shutdown waits for the requests in flight, after closing the event streams (ESTIMATOR_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&cfg.shutdownDelay, "shutdown-delay", envDur("ESTIMATOR_SHUTDOWN_DELAY", 0), "on SIGTERM, keep serving this long with GET /readyz at 503 before draining, so a load balancer stops sending traffic first, e.g. 5s on Kubernetes; delay + timeout must stay within the platform's grace period (ESTIMATOR_SHUTDOWN_DELAY)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", env("ESTIMATOR_METRICS_ADDR", ""), "serve Prometheus metrics (GET /metrics) on this separate address, e.g. 127.0.0.1:9100; off when empty (ESTIMATOR_METRICS_ADDR)")
	fs.StringVar(&cfg.signinRate, "signin-rate", env("ESTIMATOR_SIGNIN_RATE", defaultSigninRate), "sign-in attempts per client address once the burst is used: N/s, N/min or N/h (ESTIMATOR_SIGNIN_RATE)")
	fs.IntVar(&cfg.signinBurst, "signin-burst", envInt("ESTIMATOR_SIGNIN_BURST", defaultSigninBurst), "sign-in attempts one client address may make at once, e.g. an office behind one address (ESTIMATOR_SIGNIN_BURST)")
	fs.StringVar(&cfg.trackers, "trackers", env("ESTIMATOR_TRACKERS", ""), "issue trackers groups may connect to, the only addresses ever contacted: comma-separated KIND=BASEURL, KIND jira, github or gitlab, e.g. jira=https://acme.atlassian.net,github=https://api.github.com; http:// only for loopback; off when empty (ESTIMATOR_TRACKERS)")
	fs.StringVar(&cfg.trackerKeyFile, "tracker-key-file", env("ESTIMATOR_TRACKER_KEY_FILE", ""), "file of at least 32 random bytes that seals the trackers' tokens in the database (AES-256-GCM); without it they are stored as given; keep it apart from the database's backups (ESTIMATOR_TRACKER_KEY_FILE)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	// A flag the program does not know is a usage error (exit 2), like an
	// unknown subcommand.
	usage := func(err error) error {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if len(envErrs) > 0 {
		return nil, nil, usage(errors.Join(envErrs...))
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, usage(err)
	}
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return nil, nil, usage(fmt.Errorf("--log-format (ESTIMATOR_LOG_FORMAT) %q: use text or json", cfg.logFormat))
	}
	if cfg.shutdownTimeout <= 0 || cfg.shutdownDelay < 0 {
		return nil, nil, usage(fmt.Errorf("--shutdown-timeout %v, --shutdown-delay %v: want a positive timeout and a delay of 0 or more", cfg.shutdownTimeout, cfg.shutdownDelay))
	}
	if cfg.maxStreams < 1 {
		return nil, nil, usage(fmt.Errorf("--max-streams %d: want at least 1", cfg.maxStreams))
	}
	if cfg.dbConns < 1 {
		return nil, nil, usage(fmt.Errorf("--db-conns %d: want at least 1", cfg.dbConns))
	}
	// Flags may also follow the subcommand: estimator backup --db x.db out.db
	var rest []string
	for remaining := fs.Args(); len(remaining) > 0; remaining = fs.Args() {
		rest = append(rest, remaining[0])
		if rest[0] == "seed" {
			// seed has flags of its own (--users …) and parses what follows.
			rest = append(rest, remaining[1:]...)
			break
		}
		if err := fs.Parse(remaining[1:]); err != nil {
			return nil, nil, usage(err)
		}
	}
	if _, err := parseRate(cfg.signinRate); err != nil {
		return nil, nil, usage(fmt.Errorf("--signin-rate (ESTIMATOR_SIGNIN_RATE): %w", err))
	}
	if _, err := tracker.ParseAllowed(cfg.trackers); err != nil {
		return nil, nil, usage(fmt.Errorf("--trackers (ESTIMATOR_TRACKERS): %w", err))
	}
	if cfg.signinBurst < 1 {
		return nil, nil, usage(fmt.Errorf("--signin-burst (ESTIMATOR_SIGNIN_BURST) %d: at least 1", cfg.signinBurst))
	}
	return cfg, rest, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if isVersionRequest(args) {
		fmt.Fprint(stdout, versionText())
		return nil
	}
	cfg, rest, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg.logLevel, cfg.logFormat, stderr)
	if err != nil {
		return err
	}
	cmd := "serve"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		if len(rest) > 0 {
			return fmt.Errorf("%w: serve takes no arguments", errUsage)
		}
		return serve(ctx, cfg, logger)
	case "users":
		return usersCmd(ctx, cfg, rest, stdout)
	case "backup":
		if len(rest) != 1 {
			return fmt.Errorf("%w: estimator backup PATH", errUsage)
		}
		return backup(ctx, cfg, rest[0], stdout)
	case "seed":
		return seedCmd(ctx, cfg, rest, stdout)
	case "healthcheck":
		if len(rest) > 0 {
			return fmt.Errorf("%w: healthcheck takes no arguments", errUsage)
		}
		return healthcheck(ctx, cfg, stdout)
	default:
		return fmt.Errorf("%w: unknown command %q (see --help)", errUsage, cmd)
	}
}

// openStore opens the database for the operator's subcommands.
func openStore(ctx context.Context, cfg *config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.db, store.Options{MaxConns: cfg.dbConns})
	if err != nil {
		// A database URL may hold a password: never in a message.
		return nil, fmt.Errorf("open %s: %w", store.Redact(cfg.db), err)
	}
	return st, nil
}

func serve(ctx context.Context, cfg *config, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var proxies []string
	for _, p := range strings.Split(cfg.trustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	signinRate, err := parseRate(cfg.signinRate)
	if err != nil {
		return err
	}
	hcfg := handlers.Config{
		SecureCookies:  cfg.secureCookies,
		BaseURL:        strings.TrimRight(cfg.baseURL, "/"),
		Sessions:       store.SessionPolicy{Idle: cfg.idle, Lifetime: cfg.lifetime, Remember: cfg.remember},
		DevAssetsDir:   cfg.devAssets,
		TrustedProxies: proxies,
		LoginRate:      signinRate,
		LoginBurst:     cfg.signinBurst,
		OIDC: signin.OIDCConfig{
			Issuer:       strings.TrimSpace(cfg.oidcIssuer),
			ClientID:     cfg.oidcClientID,
			ClientSecret: cfg.oidcClientSecret,
			Name:         cfg.oidcName,
		},
		TrustedUserHeader: strings.TrimSpace(cfg.trustedUserHeader),
		NoGuests:          !cfg.guests,
		MaxStreams:        cfg.maxStreams,
	}
	if hcfg.Trackers, err = tracker.ParseAllowed(cfg.trackers); err != nil {
		return fmt.Errorf("%w: --trackers: %w", errUsage, err)
	}
	// A way of signing in that cannot work is a usage error, found before the
	// database is touched.
	if err := hcfg.CheckSignin(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	var trackerKey []byte
	if cfg.trackerKeyFile != "" {
		if trackerKey, err = os.ReadFile(cfg.trackerKeyFile); err != nil {
			return fmt.Errorf("--tracker-key-file: %w", err)
		}
		if len(trackerKey) < 32 {
			return fmt.Errorf("%w: --tracker-key-file %s: at least 32 bytes, e.g. head -c 32 /dev/urandom > %s", errUsage, cfg.trackerKeyFile, cfg.trackerKeyFile)
		}
	}
	built, err := wiring.Open(ctx, wiring.Options{
		DB:       cfg.db,
		Store:    store.Options{MaxConns: cfg.dbConns, TrackerKey: trackerKey},
		Handlers: hcfg,
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	defer built.Close()
	app := built.Handler
	srv := newHTTPServer(cfg.addr, app, logger)
	srv.RegisterOnShutdown(app.Close)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	stopMetrics, err := startMetrics(cfg.metricsAddr, app.MetricsHandler(), logger)
	if err != nil {
		ln.Close()
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	go app.RunMaintenance(ctx, 10*time.Minute)
	logger.Info("serving", "addr", ln.Addr().String(), "db", store.Redact(cfg.db), "sign-in", signinSchemes(hcfg), "commit", buildRevision())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// A second signal ends the process at once.
	stop()
	return shutdown(srv, app, stopMetrics, errc, cfg, logger)
}

// defaultShutdownTimeout keeps a graceful shutdown (with no --shutdown-delay)
// within docker and podman stop's 10 s before SIGKILL, with room for closing
// the database; Kubernetes' default grace period is 30 s.
const defaultShutdownTimeout = 8 * time.Second

// shutdown drains the server: /readyz turns 503 at once, the server keeps
// serving for --shutdown-delay (a load balancer stops sending traffic
// meanwhile), then every event stream is closed (an open stream must not hold
// the shutdown up) and the requests in flight get up to --shutdown-timeout.
func shutdown(srv *http.Server, app *handlers.App, stopMetrics func(context.Context) error, errc <-chan error, cfg *config, logger *slog.Logger) error {
	start := time.Now()
	app.Drain()
	logger.Info("shutting down", "delay", cfg.shutdownDelay.String(), "timeout", cfg.shutdownTimeout.String())
	if cfg.shutdownDelay > 0 {
		select {
		case <-time.After(cfg.shutdownDelay):
		case err := <-errc:
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	app.Close()
	if err := errors.Join(srv.Shutdown(sctx), stopMetrics(sctx)); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// signinSchemes names the ways people can sign in, for the start-up line.
func signinSchemes(c handlers.Config) string {
	var on []string
	if !c.NoGuests {
		on = append(on, "nickname")
	}
	if c.OIDC.Issuer != "" {
		on = append(on, "openid-connect "+c.OIDC.Issuer)
	}
	if c.TrustedUserHeader != "" {
		on = append(on, "header "+c.TrustedUserHeader)
	}
	return strings.Join(on, ", ")
}

// Server timeouts: a client that sends its request slowly (slow loris) is cut
// off, and an idle keep-alive connection is closed. Event streams take their
// connection over and set their own deadlines.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

func newHTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

func usersCmd(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	if len(args) != 2 || (args[0] != "deactivate" && args[0] != "activate") {
		return fmt.Errorf("%w: estimator users deactivate|activate NICKNAME", errUsage)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.SetActive(ctx, args[1], args[0] == "activate")
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user with nickname %q", args[1])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is now %s\n", u.Nickname, map[bool]string{true: "active", false: "deactivated (sessions ended)"}[u.Active])
	return nil
}

func backup(ctx context.Context, cfg *config, path string, stdout io.Writer) error {
	if store.IsPostgres(cfg.db) {
		return fmt.Errorf("backup: %w", store.ErrBackupPostgres)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; choose a new file name", path)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", cfg.db, path)
	return nil
}
