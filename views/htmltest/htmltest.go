// Package htmltest finds what tests look for in rendered HTML: elements by
// data-testid, their text and their attributes. The tests of views and of
// handlers share it, so both read a page the same way.
package htmltest

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Parse parses a page or a fragment.
func Parse(tb testing.TB, s string) *html.Node {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		tb.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// FindAll is every element under root (root included) for which match is true,
// in document order. A nil root has none.
func FindAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	if root != nil {
		walk(root)
	}
	return out
}

// ByTestID matches the elements with data-testid=id.
func ByTestID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return Attr(n, "data-testid") == id }
}

// All is every element with data-testid=id under root.
func All(root *html.Node, id string) []*html.Node { return FindAll(root, ByTestID(id)) }

// Text is the text of n and its descendants, white space folded.
func Text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// Texts is the text of every element with data-testid=id under root.
func Texts(root *html.Node, id string) []string {
	var out []string
	for _, n := range All(root, id) {
		out = append(out, Text(n))
	}
	return out
}

// Attr is the value of n's attribute key ("" when it has none).
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// Has reports whether n has the attribute key, whatever its value.
func Has(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
