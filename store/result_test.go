package store

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// repeat builds a vote list: repeat(3, 2, 5, 1) is [2 2 2 5].
func repeat(pairs ...int) []int {
	var out []int
	for i := 0; i+1 < len(pairs); i += 2 {
		for range pairs[i] {
			out = append(out, pairs[i+1])
		}
	}
	return out
}

func TestResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		votes    []int
		average  string
		nearest  int
		scale    int
		min, max int
		counts   []ValueCount
	}{
		{"no votes", nil, "0.0", 0, 0, 0, 0, nil},
		{"one vote", []int{7}, "7.0", 7, 8, 7, 7, []ValueCount{{7, 1}}},
		{"all equal", []int{5, 5, 5}, "5.0", 5, 5, 5, 5, []ValueCount{{5, 3}}},
		{"average 100", []int{100, 100}, "100.0", 100, 100, 100, 100, []ValueCount{{100, 2}}},
		{"lowest card", []int{1}, "1.0", 1, 1, 1, 1, []ValueCount{{1, 1}}},
		// Ties between two scale numbers go to the larger one. Every midpoint
		// between neighbours of the scale is a tie, 10.5 (8|13) included.
		{"tie 1|2 at 1.5", []int{1, 2}, "1.5", 2, 2, 1, 2, []ValueCount{{1, 1}, {2, 1}}},
		{"tie 2|3 at 2.5", []int{2, 3}, "2.5", 3, 3, 2, 3, []ValueCount{{2, 1}, {3, 1}}},
		{"tie 3|5 at 4", []int{3, 5}, "4.0", 4, 5, 3, 5, []ValueCount{{3, 1}, {5, 1}}},
		{"tie 3|5 at 4, single card 4", []int{4}, "4.0", 4, 5, 4, 4, []ValueCount{{4, 1}}},
		{"tie 5|8 at 6.5", []int{5, 8}, "6.5", 7, 8, 5, 8, []ValueCount{{5, 1}, {8, 1}}},
		{"tie 8|13 at 10.5", []int{10, 11}, "10.5", 11, 13, 10, 11, []ValueCount{{10, 1}, {11, 1}}},
		{"tie 13|21 at 17", []int{17}, "17.0", 17, 21, 17, 17, []ValueCount{{17, 1}}},
		{"tie 21|34 at 27.5", []int{21, 34}, "27.5", 28, 34, 21, 34, []ValueCount{{21, 1}, {34, 1}}},
		{"tie 34|55 at 44.5", []int{34, 55}, "44.5", 45, 55, 34, 55, []ValueCount{{34, 1}, {55, 1}}},
		{"tie 55|89 at 72", []int{55, 89}, "72.0", 72, 89, 55, 89, []ValueCount{{55, 1}, {89, 1}}},
		{"tie 89|100 at 94.5", []int{89, 100}, "94.5", 95, 100, 89, 100, []ValueCount{{89, 1}, {100, 1}}},
		// Just off a tie, the nearer number wins either way.
		{"just below 4 goes to 3", []int{3, 4, 4}, "3.7", 4, 3, 3, 4, []ValueCount{{3, 1}, {4, 2}}},
		{"just above 4 goes to 5", []int{4, 4, 5}, "4.3", 4, 5, 4, 5, []ValueCount{{4, 2}, {5, 1}}},
		{"10 is nearer 8", []int{10}, "10.0", 10, 8, 10, 10, []ValueCount{{10, 1}}},
		{"11 is nearer 13", []int{11}, "11.0", 11, 13, 11, 11, []ValueCount{{11, 1}}},
		{"94 is nearer 89", []int{94}, "94.0", 94, 89, 94, 94, []ValueCount{{94, 1}}},
		{"95 is nearer 100", []int{95}, "95.0", 95, 100, 95, 95, []ValueCount{{95, 1}}},
		// Averages ending in 5 in the second decimal round up. Each of these is
		// printed wrongly by fmt's %.1f on the float average (2.2, 1.1, 1.4, 4.0).
		{"2.25 → 2.3", []int{2, 2, 2, 3}, "2.3", 2, 2, 2, 3, []ValueCount{{2, 3}, {3, 1}}},
		{"1.15 → 1.2", repeat(17, 1, 3, 2), "1.2", 1, 1, 1, 2, []ValueCount{{1, 17}, {2, 3}}},
		{"1.45 → 1.5", repeat(11, 1, 9, 2), "1.5", 1, 1, 1, 2, []ValueCount{{1, 11}, {2, 9}}},
		{"4.05 → 4.1", repeat(38, 4, 2, 5), "4.1", 4, 5, 4, 5, []ValueCount{{4, 38}, {5, 2}}},
		{"1.05 → 1.1", repeat(19, 1, 1, 2), "1.1", 1, 1, 1, 2, []ValueCount{{1, 19}, {2, 1}}},
		{"10.05 → 10.1", repeat(19, 10, 1, 11), "10.1", 10, 8, 10, 11, []ValueCount{{10, 19}, {11, 1}}},
		// Nearest integer: halves go up, below a half goes down.
		{"1.333 → 1", []int{1, 1, 2}, "1.3", 1, 1, 1, 2, []ValueCount{{1, 2}, {2, 1}}},
		{"1.667 → 2", []int{1, 2, 2}, "1.7", 2, 2, 1, 2, []ValueCount{{1, 1}, {2, 2}}},
		{"unsorted input", []int{13, 1, 8, 1, 100, 8, 8}, "19.9", 20, 21, 1, 100, []ValueCount{{1, 2}, {8, 3}, {13, 1}, {100, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ComputeResult(tt.votes)
			if r.Votes != len(tt.votes) {
				t.Errorf("Votes = %d, want %d", r.Votes, len(tt.votes))
			}
			if r.Empty() != (len(tt.votes) == 0) {
				t.Errorf("Empty() = %v with %d votes", r.Empty(), len(tt.votes))
			}
			if got := r.Average(); got != tt.average {
				t.Errorf("Average() = %q, want %q", got, tt.average)
			}
			if got := r.Nearest(); got != tt.nearest {
				t.Errorf("Nearest() = %d, want %d", got, tt.nearest)
			}
			if got := r.NearestCard(); got != tt.scale {
				t.Errorf("NearestCard() = %d, want %d", got, tt.scale)
			}
			if r.Min() != tt.min || r.Max() != tt.max {
				t.Errorf("Min, Max = %d, %d, want %d, %d", r.Min(), r.Max(), tt.min, tt.max)
			}
			if !reflect.DeepEqual(r.Counts, tt.counts) {
				t.Errorf("Counts = %v, want %v", r.Counts, tt.counts)
			}
			want := slices.Sorted(slices.Values(tt.votes))
			if got := r.Values(); !slices.Equal(got, want) || len(got) != len(tt.votes) {
				t.Errorf("Values() = %v, want %v", got, want)
			}
			wantMax := 0
			for _, c := range tt.counts {
				wantMax = max(wantMax, c.Count)
			}
			if r.MaxCount() != wantMax {
				t.Errorf("MaxCount() = %d, want %d", r.MaxCount(), wantMax)
			}
		})
	}
}

