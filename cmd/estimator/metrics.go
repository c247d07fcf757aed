package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
)

// startMetrics serves GET /metrics on its own listener, apart from the app:
// operators put it where only their Prometheus reaches it. It returns how to
// stop it; with no address it serves nothing.
func startMetrics(addr string, metrics http.Handler, logger *slog.Logger) (stop func(context.Context) error, err error) {
	if addr == "" {
		return func(context.Context) error { return nil }, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	srv := newHTTPServer(addr, mux, logger)
	logger.Info("serving metrics", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			logger.Error("metrics listener failed", "err", err)
		}
	}()
	return srv.Shutdown, nil
}
