package store

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Scale is the estimation scale: the cards offered, and what a result rounds to.
var Scale = []int{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100}

const (
	EstimateMin = 1
	EstimateMax = 100
)

// ValueCount is one bar of the anonymous distribution.
type ValueCount struct {
	Value int
	Count int
}

// Result is the combined, anonymous outcome of a round. All arithmetic is on
// integers, so rounding is exact: 4.25 shows as 4.3 and never as 4.2.
type Result struct {
	Votes  int
	Sum    int
	Counts []ValueCount // ascending by value; no names, no order of voting
}

// ComputeResult combines estimates into a Result.
func ComputeResult(values []int) Result {
	byValue := map[int]int{}
	r := Result{Votes: len(values)}
	for _, v := range values {
		byValue[v]++
		r.Sum += v
	}
	for v, n := range byValue {
		r.Counts = append(r.Counts, ValueCount{v, n})
	}
	sort.Slice(r.Counts, func(i, j int) bool { return r.Counts[i].Value < r.Counts[j].Value })
	return r
}

// Empty reports whether nobody voted.
func (r Result) Empty() bool { return r.Votes == 0 }

// AverageTenths is the average times ten, rounded half up.
func (r Result) AverageTenths() int {
	if r.Votes == 0 {
		return 0
	}
	return (20*r.Sum + r.Votes) / (2 * r.Votes)
}

// Average is the average with one decimal, e.g. "4.5".
func (r Result) Average() string {
	t := r.AverageTenths()
	return fmt.Sprintf("%d.%d", t/10, t%10)
}

// Nearest is the integer nearest to the exact average, halves rounded up.
func (r Result) Nearest() int {
	if r.Votes == 0 {
		return 0
	}
	return (2*r.Sum + r.Votes) / (2 * r.Votes)
}

// NearestScale is the scale number nearest to the exact average; a tie goes to
// the larger number.
func (r Result) NearestScale() int {
	if r.Votes == 0 {
		return 0
	}
	best := Scale[0]
	bestDist := abs(r.Sum - best*r.Votes)
	for _, s := range Scale[1:] {
		// Compare |avg - s| as |sum - s·votes| to stay exact.
		if d := abs(r.Sum - s*r.Votes); d <= bestDist {
			best, bestDist = s, d
		}
	}
	return best
}

// Min is the lowest estimate.
func (r Result) Min() int {
	if len(r.Counts) == 0 {
		return 0
	}
	return r.Counts[0].Value
}

// Max is the highest estimate.
func (r Result) Max() int {
	if len(r.Counts) == 0 {
		return 0
	}
	return r.Counts[len(r.Counts)-1].Value
}

// MaxCount is the height of the tallest bar.
func (r Result) MaxCount() int {
	m := 0
	for _, c := range r.Counts {
		m = max(m, c.Count)
	}
	return m
}

// Values lists every estimate, sorted ascending: the order says nothing about who.
func (r Result) Values() []int {
	out := make([]int, 0, r.Votes)
	for _, c := range r.Counts {
		for range c.Count {
			out = append(out, c.Value)
		}
	}
	return out
}

// encode stores the distribution as "value:count,…".
func (r Result) encode() string {
	parts := make([]string, len(r.Counts))
	for i, c := range r.Counts {
		parts[i] = strconv.Itoa(c.Value) + ":" + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, ",")
}

func decodeResult(s string) (Result, error) {
	r := Result{}
	if s == "" {
		return r, nil
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		v, n, ok := strings.Cut(part, ":")
		value, err1 := strconv.Atoi(v)
		count, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || count < 1 || count > maxVotes ||
			value < EstimateMin || value > EstimateMax || seen[value] {
			return Result{}, fmt.Errorf("stored result %q is malformed", s)
		}
		seen[value] = true
		r.Votes += count
		r.Sum += value * count
		r.Counts = append(r.Counts, ValueCount{value, count})
	}
	sort.Slice(r.Counts, func(i, j int) bool { return r.Counts[i].Value < r.Counts[j].Value })
	return r, nil
}

// maxVotes bounds a stored count: far more members than any group has.
const maxVotes = 1 << 20

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ParseEstimate reads an estimate or final value typed by a person: a whole number
// from 1 to 100 in ASCII digits, surrounding spaces allowed. Anything else ("1e2",
// "0x10", "+5", "4.5", full-width digits) is refused with a message.
func ParseEstimate(raw string) (int, string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, "Pick a card or enter a number from 1 to 100."
	}
	if len(s) > 3 {
		if strings.ContainsAny(s, ".,") {
			return 0, "Use a whole number from 1 to 100."
		}
		return 0, "Enter a number from 1 to 100."
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			if c == '.' || c == ',' {
				return 0, "Use a whole number from 1 to 100."
			}
			return 0, "Enter a number from 1 to 100, in digits."
		}
	}
	n, _ := strconv.Atoi(s)
	if n < EstimateMin || n > EstimateMax {
		return 0, "Enter a number from 1 to 100."
	}
	return n, ""
}
