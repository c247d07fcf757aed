package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var metricsAddr = regexp.MustCompile(`msg="serving metrics" addr=(\S+)`)

// TestMetricsListener: --metrics-addr serves /metrics on its own port, which
// counts the app's requests; the app's port does not serve it; without the flag
// nothing listens for metrics.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, filepath.Join(dir, "m.db"), "--metrics-addr", "127.0.0.1:0")
	m := metricsAddr.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("no \"serving metrics\" line:\n%s", p.stderr)
	}
	metricsBase := "http://" + m[1]
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for range 3 {
		if code, _ := get(p.base + "/healthz"); code != http.StatusOK {
			t.Fatalf("/healthz: %d", code)
		}
	}
	if code, _ := get(p.base + "/metrics"); code != http.StatusNotFound {
		t.Errorf("the app's port answers /metrics with %d, want 404", code)
	}
	code, body := get(metricsBase + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	if !strings.Contains(body, `estimator_http_requests_total{method="GET",route="/healthz",status="200"} 3`) {
		t.Errorf("/metrics lacks the three /healthz requests:\n%s", body)
	}
	if code, _ := get(metricsBase + "/"); code != http.StatusNotFound {
		t.Errorf("the metrics port answers / with %d, want 404", code)
	}
	p.stop()

	p = startServer(t, filepath.Join(dir, "m.db"))
	if strings.Contains(p.stderr.String(), "serving metrics") {
		t.Errorf("metrics served without --metrics-addr:\n%s", p.stderr)
	}
	p.stop()
}
