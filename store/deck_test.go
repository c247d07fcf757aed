package store

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseDeck(t *testing.T) {
	t.Parallel()
	twenty := make([]string, 20)
	for i := range twenty {
		twenty[i] = strconv.Itoa(i + 1)
	}
	tests := []struct {
		name, deck, cards string
		want              []int
		wantMsg           string // a part of the message; "" when valid
	}{
		{"fibonacci", "fibonacci", "", []int{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100}, ""},
		{"fibonacci ignores cards", "fibonacci", "1,2", []int{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100}, ""},
		{"modified", "modified", "", []int{1, 2, 3, 5, 8, 13, 20, 40, 100}, ""},
		{"tshirt", "tshirt", "", []int{1, 2, 3, 5, 8, 13}, ""},
		{"powers", "powers", "", []int{1, 2, 4, 8, 16, 32, 64}, ""},
		{"custom", "custom", "1, 2, 4", []int{1, 2, 4}, ""},
		{"custom sorted", "custom", "8,3 , 5", []int{3, 5, 8}, ""},
		{"custom lowest and highest", "custom", "1,100", []int{1, 100}, ""},
		{"custom empty entries skipped", "custom", "1,,2,", []int{1, 2}, ""},
		{"custom 20 cards", "custom", strings.Join(twenty, ","), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, ""},
		{"custom 21 cards", "custom", strings.Join(twenty, ",") + ",21", nil, "2 to 20 cards (this has 21)"},
		{"custom 1 card", "custom", "5", nil, "2 to 20 cards (this has 1)"},
		{"custom no cards", "custom", "", nil, "this has 0"},
		{"custom duplicate", "custom", "1,2,2", nil, "2 is there twice"},
		{"custom 0", "custom", "0,1", nil, "“0” is not a card"},
		{"custom 101", "custom", "1,101", nil, "“101” is not a card"},
		{"custom fraction", "custom", "1,2.5", nil, "not a card"},
		{"custom words", "custom", "1,two", nil, "not a card"},
		{"custom semicolons", "custom", "1;2;3", nil, "not a card"},
		{"unknown deck", "poker", "", nil, "Choose one of the decks"},
		{"no deck", "", "", nil, "Choose one of the decks"},
		{"deck name case", "Fibonacci", "", nil, "Choose one of the decks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, msg := ParseDeck(tt.deck, tt.cards)
			if tt.wantMsg != "" {
				if !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("ParseDeck(%q, %q) message %q, want it to contain %q", tt.deck, tt.cards, msg, tt.wantMsg)
				}
				return
			}
			if msg != "" || !slices.Equal(d.Cards(), tt.want) || d.Name != tt.deck {
				t.Fatalf("ParseDeck(%q, %q) = %s %v, %q; want %v", tt.deck, tt.cards, d.Name, d.Cards(), msg, tt.want)
			}
			back, err := ParseDeckSpec(d.Spec())
			if err != nil || back != d {
				t.Errorf("spec %q reads back as %+v, %v", d.Spec(), back, err)
			}
		})
	}
}

func TestDeckRules(t *testing.T) {
	t.Parallel()
	tshirt, _ := ParseDeck(DeckTShirt, "")
	custom, _ := ParseDeck(DeckCustom, "2,7,50")
	fib := DefaultDeck()
	tests := []struct {
		deck    Deck
		value   int
		allowed bool
		label   string
	}{
		{fib, 4, true, "4"},
		{fib, 100, true, "100"},
		{fib, 0, false, "0"},
		{fib, 101, false, "101"},
		{custom, 3, true, "3"},
		{tshirt, 1, true, "XS"},
		{tshirt, 5, true, "L"},
		{tshirt, 13, true, "XXL"},
		{tshirt, 4, false, "4"},
		{tshirt, 21, false, "21"},
	}
	for _, tt := range tests {
		if got := tt.deck.Allows(tt.value); got != tt.allowed {
			t.Errorf("%s.Allows(%d) = %v, want %v", tt.deck.Name, tt.value, got, tt.allowed)
		}
		if got := tt.deck.Label(tt.value); got != tt.label {
			t.Errorf("%s.Label(%d) = %q, want %q", tt.deck.Name, tt.value, got, tt.label)
		}
	}
	if tshirt.Numeric() || !fib.Numeric() || !custom.Numeric() {
		t.Error("only the T-shirt deck has labels instead of numbers")
	}
	if custom.CardsText() != "2, 7, 50" || fib.CardsText() != "" || custom.Spec() != "custom:2,7,50" {
		t.Errorf("custom deck shows as %q, stored as %q", custom.CardsText(), custom.Spec())
	}
	for _, bad := range []string{"", "poker", "custom", "custom:", "custom:5", "custom:1,1", "custom:0,1", "custom:1,2,x", "tshirt:1,2"} {
		if d, err := ParseDeckSpec(bad); err == nil {
			t.Errorf("ParseDeckSpec(%q) = %+v, want an error", bad, d)
		}
	}
}

func TestValidateSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                     string
		deck, cards, auto, timer string
		wantDeck                 string
		wantAuto                 bool
		wantTimer                int
		wantErrs                 []string
	}{
		{"defaults", "fibonacci", "", "", "", "fibonacci", false, 0, nil},
		{"everything", "custom", "1,2,3", "1", "90", "custom:1,2,3", true, 90, nil},
		{"timer max", "powers", "", "", "3600", "powers", false, 3600, nil},
		{"timer spaces", "powers", "", "", " 30 ", "powers", false, 30, nil},
		{"timer over", "powers", "", "", "3601", "", false, 0, []string{"timer"}},
		{"timer negative", "powers", "", "", "-1", "", false, 0, []string{"timer"}},
		{"timer plus", "powers", "", "", "+5", "", false, 0, []string{"timer"}},
		{"timer fraction", "powers", "", "", "1.5", "", false, 0, []string{"timer"}},
		{"timer words", "powers", "", "", "ten", "", false, 0, []string{"timer"}},
		{"auto reveal other value", "tshirt", "", "yes", "0", "", false, 0, []string{"auto_reveal"}},
		{"unknown deck", "poker", "", "", "0", "", false, 0, []string{"deck"}},
		{"bad cards", "custom", "7", "", "0", "", false, 0, []string{"cards"}},
		{"all wrong", "custom", "1,1", "on", "4000", "", false, 0, []string{"auto_reveal", "cards", "timer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, errs := ValidateSettings(tt.deck, tt.cards, tt.auto, tt.timer)
			var keys []string
			for k := range errs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.wantErrs) {
				t.Fatalf("errors %v, want fields %v", errs, tt.wantErrs)
			}
			if len(keys) > 0 {
				return
			}
			if s.Deck.Spec() != tt.wantDeck || s.AutoReveal != tt.wantAuto || s.TimerSeconds != tt.wantTimer {
				t.Errorf("settings %+v, want deck %s auto %v timer %d", s, tt.wantDeck, tt.wantAuto, tt.wantTimer)
			}
		})
	}
}

func TestParseVote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want Vote
		ok   bool
	}{
		{"5", Vote{Value: 5}, true},
		{" 100 ", Vote{Value: 100}, true},
		{"1", Vote{Value: 1}, true},
		{"?", Vote{Special: CardUnsure}, true},
		{" ? ", Vote{Special: CardUnsure}, true},
		{"coffee", Vote{Special: CardCoffee}, true},
		{"??", Vote{}, false},
		{"?5", Vote{}, false},
		{"Coffee", Vote{}, false},
		{"tea", Vote{}, false},
		{"0", Vote{}, false},
		{"101", Vote{}, false},
		{"", Vote{}, false},
		{"4.5", Vote{}, false},
	}
	for _, tt := range tests {
		got, msg := ParseVote(tt.raw)
		if (msg == "") != tt.ok || got != tt.want {
			t.Errorf("ParseVote(%q) = %+v, %q; want %+v ok=%v", tt.raw, got, msg, tt.want, tt.ok)
		}
		if tt.ok && got.String() != strings.TrimSpace(tt.raw) {
			t.Errorf("ParseVote(%q).String() = %q", tt.raw, got.String())
		}
	}
	if msg := func() string { _, m := ParseVote("??"); return m }(); !strings.Contains(msg, "?") {
		t.Errorf("message for ?? = %q, want it to name the cards", msg)
	}
}

// votes builds a round from the estimate field's values.
func votes(t *testing.T, raw ...string) []Vote {
	t.Helper()
	out := make([]Vote, len(raw))
	for i, r := range raw {
		v, msg := ParseVote(r)
		if msg != "" {
			t.Fatalf("vote %q: %s", r, msg)
		}
		out[i] = v
	}
	return out
}

