package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Deck is the set of cards a group votes with. Every card stands for a whole
// number 1–100, so every result is computed on numbers; a deck with labels (the
// T-shirt sizes) only shows them differently.
// A Deck is a comparable value (a group's settings are compared like any
// other field), so its cards live in an array.
type Deck struct {
	// Name is one of the DeckNames.
	Name  string
	n     int
	cards [CustomCardsMax]int
}

func newDeck(name string, cards ...int) Deck {
	d := Deck{Name: name, n: len(cards)}
	copy(d.cards[:], cards)
	return d
}

// Cards are the deck's numbers, ascending and distinct.
func (d Deck) Cards() []int { return d.cards[:d.n:d.n] }

// tshirtLabels name the T-shirt deck's cards, in order.
var tshirtLabels = []string{"XS", "S", "M", "L", "XL", "XXL"}

// labels name each card, or are nil for a deck of plain numbers.
func (d Deck) labels() []string {
	if d.Name == DeckTShirt {
		return tshirtLabels
	}
	return nil
}

// The built-in decks, and the name of a deck of the owner's own numbers.
const (
	DeckFibonacci = "fibonacci"
	DeckModified  = "modified"
	DeckTShirt    = "tshirt"
	DeckPowers    = "powers"
	DeckCustom    = "custom"
)

// DeckNames lists the decks in the order the settings form offers them.
var DeckNames = []string{DeckFibonacci, DeckModified, DeckTShirt, DeckPowers, DeckCustom}

// Custom decks hold this many cards at least and at most.
const (
	CustomCardsMin = 2
	CustomCardsMax = 20
)

var builtinDecks = map[string]Deck{
	DeckFibonacci: newDeck(DeckFibonacci, Scale...),
	DeckModified:  newDeck(DeckModified, 1, 2, 3, 5, 8, 13, 20, 40, 100),
	DeckTShirt:    newDeck(DeckTShirt, 1, 2, 3, 5, 8, 13),
	DeckPowers:    newDeck(DeckPowers, 1, 2, 4, 8, 16, 32, 64),
}

// DefaultDeck is the seed's scale.
func DefaultDeck() Deck { return builtinDecks[DeckFibonacci] }

// DeckTitle is how the settings form names a deck.
func DeckTitle(name string) string {
	switch name {
	case DeckFibonacci:
		return "Fibonacci (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100)"
	case DeckModified:
		return "Modified Fibonacci (1, 2, 3, 5, 8, 13, 20, 40, 100)"
	case DeckTShirt:
		return "T-shirt sizes (XS, S, M, L, XL, XXL)"
	case DeckPowers:
		return "Powers of two (1, 2, 4, 8, 16, 32, 64)"
	case DeckCustom:
		return "Custom numbers"
	}
	return name
}

// Numeric reports whether the deck's cards are plain numbers, so a free number
// can be offered beside them.
func (d Deck) Numeric() bool { return d.labels() == nil }

// Label is how a value shows on this deck: its card's label, or the number.
func (d Deck) Label(v int) string {
	if i := slices.Index(d.Cards(), v); i >= 0 && i < len(d.labels()) {
		return d.labels()[i]
	}
	return strconv.Itoa(v)
}

// Labels are the deck's labels in order, e.g. "XS, S, M, L, XL, XXL" ("" for
// a deck of numbers): what a message lists as the valid choices.
func (d Deck) Labels() string { return strings.Join(d.labels(), ", ") }

// ParseFinal reads a final estimate typed or chosen by the owner: on a deck of
// labels one of its labels (any case, surrounding spaces allowed), which stands
// for its number; on a numeric deck a whole number 1–100 (see ParseEstimate).
func (d Deck) ParseFinal(raw string) (int, string) {
	if d.Numeric() {
		return ParseEstimate(raw)
	}
	s := strings.TrimSpace(raw)
	for i, l := range d.labels() {
		if strings.EqualFold(s, l) && i < d.n {
			return d.cards[i], ""
		}
	}
	if s == "" {
		return 0, "Choose the final estimate: " + d.Labels() + "."
	}
	return 0, "“" + clip(s, 12) + "” is not a card of this deck: choose one of " + d.Labels() + "."
}

// Allows reports whether v may be voted with this deck: any whole number 1–100
// on a numeric deck, only a card's number on a deck of labels.
func (d Deck) Allows(v int) bool {
	if v < EstimateMin || v > EstimateMax {
		return false
	}
	return d.Numeric() || slices.Contains(d.Cards(), v)
}

