package store

import (
	"estimator/i18n"

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
// The message is in English.
func (d Deck) ParseFinal(raw string) (int, string) {
	v, p := d.CheckFinal(raw)
	return v, p.String()
}

// CheckFinal is ParseFinal with the problem in any language.
func (d Deck) CheckFinal(raw string) (int, Problem) {
	if d.Numeric() {
		return CheckEstimate(raw)
	}
	s := strings.TrimSpace(raw)
	for i, l := range d.labels() {
		if strings.EqualFold(s, l) && i < d.n {
			return d.cards[i], Problem{}
		}
	}
	if s == "" {
		return 0, problem("rule.final.choose", map[string]any{"Labels": d.Labels()})
	}
	return 0, problem("rule.final.not_card", map[string]any{"Value": clip(s, 12), "Labels": d.Labels()})
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
// The message is in English.
func ParseDeck(name, cards string) (Deck, string) {
	d, p := CheckDeck(name, cards)
	return d, p.String()
}

// CheckDeck is ParseDeck with the problem in any language.
func CheckDeck(name, cards string) (Deck, Problem) {
	if name != DeckCustom {
		if d, ok := builtinDecks[name]; ok {
			return d, Problem{}
		}
		return Deck{}, problem("rule.deck.choose", nil)
	}
	var nums []int
	for _, part := range strings.Split(cards, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, p := CheckEstimate(part)
		if !p.OK() {
			return Deck{}, problem("rule.deck.card", map[string]any{"Card": clip(part, 12)})
		}
		if slices.Contains(nums, n) {
			return Deck{}, problem("rule.deck.twice", map[string]any{"Card": n})
		}
		nums = append(nums, n)
	}
	if len(nums) < CustomCardsMin || len(nums) > CustomCardsMax {
		return Deck{}, problem("rule.deck.size", map[string]any{"Min": CustomCardsMin, "Max": CustomCardsMax, "Count": len(nums)})
	}
	slices.Sort(nums)
	return newDeck(DeckCustom, nums...), Problem{}
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
// and returns messages per field, in English.
func ValidateSettings(deck, cards, autoReveal, timer string) (GroupSettings, map[string]string) {
	s, ps := CheckSettings(deck, cards, autoReveal, timer)
	return s, ps.In(i18n.EN)
}

// CheckSettings is ValidateSettings with the problems in any language.
func CheckSettings(deck, cards, autoReveal, timer string) (GroupSettings, Problems) {
	errs := Problems{}
	var s GroupSettings
	var p Problem
	if s.Deck, p = CheckDeck(strings.TrimSpace(deck), cards); !p.OK() {
		if strings.TrimSpace(deck) == DeckCustom {
			errs["cards"] = p
		} else {
			errs["deck"] = p
		}
	}
	switch autoReveal {
	case "1":
		s.AutoReveal = true
	case "":
	default:
		errs["auto_reveal"] = problem("rule.auto_reveal", nil)
	}
	if s.TimerSeconds, p = CheckTimer(timer, true); !p.OK() {
		errs["timer"] = p
	}
	return s, errs
}

// ParseTimer reads a number of seconds, 0–3600 (empty is 0 when emptyIsZero).
// The message is in English.
func ParseTimer(raw string, emptyIsZero bool) (int, string) {
	n, p := CheckTimer(raw, emptyIsZero)
	return n, p.String()
}

// CheckTimer is ParseTimer with the problem in any language.
func CheckTimer(raw string, emptyIsZero bool) (int, Problem) {
	s := strings.TrimSpace(raw)
	if s == "" && emptyIsZero {
		return 0, Problem{}
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 4 || strings.ContainsAny(s, "+-") || n < 0 || n > TimerMax {
		return 0, problem("rule.timer", map[string]any{"Max": TimerMax})
	}
	return n, Problem{}
}
