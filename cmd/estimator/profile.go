//go:build profile

package main

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// Built with -tags profile (go tool task load -- -profile DIR does), the
// server serves Go's profiles on ESTIMATOR_PPROF_ADDR, a loopback address the
// load run reads them from. Release builds have none of this.
func init() {
	addr := os.Getenv("ESTIMATOR_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go http.ListenAndServe(addr, mux)
}
