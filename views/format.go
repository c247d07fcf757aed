package views

import (
	"strconv"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// DateTime is how every page writes a moment: "6 Dec 2026, 19:35 UTC" — the
// day before the month, a 24-hour clock and the zone, so nobody misreads it.
// app.js writes the same shape in the viewer's time zone (timeStamp).
func DateTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04") + " UTC" }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
