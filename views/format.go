package views

import (
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
