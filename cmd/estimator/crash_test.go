package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"estimator/store"
)

// The crash workload. Bounded by count and by time on every side.
const (
	crashWorkers    = 64
	crashKillAfter  = 400             // acknowledged writes in the run before the kill…
	crashKillAtMost = 4 * time.Second // …or this long into the run, whichever comes first
	crashMaxRounds  = 2000            // per worker, a bound the kill always comes before
)

// crashWorker is what one simulated person sent and what the server answered.
// Only its own goroutine touches it until the run is over.
type crashWorker struct {
	nick string
	b    *browser
	htmx bool // estimates sent as htmx requests (acknowledged with a 200 fragment)

	// lastAck is the last estimate the server acknowledged (0: none yet);
	// pending are the values sent after it without an acknowledgement: at most
	// one is in flight at a time, and the one in flight at the kill is here.
	lastAck int
	pending []int

	groups  []ackedGroup    // acknowledged group creations
	tried   map[string]bool // every group name sent, acknowledged or not
	acks    int             // acknowledged writes in the run
	unknown []string        // answers that are neither an acknowledgement nor a dead server
}

type ackedGroup struct {
	id   int64
	name string
}

// TestCrashSafety is the Robustness issue's crash test: 64 concurrent voters
// and group creators against the real binary, SIGKILL mid-run, restart on the
// same file, and every acknowledged write must be there, nothing half-written
// visible, and the database intact.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "crash.db")
	// The workers stand for people at different addresses: the server trusts the
	// loopback "proxy" so each one's X-Forwarded-For is its own sign-in budget.
	srv := startServer(t, db, "--trusted-proxies", "127.0.0.1")

	tr := &http.Transport{MaxIdleConns: 2 * crashWorkers, MaxIdleConnsPerHost: 2 * crashWorkers, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)

	// Setup, all acknowledged before the run: the owner's group with one issue,
	// and every worker signed in and a member of it.
	owner := newBrowser(srv.base, tr)
	owner.xff = "10.9.0.1"
	if err := owner.signIn("crash owner"); err != nil {
		t.Fatal(err)
	}
	roomID, invite, issueID := owner.groupWithIssue(t, "crash room", "CRASH-1")

	workers := make([]*crashWorker, crashWorkers)
	setupErrs := make(chan error, crashWorkers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &crashWorker{nick: fmt.Sprintf("crash-%02d", i), b: newBrowser(srv.base, tr), htmx: i%2 == 1, tried: map[string]bool{}}
		w.b.xff = fmt.Sprintf("10.9.1.%d", i+1)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.b.signIn(w.nick); err != nil {
				setupErrs <- err
				return
			}
			a, err := w.b.post("/join/"+invite, nil)
			if err == nil && a.status != http.StatusSeeOther {
				err = fmt.Errorf("%s joins: %s", w.nick, a)
			}
			if err != nil {
				setupErrs <- err
			}
		}()
	}
	wg.Wait()
	close(setupErrs)
	for err := range setupErrs {
		t.Fatal(err)
	}
	setupWrites := 1 + 1 + 1 + 2*crashWorkers // owner sign-in, group, issue; each worker's sign-in and join

	// The run: every worker changes its estimate and creates groups, one request
	// at a time, until the server dies under it.
	var (
		acked    atomic.Int64
		inFlight atomic.Int64
		killed   atomic.Bool
		stop     = make(chan struct{})
	)
	estimatePath := fmt.Sprintf("/issues/%d/estimate", issueID)
	run := func(i int, w *crashWorker) {
		// send runs one write; false when the server is gone (or going).
		send := func(path string, form url.Values, hdr http.Header) (answer, bool) {
			inFlight.Add(1)
			a, err := w.b.do(http.MethodPost, path, form, hdr)
			inFlight.Add(-1)
			if err != nil {
				if !killed.Load() {
					w.unknown = append(w.unknown, fmt.Sprintf("POST %s before the kill: %v", path, err))
				}
				return a, false
			}
			if !a.acked() {
				w.unknown = append(w.unknown, fmt.Sprintf("POST %s: %s", path, a))
				return a, false
			}
			w.acks++
			acked.Add(1)
			return a, true
		}
		var hdr http.Header
		if w.htmx {
			hdr = http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {srv.base + estimatePath}}
		}
		for round := range crashMaxRounds {
			select {
			case <-stop:
				return
			default:
			}
			// 1–100, never the same twice in a row for a worker.
			v := 1 + (i*37+round*7)%100
			w.pending = append(w.pending, v)
			if _, ok := send(estimatePath, url.Values{"estimate": {strconv.Itoa(v)}}, hdr); !ok {
				return
			}
			w.lastAck, w.pending = v, nil
			if round%2 == 1 {
				name := fmt.Sprintf("%s group %d", w.nick, round)
				w.tried[name] = true
				a, ok := send("/creategroup", url.Values{"name": {name}}, nil)
				if !ok {
					return
				}
				m := groupLocation.FindStringSubmatch(a.header.Get("Location"))
				if a.status != http.StatusSeeOther || m == nil {
					w.unknown = append(w.unknown, fmt.Sprintf("create group: %s", a))
					return
				}
				id, _ := strconv.ParseInt(m[1], 10, 64)
				w.groups = append(w.groups, ackedGroup{id, name})
			}
		}
	}
	start := time.Now()
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i, w)
		}()
	}
	for acked.Load() < crashKillAfter && time.Since(start) < crashKillAtMost {
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	flying := inFlight.Load()
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	runFor := time.Since(start)
	if !srv.wait(10 * time.Second) {
		t.Fatal("server still alive 10s after SIGKILL")
	}
	if ws, ok := srv.state.Sys().(syscall.WaitStatus); ok && (!ws.Signaled() || ws.Signal() != syscall.SIGKILL) {
		t.Fatalf("server ended with %v, not by SIGKILL", srv.state)
	}
	// The kill left the recent commits in the write-ahead log, for the restart
	// to recover.
	wal, err := os.Stat(db + "-wal")
	if err != nil || wal.Size() == 0 {
		t.Fatalf("no write-ahead log beside the database after the kill: %v", err)
	}
	close(stop)
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-time.After(60 * time.Second):
		t.Fatal("workers still running 60s after the kill")
	}
	tr.CloseIdleConnections()

	var runAcks, groupAcks, estimateAcks int
	for _, w := range workers {
		for _, u := range w.unknown {
			t.Errorf("%s: unexpected answer while the server ran: %s", w.nick, u)
		}
		runAcks += w.acks
		groupAcks += len(w.groups)
	}
	estimateAcks = runAcks - groupAcks
	if t.Failed() {
		t.FailNow()
	}
	if flying == 0 {
		t.Fatal("no request was in flight at the kill: the test did not kill the server mid-run")
	}
	if runAcks == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	// Restart on the same file: it must come up and be healthy.
	srv2 := startServer(t, db)
	health, err := newBrowser(srv2.base, nil).get("/healthz")
	if err != nil || health.status != http.StatusOK {
		t.Fatalf("GET /healthz after restart: %v %v", health, err)
	}

	// Through the restarted server, each worker (its session cookie survived the
	// crash with the database) sees its last acknowledged group.
	for _, w := range workers {
		if len(w.groups) == 0 {
			continue
		}
		g := w.groups[len(w.groups)-1]
		a, err := w.b.at(srv2.base).get(fmt.Sprintf("/groups/%d", g.id))
		if err != nil || a.status != http.StatusOK {
			t.Fatalf("%s: GET its last acknowledged group %d after restart: %v %v", w.nick, g.id, a, err)
		}
		if n := findTestID(parseHTML(t, a.body), "group-name"); n == nil || textOf(n) != g.name {
			t.Errorf("%s: group %d after restart is not %q", w.nick, g.id, g.name)
		}
	}

	// Through the store, beside the running server: everything acknowledged is
	// there, whole.
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatalf("open the database after the crash: %v", err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("PRAGMA integrity_check after the crash: %q %v", res, err)
	}
	raw := openRaw(t, db)
	if fk := foreignKeyProblems(t, raw); len(fk) > 0 {
		t.Fatalf("PRAGMA foreign_key_check after the crash: %v", fk)
	}

	if _, role, err := st.GroupFor(ctx, roomID, mustUser(t, st, "crash owner").ID); err != nil || role != store.RoleOwner {
		t.Fatalf("the setup group after the crash: role %q, %v", role, err)
	}
	verifiedGroups, verifiedEstimates := 0, 0
	owners := groupOwners(t, raw)
	for _, w := range workers {
		u := mustUser(t, st, w.nick)
		if _, role, err := st.GroupFor(ctx, roomID, u.ID); err != nil || role != store.RoleMember {
			t.Errorf("%s: membership of the setup group lost: role %q, %v", w.nick, role, err)
		}
		for _, g := range w.groups {
			got, role, err := st.GroupFor(ctx, g.id, u.ID)
			switch {
			case err != nil:
				t.Errorf("%s: acknowledged group %d %q is gone after the crash: %v", w.nick, g.id, g.name, err)
			case got.Name != g.name || role != store.RoleOwner:
				t.Errorf("%s: acknowledged group %d is %q with role %q, want %q owned by it", w.nick, g.id, got.Name, role, g.name)
			default:
				verifiedGroups++
			}
		}
		// Whatever else is there was sent by this worker (a creation in flight
		// at the kill may or may not have landed, but only whole).
		for name, o := range owners {
			if o.owner == w.nick && !w.tried[name] {
				t.Errorf("%s owns a group %q it never asked for", w.nick, name)
			}
		}
		vote, err := st.OwnEstimate(ctx, issueID, u.ID)
		v := vote.Value
		if err != nil {
			t.Fatalf("%s: read estimate: %v", w.nick, err)
		}
		ok := v == w.lastAck && w.lastAck != 0
		for _, p := range w.pending {
			ok = ok || v == p
		}
		if w.lastAck == 0 && v == 0 { // never acknowledged, never landed
			ok = true
		}
		if !ok {
			t.Errorf("%s: stored estimate %d; last acknowledged %d, sent after it %v", w.nick, v, w.lastAck, w.pending)
		} else if w.lastAck != 0 {
			verifiedEstimates++
		}
	}
	// Nothing half-written: no group without its owner, and no group twice.
	if n := count(t, raw, `SELECT COUNT(*) FROM groups g WHERE NOT EXISTS
		(SELECT 1 FROM memberships m WHERE m.group_id = g.id AND m.role = 'owner')`); n != 0 {
		t.Errorf("%d groups without an owner after the crash", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM (SELECT name FROM groups GROUP BY name HAVING COUNT(*) > 1)`); n != 0 {
		t.Errorf("%d group names stored twice after the crash", n)
	}
	for name, o := range owners {
		if o.owner == "" {
			t.Errorf("group %q has no owner", name)
		}
	}
	if t.Failed() {
		return
	}
	srv2.stop()

	workersWithAck := 0
	for _, w := range workers {
		if w.lastAck != 0 {
			workersWithAck++
		}
	}
	summary := fmt.Sprintf("crash safety: %d writes acknowledged in %.1fs before SIGKILL (%d estimates, %d group creations; plus %d setup writes), %d requests in flight at the kill; after restart all verified: %d/%d acknowledged groups whole with their owner, %d/%d voters hold their last acknowledged estimate or the one in flight; integrity_check ok, foreign_key_check empty (recovered from a %d KiB WAL)",
		runAcks, runFor.Seconds(), estimateAcks, groupAcks, setupWrites, flying, verifiedGroups, groupAcks, verifiedEstimates, workersWithAck, wal.Size()>>10)
	// On stdout, so it shows in a run's output (with -v, or a test binary run
	// in its directory), not only in a failure's log.
	fmt.Fprintln(os.Stdout, summary)
}

// openRaw opens a read-only connection for queries the store has no method for.
func openRaw(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", store.DSN(path, 5*time.Second, true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func foreignKeyProblems(t testing.TB, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var table, parent string
		var rowid, fkid sql.NullInt64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s row %v → %s", table, rowid.Int64, parent))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type groupRow struct {
	id    int64
	owner string // nickname; "" when the group has no owner
}

// groupOwners maps every group's name to its id and owner.
func groupOwners(t testing.TB, db *sql.DB) map[string]groupRow {
	t.Helper()
	rows, err := db.Query(`SELECT g.id, g.name, COALESCE(u.nickname, '') FROM groups g
		LEFT JOIN memberships m ON m.group_id = g.id AND m.role = 'owner'
		LEFT JOIN users u ON u.id = m.user_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]groupRow{}
	for rows.Next() {
		var r groupRow
		var name string
		if err := rows.Scan(&r.id, &name, &r.owner); err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustUser(t testing.TB, st *store.Store, nick string) store.User {
	t.Helper()
	u, err := st.UserByNickname(context.Background(), nick)
	if err != nil {
		t.Fatalf("user %q: %v", nick, err)
	}
	return u
}
