// Command devcheck checks that `go tool task dev` never misses a change.
//
// It runs the dev task on free ports with a scratch database, opens a page in
// headless Chromium through the reload proxy, and then edits a .templ file and
// a .go file, -n times each, in turn. After each edit the open page must show
// the change by itself (no reload from here), after one reload, and keep it
// (a later reload of the old server would take it away again). The edited
// files are restored afterwards, whatever happens.
//
//	go run ./cmd/devcheck            # from the module root; 10 + 10 edits
//	go run ./cmd/devcheck -n 3 -v    # fewer edits, the dev task's output too
//
// The page is the not-found page: its heading comes from a templ literal
// (views/layout.templ) and its message from a Go string (web/errors.go).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// An edit: a file, the text in it that is changed, and what the page then
// shows. Marker i replaces the anchor's last word, so each edit is a real
// change of content.
type target struct {
	kind, file string
	anchor     string // text in the file, unique
	edit       func(marker string) string
}

var targets = []target{
	{
		kind: "templ", file: "views/layout.templ",
		anchor: "<h1>{ title }</h1>",
		edit:   func(m string) string { return "<h1>{ title } " + m + "</h1>" },
	},
	{
		kind: "go", file: "web/errors.go",
		anchor: `"There is nothing here, or it is not visible to you."`,
		edit:   func(m string) string { return `"There is nothing here, or it is not visible to you. ` + m + `"` },
	},
}

// generated is restored too: templ rewrites it from the .templ file.
const generated = "views/layout_templ.go"

func main() {
	n := flag.Int("n", 10, "edits of each file")
	timeout := flag.Duration("timeout", 90*time.Second, "longest wait for one change to show")
	settle := flag.Duration("settle", 2*time.Second, "how long a change must stay shown (no reload of the old server after it)")
	chromium := flag.String("chromium", "", "Chromium binary (default: /usr/bin/chromium, or chromium on PATH)")
	verbose := flag.Bool("v", false, "show the dev task's output")
	flag.Parse()
	if err := run(*n, *timeout, *settle, *chromium, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "devcheck:", err)
		os.Exit(1)
	}
}

