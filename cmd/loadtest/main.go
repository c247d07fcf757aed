// Command loadtest measures Estimator over real HTTP: it builds the binary,
// seeds a fresh temporary database with `estimator seed`, starts the server on
// 127.0.0.1, signs users in over HTTP, and drives each hot path with vegeta (the
// load generator pinned in go.mod) for a bounded time. It prints throughput,
// p50/p99 and errors per path with the ratio to the bare /livez endpoint
// measured just before and after each path in the same run, the idle server's
// RSS, the time from start to the first answered request on an existing
// database, and the live-update fan-out to 1,000 subscribers. Then it stops the
// server and removes the database.
//
// Run it from the module root: go tool task load (or go run ./cmd/loadtest).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	_ "modernc.org/sqlite"
)

type options struct {
	duration    time.Duration
	conns       int
	writers     int
	subscribers int
	votes       int
	keep        bool
	verbose     bool
	only        string
	scale       bool
	postgres    string
	room        roomOptions
	profile     string
	scaleRooms  int
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each path is driven")
	flag.IntVar(&o.conns, "conns", 32, "connections (and vegeta workers) for the read paths and sign-in")
	flag.IntVar(&o.writers, "writers", 64, "concurrent writers (users and connections) for the estimate POST")
	flag.IntVar(&o.subscribers, "subscribers", 1000, "live-update subscribers of one issue (0 skips the fan-out)")
	flag.IntVar(&o.votes, "votes", 20, "votes timed in the fan-out")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary folder (database, server log)")
	flag.BoolVar(&o.verbose, "v", false, "say what is happening")
	flag.StringVar(&o.only, "only", "", "drive only the paths whose name contains this (e.g. estimate)")
	flag.BoolVar(&o.scale, "scale", false, "instead: compare one instance on SQLite, one on PostgreSQL and two on one PostgreSQL database (needs -postgres)")
	flag.StringVar(&o.postgres, "postgres", os.Getenv("ESTIMATOR_TEST_POSTGRES"), "PostgreSQL URL for -scale; each configuration gets a schema of its own, dropped after (default $ESTIMATOR_TEST_POSTGRES)")
	roomSteps := flag.String("rooms", "10,100,500,1000", "room scenario: the room counts to run, in order (none: skip it); each is run and reported whether the one before held its targets or not")
	flag.IntVar(&o.room.people, "people", 10, "room scenario: people in each room")
	flag.IntVar(&o.room.rounds, "rounds", 2, "room scenario: rounds (issues) per room count")
	flag.BoolVar(&o.room.aligned, "room-aligned", false, "room scenario: every room votes on the same instant (default: the rooms' seconds spread over the second)")
	flag.IntVar(&o.scaleRooms, "scale-rooms", 200, "with -scale: rooms of the room scenario in each configuration (0 skips it)")
	flag.StringVar(&o.profile, "profile", "", "build the server with -tags profile and write its CPU profile of each room count (its first two rounds: 22 s from the first vote, reveals and moves included) and its heap after into this folder (go tool pprof FILE)")
	flag.Parse()
	profileDir = o.profile
	if *roomSteps != "none" {
		steps, err := parseSteps(*roomSteps)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(2)
		}
		o.room.steps = steps
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner := run
	if o.scale {
		runner = runScale
	}
	if err := runner(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// Seeded data set: the load-run user of "My Groups" joins groups 1–20; writers
// join groups 21–40 (one each, round robin); the fan-out issue is in group 41.
const (
	seedUsers, seedGroups, seedIssues, seedMembers = 500, 100, 2000, 10
	myGroups                                       = 20
	fanoutGroup                                    = 41
)

func run(ctx context.Context, o options) error {
	started := time.Now()
	dir, err := os.MkdirTemp("", "estimator-load-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("temporary folder:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	say := func(format string, args ...any) {
		if o.verbose {
			fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
		}
	}

	bin := filepath.Join(dir, "estimator")
	say("building %s", bin)
	build := exec.CommandContext(ctx, "go", buildArgs(bin)...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}

	db := filepath.Join(dir, "load.db")
	say("seeding %s", db)
	seed := exec.CommandContext(ctx, bin, "--db", db, "seed", "--users", strconv.Itoa(seedUsers), "--groups", strconv.Itoa(seedGroups),
		"--issues", strconv.Itoa(seedIssues), "--members", strconv.Itoa(seedMembers))
	seedOut, err := seed.CombinedOutput()
	if err != nil {
		return fmt.Errorf("seed: %w: %s", err, seedOut)
	}
	fmt.Print(string(seedOut))

	// Start to first answer, on the existing (seeded) database: three starts,
	// the last of which serves the load.
	var starts []time.Duration
	var srv *server
	for i := range 3 {
		if srv != nil {
			srv.stop()
		}
		srv, err = startServer(ctx, bin, db, filepath.Join(dir, fmt.Sprintf("server-%d.log", i)))
		if err != nil {
			return err
		}
		defer srv.stop()
		starts = append(starts, srv.firstAnswer)
	}
	say("server up at %s (pid %d)", srv.base, srv.cmd.Process.Pid)
	time.Sleep(time.Second)
	idleRSS := rssKiB(srv.cmd.Process.Pid)

	w, err := prepare(ctx, srv, db, o)
	if err != nil {
		return err
	}
	say("signed in %d users", 1+len(w.writers))

	type row struct {
		name   string
		m      *result
		base   []*result
		locked int
		rss    int // server's VmRSS right after the path, KiB
	}
	var rows []row
	pid := srv.cmd.Process.Pid
	baseline := func() (*result, error) {
		return attack(ctx, pid, "livez", o.conns, o.duration, w.livez())
	}
	prev, err := baseline()
	if err != nil {
		return err
	}
	rows = append(rows, row{name: "GET /livez (bare baseline)", m: prev, rss: rssKiB(srv.cmd.Process.Pid)})
	paths := []struct {
		name  string
		conns int
		tr    vegeta.Targeter
	}{
		{"GET /healthz (database probe)", o.conns, w.get("/healthz")},
		{"GET / (My Groups, 20 groups)", o.conns, w.myGroups("")},
		{"GET / (same, without gzip)", o.conns, w.myGroups("identity")},
		{"GET /issues/{id} (htmx fragment)", o.conns, w.issueStatus()},
		{fmt.Sprintf("POST /issues/{id}/estimate (%d writers)", o.writers), o.writers, w.estimate()},
		{"POST /login (new user each time)", o.conns, w.signIn()},
	}
	for _, p := range paths {
		if !strings.Contains(p.name, o.only) {
			continue
		}
		say("driving %s", p.name)
		logBefore := srv.logSize()
		m, err := attack(ctx, pid, p.name, p.conns, o.duration, p.tr)
		if err != nil {
			return err
		}
		locked := strings.Count(srv.logSince(logBefore), "database is locked")
		rss := rssKiB(srv.cmd.Process.Pid)
		next, err := baseline()
		if err != nil {
			return err
		}
		rows = append(rows, row{name: p.name, m: m, base: []*result{prev, next}, locked: locked, rss: rss})
		prev = next
	}

	var fan *fanout
	if o.subscribers > 0 {
		say("fan-out to %d subscribers", o.subscribers)
		if fan, err = w.fanOut(ctx, srv.cmd.Process.Pid, o.subscribers, o.votes); err != nil {
			return err
		}
	}
	var rooms []*roomStep
	if len(o.room.steps) > 0 && strings.Contains("room", o.only) {
		if rooms, err = runRooms(ctx, w, db, []*server{srv}, o.room, say); err != nil {
			return err
		}
	}
	time.Sleep(2 * time.Second)
	afterRSS := rssKiB(srv.cmd.Process.Pid)
	srv.stop()

	// Report.
	fmt.Printf("\nload run: %s per path, %d connections (%d for the estimate POST), loopback, GOMAXPROCS of both processes = CPUs = %d\n",
		o.duration, o.conns, o.writers, runtime.NumCPU())
	fmt.Println("ratios are against the mean of the /livez runs just before and just after the path;")
	fmt.Println("CPU is the server's and the load generator's CPU time per request, and \"CPU % of bare\" the ratio")
	fmt.Println("of those: what the throughput ratio would be on two cores of their own (the machine may be shared)")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\treq/s\t% of bare\tp50 ms\tp99 ms\tp99 ÷ bare p99\tCPU µs/req\tCPU % of bare\terrors\tlocked\tRSS MiB\t")
	for _, r := range rows {
		p99ratio, pct, cpuPct := "", "", ""
		if len(r.base) > 0 {
			bt := (r.base[0].Throughput + r.base[1].Throughput) / 2
			bp := (r.base[0].Latencies.P99 + r.base[1].Latencies.P99) / 2
			bc := (r.base[0].cpuPerReq() + r.base[1].cpuPerReq()) / 2
			pct = fmt.Sprintf("%.1f%%", 100*r.m.Throughput/bt)
			p99ratio = fmt.Sprintf("%.2f×", float64(r.m.Latencies.P99)/float64(bp))
			cpuPct = fmt.Sprintf("%.1f%%", 100*bc.Seconds()/r.m.cpuPerReq().Seconds())
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.2f\t%.2f\t%s\t%.0f\t%s\t%s\t%d\t%.1f\t\n", r.name, r.m.Throughput, pct,
			msf(r.m.Latencies.P50), msf(r.m.Latencies.P99), p99ratio, float64(r.m.cpuPerReq().Nanoseconds())/1000, cpuPct,
			errSummary(r.m.Metrics), r.locked, float64(r.rss)/1024)
	}
	tw.Flush()
	slices.Sort(starts)
	fmt.Printf("\nidle server RSS: %.1f MiB after start; %.1f MiB idle after the load\n", float64(idleRSS)/1024, float64(afterRSS)/1024)
	fmt.Printf("start to first answered request (existing database, %d starts): median %.1f ms, max %.1f ms\n",
		len(starts), msf(starts[len(starts)/2]), msf(starts[len(starts)-1]))
	if fan != nil {
		fmt.Printf("live update fan-out: %d subscribers × %d votes: p50 %.1f ms, p99 %.1f ms, max %.1f ms (vote POST to event read); %d missed\n",
			fan.subscribers, fan.votes, msf(fan.p(0.50)), msf(fan.p(0.99)), msf(fan.p(1)), fan.missed)
		fmt.Printf("memory per idle subscriber (server RSS growth ÷ subscribers): %.1f KiB\n", fan.rssPerSub)
	}
	if len(rooms) > 0 {
		mode := "their seconds spread evenly over the second"
		if o.room.aligned {
			mode = "all on the same instant"
		}
		moved := "every page moves there in place over the stream it has: no page load, no new stream"
		printRooms(fmt.Sprintf("room scenario: each person holds the room's stream open; per round %d votes a second apart (rooms %s), "+
			"the owner reveals, then starts the next issue (%s); %d rounds per room count", o.room.people, mode, moved, o.room.rounds), rooms)
	}
	fmt.Printf("whole run: %.0f s\n", time.Since(started).Seconds())
	return nil
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func errSummary(m *vegeta.Metrics) string {
	n := m.Requests - uint64(float64(m.Requests)*m.Success+0.5)
	if n == 0 {
		return "0"
	}
	var codes []string
	for code, c := range m.StatusCodes {
		if code < "200" || code >= "400" {
			codes = append(codes, fmt.Sprintf("%s×%d", code, c))
		}
	}
	slices.Sort(codes)
	return fmt.Sprintf("%d (%s)", n, strings.Join(codes, " "))
}

// result is one attack's metrics and the CPU time the server (pid) and this
// process spent on it.
type result struct {
	*vegeta.Metrics
	cpu time.Duration
}

func (r *result) cpuPerReq() time.Duration { return r.cpu / time.Duration(max(r.Requests, 1)) }

// cpuTime is the user and system time of process pid (0: this process).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and stime are
	// the 12th and 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// attack drives one targeter as fast as it goes with conns workers, each with
// its own keep-alive connection, for d.
func attack(ctx context.Context, pid int, name string, conns int, d time.Duration, tr vegeta.Targeter) (*result, error) {
	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)),
		vegeta.Connections(conns), vegeta.MaxConnections(conns),
		vegeta.Redirects(vegeta.NoFollow), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second),
	)
	var m vegeta.Metrics
	cpu0 := cpuTime(pid) + cpuTime(0)
	res := atk.Attack(tr, vegeta.Rate{Freq: 0}, d, name)
	for {
		select {
		case <-ctx.Done():
			atk.Stop()
			for range res {
			}
			return nil, ctx.Err()
		case r, ok := <-res:
			if !ok {
				m.Close()
				return &result{Metrics: &m, cpu: cpuTime(pid) + cpuTime(0) - cpu0}, nil
			}
			m.Add(r)
		}
	}
}

