package store

import "testing"

func TestLabelDeckFinalAndMedian(t *testing.T) {
	t.Parallel()
	tshirt, _ := ParseDeck(DeckTShirt, "")
	for _, tc := range []struct {
		raw  string
		want int
		ok   bool
	}{
		{"L", 5, true}, {" xxl ", 13, true}, {"xs", 1, true},
		{"5", 0, false}, {"XXXL", 0, false}, {"", 0, false}, {"M L", 0, false},
	} {
		got, msg := tshirt.ParseFinal(tc.raw)
		if got != tc.want || (msg == "") != tc.ok {
			t.Errorf("T-shirt final %q: %d %q", tc.raw, got, msg)
		}
	}
	if n, msg := DefaultDeck().ParseFinal("13"); n != 13 || msg != "" {
		t.Errorf("numeric final 13: %d %q", n, msg)
	}
	if _, msg := DefaultDeck().ParseFinal("L"); msg == "" {
		t.Error("a label accepted on a numeric deck")
	}
	for _, tc := range []struct {
		votes []int
		want  string
	}{
		{[]int{3, 5}, "M–L"},
		{[]int{3, 3}, "M"},
		{[]int{1, 3, 13}, "M"},
		{[]int{2, 3, 5, 8}, "M–L"},
		{[]int{3, 3, 5, 5}, "M–L"},
		{[]int{1, 2, 2, 8}, "S"},
	} {
		vs := make([]Vote, len(tc.votes))
		for i, v := range tc.votes {
			vs[i] = Vote{Value: v}
		}
		if got := Tally(tshirt, vs).MedianLabel(); got != tc.want {
			t.Errorf("median of %v: %q, want %q", tc.votes, got, tc.want)
		}
	}
}
