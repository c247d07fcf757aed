package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Acceptance (languages): a person who chooses German, French, Spanish or
// Brazilian Portuguese on the account page gets every translated page in it,
// remembered on the next page, and the longer words still fit a 360 px phone
// and a 320 px navigation with a 32-character nickname: nothing scrolls
// sideways, the navigation stays on one row, axe finds nothing serious. The
// group page is among them, with a member (the owner's three buttons in a
// row) and an issue.
func TestEveryLanguageFitsAPhone(t *testing.T) {
	src, err := axeSource()
	if err != nil {
		t.Fatalf("reading the vendored axe-core: %v", err)
	}
	e := newEnvWithin(t, 6*time.Minute)
	langs := []struct{ lang, nick, myGroups, account string }{
		{"de", "Friederike Schätzer-Großmann 123", "Meine Gruppen", "Konto"},
		{"fr", "Séverine Lefèvre-Dubois-Château1", "Mes groupes", "Compte"},
		{"es", "María José Fernández-Castañeda 1", "Mis grupos", "Cuenta"},
		{"pt-BR", "João Guilherme Conceição-Araújo1", "Meus grupos", "Conta"},
	}
	for _, l := range langs {
		tb := e.person(l.lang)
		tb.signIn(l.nick)
		const group = "Plattform-Zahlungsverkehr Q3/2027"
		gp := tb.createGroup(group)
		// The group page as its owner sees it in a meeting: a member with
		// the owner's three buttons in their row, an issue in the table.
		tb.open(gp)
		mate := e.person(l.lang + " member")
		mate.join(tb.inviteLink(), "Maximilian Wolfgang Oberhuber-"+l.lang[:2], group)
		tb.typeInto("#issue-key", "PAY-2027-checkout-rounding")
		tb.typeInto("#issue-description", "Checkout rounds the total twice: https://tracker.example.com/browse/PAY-2027")
		tb.click(`#add-issue button[type="submit"]`)
		tb.waitVisible(testID("issue-row"))
		tb.open("/account")
		tb.do(chromedp.SetValue(chromedp.CSS(testID("language-select")), l.lang))
		tb.click(testID("language-save"))
		tb.waitText("h1", l.account, 5*time.Second)
		if got := run(tb, chromedp.Evaluate[string](`document.documentElement.lang`)); got != l.lang {
			t.Errorf("%s: <html lang=%q> after choosing it", l.lang, got)
		}
		for _, page := range []string{"/", "/account", "/confirm-logout", gp} {
			tb.open(page)
			if got := tb.text(testID("nav-my-groups")); got != l.myGroups {
				t.Errorf("%s %s: the navigation says %q, want %q", l.lang, page, got, l.myGroups)
			}
			// Times are written again by app.js in the viewer's zone, in the
			// page's language and shape.
			for _, tm := range tb.texts("time") {
				if strings.Contains(tm, "<no value>") || strings.Contains(tm, "{{") || !strings.Contains(tm, "2026") && !strings.Contains(tm, "2027") {
					t.Errorf("%s %s: a time reads %q", l.lang, page, tm)
				}
			}
			for _, v := range []variant{variants[0], variants[3], variants[4], narrowest} {
				tb.show(v)
				what := fmt.Sprintf("%s %s at %s", l.lang, page, v.name)
				if *shotsDir != "" {
					tb.screenshot(filepath.Join(*shotsDir, fmt.Sprintf("lang-%s-%s-%s.png", l.lang, slug(page), v.name)))
				}
				lf := tb.layout()
				// At 320 px only the navigation must fit (as in TestEveryPage).
				if v != narrowest && lf.ScrollWidth > lf.InnerWidth {
					t.Errorf("%s: the page is %d px wide in a %d px window; widest: %s", what, lf.ScrollWidth, lf.InnerWidth, strings.Join(lf.Widest, "; "))
				}
				if lf.NavRows > 1 || lf.NavRight > lf.InnerWidth {
					t.Errorf("%s: the navigation takes %d rows and reaches %d px", what, lf.NavRows, lf.NavRight)
				}
				if v != narrowest {
					for _, viol := range tb.axe(src) {
						t.Errorf("%s: axe %s (%s): %s\n\t%s", what, viol.ID, viol.Impact, viol.Help, strings.Join(viol.Nodes, "\n\t"))
					}
				}
			}
		}
		tb.noPageErrors()
		// The group page as the server writes it, before a live update
		// replaces its parts: every part of it in the language, and it fits.
		tb.javaScriptOff()
		tb.open(gp)
		if got := tb.text(testID("group-summary")); strings.Contains(got, "members") || strings.Contains(got, "you are") {
			t.Errorf("%s: the group page's summary reads %q", l.lang, got)
		}
		// Scripts on again for measuring: the page loaded without them, so
		// htmx never ran and no live update comes.
		tb.scripts(true)
		for _, v := range []variant{variants[0], variants[2]} {
			tb.show(v)
			if *shotsDir != "" {
				tb.screenshot(filepath.Join(*shotsDir, fmt.Sprintf("lang-%s-group-nojs-%s.png", l.lang, v.name)))
			}
			if lf := tb.layout(); lf.ScrollWidth > lf.InnerWidth {
				t.Errorf("%s group page without JavaScript at %s: %d px wide in a %d px window; widest: %s", l.lang, v.name, lf.ScrollWidth, lf.InnerWidth, strings.Join(lf.Widest, "; "))
			}
		}
	}
}