// server is a running estimator.
type server struct {
	cmd         *exec.Cmd
	base        string
	logFile     *os.File
	firstAnswer time.Duration
	once        sync.Once
	pprof       string // where a -profile build serves its profiles
}

// profileDir is -profile: where CPU profiles go ("" builds no profiling).
var profileDir string

func buildArgs(bin string) []string {
	args := []string{"build", "-o", bin}
	if profileDir != "" {
		args = append(args, "-tags", "profile")
	}
	return append(args, "./cmd/estimator")
}

// startServer starts the binary on a free loopback port and waits for its first
// answer to GET /livez. 127.0.0.1 is a trusted proxy, so sign-ins can come
// "from" many addresses (X-Forwarded-For) without meeting the per-address
// sign-in limit.
func startServer(ctx context.Context, bin, db, logPath string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, logFile: f}
	// Streams: the 1,000-room step holds 10,000 at once, the default cap,
	// with no room for a stream that reconnects.
	s.cmd = exec.Command(bin, "--db", db, "--addr", addr, "--trusted-proxies", "127.0.0.1", "--max-streams", "20000")
	if profileDir != "" {
		pl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		s.pprof = pl.Addr().String()
		pl.Close()
		s.cmd.Env = append(os.Environ(), "ESTIMATOR_PPROF_ADDR="+s.pprof)
	}
	// Straight to the file, as a server's log goes to a file or the journal:
	// no pipe for the load generator to drain.
	s.cmd.Stdout, s.cmd.Stderr = f, f
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for {
		if time.Since(start) > 10*time.Second || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("server did not answer within 10s; log:\n%s", s.logSince(0))
		}
		resp, err := client.Get(s.base + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.firstAnswer = time.Since(start)
				return s, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *server) stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		s.logFile.Close()
	})
}

