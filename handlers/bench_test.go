package handlers

// Benchmarks of the hot paths, through the real router over a real SQLite file
// seeded with a realistic data set. Run them with `go tool task bench`; `go test`
// without -bench never runs them.
//
// BenchmarkHotPaths drives each path over real loopback HTTP (a Go client with 32
// keep-alive connections, 64 for the write path, on the same cores as the server,
// as a load generator would be) and measures a bare handler writing a fixed 1 KiB
// page, served by the same server, right before and right after: the ratios it
// reports come from one run. BenchmarkRender calls the router in process, so its
// allocs/op are the server's own per request.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"estimator/assets"
	"estimator/store"
)

var benchBarePage = []byte("<!doctype html><title>bare</title>" + strings.Repeat("x", 1024-len("<!doctype html><title>bare</title>")))

// benchBare is the baseline: a bare handler answering a fixed 1 KiB page.
var benchBare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", "1024")
	w.Write(benchBarePage)
})

// benchWorld is the app over a seeded database: 500 users, 100 groups of 10,
// 2,000 issues; a "My Groups" user in 20 of the groups; 64 writers, each a member
// of one of 20 other groups.
type benchWorld struct {
	ta      *testApp
	srv     *httptest.Server
	main    []*http.Cookie // the "My Groups" user
	writers [][]*http.Cookie
	// writerIssues[i] are open issues writer i may vote on.
	writerIssues [][]int64
	// statusIssues are issues in the main user's groups.
	statusIssues []int64
	// roomIssue is an open issue of a group of 20 issues with 8 votes: the
	// room page as a member opens it during a meeting.
	roomIssue int64
}

const (
	benchGroups  = 20 // groups of the "My Groups" user
	benchWriters = 64
)

// benchNicks numbers the sign-in benchmark's new users in decimal: in base 36,
// "signin-1" and "signin-l" look alike and the second is refused (422).
var benchNicks atomic.Int64

