package handlers

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"estimator/internal/testkit"
)

// scrape reads the app's metrics as Prometheus would.
func (ta *testApp) scrape() (map[string]*dto.MetricFamily, string) {
	ta.t.Helper()
	rec := httptest.NewRecorder()
	ta.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		ta.t.Fatalf("scrape: status %d", rec.Code)
	}
	body := rec.Body.String()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		ta.t.Fatalf("scrape is not Prometheus text format: %v", err)
	}
	return fams, body
}

// sample is the value of the series of family name with exactly these labels
// (a counter, gauge, or a histogram's sample count); -1 when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	anon := ta.client()
	anon.get("/").wantStatus(http.StatusOK)
	anon.get("/").wantStatus(http.StatusOK)
	anon.get("/nope/4711").wantStatus(http.StatusNotFound)
	anon.do("BREW", "/", nil, "")

	tm := ta.team("Secret Team Name", "Olga", "Maximilian")
	owner, member := tm.owner.plain(), tm.members[0].plain()
	issueID := owner.addIssue(tm.gid, "HIDDEN-KEY-9", "a private description")
	owner.estimate(issueID, "3").wantStatus(http.StatusSeeOther)
	member.estimate(issueID, "5").wantStatus(http.StatusSeeOther)
	member.estimate(issueID, "8").wantStatus(http.StatusSeeOther) // a change counts again
	member.estimate(issueID, "abc").wantStatus(http.StatusUnprocessableEntity)
	owner.post(fmt.Sprintf("/issues/%d/reveal", issueID), nil).wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/reveal", issueID), nil).wantStatus(http.StatusSeeOther) // answers like the first, counts once

	// A form kept before sign-in and replayed after it.
	late := ta.client().plain()
	r := late.post("/creategroup", url.Values{"name": {"Replayed Group"}}).wantStatus(http.StatusSeeOther)
	_, ref, _ := loginTarget(t, r.location())
	sendKept(t, late, late.post("/login", url.Values{"nickname": {"Latecomer"}, "kept": {ref}})).wantStatus(http.StatusSeeOther)

	// The database stops taking writes.
	must(t, ta.st.SetReadOnly(tctx, true))
	owner.post("/creategroup", url.Values{"name": {"Not now"}}).wantStatus(http.StatusServiceUnavailable)
	must(t, ta.st.SetReadOnly(tctx, false))

	// An open event stream, on a real connection.
	srv := httptest.NewServer(ta.app)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/issues/%d/events", srv.URL, issueID), nil)
	for _, ck := range member.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %v %v", resp, err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatalf("event stream sent nothing: %v", err)
	}

	fams, body := ta.scrape()
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"estimator_http_requests_total", []string{"route", "/", "method", "GET", "status", "200"}, 2},
		{"estimator_http_requests_total", []string{"route", "unmatched", "method", "GET", "status", "404"}, 1},
		{"estimator_http_requests_total", []string{"route", "unmatched", "method", "other", "status", "405"}, 1},
		{"estimator_http_requests_total", []string{"route", "/issues/:id/estimate", "method", "POST", "status", "303"}, 3},
		{"estimator_http_requests_total", []string{"route", "/issues/:id/estimate", "method", "POST", "status", "422"}, 1},
		{"estimator_http_requests_total", []string{"route", "/issues/:id/reveal", "method", "POST", "status", "303"}, 2},
		{"estimator_http_requests_total", []string{"route", "/creategroup", "method", "POST", "status", "503"}, 1},
		{"estimator_http_request_duration_seconds", []string{"route", "/", "method", "GET"}, 2},
		{"estimator_http_request_duration_seconds", []string{"route", "/issues/:id/estimate", "method", "POST"}, 4},
		{"estimator_votes_total", nil, 3},
		{"estimator_reveals_total", nil, 1},
		{"estimator_kept_forms_replayed_total", nil, 1},
		{"estimator_database_errors_total", nil, 1},
		{"estimator_event_streams_open", nil, 1},
	} {
		if got := sample(fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go runtime and process collectors are missing", name)
		}
	}

	// No label carries user data: routes are patterns, the rest small sets.
	routes := map[string]bool{"unmatched": true}
	for _, rt := range ta.app.engine.Routes() {
		routes[rt.Path] = true
	}
	status := regexp.MustCompile(`^[1-5][0-9][0-9]$`)
	for name, f := range fams {
		if !strings.HasPrefix(name, "estimator_") {
			continue
		}
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				v := lp.GetValue()
				switch lp.GetName() {
				case "route":
					if !routes[v] {
						t.Errorf("%s: route label %q is not a route pattern", name, v)
					}
				case "method":
					if v != "GET" && v != "POST" && v != "other" {
						t.Errorf("%s: method label %q", name, v)
					}
				case "status":
					if !status.MatchString(v) {
						t.Errorf("%s: status label %q", name, v)
					}
				default:
					t.Errorf("%s: unexpected label %s=%q", name, lp.GetName(), v)
				}
			}
		}
	}
	secrets := []string{"Olga", "Maximilian", "Latecomer", "Secret Team Name", "Replayed Group", "HIDDEN-KEY-9", "private description",
		"4711", ta.inviteToken(tm.gid), fmt.Sprintf("/issues/%d", issueID), fmt.Sprintf("/groups/%d", tm.gid)}
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("the metrics carry %q", s)
		}
	}

	// A closed stream is no longer counted.
	cancel()
	resp.Body.Close()
	testkit.Eventually(t, 5*time.Second, "a closed event stream to leave the open count", func() bool {
		fams, _ := ta.scrape()
		return sample(fams, "estimator_event_streams_open") == 0
	})
}

