package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// A shut gate holds reads that start until it opens, and its holder learns
// when those in flight have ended.
func TestReadGateHoldsNewReadsAndWaitsForThoseInFlight(t *testing.T) {
	t.Parallel()
	var g readGate
	ctx := context.Background()
	if err := g.enter(ctx); err != nil { // a read in flight
		t.Fatal(err)
	}
	held := make(chan bool)
	var open func()
	go func() {
		o, idle := g.hold(time.Minute)
		open = o
		held <- idle
	}()
	// The holder waits for the read in flight.
	select {
	case <-held:
		t.Fatal("the gate's holder went on while a read was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	// A read that starts now waits at the shut gate.
	started := make(chan error)
	go func() { started <- g.enter(ctx) }()
	g.leave()
	if idle := <-held; !idle {
		t.Fatal("hold: the read in flight ended, yet it reports reads still in flight")
	}
	select {
	case <-started:
		t.Fatal("a read went through the shut gate")
	case <-time.After(20 * time.Millisecond):
	}
	open()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	g.leave()

	// A read that does not end in time: the holder goes on after the wait,
	// told so; a read waiting at the gate gives up with its context.
	if err := g.enter(ctx); err != nil {
		t.Fatal(err)
	}
	o, idle := g.hold(5 * time.Millisecond)
	if idle {
		t.Error("hold: a read is still in flight, yet it reports none")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := g.enter(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("enter at a shut gate past its deadline = %v, want the deadline", err)
	}
	o()
	g.leave()
	if g.active != 0 {
		t.Errorf("%d reads counted after all ended", g.active)
	}
}

// Those who wait for the writer get it in the order they came, and one who
// gives up leaves the line without holding up the rest.
func TestWriterQueueServesInTheOrderOfArrival(t *testing.T) {
	t.Parallel()
	var q writerQueue
	ctx := context.Background()
	if err := q.lock(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	quitter, quit := context.WithCancel(ctx)
	quitErr := make(chan error, 1)
	for i := range n {
		if i == n/2 {
			go func() { quitErr <- q.lock(quitter) }()
			waitForWaiters(t, &q, i+1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.lock(ctx); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			q.unlock()
		}()
		// The next comes once this one waits.
		waitForWaiters(t, &q, i+1+min(1, i/(n/2)))
	}
	quit()
	if err := <-quitErr; !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter that gave up: %v, want its context's error", err)
	}
	q.unlock()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("turns went %v, want the order of arrival", order)
		}
	}
	if len(order) != n {
		t.Fatalf("%d of %d waiters got the writer", len(order), n)
	}
	if q.busy || len(q.waiting) != 0 {
		t.Errorf("after everyone: busy %v, %d waiting", q.busy, len(q.waiting))
	}
}

func waitForWaiters(t *testing.T, q *writerQueue, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		got := len(q.waiting)
		q.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", got, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// Under reads that never pause (every screen of a planning day reading its
// room), a reveal's checkpoint truncates the write-ahead log at its first
// try: the reads in flight end and the next wait at the gate. Before the
// gate, tries failed on a read in flight and were made again and again, each
// holding the writer (5 to 9 failed tries for 5 reveals here). A try fails
// now only when a read in flight takes longer than the gate waits (a reader
// descheduled on a busy machine: 0 or 1 of 10 here, up to 5 beside three
// busy loops), never once they have ended: every read of this process passes
// the gate.
func TestACheckpointTruncatesAtItsFirstTryUnderSteadyReads(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	if s.pg {
		t.Skip("PostgreSQL has no checkpoint of the store's")
	}
	ctx := context.Background()
	owner := newUser(t, s, "Owner of the busy room - 32 char")
	ann := newUser(t, s, "Ann")
	g := newGroup(t, s, owner, "Busy", ann)
	var issues []int64
	for i := range 10 {
		is := newIssue(t, s, g.ID, fmt.Sprintf("BUSY-%d", i))
		issues = append(issues, is.ID)
	}
	readCtx, stop := context.WithCancel(ctx)
	var readers sync.WaitGroup
	reads := make([]int, 8)
	for r := range reads {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for readCtx.Err() == nil {
				if _, err := s.GroupIssues(readCtx, g.ID); err != nil && readCtx.Err() == nil {
					t.Error(err)
					return
				}
				reads[r]++
			}
		}()
	}
	defer func() {
		stop()
		readers.Wait()
	}()
	busyBefore, idleBefore := s.checkpointBusy.Load(), s.checkpointBusyIdle.Load()
	for _, id := range issues {
		vote(t, s, id, owner, 5)
		vote(t, s, id, ann, 8)
		if _, err := s.Reveal(ctx, id, owner); err != nil {
			t.Fatal(err)
		}
		if n := walSize(t, s); n != 0 {
			t.Errorf("the WAL holds %d bytes after a reveal returned", n)
		}
	}
	busy, idle := s.checkpointBusy.Load()-busyBefore, s.checkpointBusyIdle.Load()-idleBefore
	t.Logf("%d reveals under steady reads: %d tries failed, %d of them with no read in flight", len(issues), busy, idle)
	if idle != 0 {
		t.Errorf("%d tries failed with no read of this process in flight: a read passes no gate", idle)
	}

	stop()
	readers.Wait()
	for r, n := range reads {
		if n == 0 {
			t.Errorf("reader %d never read: the gate held it", r)
		}
	}
}

// A read that keeps its rows open while the gate shuts (and reads again
// meanwhile) holds up neither itself nor the checkpoint for longer than the
// gate's wait: the try fails on it, the gate opens, the read goes on.
func TestAReadHoldingItsRowsAcrossACheckpointGoesOn(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	if s.pg {
		t.Skip("PostgreSQL has no checkpoint of the store's")
	}
	ctx := context.Background()
	owner := newUser(t, s, "Owner")
	g := newGroup(t, s, owner, "Rows")
	for i := range 3 {
		newIssue(t, s, g.ID, fmt.Sprintf("ROWS-%d", i))
	}
	rows, err := s.query(ctx, "SELECT id FROM issues WHERE group_id = ?", g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no issue")
	}
	tried := make(chan bool)
	go func() {
		busy, err := s.checkpointOnce(ctx)
		if err != nil {
			t.Error(err)
		}
		tried <- busy
	}()
	// Until the try ends, a read waits at the gate or goes through before
	// it shut; either way it must finish.
	if _, err := s.GroupIssues(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if busy := <-tried; !busy {
		t.Error("the log was truncated while this process's rows were open on it")
	}
	for rows.Next() {
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if busy, err := s.checkpointOnce(ctx); err != nil || busy {
		t.Errorf("with no read left: busy %v, %v", busy, err)
	}
}

// The gap between checkpoints gives the writer back at least four times the
// time the last checkpoint held it, within its bounds.
func TestCheckpointGapFollowsTheLastHold(t *testing.T) {
	t.Parallel()
	var s Store
	for _, c := range []struct{ held, want time.Duration }{
		{0, checkpointGap},
		{2 * time.Millisecond, checkpointGap},
		{10 * time.Millisecond, 40 * time.Millisecond},
		{time.Second, checkpointGapMax},
	} {
		s.checkpointHeld.Store(int64(c.held))
		if got := s.checkpointGap(); got != c.want {
			t.Errorf("after a hold of %v: gap %v, want %v", c.held, got, c.want)
		}
	}
}