// Spec is the deck as stored: its name, and for a custom deck its numbers
// ("custom:1,2,4").
func (d Deck) Spec() string {
	if d.Name != DeckCustom {
		return d.Name
	}
	return DeckCustom + ":" + joinInts(d.Cards())
}

// CardsText is the custom deck's numbers as the settings form shows them.
func (d Deck) CardsText() string {
	if d.Name != DeckCustom {
		return ""
	}
	return strings.ReplaceAll(joinInts(d.Cards()), ",", ", ")
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// ParseDeckSpec reads a stored deck.
func ParseDeckSpec(spec string) (Deck, error) {
	if d, ok := builtinDecks[spec]; ok {
		return d, nil
	}
	if rest, ok := strings.CutPrefix(spec, DeckCustom+":"); ok {
		if d, msg := ParseDeck(DeckCustom, rest); msg == "" {
			return d, nil
		}
	}
	return Deck{}, fmt.Errorf("stored deck %q is malformed", spec)
}

// ParseDeck reads the settings form's deck and cards fields. cards matters
// only for the custom deck: 2–20 distinct whole numbers 1–100, separated by
// commas (spaces allowed); they are kept in ascending order.
func ParseDeck(name, cards string) (Deck, string) {
	if name != DeckCustom {
		if d, ok := builtinDecks[name]; ok {
			return d, ""
		}
		return Deck{}, "Choose one of the decks offered."
	}
	var nums []int
	for _, part := range strings.Split(cards, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, msg := ParseEstimate(part)
		if msg != "" {
			return Deck{}, fmt.Sprintf("“%s” is not a card: use whole numbers from 1 to 100, separated by commas.", clip(part, 12))
		}
		if slices.Contains(nums, n) {
			return Deck{}, fmt.Sprintf("%d is there twice: every card must be different.", n)
		}
		nums = append(nums, n)
	}
	if len(nums) < CustomCardsMin || len(nums) > CustomCardsMax {
		return Deck{}, fmt.Sprintf("A custom deck has %d to %d cards (this has %d).", CustomCardsMin, CustomCardsMax, len(nums))
	}
	slices.Sort(nums)
	return newDeck(DeckCustom, nums...), ""
}

// clip shortens what a person typed for an error message.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// nearestCard is the card nearest to num/den (a tie goes to the larger card),
// compared exactly as |num − card·den|.
func (d Deck) nearestCard(num, den int) int {
	best, bestDist := 0, -1
	for _, c := range d.Cards() {
		if dist := abs(num - c*den); bestDist < 0 || dist <= bestDist {
			best, bestDist = c, dist
		}
	}
	return best
}

// GroupSettings are how a group estimates: its deck, whether a round reveals
// itself once every voter has voted, and the default length of a round.
type GroupSettings struct {
	Deck       Deck
	AutoReveal bool
	// TimerSeconds is the default round length (0: no timer).
	TimerSeconds int
}

// TimerMax is the longest timer, in seconds.
const TimerMax = 3600

// DefaultSettings are a new group's.
func DefaultSettings() GroupSettings { return GroupSettings{Deck: DefaultDeck()} }

// ValidateSettings reads the settings form (deck, cards, auto_reveal, timer)
// and returns messages per field.
func ValidateSettings(deck, cards, autoReveal, timer string) (GroupSettings, map[string]string) {
	errs := map[string]string{}
	var s GroupSettings
	var msg string
	if s.Deck, msg = ParseDeck(strings.TrimSpace(deck), cards); msg != "" {
		if strings.TrimSpace(deck) == DeckCustom {
			errs["cards"] = msg
		} else {
			errs["deck"] = msg
		}
	}
	switch autoReveal {
	case "1":
		s.AutoReveal = true
	case "":
	default:
		errs["auto_reveal"] = "Tick the box to reveal by itself, or leave it empty."
	}
	if s.TimerSeconds, msg = ParseTimer(timer, true); msg != "" {
		errs["timer"] = msg
	}
	return s, errs
}

// ParseTimer reads a number of seconds, 0–3600 (empty is 0 when emptyIsZero).
func ParseTimer(raw string, emptyIsZero bool) (int, string) {
	s := strings.TrimSpace(raw)
	if s == "" && emptyIsZero {
		return 0, ""
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 4 || strings.ContainsAny(s, "+-") || n < 0 || n > TimerMax {
		return 0, fmt.Sprintf("Enter a whole number of seconds from 0 to %d.", TimerMax)
	}
	return n, ""
}
