package store

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Scale is the default deck's cards (the seed's scale).
var Scale = []int{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100}

const (
	EstimateMin = 1
	EstimateMax = 100
)

// ValueCount is how many chose one number.
type ValueCount struct {
	Value int
	Count int
}

// Special cards count as voted and stay out of the numbers.
const (
	CardUnsure = "?"
	CardCoffee = "coffee"
)

// Vote is one estimate of an open round: a whole number 1–100, or a special
// card. It exists only until the reveal; a Result never says whose it was.
type Vote struct {
	Value   int    // 0 for a special card
	Special string // "", CardUnsure or CardCoffee
}

// IsZero reports that there is no vote.
func (v Vote) IsZero() bool { return v.Value == 0 && v.Special == "" }

// String is the vote as the estimate field sends it ("5", "?", "coffee").
func (v Vote) String() string {
	if v.Special != "" {
		return v.Special
	}
	if v.Value == 0 {
		return ""
	}
	return strconv.Itoa(v.Value)
}

// ParseVote reads the estimate field: a whole number 1–100 (see
// ParseEstimate), "?" or "coffee".
// The message is in English.
func ParseVote(raw string) (Vote, string) {
	v, p := CheckVote(raw)
	return v, p.String()
}

// CheckVote is ParseVote with the problem in any language.
func CheckVote(raw string) (Vote, Problem) {
	switch s := strings.TrimSpace(raw); s {
	case CardUnsure:
		return Vote{Special: CardUnsure}, Problem{}
	case CardCoffee:
		return Vote{Special: CardCoffee}, Problem{}
	}
	n, p := CheckEstimate(raw)
	if !p.OK() {
		if strings.ContainsAny(raw, "?") {
			p = problem("rule.vote.card", nil)
		}
		return Vote{}, p
	}
	return Vote{Value: n}, Problem{}
}

// Result is the combined, anonymous outcome of a round. All arithmetic is on
// integers, so rounding is exact: 4.25 shows as 4.3 and never as 4.2.
type Result struct {
	// Votes counts every vote, ? and coffee included.
	Votes int
	// Sum is the total of the numeric votes.
	Sum    int
	Counts []ValueCount // ascending by value; no names, no order of voting
	// Unsure and Coffee count the special cards.
	Unsure, Coffee int
	// Deck is the group's deck at the reveal (the zero Deck means the default).
	Deck Deck
	// Notes are the round's notes, sorted by card and text (shuffle them to
	// show them): no person, no time, no order. Loaded with the round
	// (Rounds, and the room's current result).
	Notes []Note
}

// ComputeResult combines numeric estimates on the default deck.
func ComputeResult(values []int) Result {
	votes := make([]Vote, len(values))
	for i, v := range values {
		votes[i] = Vote{Value: v}
	}
	return Tally(DefaultDeck(), votes)
}

// Tally combines the votes of a round on a deck into a Result.
func Tally(deck Deck, votes []Vote) Result {
	byValue := map[int]int{}
	r := Result{Votes: len(votes), Deck: deck}
	for _, v := range votes {
		switch v.Special {
		case CardUnsure:
			r.Unsure++
		case CardCoffee:
			r.Coffee++
		default:
			byValue[v.Value]++
			r.Sum += v.Value
		}
	}
	for v, n := range byValue {
		r.Counts = append(r.Counts, ValueCount{v, n})
	}
	sort.Slice(r.Counts, func(i, j int) bool { return r.Counts[i].Value < r.Counts[j].Value })
	return r
}

// Empty reports whether nobody voted.
func (r Result) Empty() bool { return r.Votes == 0 }

// Numeric is how many votes were numbers.
func (r Result) Numeric() int { return r.Votes - r.Unsure - r.Coffee }

// HasNumbers reports whether any vote was a number: without one there is no
// average, median or nearest card.
func (r Result) HasNumbers() bool { return r.Numeric() > 0 }

func (r Result) deck() Deck {
	if r.Deck.n == 0 {
		return DefaultDeck()
	}
	return r.Deck
}

// AverageTenths is the average of the numeric votes times ten, rounded half up.
func (r Result) AverageTenths() int {
	n := r.Numeric()
	if n <= 0 {
		return 0
	}
	return (20*r.Sum + n) / (2 * n)
}

