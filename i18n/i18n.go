// Package i18n is the languages the interface speaks: the message files a
// translator edits (locales/<lang>.toml and locales/<area>.<lang>.toml,
// go-i18n's format with CLDR plural forms),
// the choice of a language from the person's setting or Accept-Language, and
// numbers and dates written the way each language writes them.
//
// Message IDs are stable English-free names ("nav.my_groups"); English is the
// reference file, and every other file must have every ID with the same
// placeholders (TestEveryLanguageHasEveryMessage).
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Lang is a language of the interface, by its BCP 47 tag as route values and
// the account keep it: "en", "de", "fr", "es", "pt-BR".
type Lang string

// The languages the interface speaks. English is the fallback.
const (
	EN   Lang = "en"
	DE   Lang = "de"
	FR   Lang = "fr"
	ES   Lang = "es"
	PTBR Lang = "pt-BR"
)

// Langs lists the languages in the order a chooser offers them.
var Langs = []Lang{EN, DE, FR, ES, PTBR}

//go:embed locales/*.toml
var files embed.FS

// catalog is every language's messages, loaded once.
type catalog struct {
	bundle *goi18n.Bundle
	// plain holds the messages that are one fixed text (no placeholder, no
	// plural): most of them, served without running a template.
	plain map[Lang]map[string]string
	// filled holds the messages whose placeholders are all plain
	// {{.Name}}, with no plural: F fills them in without running a template
	// (the same text: TestFilledMessagesReadAsTheirTemplates).
	filled map[Lang]map[string][]piece
	// counted holds the messages with plural forms whose every form has
	// only plain placeholders: N picks the form go-i18n would (formOf) and
	// fills it in (TestCountedMessagesReadAsTheirTemplates).
	counted map[Lang]map[string]map[string][]piece
	// forms remembers the plural form of each small count, per language
	// (index in Langs): 0 unknown, else 1 + the index in pluralForms.
	forms [][formsKept]atomic.Uint32
	loc   map[Lang]*goi18n.Localizer
	// ids is every message ID of each file, for the completeness test.
	msgs    map[Lang]map[string]*goi18n.Message
	printer map[Lang]*message.Printer
	months  map[Lang][]string
}

var (
	loadOnce sync.Once
	cat      *catalog
	loadErr  error
	matcher  = language.NewMatcher(tags())
)

func tags() []language.Tag {
	ts := make([]language.Tag, len(Langs))
	for i, l := range Langs {
		ts[i] = language.MustParse(string(l))
	}
	return ts
}

// Load reads the message files; main calls it at start so that a broken file
// stops the server before it serves. Every other function loads on first use
// and panics on a broken file (the files are embedded: a test catches it).
func Load() error {
	loadOnce.Do(func() { cat, loadErr = load(files) })
	return loadErr
}

func get() *catalog {
	if err := Load(); err != nil {
		panic(err)
	}
	return cat
}

