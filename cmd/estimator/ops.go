package main

// What a container platform or an operator asks of the binary besides
// serving: its version, a health probe that needs no shell or curl in the
// image, and logs a collector can parse.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// versionText is what --version prints, read from the build information the go
// command stamps into the binary: the module's version, the commit it was
// built from, when that was committed, whether the work tree had changes, and
// the Go release. A binary built without version control (go build
// -buildvcs=false, or outside a repository) says the commit is unknown.
func versionText() string {
	version, settings := "unknown", map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	or := func(k, def string) string {
		if v := settings[k]; v != "" {
			return v
		}
		return def
	}
	var b strings.Builder
	fmt.Fprintf(&b, "estimator %s\n", version)
	fmt.Fprintf(&b, "commit:   %s\n", or("vcs.revision", "unknown"))
	fmt.Fprintf(&b, "time:     %s\n", or("vcs.time", "unknown"))
	fmt.Fprintf(&b, "modified: %s\n", or("vcs.modified", "unknown"))
	fmt.Fprintf(&b, "go:       %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// buildRevision is the commit for the start-up log line, short.
func buildRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// isVersionRequest: `estimator --version` (or -version, or version) alone.
func isVersionRequest(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version")
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("%w: --log-format %q: use text or json", errUsage, format)
	}
}

// probeAddr is where this host reaches a server listening on addr: an
// address that listens on every interface (":8080", "0.0.0.0:8080") is asked
// on loopback.
func probeAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// healthcheckTimeout bounds one probe, under a container HEALTHCHECK's own
// timeout (the image sets 5s).
const healthcheckTimeout = 4 * time.Second

// healthcheck asks the server listening on --addr for GET /healthz and succeeds
// on a 200: the image's HEALTHCHECK, which has no shell or curl to run.
func healthcheck(ctx context.Context, cfg *config, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	u := "http://" + probeAddr(cfg.addr) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// Straight to the server: a proxy from HTTP_PROXY must not answer for it.
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", u, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: GET %s: %s\n", u, resp.Status)
	return nil
}
