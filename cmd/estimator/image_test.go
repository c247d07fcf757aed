package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// imageFile reads a file of the repository's root (the Containerfile,
// compose.yaml).
func imageFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestContainerSettingsAreRealSettings: the ESTIMATOR_* variables the
// Containerfile and compose.yaml set are settings the binary has (a misspelt
// name would be ignored without a word) with values it accepts, and they mean
// what the files say: the database in the volume, PostgreSQL behind compose's
// proxy, and a shutdown that ends before compose's SIGKILL. Neither file can be
// run here (compose needs images from a registry), so this is their check.
func TestContainerSettingsAreRealSettings(t *testing.T) {
	var help bytes.Buffer
	run(context.Background(), []string{"--help"}, noEnv, &help, &help)

	parse := func(t *testing.T, file string, env map[string]string) *config {
		t.Helper()
		if len(env) == 0 {
			t.Fatalf("%s sets no ESTIMATOR_* variable", file)
		}
		for k := range env {
			if !strings.Contains(help.String(), "("+k+")") {
				t.Errorf("%s sets %s, which is no setting of the binary (see --help)", file, k)
			}
		}
		cfg, rest, err := parseFlags(nil, envOf(env), &bytes.Buffer{})
		if err != nil || len(rest) != 0 {
			t.Fatalf("%s's settings %v: %v", file, env, err)
		}
		return cfg
	}

	t.Run("Containerfile", func(t *testing.T) {
		env := map[string]string{}
		for _, m := range regexp.MustCompile(`(ESTIMATOR_[A-Z_]+)=(\S+)`).FindAllStringSubmatch(imageFile(t, "Containerfile"), -1) {
			env[m[1]] = m[2]
		}
		cfg := parse(t, "Containerfile", env)
		if cfg.db != "/data/estimator.db" || cfg.addr != ":8080" {
			t.Errorf("the image serves on %q with the database %q; want :8080 and /data/estimator.db", cfg.addr, cfg.db)
		}
		for _, line := range []string{"FROM scratch", "USER 65532:65532", "VOLUME /data", "EXPOSE 8080", `ENTRYPOINT ["/estimator"]`, `CMD ["/estimator", "healthcheck"]`} {
			if !strings.Contains(imageFile(t, "Containerfile"), line) {
				t.Errorf("Containerfile lacks %s", line)
			}
		}
	})

	t.Run("compose.yaml", func(t *testing.T) {
		compose := imageFile(t, "compose.yaml")
		env := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^\s+(ESTIMATOR_[A-Z_]+):\s*(.+?)\s*$`).FindAllStringSubmatch(compose, -1) {
			// compose substitutes ${NAME:-default}; the default stands here.
			v := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAllString(strings.Trim(m[2], `"'`), "$1")
			env[m[1]] = v
		}
		cfg := parse(t, "compose.yaml", env)
		if !strings.HasPrefix(cfg.db, "postgres://") || !strings.Contains(cfg.db, "@postgres:5432/") {
			t.Errorf("compose's instances use %q, want the postgres service", cfg.db)
		}
		if cfg.logFormat != "json" {
			t.Errorf("compose's log format %q", cfg.logFormat)
		}
		// The proxy's pinned address is the one trusted.
		proxy := regexp.MustCompile(`ipv4_address:\s*(\S+)`).FindStringSubmatch(compose)
		if proxy == nil || cfg.trustedProxies != proxy[1] {
			t.Errorf("trusted proxies %q, the proxy's address %v", cfg.trustedProxies, proxy)
		}
		grace := regexp.MustCompile(`stop_grace_period:\s*(\S+)`).FindStringSubmatch(compose)
		if grace == nil {
			t.Fatal("compose.yaml sets no stop_grace_period (compose's default is 10s)")
		}
		g, err := time.ParseDuration(grace[1])
		if err != nil {
			t.Fatal(err)
		}
		if cfg.shutdownDelay+cfg.shutdownTimeout+time.Second > g {
			t.Errorf("shutdown delay %v + timeout %v does not end a second before stop_grace_period %v", cfg.shutdownDelay, cfg.shutdownTimeout, g)
		}
		// The proxy stops sending to an instance whose readiness fails.
		if caddy := imageFile(t, filepath.Join("deploy", "Caddyfile")); !strings.Contains(caddy, "health_uri /readyz") {
			t.Error("deploy/Caddyfile does not check /readyz")
		}
	})
}