// TestResultFloatWouldBeWrong documents that the table above has cases that a
// float formatting of the average gets wrong, so it really tests exactness.
func TestResultFloatWouldBeWrong(t *testing.T) {
	t.Parallel()
	for _, votes := range [][]int{{2, 2, 2, 3}, repeat(17, 1, 3, 2), repeat(11, 1, 9, 2), repeat(38, 4, 2, 5)} {
		r := ComputeResult(votes)
		asFloat := fmt.Sprintf("%.1f", float64(r.Sum)/float64(r.Votes))
		if asFloat == r.Average() {
			t.Errorf("%v: float formatting also gives %s; pick a case that tells them apart", votes, asFloat)
		}
	}
}

// TestResultExhaustive checks the integer arithmetic against an independent
// reading of the exact decimal expansion (and exact rationals for the scale),
// for every possible sum with up to 24 votes.
func TestResultExhaustive(t *testing.T) {
	t.Parallel()
	for votes := 1; votes <= 24; votes++ {
		for sum := votes * EstimateMin; sum <= votes*EstimateMax; sum++ {
			r := Result{Votes: votes, Sum: sum}

			// Hundredths of the exact average, then round on the decimal digit.
			hundredths := 100 * sum / votes
			tenths := hundredths / 10
			if hundredths%10 >= 5 {
				tenths++
			}
			if got := r.AverageTenths(); got != tenths {
				t.Fatalf("votes %d sum %d: AverageTenths = %d, want %d", votes, sum, got, tenths)
			}
			if got, want := r.Average(), fmt.Sprintf("%d.%d", tenths/10, tenths%10); got != want {
				t.Fatalf("votes %d sum %d: Average = %s, want %s", votes, sum, got, want)
			}

			tenthsDown := 10 * sum / votes
			nearest := tenthsDown / 10
			if tenthsDown%10 >= 5 {
				nearest++
			}
			if got := r.Nearest(); got != nearest {
				t.Fatalf("votes %d sum %d: Nearest = %d, want %d", votes, sum, got, nearest)
			}

			avg := big.NewRat(int64(sum), int64(votes))
			best, bestDist := 0, (*big.Rat)(nil)
			for _, s := range Scale {
				d := new(big.Rat).Sub(avg, big.NewRat(int64(s), 1))
				d.Abs(d)
				if bestDist == nil || d.Cmp(bestDist) < 0 || (d.Cmp(bestDist) == 0 && s > best) {
					best, bestDist = s, d
				}
			}
			if got := r.NearestCard(); got != best {
				t.Fatalf("votes %d sum %d (avg %s): NearestCard = %d, want %d", votes, sum, avg.FloatString(3), got, best)
			}
		}
	}
}

func TestResultEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, votes := range [][]int{nil, {1}, {100}, {5, 5, 5}, {13, 1, 8, 1, 100, 8, 8}, repeat(40, 3, 1, 89)} {
		r := ComputeResult(votes)
		enc := r.encode()
		back, err := decodeResult(enc)
		if err != nil {
			t.Fatalf("decodeResult(%q): %v", enc, err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Errorf("%v: round trip through %q gave %+v, want %+v", votes, enc, back, r)
		}
	}
	if got := ComputeResult([]int{8, 1, 8}).encode(); got != "1:1,8:2" {
		t.Errorf("encode = %q, want 1:1,8:2", got)
	}
}

func TestDecodeResultRefusesMalformed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"5", "5:", ":1", "a:1", "5:a", "5:0", "5:-1", "5:1,", ",5:1", "5:1,,8:1",
		"5:1;8:2", "5:1:2", "5 :1", "5: 1", "5.5:1", "0:1", "101:1", "-5:1", "5:1,0:1",
	} {
		if r, err := decodeResult(s); err == nil {
			t.Errorf("decodeResult(%q) = %+v, want an error", s, r)
		} else if !strings.Contains(err.Error(), "malformed") {
			t.Errorf("decodeResult(%q) error %q does not say it is malformed", s, err)
		}
	}
}
