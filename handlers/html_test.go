package handlers

import (
	"strings"

	"golang.org/x/net/html"

	"estimator/views/htmltest"
)

// HTML finders: parsed answers searched by data-testid, through the finders
// the views' own tests use (views/htmltest).

// all finds the elements with data-testid=id.
func (r *response) all(id string) []*html.Node { return htmltest.All(r.doc, id) }

func (r *response) has(id string) bool { return len(r.all(id)) > 0 }

// text is the text of the first element with data-testid=id ("" if none).
func (r *response) text(id string) string {
	nodes := r.all(id)
	if len(nodes) == 0 {
		return ""
	}
	return textOf(nodes[0])
}

func (r *response) texts(id string) []string { return htmltest.Texts(r.doc, id) }

func textOf(n *html.Node) string { return htmltest.Text(n) }

func attr(n *html.Node, key string) string { return htmltest.Attr(n, key) }

// inputValue is the value of the input named name inside the element with testid.
func (r *response) inputValue(testid, name string) (string, bool) {
	for _, root := range r.all(testid) {
		fields := findAll(root, func(n *html.Node) bool { return attr(n, "name") == name })
		if len(fields) == 0 {
			continue
		}
		if f := fields[0]; f.Data != "textarea" {
			return attr(f, "value"), true
		}
		return textOf(fields[0]), true
	}
	return "", false
}

// isFragment tells a fragment from a whole page: only pages have the layout.
func (r *response) isFragment() bool {
	return !strings.Contains(r.body, "<html") && !r.has("nav-signin") && !r.has("nav-signout")
}

// findAll walks a node and returns the elements for which match is true.
func findAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
	return htmltest.FindAll(root, match)
}

func byTestID(id string) func(*html.Node) bool { return htmltest.ByTestID(id) }

// within finds the elements with data-testid=id inside root.
func within(root *html.Node, id string) []*html.Node { return htmltest.All(root, id) }

// textsIn is the text of each element with data-testid=id inside root.
func textsIn(root *html.Node, id string) []string { return htmltest.Texts(root, id) }

// errorStatus is the data-status of the error page, if it is one.
func (r *response) errorStatus() string {
	if n := r.all("error"); len(n) > 0 {
		return attr(n[0], "data-status")
	}
	return ""
}

// seatCells is what a seat at the room's table says: the name, whether they
// voted (voted, not yet, spectating) and whether they are here now ("● here"
// or ""). Any other text on the seat is added last, so a check of the whole
// seat sees it.
func seatCells(seat *html.Node) []string {
	one := func(id string) string {
		if t := textsIn(seat, id); len(t) == 1 {
			return t[0]
		}
		return "?" + id
	}
	name, voted, here := one("voter-name"), one("voter-voted"), one("voter-present")
	cells := []string{name, voted, here}
	if whole := textOf(seat); whole != strings.Join(strings.Fields(voted+" "+here+" "+name), " ") {
		cells = append(cells, "(the seat reads "+whole+")")
	}
	return cells
}