// logSize is how far the server's log has grown.
func (s *server) logSize() int64 {
	fi, err := s.logFile.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince is the server's log from offset off on.
func (s *server) logSince(off int64) string {
	b, err := os.ReadFile(s.logFile.Name())
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// rssKiB is the resident set of a process (VmRSS).
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// world is what the paths need: signed-in users and the ids they act on.
type world struct {
	base         string
	main         string   // Cookie header of the "My Groups" user
	writers      []string // Cookie headers of the writers
	writerIssues [][]int64
	statusIssues []int64
	fanIssue     int64
	fanVoter     string // Cookie header of a member of the fan-out group
	fanSessions  []string
	// streamBases, when set, are the instances the fan-out's streams are
	// spread over (the votes go to base); the default is base alone.
	streamBases []string
	nicks, ips  atomic.Uint64
}

var setupClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// prepare signs users in and has them join groups over HTTP, as people would.
// Invite tokens and issue ids come from the database, read-only.
func prepare(ctx context.Context, srv *server, dbPath string, o options) (*world, error) {
	db, ph, err := openSeeded(dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tokens := map[int64]string{}
	rows, err := db.QueryContext(ctx, "SELECT id, invite_token FROM groups WHERE id <= "+ph, fanoutGroup)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var tok string
		if err := rows.Scan(&id, &tok); err != nil {
			return nil, err
		}
		tokens[id] = tok
	}
	rows.Close()
	if len(tokens) < fanoutGroup {
		return nil, fmt.Errorf("seeded database has %d groups, want %d", len(tokens), fanoutGroup)
	}
	issues := func(q string, args ...any) ([]int64, error) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}

	w := &world{base: srv.base}
	main, _, err := w.login("load-main", "")
	if err != nil {
		return nil, err
	}
	w.main = main
	for gid := int64(1); gid <= myGroups; gid++ {
		if err := w.join(main, tokens[gid]); err != nil {
			return nil, err
		}
	}
	if w.statusIssues, err = issues("SELECT id FROM issues WHERE group_id <= "+ph+" ORDER BY id", myGroups); err != nil {
		return nil, err
	}
	for i := range o.writers {
		ck, _, err := w.login(fmt.Sprintf("load-w%03d", i), "")
		if err != nil {
			return nil, err
		}
		gid := int64(myGroups + 1 + i%20)
		if err := w.join(ck, tokens[gid]); err != nil {
			return nil, err
		}
		open, err := issues("SELECT id FROM issues WHERE group_id = "+ph+" AND state = 'open' ORDER BY id", gid)
		if err != nil {
			return nil, err
		}
		if len(open) == 0 {
			return nil, fmt.Errorf("group %d has no open issue", gid)
		}
		w.writers = append(w.writers, ck)
		w.writerIssues = append(w.writerIssues, open)
	}
	if o.subscribers > 0 {
		open, err := issues("SELECT id FROM issues WHERE group_id = "+ph+" AND state = 'open' ORDER BY id LIMIT 1", fanoutGroup)
		if err != nil || len(open) == 0 {
			return nil, fmt.Errorf("no open issue in group %d: %v", fanoutGroup, err)
		}
		w.fanIssue = open[0]
		if w.fanVoter, _, err = w.login("load-voter", ""); err != nil {
			return nil, err
		}
		if err := w.join(w.fanVoter, tokens[fanoutGroup]); err != nil {
			return nil, err
		}
		// A browser may hold 16 live pages per session: the subscriber signs in
		// from one browser (its key) into as many sessions as the streams need.
		ck, key, err := w.login("load-watcher", "")
		if err != nil {
			return nil, err
		}
		if err := w.join(ck, tokens[fanoutGroup]); err != nil {
			return nil, err
		}
		w.fanSessions = append(w.fanSessions, ck)
		for len(w.fanSessions)*16 < o.subscribers {
			// Each sign-in leaves the browser a new key: the next one proves
			// the nickname with it.
			ck, k, err := w.login("load-watcher", key)
			key = k
			if err != nil {
				return nil, err
			}
			w.fanSessions = append(w.fanSessions, ck)
		}
	}
	return w, nil
}

const sessionCookie, browserCookie = "estimator_session", "estimator_browser"

// nextIP is a distinct client address for each sign-in, sent as
// X-Forwarded-For through the trusted loopback proxy.
func (w *world) nextIP() string {
	n := w.ips.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n))
}

