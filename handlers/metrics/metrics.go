// Package metrics keeps the numbers operators watch, in Prometheus' format:
// requests by route pattern and status with their latency, open event streams,
// votes, reveals, kept forms replayed, database errors, and the Go runtime and
// process collectors.
//
// Labels only ever hold values from small fixed sets (route patterns, methods,
// status codes): never a nickname, a group name, an issue key or an id, so no
// series says who did what, and a stranger cannot grow the series without bound.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of a request no route matched (404, 405).
const Unmatched = "unmatched"

// Options are what the metrics read from the app.
type Options struct {
	// OpenStreams counts the event streams open now; read at each scrape.
	OpenStreams func() int
}

// Metrics is one registry with the app's series. Each App has its own, so
// tests (and several apps in one process) do not share counts.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	votes    prometheus.Counter
	reveals  prometheus.Counter
	replays  prometheus.Counter
	dbErrors prometheus.Counter
	trackers *prometheus.CounterVec
}

// New builds the registry.
func New(o Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "estimator_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "estimator_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method (an event stream: until it is set up).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		votes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "estimator_votes_total",
			Help: "Estimates recorded (a changed estimate counts again).",
		}),
		reveals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "estimator_reveals_total",
			Help: "Rounds revealed.",
		}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "estimator_kept_forms_replayed_total",
			Help: "Forms kept before sign-in and replayed after it.",
		}),
		dbErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "estimator_database_errors_total",
			Help: "Requests that failed because the database was unavailable (locked, read-only, full, I/O error, timed out).",
		}),
		trackers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "estimator_tracker_writes_total",
			Help: "Estimates written back to issue trackers, by tracker kind (jira, github, gitlab) and outcome (sent, retry, failed); never by group or issue.",
		}, []string{"kind", "outcome"}),
	}
	streams := o.OpenStreams
	if streams == nil {
		streams = func() int { return 0 }
	}
	m.reg.MustRegister(
		m.requests, m.duration, m.votes, m.reveals, m.replays, m.dbErrors, m.trackers,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "estimator_event_streams_open",
			Help: "Live-update event streams open now.",
		}, func() float64 { return float64(streams()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request counts an answered request. route is the matched pattern ("" for
// none); a method or status outside the known sets is counted as "other".
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if route == "" {
		route = Unmatched
	}
	method = knownMethod(method)
	m.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(took.Seconds())
}

// Vote counts an estimate recorded.
func (m *Metrics) Vote() { m.votes.Inc() }

// Reveal counts a round revealed.
func (m *Metrics) Reveal() { m.reveals.Inc() }

// Replay counts a kept form replayed after sign-in.
func (m *Metrics) Replay() { m.replays.Inc() }

// TrackerWrite counts a write to a tracker by its kind and outcome (each a
// value of a small fixed set; anything else counts as "other").
func (m *Metrics) TrackerWrite(kind, outcome string) {
	switch kind {
	case "jira", "github", "gitlab":
	default:
		kind = "other"
	}
	switch outcome {
	case "sent", "retry", "failed":
	default:
		outcome = "other"
	}
	m.trackers.WithLabelValues(kind, outcome).Inc()
}

// DatabaseError counts a request that failed on an unavailable database.
func (m *Metrics) DatabaseError() { m.dbErrors.Inc() }

// knownMethod keeps the method label to the methods HTTP defines: any other
// token a client sends would be a new series.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

func statusLabel(s int) string {
	if s < 100 || s > 599 {
		return "other"
	}
	return strconv.Itoa(s)
}
