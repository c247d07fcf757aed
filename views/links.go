package views

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textPart is a piece of a description: plain text, or a web address to link
// (Href set, the same as Text).
type textPart struct{ Text, Href string }

// linkParts splits text written by people (a description) into plain text and
// the http and https addresses in it, so that those can be links. Nothing else
// becomes a link (javascript:, data:, mailto:): it stays text. An address
// ends at white space, a quote or an angle bracket; punctuation that ends a
// sentence after it ("see https://x.io/a).") stays out of it, and so does a
// closing bracket it did not open. Parts are never HTML: the template escapes
// them.
func linkParts(s string) []textPart {
	var parts []textPart
	text := 0 // start of the plain text not yet added
	for i := 0; i < len(s); {
		n := schemeAt(s, i)
		if n == 0 {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		end := i + n
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>\"'`", r) || r == utf8.RuneError {
				break
			}
			end += size
		}
		addr := trimAddress(s[i:end])
		if !webAddress(addr) {
			i = end
			continue
		}
		if text < i {
			parts = append(parts, textPart{Text: s[text:i]})
		}
		parts = append(parts, textPart{Text: addr, Href: addr})
		i += len(addr)
		text = i
	}
	if text < len(s) {
		parts = append(parts, textPart{Text: s[text:]})
	}
	return parts
}

// schemeAt is the length of "http://" or "https://" (any case) at s[i:], when
// it starts a word there; 0 otherwise.
func schemeAt(s string, i int) int {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return 0
		}
	}
	for _, scheme := range []string{"https://", "http://"} {
		if len(s)-i >= len(scheme) && strings.EqualFold(s[i:i+len(scheme)], scheme) {
			return len(scheme)
		}
	}
	return 0
}

// trimAddress drops what follows an address rather than belongs to it: the
// punctuation ending a sentence, and closing brackets it does not open
// ("(see https://x.io/a)" but "https://en.wikipedia.org/wiki/Go_(game)").
func trimAddress(a string) string {
	for a != "" {
		last := a[len(a)-1]
		switch {
		case strings.IndexByte(".,;:!?*_~", last) >= 0:
			a = a[:len(a)-1]
		case last == ')' && strings.Count(a, ")") > strings.Count(a, "("),
			last == ']' && strings.Count(a, "]") > strings.Count(a, "["),
			last == '}' && strings.Count(a, "}") > strings.Count(a, "{"):
			a = a[:len(a)-1]
		default:
			return a
		}
	}
	return a
}

// webAddress reports whether a is an http or https URL with a host.
func webAddress(a string) bool {
	u, err := url.Parse(a)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return true
	}
	return false
}