// login signs nick in and returns the Cookie header of the session and the
// browser key (pass the key back in to sign in again from the same browser).
func (w *world) login(nick, browserKey string) (cookie, key string, err error) {
	return w.loginAt(w.base, nick, browserKey)
}

// loginAt is login through one instance (base).
func (w *world) loginAt(base, nick, browserKey string) (cookie, key string, err error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"nickname": {nick}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", w.nextIP())
	if browserKey != "" {
		req.AddCookie(&http.Cookie{Name: browserCookie, Value: browserKey})
	}
	resp, err := setupClient.Do(req)
	if err != nil {
		return "", "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", "", fmt.Errorf("sign in %q: status %d", nick, resp.StatusCode)
	}
	key = browserKey
	for _, c := range resp.Cookies() {
		switch c.Name {
		case sessionCookie:
			cookie = sessionCookie + "=" + c.Value
		case browserCookie:
			key = c.Value
		}
	}
	if cookie == "" {
		return "", "", fmt.Errorf("sign in %q: no session cookie", nick)
	}
	return cookie, key, nil
}

func (w *world) join(cookie, token string) error {
	req, _ := http.NewRequest(http.MethodPost, w.base+"/join/"+token, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", cookie)
	resp, err := setupClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("join: status %d", resp.StatusCode)
	}
	return nil
}

