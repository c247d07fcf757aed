package store

import (
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// confusable is one line of UTS #39's confusables data: a character and the
// prototype it can be mistaken for.
type confusable struct {
	from rune
	to   string
}

func prototype(r rune) (string, bool) {
	i := sort.Search(len(confusables), func(i int) bool { return confusables[i].from >= r })
	if i < len(confusables) && confusables[i].from == r {
		return confusables[i].to, true
	}
	return "", false
}

// Skeleton is the UTS #39 skeleton of s: two strings that look alike ("paypal"
// and "раураl" in Cyrillic) have the same skeleton. NFD, without default
// ignorable characters, each character replaced by its prototype, NFD again.
func Skeleton(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if defaultIgnorable(r) {
			continue
		}
		if p, ok := prototype(r); ok {
			b.WriteString(p)
		} else {
			b.WriteRune(r)
		}
	}
	return norm.NFD.String(b.String())
}

// defaultIgnorable approximates Unicode's Default_Ignorable_Code_Point from the
// properties Go has: invisible characters that must not make two names differ.
func defaultIgnorable(r rune) bool {
	if unicode.Is(unicode.White_Space, r) {
		return false
	}
	return unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || unicode.Is(unicode.Cf, r)
}

var fold = cases.Fold()

// NicknameSkeleton is the form in which nicknames are compared for looking
// alike: the skeleton, case folded, and again (the prototype of "0" is "O",
// which folds to "o") until it no longer changes. The skeleton comes before the
// folding, which would turn a capital I (like l) into an i (unlike l). "Zelda",
// "ZELDA", "ZeIda", "Ζelda" and "Zeldа" share it.
func NicknameSkeleton(nick string) string {
	s := norm.NFKC.String(nick)
	for range 4 {
		next := fold.String(Skeleton(s))
		if next == s {
			break
		}
		s = next
	}
	return s
}

// Scripts that UTS #39 lets appear together in one identifier ("highly
// restrictive"): Japanese, Chinese with Bopomofo, and Korean, each with Latin.
var scriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// likelyScripts are tried first: they hold nearly every nickname.
var likelyScripts = []string{"Latin", "Greek", "Cyrillic", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew", "Devanagari"}

func scriptOf(r rune) string {
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return ""
	}
	for _, name := range likelyScripts {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, t := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(t, r) {
			return name
		}
	}
	return ""
}

// MixedScripts reports the first two scripts of nick that may not be mixed
// ("Latin" and "Greek" for "Ζelda" with a Greek Zeta), or "" when its letters
// come from one script or from a combination UTS #39 allows. Digits, spaces and
// punctuation belong to every script.
func MixedScripts(nick string) (string, string) {
	var seen []string
	for _, r := range nick {
		sc := scriptOf(r)
		if sc == "" || contains(seen, sc) {
			continue
		}
		seen = append(seen, sc)
	}
	for i := range seen {
		for j := i + 1; j < len(seen); j++ {
			if !mixable(seen[i], seen[j]) {
				return seen[i], seen[j]
			}
		}
	}
	// Pairs may each be allowed while the whole is not (Hangul, Hiragana).
	for _, set := range scriptSets {
		all := true
		for _, sc := range seen {
			all = all && contains(set, sc)
		}
		if all {
			return "", ""
		}
	}
	if len(seen) > 1 {
		return seen[0], seen[len(seen)-1]
	}
	return "", ""
}

func mixable(a, b string) bool {
	for _, set := range scriptSets {
		if contains(set, a) && contains(set, b) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