// Average is the average with one decimal, e.g. "4.5".
func (r Result) Average() string {
	t := r.AverageTenths()
	return fmt.Sprintf("%d.%d", t/10, t%10)
}

// Nearest is the integer nearest to the exact average, halves rounded up.
func (r Result) Nearest() int {
	n := r.Numeric()
	if n <= 0 {
		return 0
	}
	return (2*r.Sum + n) / (2 * n)
}

// NearestCard is the card of the deck nearest to the exact average; a tie goes
// to the larger card. On the default deck it is the nearest Fibonacci number.
func (r Result) NearestCard() int {
	if r.Numeric() <= 0 {
		return 0
	}
	return r.deck().nearestCard(r.Sum, r.Numeric())
}

// kth is the k-th smallest numeric vote (0-based), read off the counts.
func (r Result) kth(k int) int {
	for _, c := range r.Counts {
		if k < c.Count {
			return c.Value
		}
		k -= c.Count
	}
	return 0
}

// MedianHalves is twice the median of the numeric votes (so a median between
// two votes stays a whole number).
func (r Result) MedianHalves() int {
	n := r.Numeric()
	if n <= 0 {
		return 0
	}
	if n%2 == 1 {
		return 2 * r.kth(n/2)
	}
	return r.kth(n/2-1) + r.kth(n/2)
}

// Median is the median, e.g. "3" or "6.5".
func (r Result) Median() string {
	h := r.MedianHalves()
	if h%2 == 0 {
		return strconv.Itoa(h / 2)
	}
	return strconv.Itoa(h/2) + ".5"
}

// Consensus reports whether every numeric vote is the same number.
func (r Result) Consensus() bool { return len(r.Counts) == 1 }

// Majority is the number more than half of the numeric votes chose (0: none).
func (r Result) Majority() int {
	for _, c := range r.Counts {
		if 2*c.Count > r.Numeric() {
			return c.Value
		}
	}
	return 0
}

// Prefill is the final estimate to propose: the number more than half chose,
// else the card nearest the median (a tie goes to the larger card); 0 without
// numeric votes. An outlier moves the median far less than the average: votes
// 1, 3, 3, 100 propose 3, not 21.
func (r Result) Prefill() int {
	if m := r.Majority(); m != 0 {
		return m
	}
	if r.Numeric() <= 0 {
		return 0
	}
	return r.deck().nearestCard(r.MedianHalves(), 2)
}

// Min is the lowest numeric estimate.
func (r Result) Min() int {
	if len(r.Counts) == 0 {
		return 0
	}
	return r.Counts[0].Value
}

// Max is the highest numeric estimate.
func (r Result) Max() int {
	if len(r.Counts) == 0 {
		return 0
	}
	return r.Counts[len(r.Counts)-1].Value
}

// Label is how a value shows on the round's deck.
func (r Result) Label(v int) string { return r.deck().Label(v) }

// Labelled reports whether the round's deck shows labels (T-shirt sizes)
// rather than numbers: then a person reads labels only, never the numbers
// they stand for.
func (r Result) Labelled() bool { return !r.deck().Numeric() }

// ParseFinal reads a final estimate for this round's deck (Deck.ParseFinal).
func (r Result) ParseFinal(raw string) (int, string) { return r.deck().ParseFinal(raw) }

// CheckFinal is ParseFinal with the problem in any language.
func (r Result) CheckFinal(raw string) (int, Problem) { return r.deck().CheckFinal(raw) }

// MedianLabel is the median as the deck shows it: the card when the median is
// one ("M"), else the two middle votes ("M–L"), which a label deck cannot
// average.
func (r Result) MedianLabel() string {
	n := r.Numeric()
	if n <= 0 {
		return ""
	}
	if h := r.MedianHalves(); h%2 == 0 && slices.Contains(r.deck().Cards(), h/2) {
		return r.Label(h / 2)
	}
	if n%2 == 0 && r.kth(n/2-1) != r.kth(n/2) {
		return r.Label(r.kth(n/2-1)) + "–" + r.Label(r.kth(n/2))
	}
	return r.Median()
}

// Bar is one bar of the chart.
type Bar struct {
	Label string
	Count int
	// OffDeck marks a number that is not a card of the deck (typed freely).
	OffDeck bool
}

