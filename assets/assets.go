// Package assets holds the static files (vendored htmx 4 with its SSE extension,
// Pico CSS, the app's own CSS and script), embedded in the binary.
package assets

import "embed"

// FS holds every file served under /assets/.
//
//go:embed app.css app.js icon.svg vendor
var FS embed.FS