func TestResultOfARound(t *testing.T) {
	t.Parallel()
	deck := func(name, cards string) Deck {
		d, msg := ParseDeck(name, cards)
		if msg != "" {
			t.Fatal(msg)
		}
		return d
	}
	fib, tshirt, modified, powers := DefaultDeck(), deck(DeckTShirt, ""), deck(DeckModified, ""), deck(DeckPowers, "")
	custom := deck(DeckCustom, "1,10,50")
	tests := []struct {
		name            string
		deck            Deck
		votes           []string
		average, median string
		nearest, card   int
		low, high       int
		consensus       bool
		prefill         int
		unsure, coffee  int
	}{
		// The seed's complaint: the average 26.8 went to 21; the median is 3.
		{"outlier", fib, []string{"1", "3", "3", "100"}, "26.8", "3", 27, 21, 1, 100, false, 3, 0, 0},
		{"majority", fib, []string{"5", "5", "5", "8"}, "5.8", "5", 6, 5, 5, 8, false, 5, 0, 0},
		{"half is not a majority", fib, []string{"5", "5", "8", "8"}, "6.5", "6.5", 7, 8, 5, 8, false, 8, 0, 0},
		{"median between cards, tie to larger", fib, []string{"3", "5"}, "4.0", "4", 4, 5, 3, 5, false, 5, 0, 0},
		{"even median", fib, []string{"1", "2", "3", "5"}, "2.8", "2.5", 3, 3, 1, 5, false, 3, 0, 0},
		{"consensus with specials", fib, []string{"8", "8", "?", "coffee"}, "8.0", "8", 8, 8, 8, 8, true, 8, 1, 1},
		{"specials only", fib, []string{"?", "coffee", "?"}, "0.0", "0", 0, 0, 0, 0, false, 0, 2, 1},
		{"off-deck number", fib, []string{"4", "4", "6"}, "4.7", "4", 5, 5, 4, 6, false, 4, 0, 0},
		{"tshirt", tshirt, []string{"2", "3"}, "2.5", "2.5", 3, 3, 2, 3, false, 3, 0, 0},
		{"modified: the majority's value, not a card", modified, []string{"21", "21", "40"}, "27.3", "21", 27, 20, 21, 40, false, 21, 0, 0},
		{"powers: median tie to larger", powers, []string{"5", "6", "7"}, "6.0", "6", 6, 8, 5, 7, false, 8, 0, 0},
		{"custom", custom, []string{"10", "30", "50", "?"}, "30.0", "30", 30, 50, 10, 50, false, 50, 1, 0},
		{"custom nearest below", custom, []string{"2", "3", "4"}, "3.0", "3", 3, 1, 2, 4, false, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Tally(tt.deck, votes(t, tt.votes...))
			if r.Votes != len(tt.votes) || r.Unsure != tt.unsure || r.Coffee != tt.coffee || r.Numeric() != len(tt.votes)-tt.unsure-tt.coffee {
				t.Errorf("votes %d (%d numeric), ? %d, coffee %d", r.Votes, r.Numeric(), r.Unsure, r.Coffee)
			}
			got := []any{r.Average(), r.Median(), r.Nearest(), r.NearestCard(), r.Min(), r.Max(), r.Consensus(), r.Prefill()}
			want := []any{tt.average, tt.median, tt.nearest, tt.card, tt.low, tt.high, tt.consensus, tt.prefill}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("average, median, nearest, card, low, high, consensus, prefill = %v, want %v", got, want)
			}
			if r.HasNumbers() != (r.Numeric() > 0) {
				t.Errorf("HasNumbers = %v with %d numeric votes", r.HasNumbers(), r.Numeric())
			}
			back, err := decodeResult(r.encode())
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Errorf("round trip through %q = %+v, %v; want %+v", r.encode(), back, err, r)
			}
		})
	}
}

func TestResultBars(t *testing.T) {
	t.Parallel()
	r := Tally(DefaultDeck(), votes(t, "3", "3", "4", "?", "100"))
	var labels []string
	var counts []int
	for _, b := range r.Bars() {
		labels = append(labels, b.Label)
		counts = append(counts, b.Count)
		if b.OffDeck != (b.Label == "4") {
			t.Errorf("bar %s: OffDeck %v", b.Label, b.OffDeck)
		}
	}
	wantLabels := []string{"1", "2", "3", "4", "5", "8", "13", "21", "34", "55", "89", "100", "?", "coffee"}
	wantCounts := []int{0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0}
	if !slices.Equal(labels, wantLabels) || !slices.Equal(counts, wantCounts) {
		t.Errorf("bars %v %v, want %v %v", labels, counts, wantLabels, wantCounts)
	}
	tshirt, _ := ParseDeck(DeckTShirt, "")
	labels = nil
	for _, b := range Tally(tshirt, votes(t, "1", "13")).Bars() {
		labels = append(labels, b.Label)
	}
	if want := []string{"XS", "S", "M", "L", "XL", "XXL", "?", "coffee"}; !slices.Equal(labels, want) {
		t.Errorf("T-shirt bars %v, want %v", labels, want)
	}
	// A number above every card goes after them.
	labels = nil
	for _, b := range Tally(tshirt, votes(t, "40")).Bars() {
		labels = append(labels, b.Label)
	}
	if want := []string{"XS", "S", "M", "L", "XL", "XXL", "40", "?", "coffee"}; !slices.Equal(labels, want) {
		t.Errorf("bars with a high off-deck number %v, want %v", labels, want)
	}
	if m := Tally(DefaultDeck(), votes(t, "?", "?", "?", "5")).MaxCount(); m != 3 {
		t.Errorf("MaxCount counts the special cards too: %d, want 3", m)
	}
}