// Bars is the chart: every card of the deck in order, zero counts included,
// with any number typed off the deck in its place, then ? and coffee.
func (r Result) Bars() []Bar {
	d := r.deck()
	var out []Bar
	counts := r.Counts
	for _, card := range d.Cards() {
		for len(counts) > 0 && counts[0].Value < card {
			out = append(out, Bar{Label: d.Label(counts[0].Value), Count: counts[0].Count, OffDeck: true})
			counts = counts[1:]
		}
		n := 0
		if len(counts) > 0 && counts[0].Value == card {
			n = counts[0].Count
			counts = counts[1:]
		}
		out = append(out, Bar{Label: d.Label(card), Count: n})
	}
	for _, c := range counts {
		out = append(out, Bar{Label: d.Label(c.Value), Count: c.Count, OffDeck: true})
	}
	return append(out, Bar{Label: CardUnsure, Count: r.Unsure}, Bar{Label: CardCoffee, Count: r.Coffee})
}

// MaxCount is the height of the tallest bar.
func (r Result) MaxCount() int {
	m := max(r.Unsure, r.Coffee)
	for _, c := range r.Counts {
		m = max(m, c.Count)
	}
	return m
}

// Values lists every numeric estimate, sorted ascending: the order says
// nothing about who.
func (r Result) Values() []int {
	out := make([]int, 0, r.Numeric())
	for _, c := range r.Counts {
		for range c.Count {
			out = append(out, c.Value)
		}
	}
	return out
}

// encode stores the distribution as "value:count,…", then "?:n" and
// "coffee:n" when there are any, then "|deck" unless it is the default deck.
// A result stored before decks existed reads as one on the default deck.
func (r Result) encode() string {
	if r.Votes == 0 {
		return ""
	}
	parts := make([]string, 0, len(r.Counts)+2)
	for _, c := range r.Counts {
		parts = append(parts, strconv.Itoa(c.Value)+":"+strconv.Itoa(c.Count))
	}
	if r.Unsure > 0 {
		parts = append(parts, CardUnsure+":"+strconv.Itoa(r.Unsure))
	}
	if r.Coffee > 0 {
		parts = append(parts, CardCoffee+":"+strconv.Itoa(r.Coffee))
	}
	s := strings.Join(parts, ",")
	if d := r.deck(); d.Name != DeckFibonacci {
		s += "|" + d.Spec()
	}
	return s
}

func decodeResult(s string) (Result, error) {
	r := Result{Deck: DefaultDeck()}
	if s == "" {
		return r, nil
	}
	malformed := fmt.Errorf("stored result %q is malformed", s)
	dist, spec, hasDeck := strings.Cut(s, "|")
	if hasDeck {
		d, err := ParseDeckSpec(spec)
		if err != nil || d.Name == DeckFibonacci {
			return Result{}, malformed
		}
		r.Deck = d
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(dist, ",") {
		v, n, ok := strings.Cut(part, ":")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 1 || count > maxVotes || seen[v] {
			return Result{}, malformed
		}
		seen[v] = true
		r.Votes += count
		switch v {
		case CardUnsure:
			r.Unsure = count
			continue
		case CardCoffee:
			r.Coffee = count
			continue
		}
		value, err := strconv.Atoi(v)
		if err != nil || value < EstimateMin || value > EstimateMax || strconv.Itoa(value) != v {
			return Result{}, malformed
		}
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
// The message is in English.
func ParseEstimate(raw string) (int, string) {
	n, p := CheckEstimate(raw)
	return n, p.String()
}

// CheckEstimate is ParseEstimate with the problem in any language.
func CheckEstimate(raw string) (int, Problem) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, problem("rule.estimate.empty", nil)
	}
	if len(s) > 3 {
		if strings.ContainsAny(s, ".,") {
			return 0, problem("rule.estimate.whole", nil)
		}
		return 0, problem("rule.estimate.range", nil)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			if c == '.' || c == ',' {
				return 0, problem("rule.estimate.whole", nil)
			}
			return 0, problem("rule.estimate.digits", nil)
		}
	}
	n, _ := strconv.Atoi(s)
	if n < EstimateMin || n > EstimateMax {
		return 0, problem("rule.estimate.range", nil)
	}
	return n, Problem{}
}