func (w *world) livez() vegeta.Targeter { return w.get("/livez") }

// get is an anonymous GET of path.
func (w *world) get(path string) vegeta.Targeter {
	u := w.base + path
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = http.MethodGet, u, nil
		return nil
	}
}

// myGroups is the signed-in home page. Like browsers, vegeta asks for gzip;
// encoding "identity" asks for the page uncompressed, to show what gzip costs.
func (w *world) myGroups(encoding string) vegeta.Targeter {
	u, h := w.base+"/", http.Header{"Cookie": {w.main}}
	if encoding != "" {
		h.Set("Accept-Encoding", encoding)
	}
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = http.MethodGet, u, h
		return nil
	}
}

func (w *world) issueStatus() vegeta.Targeter {
	h := http.Header{"Cookie": {w.main}, "Hx-Request": {"true"}}
	var n atomic.Uint64
	return func(t *vegeta.Target) error {
		id := w.statusIssues[n.Add(1)%uint64(len(w.statusIssues))]
		t.Method, t.URL, t.Header = http.MethodGet, w.base+"/issues/"+strconv.FormatInt(id, 10), h
		return nil
	}
}

var scale = []int{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100}

// estimate is a plain form POST (303 and a notice, as without JavaScript) by
// the writers in turn, each on the open issues of their group.
func (w *world) estimate() vegeta.Targeter {
	headers := make([]http.Header, len(w.writers))
	for i, ck := range w.writers {
		headers[i] = http.Header{"Cookie": {ck}, "Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"}}
	}
	var n atomic.Uint64
	return func(t *vegeta.Target) error {
		k := n.Add(1)
		i := k % uint64(len(w.writers))
		issues := w.writerIssues[i]
		id := issues[(k/uint64(len(w.writers)))%uint64(len(issues))]
		t.Method, t.URL, t.Header = http.MethodPost, w.base+"/issues/"+strconv.FormatInt(id, 10)+"/estimate", headers[i]
		t.Body = []byte("estimate=" + strconv.Itoa(scale[k%uint64(len(scale))]))
		return nil
	}
}

