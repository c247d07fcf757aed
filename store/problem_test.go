package store

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"estimator/i18n"
)

// Every rule's message reads whole in every language: no message ID shown
// instead of a text, no detail left empty, the language's own quotes where
// English quotes what was typed, and the number or character named kept.
func TestEveryRuleProblemReadsWholeInEveryLanguage(t *testing.T) {
	var ps []Problem
	nick := func(raw string) { _, p := CheckNickname(raw); ps = append(ps, p) }
	for _, raw := range []string{"\xff", " ", "Ö", strings.Repeat("Größenwahn", 4), "Ana\u3164", "\u0301Ana", "Ana!", "Ana" + strings.Repeat("\u0301", 6), "..", "Anа"} {
		nick(raw)
	}
	text := func(raw string) {
		_, p := CheckGroupName(raw)
		ps = append(ps, p)
		_, is := CheckIssue(raw, raw+strings.Repeat("d", IssueDescriptionMax+1))
		ps = append(ps, is["key"], is["description"])
		_, p = CheckNote(raw + strings.Repeat("n", NoteMax+1))
		ps = append(ps, p)
	}
	text("")
	text("\xff")
	text("A\u202e")
	text(strings.Repeat("K", GroupNameMax+1))
	_, is := CheckIssue("K", "\xff")
	ps = append(ps, is["description"])
	_, is = CheckIssue("K", "a\u200bb")
	ps = append(ps, is["description"])
	_, p := CheckNote("\xff")
	ps = append(ps, p)
	_, p = CheckNote("a\u200bb")
	ps = append(ps, p)
	for _, raw := range []string{"", "4.5", "1000", "x", "150", "?5"} {
		_, p := CheckVote(raw)
		ps = append(ps, p)
	}
	tshirt := builtinDecks[DeckTShirt]
	for _, raw := range []string{"", "XXXL"} {
		_, p := tshirt.CheckFinal(raw)
		ps = append(ps, p)
	}
	_, set := CheckSettings("runes", "", "yes", "3601")
	ps = append(ps, set["deck"], set["auto_reveal"], set["timer"])
	for _, cards := range []string{"0, 5", "3, 3", "5"} {
		_, set := CheckSettings(DeckCustom, cards, "", "")
		ps = append(ps, set["cards"])
	}
	_, errs := CheckImportRows([]ImportRow{
		{Line: 1, IssueInput: IssueInput{Key: " ", Description: "x"}},
		{Line: 2, IssueInput: IssueInput{Key: strings.Repeat("K", IssueKeyMax+1)}},
		{Line: 3, IssueInput: IssueInput{Key: "SHOP-1", Description: "a\u200bb"}},
		{Line: 4, IssueInput: IssueInput{Key: "SHOP-2"}},
		{Line: 5, IssueInput: IssueInput{Key: "shop-2"}},
		{Line: 6, IssueInput: IssueInput{Key: "OLD-1"}},
	}, map[string]string{NicknameKey("OLD-1"): "old-1"})
	for _, e := range errs {
		ps = append(ps, Problem{ID: "rule.import.line", Data: map[string]any{"Line": e.Line, "Problem": e.Problem}}, e.Problem)
	}
	ps = append(ps, Problem{ID: "rule.import.quote"}, Problem{ID: "rule.import.header"}, Problem{ID: "rule.import.too_many", Data: map[string]any{"Max": ImportMaxRows}})
	ps = append(ps, Problem{ID: "rule.nickname.unnamed"}, Problem{ID: "rule.nickname.refused", Data: map[string]any{"Name": "Ana!", "Problem": ps[6]}})

	for _, sc := range likelyScripts {
		ps = append(ps, problem("rule.script."+strings.ToLower(sc), nil))
	}

	// Every message of the rules' file is reached.
	raw, err := os.ReadFile("../i18n/locales/rules.en.toml")
	if err != nil {
		t.Fatal(err)
	}
	reached := map[string]bool{}
	for i, p := range ps {
		if p.OK() {
			t.Fatalf("an input meant to be refused was taken (problem %d)", i)
		}
		reached[p.ID] = true
	}
	for _, m := range regexp.MustCompile(`(?m)^"(rule\.[^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if !reached[m[1]] {
			t.Errorf("%s is not reached by this test", m[1])
		}
	}

	quotes := map[i18n.Lang]string{i18n.EN: "“", i18n.DE: "„", i18n.FR: "« ", i18n.ES: "«", i18n.PTBR: "“"}
	digits := regexp.MustCompile(`\d+`)
	for _, p := range ps {
		en := p.In(i18n.EN)
		if en != p.String() {
			t.Errorf("%s: String %q is not English %q", p.ID, p.String(), en)
		}
		for _, l := range i18n.Langs {
			s := p.In(l)
			if s == p.ID || strings.Contains(s, "<no value>") || strings.Contains(s, "{{") || strings.Contains(s, "rule.") {
				t.Errorf("%s in %s: %q", p.ID, l, s)
			}
			if strings.Contains(en, "“") && !strings.Contains(s, quotes[l]) {
				t.Errorf("%s in %s: %q lacks the language's quotes %q", p.ID, l, s, quotes[l])
			}
			for _, n := range digits.FindAllString(en, -1) {
				if !strings.Contains(s, n) {
					t.Errorf("%s in %s: %q lacks %s (English: %q)", p.ID, l, s, n, en)
				}
			}
		}
	}
}
