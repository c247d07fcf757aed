package views

import (
	"reflect"
	"testing"
)

func TestLinkPartsLinksOnlyWebAddresses(t *testing.T) {
	t.Parallel()
	link := func(a string) textPart { return textPart{Text: a, Href: a} }
	text := func(s string) textPart { return textPart{Text: s} }
	for _, tc := range []struct {
		in   string
		want []textPart
	}{
		{"", nil},
		{"no address here", []textPart{text("no address here")}},
		{"https://x.io", []textPart{link("https://x.io")}},
		{"see https://x.io/a).", []textPart{text("see "), link("https://x.io/a"), text(").")}},
		{"(spec: https://x.io/a?b=1&c=2#d)", []textPart{text("(spec: "), link("https://x.io/a?b=1&c=2#d"), text(")")}},
		{"https://en.wikipedia.org/wiki/Go_(game), then", []textPart{link("https://en.wikipedia.org/wiki/Go_(game)"), text(", then")}},
		{"Runbook: http://wiki.example.com/x/Ab12.", []textPart{text("Runbook: "), link("http://wiki.example.com/x/Ab12"), text(".")}},
		{"two: https://a.io, https://b.io!", []textPart{text("two: "), link("https://a.io"), text(", "), link("https://b.io"), text("!")}},
		{"HTTPS://X.IO/Path", []textPart{link("HTTPS://X.IO/Path")}},
		{"line one\nhttps://x.io/a\nline three", []textPart{text("line one\n"), link("https://x.io/a"), text("\nline three")}},
		// Quotes and angle brackets end an address: they never reach an attribute.
		{`"https://x.io/a"onmouseover="alert(1)"`, []textPart{text(`"`), link("https://x.io/a"), text(`"onmouseover="alert(1)"`)}},
		{"<https://x.io/a><script>", []textPart{text("<"), link("https://x.io/a"), text("><script>")}},
		{"'https://x.io/a'", []textPart{text("'"), link("https://x.io/a"), text("'")}},
		// Other schemes stay text.
		{"javascript:alert(1)", []textPart{text("javascript:alert(1)")}},
		{"JavaScript://x.io/%0Aalert(1)", []textPart{text("JavaScript://x.io/%0Aalert(1)")}},
		{"data:text/html;base64,PHNjcmlwdD4=", []textPart{text("data:text/html;base64,PHNjcmlwdD4=")}},
		{"mailto:a@b.io ftp://x.io", []textPart{text("mailto:a@b.io ftp://x.io")}},
		// Half an address, one hidden in a word, or one with a user: text.
		{"https:// nothing", []textPart{text("https:// nothing")}},
		{"https://", []textPart{text("https://")}},
		{"xhttps://x.io", []textPart{text("xhttps://x.io")}},
		{"https://bank.example@evil.example/", []textPart{text("https://bank.example@evil.example/")}},
		{"https://x.io/%zz", []textPart{text("https://x.io/%zz")}},
		{"ünïcode https://例え.jp/パス done", []textPart{text("ünïcode "), link("https://例え.jp/パス"), text(" done")}},
	} {
		if got := linkParts(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("linkParts(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// Whatever the text, the parts put it back together, and every link is an
// http or https address without a quote or an angle bracket.
func FuzzLinkParts(f *testing.F) {
	for _, s := range []string{"see https://x.io/a).", `"https://x.io"<b>`, "javascript:alert(1)", "https://(x).io/))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var joined string
		for _, p := range linkParts(s) {
			joined += p.Text
			if p.Href == "" {
				continue
			}
			if p.Href != p.Text || !webAddress(p.Href) {
				t.Fatalf("link %q from %q", p.Href, s)
			}
			for _, c := range "<>\"'` \n" {
				for _, h := range p.Href {
					if h == c {
						t.Fatalf("link %q from %q holds %q", p.Href, s, c)
					}
				}
			}
		}
		if joined != s {
			t.Fatalf("parts of %q join to %q", s, joined)
		}
	})
}
