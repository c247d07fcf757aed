package handlers

import (
	"strings"

	"golang.org/x/net/html"
)

// HTML finders: parsed answers searched by data-testid.

// all finds the elements with data-testid=id.
func (r *response) all(id string) []*html.Node {
	if r.doc == nil {
		return nil
	}
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && attr(n, "data-testid") == id {
			out = append(out, n)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(r.doc)
	return out
}

func (r *response) has(id string) bool { return len(r.all(id)) > 0 }

// text is the text of the first element with data-testid=id ("" if none).
func (r *response) text(id string) string {
	nodes := r.all(id)
	if len(nodes) == 0 {
		return ""
	}
	return textOf(nodes[0])
}

func (r *response) texts(id string) []string {
	var out []string
	for _, n := range r.all(id) {
		out = append(out, textOf(n))
	}
	return out
}

func textOf(n *html.Node) string {
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

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// inputValue is the value of the input named name inside the element with testid.
func (r *response) inputValue(testid, name string) (string, bool) {
	for _, root := range r.all(testid) {
		var found *html.Node
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if found == nil && n.Type == html.ElementNode && attr(n, "name") == name {
				found = n
			}
			for ch := n.FirstChild; ch != nil && found == nil; ch = ch.NextSibling {
				walk(ch)
			}
		}
		walk(root)
		if found != nil {
			if found.Data == "textarea" {
				return textOf(found), true
			}
			return attr(found, "value"), true
		}
	}
	return "", false
}

// isFragment tells a fragment from a whole page: only pages have the layout.
func (r *response) isFragment() bool {
	return !strings.Contains(r.body, "<html") && !r.has("nav-signin") && !r.has("nav-signout")
}

// findAll walks a node and returns the elements for which match is true.
func findAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
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

func byTestID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "data-testid") == id }
}

// within finds the elements with data-testid=id inside root.
func within(root *html.Node, id string) []*html.Node { return findAll(root, byTestID(id)) }

// textsIn is the text of each element with data-testid=id inside root.
func textsIn(root *html.Node, id string) []string {
	var out []string
	for _, n := range within(root, id) {
		out = append(out, textOf(n))
	}
	return out
}

// errorStatus is the data-status of the error page, if it is one.
func (r *response) errorStatus() string {
	if n := r.all("error"); len(n) > 0 {
		return attr(n[0], "data-status")
	}
	return ""
}
