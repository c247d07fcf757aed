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
// room too, with an issue as long as a key may be and a description of long
// links, after the person's vote: its table, cards and backlog in the
// language; and the group page with a member (the owner's three buttons in a
// row) and the issue.
func TestEveryLanguageFitsAPhone(t *testing.T) {
	src, err := axeSource()
	if err != nil {
		t.Fatalf("reading the vendored axe-core: %v", err)
	}
	e := newEnvWithin(t, 6*time.Minute)
	langs := []struct{ lang, nick, mate, myGroups, account, revealed, voted string }{
		{"de", "Friederike Schätzer-Großmann 123", "Maximilian Wolfgang Oberhuber de", "Meine Gruppen", "Konto", "aufgedeckt", "2 von 2 haben geschätzt"},
		{"fr", "Séverine Lefèvre-Dubois-Château1", "Maximilian Wolfgang Oberhuber fr", "Mes groupes", "Compte", "révélé", "2 sur 2 ont voté"},
		{"es", "María José Fernández-Castañeda 1", "Maximilian Wolfgang Oberhuber es", "Mis grupos", "Cuenta", "revelado", "2 de 2 han votado"},
		{"pt-BR", "João Guilherme Conceição-Araújo1", "Maximilian Wolfgang Oberhuber pt", "Meus grupos", "Conta", "revelada", "2 de 2 votaram"},
	}
	const groupName = "Plattform-Zahlungsverkehr Q3/2027"
	for _, l := range langs {
		tb := e.person(l.lang)
		tb.signIn(l.nick)
		group := tb.createGroup(groupName)
		tb.open("/account")
		tb.do(chromedp.SetValue(chromedp.CSS(testID("language-select")), l.lang))
		tb.click(testID("language-save"))
		tb.waitText("h1", l.account, 5*time.Second)
		if got := run(tb, chromedp.Evaluate[string](`document.documentElement.lang`)); got != l.lang {
			t.Errorf("%s: <html lang=%q> after choosing it", l.lang, got)
		}
		tb.open(group)
		room := tb.addIssue(longKey, longLinks)
		link := tb.inviteLink()
		tb.vote(room, 5)
		// A teammate votes too, and the room is revealed: the result, its
		// figures and the longest words of the room on the felt.
		mate := e.person(l.lang + " mate")
		mate.join(link, l.mate, groupName)
		mate.vote(room, 8)
		tb.open(room)
		tb.click(testID("reveal"))
		tb.waitVisible(`[data-testid="status"][data-state="revealed"]`)
		for _, page := range []string{"/", "/account", "/confirm-logout", group, room} {
			tb.open(page)
			if page == group {
				if got := tb.text(testID("group-summary")); strings.Contains(got, "members") || strings.Contains(got, "you are") {
					t.Errorf("%s: the group page's summary reads %q", l.lang, got)
				}
			}
			if page == room {
				if got := tb.text(testID("state")); got != l.revealed {
					t.Errorf("%s: the room's state reads %q, want %q", l.lang, got, l.revealed)
				}
				if got := tb.text(testID("voted-count")); got != l.voted {
					t.Errorf("%s: the room's count reads %q, want %q", l.lang, got, l.voted)
				}
				// 5 and 8: every one of these languages writes a decimal comma.
				if got := tb.text(testID("result-average")); got != "6,5" {
					t.Errorf("%s: the room's average reads %q, want 6,5", l.lang, got)
				}
			}
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
					name := slug(page)
					switch {
					case page == "/":
						name = "my-groups"
					case page == room:
						name = "room"
					case page == group:
						name = "group"
					}
					tb.screenshot(filepath.Join(*shotsDir, fmt.Sprintf("lang-%s-%s-%s.png", l.lang, name, v.name)))
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
	}
}
