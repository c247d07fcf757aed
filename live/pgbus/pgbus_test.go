package pgbus

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"estimator/internal/testkit"
)

// testDB is the test server (ESTIMATOR_TEST_POSTGRES); without it the test
// skips, except under CI, which must run it.
func testDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	u := testkit.PostgresURL(t, "LISTEN/NOTIFY needs PostgreSQL")
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return u, db
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// inbox collects what a listener hears.
type inbox struct {
	mu      sync.Mutex
	got     []string
	resyncs int
	wake    chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 100)} }

func (in *inbox) deliver(p string) {
	in.mu.Lock()
	in.got = append(in.got, p)
	in.mu.Unlock()
	in.wake <- struct{}{}
}

func (in *inbox) resync() {
	in.mu.Lock()
	in.resyncs++
	in.mu.Unlock()
	in.wake <- struct{}{}
}

func (in *inbox) waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		in.mu.Lock()
		done := ok()
		in.mu.Unlock()
		if done {
			return
		}
		select {
		case <-in.wake:
		case <-deadline:
			t.Fatalf("waited 5s for %s", what)
		}
	}
}

func newBus(t *testing.T, u string, db *sql.DB, channel, app string) *Bus {
	t.Helper()
	b, err := New(Config{
		URL: u, Channel: channel, AppName: app, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Notify: func(ctx context.Context, ch, p string) error {
			_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", ch, p)
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	select {
	case <-b.Connected():
	case <-time.After(5 * time.Second):
		t.Fatal("bus did not connect")
	}
	return b
}

// TestAcrossInstances: a notice published on A reaches A's listener at once
// and B's through the database, once each; B's own reaches A.
func TestAcrossInstances(t *testing.T) {
	u, db := testDB(t)
	channel := randomName("test_live_")
	a := newBus(t, u, db, channel, randomName("a_"))
	b := newBus(t, u, db, channel, randomName("b_"))
	ina, inb := newInbox(), newInbox()
	defer a.Listen(ina.deliver, ina.resync)()
	defer b.Listen(inb.deliver, inb.resync)()

	if err := a.Publish(context.Background(), "topic-changed 7"); err != nil {
		t.Fatal(err)
	}
	inb.waitFor(t, "B to hear A", func() bool { return len(inb.got) == 1 })
	if err := b.Publish(context.Background(), "group-changed 3"); err != nil {
		t.Fatal(err)
	}
	ina.waitFor(t, "A to hear B", func() bool { return len(ina.got) == 2 })
	// Nothing comes back twice: an echo of the first two would reach a
	// listener before the markers both instances publish after them.
	if err := a.Publish(context.Background(), "marker a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "marker b"); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]*inbox{"A": ina, "B": inb} {
		in.waitFor(t, name+" to hear both markers", func() bool {
			return slices.Contains(in.got, "marker a") && slices.Contains(in.got, "marker b")
		})
	}
	ina.mu.Lock()
	inb.mu.Lock()
	defer ina.mu.Unlock()
	defer inb.mu.Unlock()
	want := []string{"topic-changed 7", "group-changed 3"}
	for name, got := range map[string][]string{"A": ina.got, "B": inb.got} {
		if len(got) != 4 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s heard %q, want %q once each, then the two markers", name, got, want)
		}
	}
	if err := a.Publish(context.Background(), string(make([]byte, MaxPayload+1))); err != ErrTooLong {
		t.Errorf("an oversized payload = %v, want ErrTooLong", err)
	}
}

// TestReconnectResyncs: when B's listening connection is killed, B connects
// again, asks its listeners to resync (what was published meanwhile is lost),
// and hears A again afterwards.
func TestReconnectResyncs(t *testing.T) {
	u, db := testDB(t)
	channel := randomName("test_live_")
	appB := randomName("b_")
	a := newBus(t, u, db, channel, randomName("a_"))
	b := newBus(t, u, db, channel, appB)
	inb := newInbox()
	defer b.Listen(inb.deliver, inb.resync)()

	var killed int
	if err := db.QueryRow("SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) x", appB).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating B's listener: %d, %v", killed, err)
	}
	inb.waitFor(t, "B to resync after reconnecting", func() bool { return inb.resyncs == 1 })
	if b.Reconnects() != 1 {
		t.Errorf("Reconnects = %d, want 1", b.Reconnects())
	}
	if err := a.Publish(context.Background(), "topic-changed 9"); err != nil {
		t.Fatal(err)
	}
	inb.waitFor(t, "B to hear A after reconnecting", func() bool { return len(inb.got) == 1 && inb.got[0] == "topic-changed 9" })
}
