package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// The store's rules (a nickname, a vote, a deck, an import's rows) answer a
// German or French browser in its language, as precisely as in English: the
// number, the card and the line named, in the language's quotes.
func TestRuleMessagesSpeakTheBrowsersLanguage(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Größenwahn-Schätzrunde Q3", "Olga-Petrowna_Schätzerin.2026")
	iid := tm.owner.addIssue(tm.gid, "SHOP-1042", "Checkout: Adressvalidierung für Lieferungen nach Österreich")
	cases := []struct {
		accept                                     string
		nickname, vote, card, twice, importProblem string
	}{
		{"de-DE,de;q=0.9",
			"Ein Spitzname hat mindestens 2 Zeichen.",
			"Gib eine Zahl von 1 bis 100 ein.",
			"„0“ ist keine Karte: Verwende ganze Zahlen von 1 bis 100, durch Kommas getrennt.",
			"3 kommt zweimal vor: Jede Karte muss anders sein.",
			"Zeile 4: Der Schlüssel „shop-7“ steht schon in Zeile 2; Schlüssel sind in einer Gruppe eindeutig (ohne Rücksicht auf Groß- und Kleinschreibung)."},
		{"fr-FR,fr;q=0.9",
			"Un pseudo compte au moins 2 caractères.",
			"Saisissez un nombre de 1 à 100.",
			"« 0 » n’est pas une carte : utilisez des nombres entiers de 1 à 100, séparés par des virgules.",
			"3 y figure deux fois : chaque carte doit être différente.",
			"Ligne 4 : la clé « shop-7 » figure déjà ligne 2 ; les clés sont uniques dans un groupe (sans tenir compte de la casse)."},
		{"en-GB",
			"A nickname has at least 2 characters.",
			"Enter a number from 1 to 100.",
			"“0” is not a card: use whole numbers from 1 to 100, separated by commas.",
			"3 is there twice: every card must be different.",
			"Line 4: key “shop-7” is already on line 2; keys are unique within a group (ignoring case)."},
	}
	for _, tc := range cases {
		t.Run(tc.accept, func(t *testing.T) {
			anon := ta.client().with("Accept-Language", tc.accept)
			r := anon.post("/login", url.Values{"nickname": {"Ö"}}).wantStatus(http.StatusUnprocessableEntity)
			if got := r.text("nickname-error"); got != tc.nickname {
				t.Errorf("nickname of one letter: %q, want %q", got, tc.nickname)
			}

			owner := tm.owner.with("Accept-Language", tc.accept)
			r = owner.plain().post(fmt.Sprintf("/issues/%d/estimate", iid), url.Values{"estimate": {"150"}}).wantStatus(http.StatusUnprocessableEntity)
			if got := r.text("estimate-error"); got != tc.vote {
				t.Errorf("a vote of 150: %q, want %q", got, tc.vote)
			}

			settings := fmt.Sprintf("/groups/%d/settings", tm.gid)
			r = owner.post(settings, url.Values{"deck": {"custom"}, "cards": {"0, 1, 2"}, "timer": {"0"}}).wantStatus(http.StatusUnprocessableEntity)
			if got := r.text("cards-error"); got != tc.card {
				t.Errorf("a custom deck with 0: %q, want %q", got, tc.card)
			}
			r = owner.post(settings, url.Values{"deck": {"custom"}, "cards": {"1, 3, 3, 5"}, "timer": {"0"}}).wantStatus(http.StatusUnprocessableEntity)
			if got := r.text("cards-error"); got != tc.twice {
				t.Errorf("a custom deck with 3 twice: %q, want %q", got, tc.twice)
			}

			rows := "key,description\nSHOP-7,Warenkorb leeren\nSHOP-8,Gutscheincode\nshop-7,Doppelt\n"
			r = owner.postMultipart(importPath(tm.gid), map[string]string{"rows": rows}, nil).wantStatus(http.StatusUnprocessableEntity)
			if p := r.texts("import-problem"); len(p) != 1 || p[0] != tc.importProblem {
				t.Errorf("an import with a key twice: %q, want %q", p, tc.importProblem)
			}
			if got := ta.issueKeys(tm.gid); len(got) != 1 {
				t.Fatalf("a refused import changed the issues: %q", got)
			}
		})
	}
}
