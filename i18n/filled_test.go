package i18n

import (
	"slices"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// F fills the messages whose placeholders are all {{.Name}} itself; what it
// writes is what go-i18n's template writes, for every such message of every
// language, with text and numbers as the pages pass them (a 32-character
// nickname with markup-like and template-like characters, a hyphenated key,
// a number) and with a placeholder left out.
func TestFilledMessagesReadAsTheirTemplates(t *testing.T) {
	c := get()
	values := []any{"Zoë-O'Brien <b>&amp; {{.X}}</b> 32c", "PLAT-1234-api-gateway", 42, int64(-7), 2.5}
	n := 0
	for _, l := range Langs {
		if len(c.filled[l]) == 0 {
			t.Fatalf("%s: no message is filled without a template", l)
		}
		for id, ps := range c.filled[l] {
			var names []string
			for _, p := range ps {
				if p.name != "" {
					names = append(names, p.name)
				}
			}
			for vi := range values {
				data := map[string]any{}
				for i, name := range names {
					data[name] = values[(vi+i)%len(values)]
				}
				want, err := c.loc[l].Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
				if err != nil {
					t.Fatalf("%s %s: %v", l, id, err)
				}
				if got := l.F(id, data); got != want {
					t.Errorf("%s %s: F writes %q, the template %q", l, id, got, want)
				}
				n++
			}
			if len(names) > 0 {
				want, _ := c.loc[l].Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: map[string]any{}})
				if got := l.F(id, map[string]any{}); got != want {
					t.Errorf("%s %s without data: F writes %q, the template %q", l, id, got, want)
				}
			}
		}
	}
	t.Logf("%d messages filled and compared", n)
}

func TestPiecesTakeOnlyPlainPlaceholders(t *testing.T) {
	for msg, ok := range map[string]bool{
		"{{.Name}} voted":            true,
		"{{ .Name }} and {{.Other}}": true,
		"no placeholder":             true,
		"{{if .X}}x{{end}}":          false,
		"{{.Name | printf \"%q\"}}":  false,
		"{{.A.B}}":                   false,
		"a }} b {{.Name}}":           false,
	} {
		if _, got := pieces(msg); got != ok {
			t.Errorf("pieces(%q) ok = %v, want %v", msg, got, ok)
		}
	}
}

// N fills the messages with plural forms itself, in the form go-i18n picks
// for the count; what it writes is what go-i18n writes, for every such
// message of every language, counts from 0 to 130 and a few far beyond (the
// forms of French, Spanish and Portuguese for a million), negative ones, and
// the page's values, with a placeholder left out too.
func TestCountedMessagesReadAsTheirTemplates(t *testing.T) {
	c := get()
	counts := []int{-1, -2, 999, 1000, 1001, 1023, 1024, 1025, 21000, 1_000_000, 2_000_000, 1_100_000}
	for n := range 131 {
		counts = append(counts, n)
	}
	values := []any{"Zoë-O'Brien <b>&amp; {{.X}}</b> 32c", "PLAT-1234-api-gateway", "1,024"}
	compared := 0
	for _, l := range Langs {
		if len(c.counted[l]) == 0 {
			t.Fatalf("%s: no message with plural forms is filled without a template", l)
		}
		for id, forms := range c.counted[l] {
			var names []string
			for _, ps := range forms {
				for _, p := range ps {
					if p.name != "" && p.name != "Count" && !slices.Contains(names, p.name) {
						names = append(names, p.name)
					}
				}
			}
			for vi := range len(values) + 1 {
				data := map[string]any{}
				for i, name := range names {
					if vi < len(values) {
						data[name] = values[(vi+i)%len(values)]
					}
				}
				for _, n := range counts {
					d := map[string]any{"Count": l.Int(n)}
					for k, v := range data {
						d[k] = v
					}
					want, err := c.loc[l].Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: n})
					if err != nil {
						want = id
					}
					// Twice: the form of a small count is remembered.
					for range 2 {
						if got := l.N(id, n, data); got != want {
							t.Fatalf("%s %s, count %d: N writes %q, the template %q", l, id, n, got, want)
						}
					}
					compared++
				}
			}
		}
	}
	t.Logf("%d counts of messages compared", compared)
}

// BenchmarkN is a counted message as the room writes it on every frame: the
// votes so far of the voters.
func BenchmarkN(b *testing.B) {
	for _, l := range []Lang{EN, FR} {
		b.Run(string(l), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l.N("voted", i%12, map[string]any{"Total": "12"})
				i++
			}
		})
	}
}