func load(fsys fs.FS) (*catalog, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &catalog{
		bundle:  b,
		plain:   map[Lang]map[string]string{},
		filled:  map[Lang]map[string][]piece{},
		counted: map[Lang]map[string]map[string][]piece{},
		forms:   make([][formsKept]atomic.Uint32, len(Langs)),
		loc:     map[Lang]*goi18n.Localizer{},
		msgs:    map[Lang]map[string]*goi18n.Message{},
		printer: map[Lang]*message.Printer{},
		months:  map[Lang][]string{},
	}
	names, err := fs.Glob(fsys, "locales/*.toml")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	for _, l := range Langs {
		c.msgs[l] = map[string]*goi18n.Message{}
		c.plain[l] = map[string]string{}
		c.filled[l] = map[string][]piece{}
		c.counted[l] = map[string]map[string][]piece{}
		found := false
		for _, name := range names {
			if fileLang(name) != l {
				continue
			}
			found = true
			raw, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("i18n: %w", err)
			}
			mf, err := b.ParseMessageFileBytes(raw, name)
			if err != nil {
				return nil, fmt.Errorf("i18n: %s: %w", name, err)
			}
			for _, m := range mf.Messages {
				if _, dup := c.msgs[l][m.ID]; dup {
					return nil, fmt.Errorf("i18n: %s: %q is in another file of %s too", name, m.ID, l)
				}
				c.msgs[l][m.ID] = m
				if m.One == "" && m.Few == "" && m.Many == "" && m.Two == "" && m.Zero == "" {
					if !strings.Contains(m.Other, "{{") {
						c.plain[l][m.ID] = m.Other
					} else if ps, ok := pieces(m.Other); ok {
						c.filled[l][m.ID] = ps
					}
				} else if fs, ok := formPieces(m); ok {
					c.counted[l][m.ID] = fs
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("i18n: no message file for %s (locales/%s.toml)", l, l)
		}
		name := path.Join("locales", string(l)+".toml")
		// The probe's forms are their own names: Localize with it says which
		// form a count takes in l, by go-i18n's own rules.
		probe := &goi18n.Message{ID: formProbe}
		for i, f := range pluralForms {
			*formField(probe, i) = f
		}
		if err := b.AddMessages(language.MustParse(string(l)), probe); err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		c.loc[l] = goi18n.NewLocalizer(b, string(l))
		c.printer[l] = message.NewPrinter(language.MustParse(string(l)))
		if ms := strings.Fields(c.plain[l]["date.months"]); len(ms) == 12 {
			c.months[l] = ms
		} else {
			return nil, fmt.Errorf("i18n: %s: date.months must name 12 months, separated by spaces", name)
		}
	}
	return c, nil
}

// fileLang is the language of a message file: the last part of its name
// before ".toml" ("pt-BR.toml", "room.pt-BR.toml"), so one language may
// have a file per area of the app.
func fileLang(name string) Lang {
	base := strings.TrimSuffix(path.Base(name), ".toml")
	if i := strings.LastIndex(base, "."); i >= 0 {
		base = base[i+1:]
	}
	return Lang(base)
}

// Parse reads a language as a form or the account gives it; ok is false for
// anything the interface does not speak.
func Parse(s string) (Lang, bool) {
	for _, l := range Langs {
		if s == string(l) {
			return l, true
		}
	}
	return "", false
}

// Negotiate is the language a page is written in: the person's own choice
// when they made one, else the best match of the browser's Accept-Language
// (German for "de-AT", Portuguese for "pt-PT" as well as "pt-BR"), else
// English.
func Negotiate(chosen Lang, acceptLanguage string) Lang {
	if l, ok := Parse(string(chosen)); ok {
		return l
	}
	if acceptLanguage == "" {
		return EN
	}
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return EN
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return EN
	}
	return Langs[i]
}

// Name is the language's name in itself, as a chooser shows it.
func (l Lang) Name() string { return get().plain[l.or()]["language.name"] }

func (l Lang) or() Lang {
	if _, ok := Parse(string(l)); ok {
		return l
	}
	return EN
}

// T is a message without placeholders.
func (l Lang) T(id string) string {
	c := get()
	if s, ok := c.plain[l.or()][id]; ok {
		return s
	}
	return l.F(id, nil)
}

// piece is a part of a message: its own text, or (name set) the value of a
// placeholder.
type piece struct{ text, name string }

