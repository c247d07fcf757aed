package i18n

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

var placeholder = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

func forms(m *goi18n.Message) []string {
	var fs []string
	for _, s := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
		if s != "" {
			fs = append(fs, s)
		}
	}
	return fs
}

func placeholders(m *goi18n.Message) []string {
	set := map[string]bool{}
	for _, f := range forms(m) {
		for _, p := range placeholder.FindAllStringSubmatch(f, -1) {
			set[p[1]] = true
		}
	}
	var ps []string
	for p := range set {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

func plural(m *goi18n.Message) bool { return m.One != "" || m.Few != "" || m.Many != "" }

// TestEveryLanguageHasEveryMessage is the translator's safety net: a message
// missing in a language, one a language has that English has not (a typo in
// an ID), a placeholder dropped or added, a plural message that became a plain
// one, or a form missing for a count, fails here and names the file and ID.
func TestEveryLanguageHasEveryMessage(t *testing.T) {
	c := get()
	en := c.msgs[EN]
	if len(en) < 10 {
		t.Fatalf("English has %d messages; the file was not read", len(en))
	}
	for _, l := range Langs {
		for id, ref := range en {
			m, ok := c.msgs[l][id]
			if !ok {
				t.Errorf("%s.toml: %q is missing", l, id)
				continue
			}
			if got, want := placeholders(m), placeholders(ref); !slices.Equal(got, want) {
				t.Errorf("%s.toml: %q has placeholders %v, English has %v", l, id, got, want)
			}
			// Each plural form has every placeholder but the count, which
			// a form for exactly one may spell out ("eine Gruppe").
			for _, f := range forms(m) {
				for _, p := range placeholders(ref) {
					if p != "Count" && !strings.Contains(f, "."+p) {
						t.Errorf("%s.toml: %q drops {{.%s}} in %q", l, id, p, f)
					}
				}
			}
			if plural(m) != plural(ref) {
				t.Errorf("%s.toml: %q is plural=%v, English plural=%v", l, id, plural(m), plural(ref))
			}
			if strings.TrimSpace(m.Other) == "" {
				t.Errorf("%s.toml: %q has no text", l, id)
			}
		}
		for id := range c.msgs[l] {
			if _, ok := en[id]; !ok {
				t.Errorf("%s.toml: %q is not in en.toml (a typo?)", l, id)
			}
		}
		for id, ref := range en {
			if !plural(ref) {
				continue
			}
			data := map[string]any{}
			for _, p := range placeholders(ref) {
				data[p] = "x"
			}
			for _, n := range []int{0, 1, 2, 3, 5, 11, 21, 101, 1000, 1000000} {
				if s := l.N(id, n, data); s == id || strings.Contains(s, "<no value>") {
					t.Errorf("%s: %q for %d is %q: a plural form is missing", l, id, n, s)
				}
			}
		}
	}
}

func TestAMissingPlaceholderIsFound(t *testing.T) {
	// The check above must be able to fail: a file that drops {{.Total}}.
	good := &goi18n.Message{ID: "voted", One: "{{.Count}} of {{.Total}} voted", Other: "{{.Count}} of {{.Total}} voted"}
	bad := &goi18n.Message{ID: "voted", One: "{{.Count}} hat geschätzt", Other: "{{.Count}} haben geschätzt"}
	if slices.Equal(placeholders(good), placeholders(bad)) {
		t.Fatal("a dropped placeholder is not told apart")
	}
}

func TestABrokenFileStopsTheStart(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, l := range Langs {
		raw, err := files.ReadFile("locales/" + string(l) + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		fsys["locales/"+string(l)+".toml"] = &fstest.MapFile{Data: raw}
	}
	if _, err := load(fsys); err != nil {
		t.Fatalf("the shipped files: %v", err)
	}
	// An area's own file of a language joins the language's messages; an ID
	// in two files of one language is refused.
	fsys["locales/room.de.toml"] = &fstest.MapFile{Data: []byte(`"room.extra" = "Zusatz"`)}
	c, err := load(fsys)
	if err != nil || c.msgs[DE]["room.extra"] == nil || c.msgs[DE]["nav.my_groups"] == nil {
		t.Fatalf("an area file of German: %v", err)
	}
	fsys["locales/room.de.toml"] = &fstest.MapFile{Data: []byte(`"nav.my_groups" = "Meine Gruppen"`)}
	if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), "room.de.toml") {
		t.Errorf("an ID in two German files: %v", err)
	}
	delete(fsys, "locales/room.de.toml")
	fsys["locales/de.toml"] = &fstest.MapFile{Data: []byte(`"nav.my_groups" = "Meine Gruppen`)}
	if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), "de.toml") {
		t.Errorf("an unclosed string in de.toml: %v", err)
	}
	delete(fsys, "locales/fr.toml")
	if _, err := load(fsys); err == nil {
		t.Error("a missing fr.toml loaded")
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		chosen Lang
		accept string
		want   Lang
	}{
		{"", "", EN},
		{"", "de-DE,de;q=0.9,en;q=0.8", DE},
		{"", "de-AT", DE},
		{"", "fr-CA,fr;q=0.9", FR},
		{"", "es-419", ES},
		{"", "es-MX,en;q=0.5", ES},
		{"", "pt-BR", PTBR},
		{"", "pt-PT,pt;q=0.9", PTBR},
		{"", "pt", PTBR},
		{"", "ja,zh;q=0.8", EN},
		{"", "en-GB", EN},
		{"", "nl;q=0.9,de;q=0.8", DE},
		{"", "*", EN},
		{"", "garbage;;q=x", EN},
		{"", "de;q=0.1,fr;q=0.9", FR},
		{FR, "de-DE", FR},
		{PTBR, "", PTBR},
		{"xx", "es", ES},
	}
	for _, c := range cases {
		if got := Negotiate(c.chosen, c.accept); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c.chosen, c.accept, got, c.want)
		}
	}
}