// signIn makes a new user each time, from a browser with no cookies, each from
// its own address.
func (w *world) signIn() vegeta.Targeter {
	return func(t *vegeta.Target) error {
		n := w.nicks.Add(1)
		t.Method, t.URL = http.MethodPost, w.base+"/login"
		t.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"},
			"X-Forwarded-For": {w.nextIP()}}
		// Decimal: base 36 would make look-alikes (load-1, load-l), refused as such.
		t.Body = []byte("nickname=load-" + strconv.FormatUint(n, 10))
		return nil
	}
}

type fanout struct {
	subscribers, votes, missed int
	latencies                  []time.Duration
	// cross are the latencies of the streams on another instance than the one
	// that took the vote.
	cross     []time.Duration
	rssPerSub float64
}

func (f *fanout) p(q float64) time.Duration {
	if len(f.latencies) == 0 {
		return 0
	}
	return f.latencies[int(float64(len(f.latencies)-1)*q)]
}

// fanOut opens n event streams on one issue (bare TCP connections, so the
// client costs little), waits for each to get the current state, then times
// votes: from just before each estimate POST until every stream has read the
// update.
func (w *world) fanOut(ctx context.Context, pid, n, votes int) (*fanout, error) {
	bases := w.streamBases
	if len(bases) == 0 {
		bases = []string{w.base}
	}
	type stream struct {
		conn  net.Conn
		r     *bufio.Reader
		cross bool
	}
	streams := make([]*stream, 0, n)
	defer func() {
		for _, s := range streams {
			s.conn.Close()
		}
	}()
	f := &fanout{subscribers: n, votes: votes}
	rssBefore := rssKiB(pid)
	for i := range n {
		base := bases[i%len(bases)]
		addr := strings.TrimPrefix(base, "http://")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(conn, "GET /issues/%d/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nHX-Request: true\r\nCookie: %s\r\n\r\n",
			w.fanIssue, addr, w.fanSessions[i/16])
		s := &stream{conn: conn, r: bufio.NewReaderSize(conn, 1024), cross: base != w.base}
		streams = append(streams, s)
	}
	until := func(s *stream, deadline time.Time) error {
		s.conn.SetReadDeadline(deadline)
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.Contains(line, "voted-count") {
				return nil
			}
		}
	}
	for _, s := range streams {
		if err := until(s, time.Now().Add(10*time.Second)); err != nil {
			return nil, fmt.Errorf("stream did not get the current state: %w", err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	f.rssPerSub = float64(rssKiB(pid)-rssBefore) / float64(n)
	var mu sync.Mutex
	for v := range votes {
		var wg sync.WaitGroup
		start := time.Now()
		for _, s := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := until(s, start.Add(10*time.Second))
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					f.missed++
					return
				}
				f.latencies = append(f.latencies, d)
				if s.cross {
					f.cross = append(f.cross, d)
				}
			}()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/issues/"+strconv.FormatInt(w.fanIssue, 10)+"/estimate",
			strings.NewReader("estimate="+strconv.Itoa(scale[v%len(scale)])))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Cookie", w.fanVoter)
		resp, err := setupClient.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("vote: status %d", resp.StatusCode)
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(f.latencies)
	slices.Sort(f.cross)
	return f, nil
}
