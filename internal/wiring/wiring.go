// Package wiring builds the running app from its parts: the store (with the
// relay its committed changes go through), the live updates' transport between
// instances when the database is PostgreSQL, and the web layer. The binary and
// the tests that run the whole app (the browser suite, the in-process server)
// build it here, the same way.
package wiring

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"estimator/assets"
	"estimator/handlers"
	"estimator/live"
	"estimator/live/pgbus"
	"estimator/store"
)

// Options is what the app is built from.
type Options struct {
	// DB is an SQLite file path or a postgres:// URL.
	DB string
	// Store tunes the store (its Changes are set here).
	Store store.Options
	// Handlers configures the web layer.
	Handlers handlers.Config
	Logger   *slog.Logger
	// Assets are the static files (default: the embedded ones).
	Assets fs.FS
	// WaitForBus waits, on PostgreSQL, until the bus between instances listens,
	// so that nothing published right after Open is missed (tests want that;
	// a server starting up does not need to wait).
	WaitForBus bool
}

// App is the built app: Handler serves it, Store is its database.
type App struct {
	Store   *store.Store
	Handler *handlers.App
	bus     *pgbus.Bus
}

// Open opens the database (migrations applied) and builds the app on it.
func Open(ctx context.Context, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Assets == nil {
		o.Assets = assets.FS
	}
	changes := new(store.Relay)
	o.Store.Changes = changes
	st, err := store.Open(ctx, o.DB, o.Store)
	if err != nil {
		// A database URL may hold a password: never in a message.
		return nil, fmt.Errorf("open %s: %w", store.Redact(o.DB), err)
	}
	a := &App{Store: st}
	var bus live.Bus
	if st.Postgres() {
		// Several instances may share the database: live updates go between
		// them over LISTEN/NOTIFY.
		channel, err := st.LiveChannel(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		a.bus, err = pgbus.New(pgbus.Config{URL: o.DB, Channel: channel, Notify: st.Notify, Logger: o.Logger})
		if err != nil {
			st.Close()
			return nil, err
		}
		if o.WaitForBus {
			select {
			case <-a.bus.Connected():
			case <-ctx.Done():
				a.bus.Close()
				st.Close()
				return nil, ctx.Err()
			}
		}
		bus = pgbus.LiveBus{Bus: a.bus}
	}
	a.Handler, err = handlers.New(handlers.Deps{
		Store:   st,
		Assets:  o.Assets,
		Logger:  o.Logger,
		Config:  o.Handlers,
		Bus:     bus,
		Changes: changes,
	})
	if err != nil {
		if a.bus != nil {
			a.bus.Close()
		}
		st.Close()
		return nil, err
	}
	return a, nil
}

// Close stops the app (its event streams end), then the bus and the store.
func (a *App) Close() error {
	a.Handler.Close()
	if a.bus != nil {
		a.bus.Close()
	}
	return a.Store.Close()
}