func TestParseTakesOnlyTheLanguagesSpoken(t *testing.T) {
	for _, l := range Langs {
		if got, ok := Parse(string(l)); !ok || got != l {
			t.Errorf("Parse(%q) = %q, %v", l, got, ok)
		}
	}
	for _, s := range []string{"", "EN", "de-DE", "pt", "pt-br", "xx", "en ", "<script>"} {
		if _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) took it", s)
		}
	}
}

func TestNumbersAndDatesFollowTheLanguage(t *testing.T) {
	at := time.Date(2026, 12, 6, 19, 35, 0, 0, time.UTC)
	cases := []struct {
		l                    Lang
		num, big, date, nums string
	}{
		{EN, "2.5", "12,345", "6 Dec 2026, 19:35 UTC", "3 of 5 voted"},
		{DE, "2,5", "12.345", "6. Dez. 2026, 19:35 UTC", "3 von 5 haben geschätzt"},
		{FR, "2,5", "12\u00a0345", "6 déc. 2026, 19:35 UTC", "3 sur 5 ont voté"},
		{ES, "2,5", "12.345", "6 dic 2026, 19:35 UTC", "3 de 5 han votado"},
		{PTBR, "2,5", "12.345", "6 de dez. de 2026, 19:35 UTC", "3 de 5 votaram"},
	}
	for _, c := range cases {
		if got := c.l.Number(2.5, 1); got != c.num {
			t.Errorf("%s Number(2.5) = %q, want %q", c.l, got, c.num)
		}
		if got := c.l.Int(12345); got != c.big {
			t.Errorf("%s Int(12345) = %q, want %q", c.l, got, c.big)
		}
		if got := c.l.DateTime(at); got != c.date {
			t.Errorf("%s DateTime = %q, want %q", c.l, got, c.date)
		}
		if got := c.l.N("voted", 3, map[string]any{"Total": 5}); got != c.nums {
			t.Errorf("%s voted(3) = %q, want %q", c.l, got, c.nums)
		}
	}
	if got := DE.N("voted", 1, map[string]any{"Total": 5}); got != "1 von 5 hat geschätzt" {
		t.Errorf("German singular: %q", got)
	}
	if got, want := DE.Fixed(8, 1), "8,0"; got != want {
		t.Errorf("DE.Fixed(8, 1) = %q, want %q: an average keeps its decimal", got, want)
	}
	if got, want := EN.Fixed(21, 1), "21.0"; got != want {
		t.Errorf("EN.Fixed(21, 1) = %q, want %q", got, want)
	}
	if got := EN.Number(3, 1); got != "3" {
		t.Errorf("a whole average is written without decimals: %q", got)
	}
	if got := Lang("xx").T("nav.my_groups"); got != "My Groups" {
		t.Errorf("an unknown language falls back to English: %q", got)
	}
}
