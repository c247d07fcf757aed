package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// htmlLang is the page's <html lang>.
func htmlLang(r *response) string {
	i := strings.Index(r.body, "<html lang=\"")
	if i < 0 {
		return ""
	}
	rest := r.body[i+len("<html lang=\""):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestThePageSpeaksTheBrowsersLanguageAndSaysItVaries(t *testing.T) {
	ta := newTestApp(t)
	cases := []struct{ accept, lang, myGroups string }{
		{"", "en", "My Groups"},
		{"de-AT,de;q=0.9,en;q=0.5", "de", "Meine Gruppen"},
		{"fr-CA", "fr", "Mes groupes"},
		{"es-419,es;q=0.9", "es", "Mis grupos"},
		{"pt-PT", "pt-BR", "Meus grupos"},
		{"ja,zh-CN;q=0.8", "en", "My Groups"},
	}
	c := ta.signedIn("Größenwahn-Schätzerin_2026.TeamA")
	for _, tc := range cases {
		r := c.with("Accept-Language", tc.accept).get("/").wantStatus(http.StatusOK)
		if got := htmlLang(r); got != tc.lang {
			t.Errorf("Accept-Language %q: <html lang=%q>, want %q", tc.accept, got, tc.lang)
		}
		if got := r.text("nav-my-groups"); got != tc.myGroups {
			t.Errorf("Accept-Language %q: nav says %q, want %q", tc.accept, got, tc.myGroups)
		}
		if v := strings.Join(r.header.Values("Vary"), ","); !strings.Contains(v, "Accept-Language") {
			t.Errorf("Accept-Language %q: Vary %q does not name Accept-Language", tc.accept, v)
		}
	}
	// Signed out too, and an error page.
	anon := ta.client().with("Accept-Language", "de")
	if r := anon.get("/login"); htmlLang(r) != "de" {
		t.Errorf("the sign-in page for a German browser is in %q", htmlLang(r))
	}
	if r := anon.get("/no-such-page"); htmlLang(r) != "de" {
		t.Errorf("a 404 page for a German browser is in %q", htmlLang(r))
	}
}

func TestAPersonsLanguageChoiceWinsOverTheBrowserAndStaysWithTheAccount(t *testing.T) {
	ta := newTestApp(t)
	nick := "Joana-da-Silva_Planejamento.2026"
	phone := ta.signedIn(nick).with("Accept-Language", "en-US")
	phone.post("/account/language", url.Values{"lang": {"pt-BR"}}).wantRedirect("/account")
	r := phone.get("/account").wantStatus(http.StatusOK)
	if htmlLang(r) != "pt-BR" || r.text("nav-my-groups") != "Meus grupos" {
		t.Fatalf("after choosing pt-BR: lang %q, nav %q", htmlLang(r), r.text("nav-my-groups"))
	}
	if got := r.text("notice"); got != "Idioma salvo." {
		t.Errorf("the notice is %q, want it in the language just chosen", got)
	}
	if v, _ := r.selected("language-select"); v != "pt-BR" {
		t.Errorf("the chooser shows %q as chosen", v)
	}
	// Another device of the same person, with a German browser.
	laptop := phone.linkedDevice().with("Accept-Language", "de-DE")
	if r := laptop.get("/"); htmlLang(r) != "pt-BR" {
		t.Errorf("the account's language did not follow the person to another browser: %q", htmlLang(r))
	}
	// Back to following the browser.
	phone.post("/account/language", url.Values{"lang": {""}}).wantRedirect("/account")
	if r := laptop.get("/"); htmlLang(r) != "de" {
		t.Errorf("after choosing the browser's language: %q", htmlLang(r))
	}
}

func TestABadLanguageIs422AndChangesNothing(t *testing.T) {
	ta := newTestApp(t)
	c := ta.signedIn("Planungsrunde-Moderatorin-Berlin")
	c.post("/account/language", url.Values{"lang": {"fr"}}).wantRedirect("/account")
	for _, bad := range []string{"xx", "EN", "pt", "pt-br", "de-DE", "en ", "<script>alert(1)</script>", strings.Repeat("d", 5000)} {
		r := c.with("Accept-Language", "de").post("/account/language", url.Values{"lang": {bad}})
		r.wantStatus(http.StatusUnprocessableEntity)
		if strings.Contains(r.body, "<script>alert") {
			t.Errorf("lang %q is echoed unescaped", bad)
		}
	}
	if got := ta.user("Planungsrunde-Moderatorin-Berlin").Lang; got != "fr" {
		t.Errorf("after bad values the language is %q, want fr kept", got)
	}
	// Signed out: the form is kept and the person asked to sign in, as for
	// every other form; nothing changes meanwhile.
	anon := ta.client()
	r := anon.post("/account/language", url.Values{"lang": {"es"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("signed out: %d to %q", r.status, r.location())
	}
}

// selected is the value of the chosen option of the select with testid.
func (r *response) selected(testid string) (string, bool) {
	for _, sel := range r.all(testid) {
		for n := sel.FirstChild; n != nil; n = n.NextSibling {
			if n.Data != "option" {
				continue
			}
			var val string
			chosen := false
			for _, a := range n.Attr {
				switch a.Key {
				case "value":
					val = a.Val
				case "selected":
					chosen = true
				}
			}
			if chosen {
				return val, true
			}
		}
	}
	return "", false
}

func TestErrorsAndNoticesSpeakThePersonsLanguage(t *testing.T) {
	ta := newTestApp(t)
	de := ta.signedIn("Friederike Schätzer-Großmann 123").with("Accept-Language", "de-CH")
	r := de.get("/groups/999999").wantStatus(http.StatusNotFound)
	if got := r.text("error"); !strings.Contains(got, "Nicht gefunden") || !strings.Contains(got, "Zur Startseite") {
		t.Errorf("a 404 page for a German browser reads %q", got)
	}
	frag := de.htmxFrom("/").get("/groups/999999").wantStatus(http.StatusNotFound)
	if got := frag.text("notice"); got != "Hier gibt es nichts, oder es ist für dich nicht sichtbar." {
		t.Errorf("a 404 fragment for a German browser reads %q", got)
	}
	// The English message stays what the log and Error say.
	if got := ta.logs.String(); strings.Contains(got, "Nicht gefunden") {
		t.Errorf("the log speaks the visitor's language: %s", got)
	}

	nick := "Séverine Lefèvre-Dubois-Château1"
	ta.signedIn(nick)
	fr := ta.client().with("Accept-Language", "fr-FR")
	r = fr.post("/login", url.Values{"nickname": {nick}}).wantStatus(http.StatusUnprocessableEntity)
	if got := r.text("nickname-error"); !strings.HasPrefix(got, "« "+nick+" » est déjà pris.") {
		t.Errorf("a taken nickname for a French browser reads %q", got)
	}

	es := ta.signedIn("María José Fernández-Castañeda 1").with("Accept-Language", "es-ES")
	es.post("/account/signout-everywhere", nil)
	if got := es.get("/").text("notice"); got != "Cerraste sesión aquí y en todos tus demás dispositivos." {
		t.Errorf("the notice after signing out everywhere reads %q for a Spanish browser", got)
	}
}
