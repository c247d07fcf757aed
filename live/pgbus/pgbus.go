// Package pgbus carries live-update notices between the instances of the app
// that share one PostgreSQL database, through LISTEN/NOTIFY: no broker to run
// beside the database, and no clustering of our own.
//
// A notice is published once: it is handed to this instance's listeners at
// once, and sent with NOTIFY for the others (each instance ignores its own
// notices coming back). Every instance holds one connection that LISTENs.
// When that connection is lost, notices sent meanwhile are lost with it: the
// bus reconnects with backoff and then asks its listeners to resync, that is
// to render every open page afresh from the database, so clients end up with
// the current state all the same.
package pgbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// MaxPayload is the longest notice PostgreSQL's NOTIFY carries (8000 bytes),
// less this bus's instance tag.
const MaxPayload = 7900

// ErrTooLong is Publish's answer to a payload over MaxPayload: the caller
// splits it.
var ErrTooLong = errors.New("pgbus: payload too long for NOTIFY")

// Config is what a Bus is built from.
type Config struct {
	// URL of the database (the app's --db).
	URL string
	// Channel to LISTEN and NOTIFY on; instances that share it hear each other.
	Channel string
	// Notify sends one NOTIFY, normally through the app's own pool
	// (store.Notify): publishing takes no connection of its own.
	Notify func(ctx context.Context, channel, payload string) error
	// Backoff bounds the wait between reconnection attempts (default 100ms
	// doubling up to 5s).
	MinBackoff, MaxBackoff time.Duration
	// AppName names the listening connection in pg_stat_activity (default
	// "estimator-live").
	AppName string
	Logger  *slog.Logger
}

// Bus is one instance's end of the channel.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	self   string // this instance's tag on its notices
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.RWMutex
	next      int
	listeners map[int]listener

	// connected is closed the first time LISTEN is in effect; reconnects
	// counts reconnections after a loss (for tests and logs).
	connected chan struct{}
	connOnce  sync.Once
	stateMu   sync.Mutex
	reconnect int
}

type listener struct {
	deliver func(payload string)
	resync  func()
}

// New starts the bus: it connects and LISTENs in the background, and keeps
// doing so until Close. Publish works at once (for this instance's listeners
// without waiting for the connection).
func New(cfg Config) (*Bus, error) {
	if cfg.Channel == "" || cfg.Notify == nil || cfg.URL == "" {
		return nil, errors.New("pgbus: URL, Channel and Notify are needed")
	}
	if _, err := pgx.ParseConfig(cfg.URL); err != nil {
		return nil, fmt.Errorf("pgbus: %w", err)
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.AppName == "" {
		cfg.AppName = "estimator-live"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	var tag [8]byte
	rand.Read(tag[:])
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bus{
		cfg: cfg, log: log, self: hex.EncodeToString(tag[:]), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), listeners: map[int]listener{}, connected: make(chan struct{}),
	}
	go b.run()
	return b, nil
}

// Publish hands payload to this instance's listeners, then NOTIFYs the other
// instances. An error means the others may not hear of it (this instance's
// listeners have).
func (b *Bus) Publish(ctx context.Context, payload string) error {
	if len(payload) > MaxPayload {
		return ErrTooLong
	}
	b.deliver(payload)
	return b.cfg.Notify(ctx, b.cfg.Channel, b.self+" "+payload)
}

// Listen delivers every payload published from now on, here or on another
// instance, to deliver; resync is called after the bus got its connection back
// (notices may have been missed). Neither may block for long.
func (b *Bus) Listen(deliver func(payload string), resync func()) (stop func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.listeners[id] = listener{deliver, resync}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.listeners, id)
	}
}

// Connected is closed once the bus LISTENs for the first time.
func (b *Bus) Connected() <-chan struct{} { return b.connected }

// Reconnects is how many times the bus got its connection back after losing it.
func (b *Bus) Reconnects() int {
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	return b.reconnect
}

// Close stops listening and waits for the listening goroutine.
func (b *Bus) Close() {
	b.cancel()
	<-b.done
}

func (b *Bus) deliver(payload string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, l := range b.listeners {
		l.deliver(payload)
	}
}

func (b *Bus) resync() {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, l := range b.listeners {
		if l.resync != nil {
			l.resync()
		}
	}
}

// run holds the LISTEN connection: connect, listen, wait for notifications;
// on any failure wait (backoff) and start again, then resync.
func (b *Bus) run() {
	defer close(b.done)
	wait := b.cfg.MinBackoff
	lost := false
	for b.ctx.Err() == nil {
		err := b.listen(func() {
			wait = b.cfg.MinBackoff
			b.connOnce.Do(func() { close(b.connected) })
			if lost {
				b.stateMu.Lock()
				b.reconnect++
				b.stateMu.Unlock()
				b.log.Info("live updates: listening again; every open page is rendered afresh")
				b.resync()
			}
		})
		if b.ctx.Err() != nil {
			return
		}
		lost = true
		b.log.Warn("live updates: connection to the database lost; other instances' changes wait until it is back", "err", err, "retry_in", wait)
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, b.cfg.MaxBackoff)
	}
}

// listen runs one connection until it fails; up is called once LISTEN is in
// effect.
func (b *Bus) listen(up func()) error {
	cfg, err := pgx.ParseConfig(b.cfg.URL)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = b.cfg.AppName
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(b.ctx))
	if _, err := conn.Exec(b.ctx, "LISTEN "+pgx.Identifier{b.cfg.Channel}.Sanitize()); err != nil {
		return err
	}
	up()
	for {
		n, err := conn.WaitForNotification(b.ctx)
		if err != nil {
			return err
		}
		tag, payload, ok := strings.Cut(n.Payload, " ")
		if !ok || tag == b.self {
			continue
		}
		b.deliver(payload)
	}
}