func TestDecodeRoomResults(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]Result{
		"5:1,?:2":          {Votes: 3, Sum: 5, Counts: []ValueCount{{5, 1}}, Unsure: 2, Deck: DefaultDeck()},
		"coffee:2":         {Votes: 2, Coffee: 2, Deck: DefaultDeck()},
		"2:1,3:1|tshirt":   {Votes: 2, Sum: 5, Counts: []ValueCount{{2, 1}, {3, 1}}, Deck: builtinDecks[DeckTShirt]},
		"4:2|custom:1,4,9": {Votes: 2, Sum: 8, Counts: []ValueCount{{4, 2}}, Deck: newDeck(DeckCustom, 1, 4, 9)},
		"5:1,coffee:1,?:1": {Votes: 3, Sum: 5, Counts: []ValueCount{{5, 1}}, Unsure: 1, Coffee: 1, Deck: DefaultDeck()},
	} {
		got, err := decodeResult(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeResult(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, bad := range []string{"?:0", "?:1,?:1", "coffee:x", "tea:1", "5:1|", "5:1|poker", "5:1|fibonacci", "5:1|custom:5", "05:1", "|tshirt"} {
		if r, err := decodeResult(bad); err == nil {
			t.Errorf("decodeResult(%q) = %+v, want an error", bad, r)
		}
	}
}

func FuzzParseVote(f *testing.F) {
	for _, s := range []string{"5", "?", "coffee", "??", " ? ", "Coffee", "0", "101", "", "\x00", "?5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, msg := ParseVote(raw)
		if msg != "" {
			if !v.IsZero() {
				t.Fatalf("ParseVote(%q) refused with %q but returned %+v", raw, msg, v)
			}
			return
		}
		again, msg := ParseVote(v.String())
		if msg != "" || again != v || v.String() != strings.TrimSpace(raw) && v.Special != "" {
			t.Fatalf("ParseVote(%q) = %+v, which reads back as %+v (%q)", raw, v, again, msg)
		}
		if v.Special == "" && (v.Value < EstimateMin || v.Value > EstimateMax) || v.Special != "" && v.Value != 0 {
			t.Fatalf("ParseVote(%q) accepted %+v", raw, v)
		}
	})
}

func FuzzParseDeck(f *testing.F) {
	for _, s := range []string{"1,2", "1, 2, 4", "5", "1,1", "0,1", "1,101", strings.Repeat("7,", 30), ",,,", "3;4", "1,2.5", "\xff,2"} {
		f.Add(DeckCustom, s)
	}
	f.Add("poker", "")
	f.Add(DeckTShirt, "1,2")
	f.Fuzz(func(t *testing.T, name, cards string) {
		d, msg := ParseDeck(name, cards)
		if msg != "" {
			if d.Name != "" || len(d.Cards()) != 0 {
				t.Fatalf("ParseDeck(%q, %q) refused with %q but returned %+v", name, cards, msg, d)
			}
			return
		}
		cs := d.Cards()
		if len(cs) < CustomCardsMin || len(cs) > CustomCardsMax || !slices.IsSorted(cs) || cs[0] < EstimateMin || cs[len(cs)-1] > EstimateMax {
			t.Fatalf("ParseDeck(%q, %q) accepted cards %v", name, cards, cs)
		}
		for i := 1; i < len(cs); i++ {
			if cs[i] == cs[i-1] {
				t.Fatalf("ParseDeck(%q, %q) accepted %d twice", name, cards, cs[i])
			}
		}
		if back, err := ParseDeckSpec(d.Spec()); err != nil || back != d {
			t.Fatalf("ParseDeck(%q, %q): spec %q reads back as %+v, %v", name, cards, d.Spec(), back, err)
		}
	})
}
