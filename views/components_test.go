package views_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"estimator/store"
	"estimator/views"
	"estimator/views/htmltest"
)

// render renders a component alone, as the app would for user, and parses it.
func render(t *testing.T, c templ.Component, user store.User) *html.Node {
	t.Helper()
	var buf bytes.Buffer
	ctx := views.WithPage(context.Background(), &views.Page{User: user})
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return htmltest.Parse(t, buf.String())
}

func openStatus() store.Status {
	return store.Status{
		Issue: store.Issue{ID: 7, GroupID: 3, Key: "SHOP-7", State: store.StateOpen, Round: 1},
		Group: store.Group{ID: 3, Name: "Shop"},
		Voters: []store.Voter{
			{UserID: 1, Nickname: "Ada", Role: store.RoleOwner, Seat: store.SeatVoter, Voted: true},
			{UserID: 2, Nickname: "Bo", Role: store.RoleMember, Seat: store.SeatVoter},
		},
	}
}

func TestStatusPanelShowsOwnerToolsOnlyToTheOwner(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role  store.Role
		owner bool
	}{{store.RoleOwner, true}, {store.RoleMember, false}} {
		doc := render(t, views.StatusPanel(views.StatusView{Status: openStatus(), Role: tc.role, Present: map[int64]bool{2: true}}), store.User{ID: 1})
		if got := len(htmltest.All(doc, "reveal")) == 1; got != tc.owner {
			t.Errorf("%s: reveal button shown %v, want %v", tc.role, got, tc.owner)
		}
		if got := htmltest.Texts(doc, "voted-count"); len(got) != 1 || got[0] != "1 of 2 voted" {
			t.Errorf("%s: voted count %q", tc.role, got)
		}
		if got := htmltest.Texts(doc, "voter-voted"); len(got) != 2 || got[0] != "voted" || got[1] != "not yet" {
			t.Errorf("%s: voted column %q", tc.role, got)
		}
		if got := htmltest.Texts(doc, "voter-present"); len(got) != 2 || got[0] != "" || got[1] != "● here" {
			t.Errorf("%s: presence column %q", tc.role, got)
		}
	}
}

// A round is revealed with at least two votes: with none or one, the owner's
// button is there but disabled.
func TestStatusPanelRevealNeedsTwoVotes(t *testing.T) {
	t.Parallel()
	for voted, enabled := range []bool{false, false, true} {
		st := openStatus()
		st.Voters[0].Voted, st.Voters[1].Voted = voted >= 1, voted >= 2
		doc := render(t, views.StatusPanel(views.StatusView{Status: st, Role: store.RoleOwner}), store.User{ID: 1})
		buttons := htmltest.All(doc, "reveal")
		if len(buttons) != 1 || htmltest.Has(buttons[0], "disabled") == enabled {
			t.Fatalf("reveal button with %d votes: %d, want one, enabled %v", voted, len(buttons), enabled)
		}
	}
}

func TestLoginFormCarriesTheKeptForm(t *testing.T) {
	t.Parallel()
	kept := func(doc *html.Node) []string {
		var vals []string
		for _, in := range htmltest.FindAll(doc, func(n *html.Node) bool { return htmltest.Attr(n, "name") == "kept" }) {
			vals = append(vals, htmltest.Attr(in, "value"))
		}
		return vals
	}
	doc := render(t, views.LoginPage(views.LoginForm{Next: "/groups/3", Kept: "REF"}), store.Anonymous)
	if got := kept(doc); len(got) != 1 || got[0] != "REF" {
		t.Errorf("kept fields %q, want one with REF", got)
	}
	if len(htmltest.All(doc, "kept-notice")) != 1 {
		t.Error("no notice that a form waits")
	}
	doc = render(t, views.LoginPage(views.LoginForm{Next: "/"}), store.Anonymous)
	if got := kept(doc); len(got) != 0 || len(htmltest.All(doc, "kept-notice")) != 0 {
		t.Errorf("without a kept form: kept fields %q, notice %d", got, len(htmltest.All(doc, "kept-notice")))
	}
}