// newBenchWorld seeds a database in b's temporary folder and signs the users in.
func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	ctx := context.Background()
	changes := new(store.Relay)
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{Changes: changes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := store.Seed(ctx, st, store.SeedSpec{Users: 500, Groups: 100, Issues: 2000, Members: 10,
		Rand: rand.New(rand.NewPCG(1, 1))}); err != nil {
		b.Fatal(err)
	}
	// A real server logs one line per request; here the lines are formatted and
	// dropped.
	app, err := New(Deps{Store: st, Assets: assets.FS, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: Config{LoginRate: rate.Inf, LoginBurst: 1}, Changes: changes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)
	ta := &testApp{t: b, app: app, st: st}
	w := &benchWorld{ta: ta}
	join := func(nick string, gids ...int64) {
		u, err := st.UserByNickname(ctx, nick)
		if err != nil {
			b.Fatal(err)
		}
		for _, gid := range gids {
			g, _, err := st.GroupFor(ctx, gid, 0)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.Join(ctx, g.InviteToken, u); err != nil {
				b.Fatal(err)
			}
		}
	}
	mainC := ta.client()
	mainC.login("bench-main")
	var mainGroups []int64
	for gid := int64(1); gid <= benchGroups; gid++ {
		mainGroups = append(mainGroups, gid)
	}
	join("bench-main", mainGroups...)
	w.main = benchCookies(mainC)
	for _, gid := range mainGroups {
		is, err := st.GroupIssues(ctx, gid)
		if err != nil {
			b.Fatal(err)
		}
		for _, i := range is {
			w.statusIssues = append(w.statusIssues, i.ID)
		}
	}
	// The room: the first open issue of the main user's first group, with
	// 8 of its members' votes (whatever the seed gave it before).
	{
		is, err := st.GroupIssues(ctx, mainGroups[0])
		if err != nil {
			b.Fatal(err)
		}
		members, err := st.Members(ctx, mainGroups[0])
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range is {
			if x.State == store.StateOpen {
				w.roomIssue = x.ID
				break
			}
		}
		voted := 0
		for _, m := range members {
			if voted == 8 || m.Seat != store.SeatVoter || m.Nickname == "bench-main" {
				continue
			}
			if _, err := st.Estimate(ctx, w.roomIssue, m.UserID, store.Vote{Value: store.Scale[voted%len(store.Scale)]}); err != nil {
				b.Fatal(err)
			}
			voted++
		}
		if w.roomIssue == 0 || voted != 8 || len(is) != 20 {
			b.Fatalf("room: issue %d, %d votes, %d issues in the group", w.roomIssue, voted, len(is))
		}
	}
	for i := range benchWriters {
		c := ta.client()
		nick := fmt.Sprintf("bench-w%02d", i)
		c.login(nick)
		gid := int64(benchGroups + 1 + i%20)
		join(nick, gid)
		is, err := st.GroupIssues(ctx, gid)
		if err != nil {
			b.Fatal(err)
		}
		var open []int64
		for _, x := range is {
			if x.State == store.StateOpen {
				open = append(open, x.ID)
			}
		}
		w.writers = append(w.writers, benchCookies(c))
		w.writerIssues = append(w.writerIssues, open)
	}
	mux := http.NewServeMux()
	mux.Handle("/bare", benchBare)
	mux.Handle("/", app)
	w.srv = httptest.NewServer(mux)
	b.Cleanup(w.srv.Close)
	return w
}

func benchCookies(c *client) []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range c.cookies {
		out = append(out, &http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	return out
}

// benchPath is one hot path: how to make its n-th request for connection conn,
// and the status it must answer.
type benchPath struct {
	name  string
	conns int
	want  int
	req   func(w *benchWorld, base string, conn int, n int) *http.Request
}

func benchPaths() []benchPath {
	get := func(base, path string, cookies []*http.Cookie) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	post := func(base, path string, form url.Values, cookies []*http.Cookie) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// What a browser sends with a form posted from this site.
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	return []benchPath{
		{name: "my-groups", conns: 32, want: http.StatusOK, req: func(w *benchWorld, base string, _, _ int) *http.Request {
			return get(base, "/", w.main)
		}},
		{name: "room-page", conns: 32, want: http.StatusOK, req: func(w *benchWorld, base string, _, _ int) *http.Request {
			return get(base, "/issues/"+strconv.FormatInt(w.roomIssue, 10), w.main)
		}},
		{name: "issue-status-fragment", conns: 32, want: http.StatusOK, req: func(w *benchWorld, base string, _, n int) *http.Request {
			r := get(base, "/issues/"+strconv.FormatInt(w.statusIssues[n%len(w.statusIssues)], 10), w.main)
			r.Header.Set("HX-Request", "true")
			return r
		}},
		{name: "estimate-post", conns: benchWriters, want: http.StatusSeeOther, req: func(w *benchWorld, base string, conn, n int) *http.Request {
			i := conn % len(w.writers)
			issues := w.writerIssues[i]
			return post(base, "/issues/"+strconv.FormatInt(issues[n%len(issues)], 10)+"/estimate",
				url.Values{"estimate": {strconv.Itoa(store.Scale[n%len(store.Scale)])}}, w.writers[i])
		}},
		{name: "estimate-post-htmx", conns: benchWriters, want: http.StatusOK, req: func(w *benchWorld, base string, conn, n int) *http.Request {
			i := conn % len(w.writers)
			issues := w.writerIssues[i]
			path := "/issues/" + strconv.FormatInt(issues[n%len(issues)], 10)
			r := post(base, path+"/estimate", url.Values{"estimate": {strconv.Itoa(store.Scale[n%len(store.Scale)])}}, w.writers[i])
			r.Header.Set("HX-Request", "true")
			r.Header.Set("HX-Current-URL", base+path)
			return r
		}},
		{name: "signin-post", conns: 32, want: http.StatusSeeOther, req: func(w *benchWorld, base string, _, _ int) *http.Request {
			return post(base, "/login", url.Values{"nickname": {"signin-" + strconv.FormatInt(benchNicks.Add(1), 10)}}, nil)
		}},
	}
}

// BenchmarkHotPaths measures each path's throughput and latency over loopback
// HTTP against the bare 1 KiB handler in the same server, measured just before
// and just after at the same concurrency. Metrics: req/s and bare-req/s; %bare,
// the path's throughput as a share of the bare handler's; %bare-cpu, the same
// ratio from the CPU time spent per request (client and server), which the
// neighbours on a shared machine disturb much less; p99-ms, bare-p99-ms and
// p99/bare; errors (any status but the expected one: a locked database would
// answer 503).
func BenchmarkHotPaths(b *testing.B) {
	w := newBenchWorld(b)
	for _, p := range benchPaths() {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			client := benchClient(p.conns)
			defer client.CloseIdleConnections()
			base := w.srv.URL
			bare := func(int, int) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, base+"/bare", nil)
				return r
			}
			app := func(conn, n int) *http.Request { return p.req(w, base, conn, n) }
			b.StopTimer()
			before := drive(b, client, p.conns, b.N/2+1, bare, http.StatusOK)
			b.StartTimer()
			got := drive(b, client, p.conns, b.N, app, p.want)
			b.StopTimer()
			after := drive(b, client, p.conns, b.N/2+1, bare, http.StatusOK)
			bareRun := before.merge(after)
			b.ReportMetric(got.rps(), "req/s")
			b.ReportMetric(bareRun.rps(), "bare-req/s")
			b.ReportMetric(100*got.rps()/bareRun.rps(), "%bare")
			// On a shared machine wall time depends on the neighbours; the CPU
			// time this process (client and server) spends per request does
			// much less. Where requests are CPU-bound, as here, throughput on
			// a machine of its own goes as its inverse.
			b.ReportMetric(100*bareRun.cpuPerReq().Seconds()/got.cpuPerReq().Seconds(), "%bare-cpu")
			b.ReportMetric(float64(got.cpuPerReq().Nanoseconds())/1000, "cpu-µs/req")
			b.ReportMetric(ms(got.p(0.99)), "p99-ms")
			b.ReportMetric(ms(bareRun.p(0.99)), "bare-p99-ms")
			b.ReportMetric(float64(got.p(0.99))/float64(bareRun.p(0.99)), "p99/bare")
			b.ReportMetric(float64(got.errors), "errors")
			if got.errors > 0 {
				b.Errorf("%d of %d requests failed; first: %s", got.errors, b.N, got.firstErr)
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchClient is a keep-alive client with conns connections that does not follow
// redirects and asks for gzip, as browsers and load generators do.
func benchClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, MaxIdleConns: conns},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

type runResult struct {
	n         int
	elapsed   time.Duration
	cpu       time.Duration // this process's user and system time
	latencies []time.Duration
	errors    int
	firstErr  string
}

func (r runResult) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r runResult) cpuPerReq() time.Duration { return r.cpu / time.Duration(max(r.n, 1)) }

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r runResult) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(float64(len(r.latencies)-1)*q)]
}

