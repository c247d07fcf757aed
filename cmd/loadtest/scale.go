package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// openSeeded opens the seeded database read-only for the ids the load needs,
// and says how its one placeholder is written.
func openSeeded(db string) (*sql.DB, string, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		c, err := sql.Open("pgx", db)
		return c, "$1", err
	}
	c, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(5000)")
	return c, "?", err
}

// scaleConfig is one way of running the app in the comparison.
type scaleConfig struct {
	name      string
	postgres  bool
	instances int
}

// scaleRow is what one configuration measured.
type scaleRow struct {
	cfg         scaleConfig
	page, votes *result
	fan         *fanout
	room        *roomStep
}

// runScale measures, in one run on this machine and with the same load, the
// signed-in page and vote throughput of one instance on SQLite, one on
// PostgreSQL and two on one PostgreSQL database (the load spread over both, as
// a load balancer without sticky sessions would), and, with two instances, the
// latency of a vote's live update to subscribers spread over both.
func runScale(ctx context.Context, o options) error {
	if o.postgres == "" {
		return errors.New("-scale needs -postgres URL (or ESTIMATOR_TEST_POSTGRES)")
	}
	started := time.Now()
	dir, err := os.MkdirTemp("", "estimator-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	say := func(format string, args ...any) {
		if o.verbose {
			fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	bin := filepath.Join(dir, "estimator")
	build := exec.CommandContext(ctx, "go", buildArgs(bin)...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	admin, err := sql.Open("pgx", o.postgres)
	if err != nil {
		return err
	}
	defer admin.Close()

	var rows []scaleRow
	for i, cfg := range []scaleConfig{{"1 instance, SQLite", false, 1}, {"1 instance, PostgreSQL", true, 1}, {"2 instances, one PostgreSQL", true, 2}} {
		db := filepath.Join(dir, fmt.Sprintf("scale-%d.db", i))
		if cfg.postgres {
			var b [6]byte
			rand.Read(b[:])
			schema := "load_" + hex.EncodeToString(b[:])
			if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
				return err
			}
			defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			u, err := url.Parse(o.postgres)
			if err != nil {
				return err
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			db = u.String()
		}
		say("%s: seeding", cfg.name)
		seed := exec.CommandContext(ctx, bin, "--db", db, "seed", "--users", strconv.Itoa(seedUsers), "--groups", strconv.Itoa(seedGroups),
			"--issues", strconv.Itoa(seedIssues), "--members", strconv.Itoa(seedMembers))
		if out, err := seed.CombinedOutput(); err != nil {
			return fmt.Errorf("seed: %w: %s", err, out)
		}
		var srvs []*server
		var bases []string
		for j := range cfg.instances {
			srv, err := startServer(ctx, bin, db, filepath.Join(dir, fmt.Sprintf("server-%d-%d.log", i, j)))
			if err != nil {
				return err
			}
			defer srv.stop()
			srvs, bases = append(srvs, srv), append(bases, srv.base)
		}
		oc := o
		if cfg.instances < 2 {
			oc.subscribers = 0 // the fan-out is measured across two instances
		}
		w, err := prepare(ctx, srvs[0], db, oc)
		if err != nil {
			return err
		}
		pid := srvs[0].cmd.Process.Pid
		say("%s: driving GET /", cfg.name)
		row := scaleRow{cfg: cfg}
		if row.page, err = attack(ctx, pid, "page", o.conns, o.duration, w.pageOn(bases)); err != nil {
			return err
		}
		say("%s: driving the estimate POST", cfg.name)
		if row.votes, err = attack(ctx, pid, "vote", o.writers, o.duration, w.estimateOn(bases)); err != nil {
			return err
		}
		if oc.subscribers > 0 {
			say("%s: fan-out to %d subscribers over %d instances", cfg.name, oc.subscribers, cfg.instances)
			w.streamBases = bases
			if row.fan, err = w.fanOut(ctx, pid, oc.subscribers, o.votes); err != nil {
				return err
			}
		}
		if o.scaleRooms > 0 {
			say("%s: room scenario, %d rooms × %d people over %d instances", cfg.name, o.scaleRooms, o.room.people, cfg.instances)
			ro := o.room
			ro.steps = []int{o.scaleRooms}
			steps, err := runRooms(ctx, w, db, srvs, ro, say)
			if err != nil {
				return err
			}
			row.room = steps[0]
		}
		for _, s := range srvs {
			s.stop()
		}
		rows = append(rows, row)
	}

	fmt.Printf("\nscale run: %s per path, %d connections for GET / (the signed-in My Groups page), %d writers for the estimate POST,\n", o.duration, o.conns, o.writers)
	fmt.Printf("loopback, %d CPUs shared by the load generator, the instances and PostgreSQL; ratios against the first row, same run\n", runtime.NumCPU())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "configuration\tGET / req/s\tratio\tp99 ms\terrors\tvote req/s\tratio\tp99 ms\terrors\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f×\t%.1f\t%s\t%.0f\t%.2f×\t%.1f\t%s\t\n", r.cfg.name,
			r.page.Throughput, r.page.Throughput/rows[0].page.Throughput, msf(r.page.Latencies.P99), errSummary(r.page.Metrics),
			r.votes.Throughput, r.votes.Throughput/rows[0].votes.Throughput, msf(r.votes.Latencies.P99), errSummary(r.votes.Metrics))
	}
	tw.Flush()
	for _, r := range rows {
		if f := r.fan; f != nil {
			cross := &fanout{latencies: f.cross}
			fmt.Printf("live update, %s: %d subscribers (half on each) × %d votes sent to the first: all p50 %.1f ms, p99 %.1f ms; on the other instance p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d missed\n",
				r.cfg.name, f.subscribers, f.votes, msf(f.p(0.50)), msf(f.p(0.99)), msf(cross.p(0.50)), msf(cross.p(0.99)), msf(cross.p(1)), f.missed)
		}
	}
	if o.scaleRooms > 0 {
		var steps []*roomStep
		for _, r := range rows {
			steps = append(steps, r.room)
		}
		printRooms(fmt.Sprintf("room scenario per configuration (rows: %s), people spread over the instances in turn",
			strings.Join([]string{rows[0].cfg.name, rows[1].cfg.name, rows[2].cfg.name}, "; ")), steps)
		one, two := rows[1].room, rows[2].room
		ratio := func(a, b time.Duration) float64 { return float64(b) / float64(max(a, 1)) }
		fmt.Printf("two instances ÷ one, on PostgreSQL: vote→every screen p50 %.2f×, p99 %.2f×; reveal p99 %.2f×; start p99 %.2f×; server CPU per vote %.2f× (both instances together)\n",
			ratio(pct(one.votes, 0.5), pct(two.votes, 0.5)), ratio(pct(one.votes, 0.99), pct(two.votes, 0.99)),
			ratio(pct(one.reveals, 0.99), pct(two.reveals, 0.99)), ratio(pct(one.starts, 0.99), pct(two.starts, 0.99)),
			ratio(one.cpu/time.Duration(max(len(one.votes), 1)), two.cpu/time.Duration(max(len(two.votes), 1))))
	}
	fmt.Printf("whole run: %.0f s\n", time.Since(started).Seconds())
	return nil
}

// pageOn is the signed-in "My Groups" page, asked of the instances in turn.
func (w *world) pageOn(bases []string) vegeta.Targeter {
	h := http.Header{"Cookie": {w.main}}
	var n atomic.Uint64
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = http.MethodGet, bases[n.Add(1)%uint64(len(bases))]+"/", h
		return nil
	}
}

// estimateOn is estimate's load, each request to the instances in turn.
func (w *world) estimateOn(bases []string) vegeta.Targeter {
	one := w.estimate()
	var n atomic.Uint64
	return func(t *vegeta.Target) error {
		if err := one(t); err != nil {
			return err
		}
		t.URL = bases[n.Add(1)%uint64(len(bases))] + strings.TrimPrefix(t.URL, w.base)
		return nil
	}
}
