// Command devserve runs the server under `go tool task dev`: air starts it in
// place of the server binary, with the server's command line as arguments.
//
// It starts the server, waits until that new server answers (GET /livez on
// ESTIMATOR_ADDR), and only then asks the reload proxy at DEV_PROXY to reload
// the browser, once. A reload sent any earlier, when templ had regenerated the
// code or when the build had finished, reaches the old server on its way out
// (or none), and the open page keeps the old text.
//
// Signals go on to the server, and devserve exits with the server's status, so
// air stops and restarts it as it would the server itself.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// readyTimeout bounds the wait for a server that never answers (it failed
// to start; its own log says why).
const readyTimeout = time.Minute

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: devserve SERVER [ARGS...]   (ESTIMATOR_ADDR, DEV_PROXY from the environment)")
		os.Exit(2)
	}
	addr := os.Getenv("ESTIMATOR_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	proxy := os.Getenv("DEV_PROXY")

	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "devserve:", err)
		os.Exit(1)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	exited := make(chan struct{})
	go func() {
		if proxy != "" && waitReady(probeURL(addr), exited) {
			if err := notify(proxy); err != nil {
				fmt.Fprintln(os.Stderr, "devserve: browser not reloaded:", err)
			}
		}
	}()
	err := cmd.Wait()
	close(exited)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(max(exit.ExitCode(), 1))
	case err != nil:
		fmt.Fprintln(os.Stderr, "devserve:", err)
		os.Exit(1)
	}
}

// probeURL is the liveness URL of a server listening on addr (":8080" is
// reached on loopback).
func probeURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/livez"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/livez"
}

// waitReady polls url until the server answers 200, it exits, or the wait
// times out.
func waitReady(url string, exited <-chan struct{}) bool {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-time.After(25 * time.Millisecond):
		}
	}
	return false
}

// notify asks templ's reload proxy to reload every open page (what
// `templ generate --notify-proxy` does, without starting templ).
func notify(proxy string) error {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post("http://"+proxy+"/_templ/reload/events", "text/plain", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("proxy answered %s", resp.Status)
	}
	return nil
}