func run(n int, timeout, settle time.Duration, chromium string, verbose bool) (err error) {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run it from the module root (where go.mod is)")
	}
	originals := map[string][]byte{}
	for _, f := range append([]string{generated}, targets[0].file, targets[1].file) {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		originals[f] = b
	}
	for _, t := range targets {
		if bytes.Count(originals[t.file], []byte(t.anchor)) != 1 {
			return fmt.Errorf("%s: %q is not there exactly once; update devcheck's targets", t.file, t.anchor)
		}
	}
	restore := func() {
		for f, b := range originals {
			if cur, err := os.ReadFile(f); err != nil || !bytes.Equal(cur, b) {
				if err := os.WriteFile(f, b, 0o644); err != nil {
					fmt.Fprintln(os.Stderr, "devcheck: could not restore", f, err)
				}
			}
		}
	}
	defer restore()
	// Ctrl-C restores the files too.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	appPort, proxyPort := freePort(), freePort()
	if appPort == 0 || proxyPort == 0 {
		return errors.New("no free port")
	}
	dir, err := os.MkdirTemp("", "devcheck")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logFile, err := os.Create(filepath.Join(dir, "dev.log"))
	if err != nil {
		return err
	}
	var out io.Writer = logFile
	if verbose {
		out = io.MultiWriter(logFile, os.Stderr)
	}
	dev := exec.Command("go", "tool", "task", "dev",
		fmt.Sprintf("DEV_ADDR=127.0.0.1:%d", appPort),
		fmt.Sprintf("DEV_PROXY_PORT=%d", proxyPort),
		"DEV_DB="+filepath.Join(dir, "dev.db"))
	dev.Stdout, dev.Stderr = out, out
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to stop all it starts
	if err := dev.Start(); err != nil {
		return err
	}
	devDone := make(chan error, 1)
	go func() { devDone <- dev.Wait() }()
	defer func() {
		stopDev(dev, devDone)
		restore() // templ may have regenerated code while it stopped
		if err != nil {
			fmt.Fprintf(os.Stderr, "--- the dev task's output, last lines:\n%s\n", tail(filepath.Join(dir, "dev.log"), 40))
		}
	}()

	base := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	pageURL := base + "/devcheck-not-found"
	fmt.Printf("task dev: app on :%d, proxy on :%d; waiting for it\n", appPort, proxyPort)
	if err := waitFor(ctx, 3*time.Minute, devDone, func() bool {
		resp, err := http.Get(pageURL)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound && bytes.Contains(body, []byte("_templ/reload/script.js"))
	}); err != nil {
		return fmt.Errorf("the dev proxy never served the page: %w", err)
	}

	browser, closeBrowser, err := openBrowser(ctx, chromium)
	if err != nil {
		return err
	}
	defer closeBrowser()
	var loads atomic.Int64
	if err := chromedp.Listen(browser, func(ev any) {
		if _, ok := ev.(*page.EventLoadEventFired); ok {
			loads.Add(1)
		}
	}); err != nil {
		return err
	}
	if err := chromedp.Do(browser, chromedp.Navigate(pageURL)); err != nil {
		return err
	}
	// The reload script's event stream must be connected before the first
	// edit, or the first reload has nobody to reach.
	if err := waitFor(ctx, 30*time.Second, devDone, func() bool {
		v, err := chromedp.Run(browser, chromedp.Evaluate[int](`window.templ_reloadSrc ? window.templ_reloadSrc.readyState : -1`))
		return err == nil && v == 1
	}); err != nil {
		return fmt.Errorf("the page's reload stream never connected: %w", err)
	}

	pageText := func() string {
		v, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err != nil {
			return ""
		}
		return v
	}
	current := map[string][]byte{}
	for _, t := range targets {
		current[t.file] = originals[t.file]
	}
	passed, total := 0, 2*n
	fmt.Printf("%-4s %-6s %-20s %8s %8s  %s\n", "#", "file", "marker", "seconds", "reloads", "result")
	for i := range total {
		t := targets[i%2]
		marker := fmt.Sprintf("devcheck-%s-%d", t.kind, i/2+1)
		next := bytes.Replace(originals[t.file], []byte(t.anchor), []byte(t.edit(marker)), 1)
		before := loads.Load()
		start := time.Now()
		if err := os.WriteFile(t.file, next, 0o644); err != nil {
			return err
		}
		current[t.file] = next
		shown := waitFor(ctx, timeout, devDone, func() bool { return strings.Contains(pageText(), marker) }) == nil
		took := time.Since(start)
		result := "ok"
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case !shown:
			result = "MISSED: not shown within " + timeout.String()
		default:
			time.Sleep(settle)
			if !strings.Contains(pageText(), marker) {
				result = "LOST: shown, then gone (a reload of the old server)"
			}
		}
		reloads := loads.Load() - before
		if result == "ok" && reloads != 1 {
			result = fmt.Sprintf("EXTRA: %d reloads for one change", reloads)
		}
		if result == "ok" {
			passed++
		}
		fmt.Printf("%-4d %-6s %-20s %8.1f %8d  %s\n", i+1, t.kind, marker, took.Seconds(), reloads, result)
	}
	fmt.Printf("devcheck: %d of %d changes shown without a manual reload, one reload each\n", passed, total)

	// Put the files back while the dev task runs, so it regenerates and
	// rebuilds the code as it was; then stop it (deferred).
	restore()
	_ = waitFor(ctx, timeout, devDone, func() bool {
		s := pageText()
		return !strings.Contains(s, "devcheck-") && strings.Contains(s, "There is nothing here")
	})
	if passed != total {
		return fmt.Errorf("%d of %d changes missed", total-passed, total)
	}
	return nil
}

// waitFor polls cond until it holds, the dev task ends, ctx ends or d passes.
func waitFor(ctx context.Context, d time.Duration, devDone <-chan error, cond func() bool) error {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return nil
		}
		select {
		case err := <-devDone:
			return fmt.Errorf("the dev task ended: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", d)
		}
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// stopDev interrupts the dev task and everything it started (as Ctrl-C
// would), and kills what is left after a while.
func stopDev(dev *exec.Cmd, done <-chan error) {
	if dev.Process == nil {
		return
	}
	syscall.Kill(-dev.Process.Pid, syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
		<-done
	}
	// Servers started by air sit in process groups of their own.
	time.Sleep(500 * time.Millisecond)
}

func openBrowser(ctx context.Context, path string) (context.Context, func(), error) {
	if path == "" {
		path = "/usr/bin/chromium"
		if _, err := os.Stat(path); err != nil {
			if p, err := exec.LookPath("chromium"); err == nil {
				path = p
			}
		}
	}
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no Chromium at %s (-chromium PATH)", path)
	}
	profile, err := os.MkdirTemp("", "devcheck-chromium")
	if err != nil {
		return nil, nil, err
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(profile),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(profile)
		return nil, nil, fmt.Errorf("start Chromium: %w", err)
	}
	return browser, func() {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(profile)
	}, nil
}

func tail(file string, lines int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