// The metrics are not on the app's own router: visitors cannot read them.
func TestMetricsNotOnAppRouter(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	ta.client().get("/metrics").wantStatus(http.StatusNotFound)
	ta.signedIn("Olga").get("/metrics").wantStatus(http.StatusNotFound)
}

// Every accepted vote (numbers, ? and coffee) counts, and so does every
// reveal, whoever makes it: auto-reveal after the last vote, a seat change
// that leaves everyone voted, the timer with nobody connected. Refused votes
// do not count.
func TestMetricsCountEveryVoteAndReveal(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Counting", "Olga", "Max", "Nina")
	owner, max, nina := tm.owner.plain(), tm.members[0].plain(), tm.members[1].plain()
	owner.post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"fibonacci"}, "auto_reveal": {"1"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	counts := func() (votes, reveals float64) {
		fams, _ := ta.scrape()
		return sample(fams, "estimator_votes_total"), sample(fams, "estimator_reveals_total")
	}
	want := func(when string, votes, reveals float64) {
		t.Helper()
		if v, r := counts(); v != votes || r != reveals {
			t.Errorf("%s: %v votes, %v reveals; want %v, %v", when, v, r, votes, reveals)
		}
	}

	auto := owner.addIssue(tm.gid, "AUTO-1", "")
	owner.estimate(auto, "3").wantStatus(http.StatusSeeOther)
	max.estimate(auto, "?").wantStatus(http.StatusSeeOther)
	max.estimate(auto, "??").wantStatus(http.StatusUnprocessableEntity)
	nina.estimate(auto, "5").wantStatus(http.StatusSeeOther) // the last vote reveals (2 numbers)
	nina.estimate(auto, "5").wantStatus(http.StatusConflict)
	want("after auto-reveal", 3, 1)

	seat := owner.addIssue(tm.gid, "SEAT-1", "")
	owner.estimate(seat, "5").wantStatus(http.StatusSeeOther)
	max.estimate(seat, "8").wantStatus(http.StatusSeeOther)
	nina.post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"spectator"}}).wantStatus(http.StatusSeeOther)
	want("after a seat change revealed", 5, 2)
	timed := owner.addIssue(tm.gid, "TIMER-1", "")
	nina.estimate(timed, "13").wantStatus(http.StatusForbidden)
	nina.post(fmt.Sprintf("/groups/%d/role", tm.gid), url.Values{"role": {"voter"}}).wantStatus(http.StatusSeeOther)

	owner.estimate(timed, "2").wantStatus(http.StatusSeeOther)
	max.estimate(timed, "3").wantStatus(http.StatusSeeOther)
	owner.post(fmt.Sprintf("/issues/%d/timer", timed), url.Values{"seconds": {"5"}}).wantStatus(http.StatusSeeOther)
	ta.clock.Advance(6 * time.Second)
	testkit.Eventually(t, 5*time.Second, "the timer's reveal to be counted", func() bool { _, r := counts(); return r == 3 })
	want("after the timer revealed", 7, 3)
}