// A field with an error says so (message, aria-invalid); the others carry no
// aria-invalid at all.
func TestFieldErrorsMarkOnlyTheirField(t *testing.T) {
	t.Parallel()
	f := views.IssueForm{Key: "x y", Errors: views.FieldErrors{"key": "No spaces in a key."}}
	doc := render(t, views.AddIssueForm(3, f), store.User{ID: 1})
	if got := htmltest.Texts(doc, "key-error"); len(got) != 1 || got[0] != "No spaces in a key." {
		t.Errorf("key error %q", got)
	}
	if len(htmltest.All(doc, "description-error")) != 0 {
		t.Error("an error shown for the description")
	}
	for _, n := range htmltest.FindAll(doc, func(n *html.Node) bool { return htmltest.Has(n, "aria-invalid") }) {
		if name := htmltest.Attr(n, "name"); name != "key" {
			t.Errorf("aria-invalid on %q", name)
		}
	}
	keys := htmltest.FindAll(doc, func(n *html.Node) bool { return htmltest.Attr(n, "name") == "key" })
	if len(keys) != 1 || htmltest.Attr(keys[0], "value") != "x y" || htmltest.Attr(keys[0], "aria-invalid") != "true" {
		t.Errorf("key field: %d found, want one keeping what was typed, marked invalid", len(keys))
	}
}

func TestErrorPage(t *testing.T) {
	t.Parallel()
	doc := render(t, views.ErrorPage(404, "Not found", "Nothing here.", "/groups/3", "Back to Shop"), store.Anonymous)
	pages := htmltest.All(doc, "error")
	if len(pages) != 1 || htmltest.Attr(pages[0], "data-status") != "404" {
		t.Fatalf("error pages: %d, want one with status 404", len(pages))
	}
	var texts []string
	for _, n := range htmltest.FindAll(pages[0], func(n *html.Node) bool { return n.Data == "h1" || n.Data == "p" }) {
		texts = append(texts, htmltest.Text(n))
	}
	if len(texts) != 3 || texts[0] != "Not found" || texts[1] != "Nothing here." || texts[2] != "Back to Shop" {
		t.Fatalf("error page says %q", texts)
	}
	back := htmltest.All(doc, "error-back")
	if len(back) != 1 || htmltest.Attr(back[0], "href") != "/groups/3" {
		t.Fatal("no link back to the group")
	}
}

// A description's web addresses are links, safely; anything else in it stays
// text, escaped, on the group page and in the room alike.
func TestDescriptionsLinkTheirWebAddressesOnly(t *testing.T) {
	t.Parallel()
	desc := `Spec: https://jira.example.com/browse/SHOP-7?a=1&b="2" (see https://x.io/a). Not javascript:alert(1) nor <script>alert(1)</script> nor data:text/html,x`
	st := openStatus()
	st.Issue.Description = desc
	for name, doc := range map[string]*html.Node{
		"group page": render(t, views.IssueTable(3, []store.IssueSummary{{Issue: st.Issue}}, true), store.User{ID: 1}),
		"room":       render(t, views.IssueStatusPage(views.StatusView{Status: st, Role: store.RoleMember}, views.EstimateView{Issue: st.Issue, Group: st.Group}), store.User{ID: 2}),
	} {
		links := htmltest.All(doc, "description-link")
		var hrefs []string
		for _, a := range links {
			hrefs = append(hrefs, htmltest.Attr(a, "href"))
			if htmltest.Attr(a, "rel") != "noopener noreferrer" || htmltest.Attr(a, "target") != "_blank" {
				t.Errorf("%s: link %q has rel %q, target %q", name, htmltest.Attr(a, "href"), htmltest.Attr(a, "rel"), htmltest.Attr(a, "target"))
			}
			if htmltest.Text(a) != htmltest.Attr(a, "href") {
				t.Errorf("%s: link to %q reads %q", name, htmltest.Attr(a, "href"), htmltest.Text(a))
			}
		}
		if want := []string{"https://jira.example.com/browse/SHOP-7?a=1&b=", "https://x.io/a"}; !slices.Equal(hrefs, want) {
			t.Errorf("%s: links %q, want %q", name, hrefs, want)
		}
		if n := len(htmltest.FindAll(doc, func(n *html.Node) bool {
			return n.Type == html.ElementNode && n.Data == "script" && n.FirstChild != nil
		})); n != 0 {
			t.Errorf("%s: the description made %d script elements", name, n)
		}
		var shown string
		for _, p := range htmltest.FindAll(doc, func(n *html.Node) bool { return htmltest.Attr(n, "class") == "description" }) {
			shown += htmltest.Text(p)
		}
		if shown != desc {
			t.Errorf("%s: the description reads\n%q\nwant\n%q", name, shown, desc)
		}
	}
}