func (r runResult) merge(o runResult) runResult {
	m := runResult{n: r.n + o.n, elapsed: r.elapsed + o.elapsed, cpu: r.cpu + o.cpu, errors: r.errors + o.errors,
		latencies: append(slices.Clone(r.latencies), o.latencies...)}
	slices.Sort(m.latencies)
	return m
}

// drive sends n requests over conns concurrent connections (the goroutines of
// b.RunParallel) and times each.
func drive(b *testing.B, client *http.Client, conns, n int, mk func(conn, n int) *http.Request, want int) runResult {
	var (
		mu     sync.Mutex
		res    = runResult{n: n}
		next   atomic.Int64
		connID atomic.Int64
		wg     sync.WaitGroup
	)
	start, cpu0 := time.Now(), cpuTime()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := int(connID.Add(1) - 1)
			var lat []time.Duration
			var errs int
			var first string
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				req := mk(conn, i)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != want {
						err = fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
					}
				}
				lat = append(lat, time.Since(t0))
				if err != nil {
					if errs == 0 {
						first = err.Error()
					}
					errs++
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed, res.cpu = time.Since(start), cpuTime()-cpu0
	slices.Sort(res.latencies)
	return res
}

// BenchmarkRender serves each read path in process (no network), so allocs/op
// and B/op are the server's own per request: session lookup, queries, templ
// render, gzip. bare is the floor of this harness (recorder and request).
func BenchmarkRender(b *testing.B) {
	w := newBenchWorld(b)
	type page struct {
		name string
		gzip bool
		req  func(n int) *http.Request
	}
	mk := func(path string, hx bool) func(int) *http.Request {
		return func(int) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, path, nil)
			r.RemoteAddr = "192.0.2.1:1234"
			for _, c := range w.main {
				r.AddCookie(c)
			}
			if hx {
				r.Header.Set("HX-Request", "true")
			}
			return r
		}
	}
	status := func(n int) *http.Request {
		return mk("/issues/"+strconv.FormatInt(w.statusIssues[n%len(w.statusIssues)], 10), true)(n)
	}
	pages := []page{
		{"bare", false, func(int) *http.Request { r, _ := http.NewRequest(http.MethodGet, "/bare", nil); return r }},
		{"my-groups", false, mk("/", false)},
		{"my-groups-gzip", true, mk("/", false)},
		{"room-page", false, mk("/issues/"+strconv.FormatInt(w.roomIssue, 10), false)},
		{"issue-status-fragment", false, status},
		{"issue-status-fragment-gzip", true, status},
	}
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			var h http.Handler = w.ta.app
			if pg.name == "bare" {
				h = benchBare
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op") }()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := pg.req(int(n.Add(1)))
					if pg.gzip {
						r.Header.Set("Accept-Encoding", "gzip")
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					if rec.Code != http.StatusOK {
						b.Errorf("%s: status %d", r.URL.Path, rec.Code)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVoteInProcess is the estimate POST (a plain form, as
// BenchmarkHotPaths/estimate-post) served in process by 64 writers at once:
// the server's own CPU per vote, which the loopback's client and neighbours
// do not disturb.
func BenchmarkVoteInProcess(b *testing.B) {
	w := newBenchWorld(b)
	var n, conns atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, benchWriters/max(1, runtime.GOMAXPROCS(0))))
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := int(conns.Add(1)) % len(w.writers)
		issues := w.writerIssues[i]
		for pb.Next() {
			k := int(n.Add(1))
			form := url.Values{"estimate": {strconv.Itoa(store.Scale[k%len(store.Scale)])}}
			r, _ := http.NewRequest(http.MethodPost, "/issues/"+strconv.FormatInt(issues[k%len(issues)], 10)+"/estimate",
				strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.RemoteAddr = "192.0.2.1:1234"
			for _, c := range w.writers[i] {
				r.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			w.ta.app.ServeHTTP(rec, r)
			if rec.Code != http.StatusSeeOther {
				b.Errorf("vote: status %d", rec.Code)
				return
			}
		}
	})
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
}