var plainPlaceholder = regexp.MustCompile(`\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// pieces cuts a message into its text and its placeholders; ok is false
// when it holds template syntax other than {{.Name}}.
func pieces(msg string) (ps []piece, ok bool) {
	at := 0
	for _, m := range plainPlaceholder.FindAllStringSubmatchIndex(msg, -1) {
		if text := msg[at:m[0]]; text != "" {
			ps = append(ps, piece{text: text})
		}
		ps = append(ps, piece{name: msg[m[2]:m[3]]})
		at = m[1]
	}
	if at < len(msg) {
		ps = append(ps, piece{text: msg[at:]})
	}
	for _, p := range ps {
		if p.name == "" && (strings.Contains(p.text, "{{") || strings.Contains(p.text, "}}")) {
			return nil, false
		}
	}
	return ps, true
}

// F is a message with placeholders filled from data ({{.Name}} in the file).
func (l Lang) F(id string, data map[string]any) string {
	c := get()
	if ps, ok := c.filled[l.or()][id]; ok {
		var b strings.Builder
		for _, p := range ps {
			v, ok := data[p.name]
			writePiece(&b, p, v, ok)
		}
		return b.String()
	}
	s, err := c.loc[l.or()].Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		// Only a message missing from every file gets here: the tests
		// forbid it. The ID still tells a reader what was meant.
		return id
	}
	return s
}

// writePiece writes a piece of a message: its text, or the value v of its
// placeholder (ok: data has it), as the template writes it.
func writePiece(b *strings.Builder, p piece, v any, ok bool) {
	switch {
	case p.name == "":
		b.WriteString(p.text)
	case !ok || v == nil:
		b.WriteString("<no value>") // as the template writes it
	default:
		if s, isString := v.(string); isString {
			b.WriteString(s)
		} else {
			fmt.Fprint(b, v)
		}
	}
}

// N is a message that depends on a count, in the language's plural forms;
// {{.Count}} is the count written as the language writes numbers.
func (l Lang) N(id string, n int, data map[string]any) string {
	c := get()
	l = l.or()
	count := l.Int(n)
	if fs, ok := c.counted[l][id]; ok {
		if ps, ok := fs[c.formOf(l, n)]; ok {
			var b strings.Builder
			for _, p := range ps {
				if v, ok := data[p.name]; ok || p.name != "Count" {
					writePiece(&b, p, v, ok)
				} else {
					b.WriteString(count)
				}
			}
			return b.String()
		}
	}
	d := map[string]any{"Count": count}
	for k, v := range data {
		d[k] = v
	}
	s, err := c.loc[l].Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: n})
	if err != nil {
		return id
	}
	return s
}

// formProbe is the message whose forms say which form a count takes.
const formProbe = "i18n.plural_form_probe"

// pluralForms are CLDR's plural forms, as the probe's texts.
var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

// formField is a message's text of the form pluralForms[i].
func formField(m *goi18n.Message, i int) *string {
	return [...]*string{&m.Zero, &m.One, &m.Two, &m.Few, &m.Many, &m.Other}[i]
}

// formPieces cuts each plural form of m into pieces; ok is false when a form
// holds template syntax other than {{.Name}}.
func formPieces(m *goi18n.Message) (map[string][]piece, bool) {
	out := map[string][]piece{}
	for i, f := range pluralForms {
		text := *formField(m, i)
		if text == "" {
			continue
		}
		ps, ok := pieces(text)
		if !ok {
			return nil, false
		}
		out[f] = ps
	}
	return out, true
}

// formsKept: the forms of the counts 0 to 1023 are remembered.
const formsKept = 1024

// formOf is the plural form go-i18n gives the count n in l.
func (c *catalog) formOf(l Lang, n int) string {
	li := slices.Index(Langs, l)
	if n >= 0 && n < formsKept {
		if f := c.forms[li][n].Load(); f != 0 {
			return pluralForms[f-1]
		}
	}
	f, err := c.loc[l].Localize(&goi18n.LocalizeConfig{MessageID: formProbe, PluralCount: n})
	if i := slices.Index(pluralForms, f); err == nil && i >= 0 && n >= 0 && n < formsKept {
		c.forms[li][n].Store(uint32(i + 1))
	}
	return f
}

// Int writes a whole number with the language's digit grouping (1,000; 1.000).
func (l Lang) Int(n int) string {
	if n > -1000 && n < 1000 {
		// The common case on every page, without the printer.
		return fmt.Sprint(n)
	}
	return get().printer[l.or()].Sprint(number.Decimal(n))
}

// Number writes a number with at most prec decimals, in the language's way:
// 2.5 in English, 2,5 in German, French, Spanish and Portuguese.
func (l Lang) Number(f float64, prec int) string {
	return get().printer[l.or()].Sprint(number.Decimal(f, number.MaxFractionDigits(prec)))
}

// Fixed writes a number with exactly prec decimals ("8.0", "8,0"): a figure
// whose precision is part of what it says, like a round's average.
func (l Lang) Fixed(f float64, prec int) string {
	return get().printer[l.or()].Sprint(number.Decimal(f, number.MinFractionDigits(prec), number.MaxFractionDigits(prec)))
}

// DateTimePattern is the language's shape of a moment as the message file
// writes it, placeholders and all ("{{.Day}}. {{.Month}} {{.Year}}, {{.Time}}
// UTC"): app.js fills it in the viewer's own zone.
func (l Lang) DateTimePattern() string { return get().msgs[l.or()]["date.datetime"].Other }

// DateTime writes a moment as every page does: the day before the month, the
// month's short name, a 24-hour clock and the zone: "6 Dec 2026, 19:35 UTC",
// "6. Dez. 2026, 19:35 UTC".
func (l Lang) DateTime(t time.Time) string {
	t = t.UTC()
	c := get()
	l = l.or()
	return l.F("date.datetime", map[string]any{
		"Day":   t.Day(),
		"Month": c.months[l][t.Month()-1],
		"Year":  t.Year(),
		"Time":  t.Format("15:04"),
	})
}
