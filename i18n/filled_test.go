package i18n

import (
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
