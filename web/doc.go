// Package web is what the web layer's packages share (handlers, and signin
// beside it): the one error type and the path that answers it, the htmx
// request read once and the answers htmx takes, safe redirects, reading a
// form or an id, rendering a page into a buffer before any of it is sent, and
// the one-time notices a page shows. It knows no route and no feature.
package web
