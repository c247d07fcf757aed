// Package e2e holds the browser tests: real Chromium, driven by chromedp, against
// the real app served by httptest on 127.0.0.1. They cover what only a browser
// shows: htmx swaps, HX-Redirect, the kept-form replay after sign-in, live updates.
//
// Run them with `go test -race ./e2e/`. They need Debian's Chromium
// (apt-get install -y chromium); without it they skip, unless CI is set, when
// they fail.
package e2e
