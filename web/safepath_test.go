package web

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzSafePath(f *testing.F) {
	for _, s := range []string{"/", "/groups/1", "//evil.com", "/\\evil", "/%2F%2Fx", "https://x", "javascript:x", "\t/x", "/a?b=c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, ok := SafePath(p)
		if !ok {
			if SafeNext(p) != "/" {
				t.Fatalf("refused %q but SafeNext kept it", p)
			}
			return
		}
		if got != p {
			t.Fatalf("SafePath changed %q to %q", p, got)
		}
		u, err := url.Parse(p)
		if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
			t.Fatalf("accepted %q which parses as %+v (%v)", p, u, err)
		}
		for dec := p; ; {
			if strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") || !strings.HasPrefix(dec, "/") {
				t.Fatalf("accepted %q which decodes to %q", p, dec)
			}
			next, err := url.PathUnescape(dec)
			if err != nil || next == dec {
				break
			}
			dec = next
		}
		// Resolved against this site, it stays on this site.
		base, _ := url.Parse("https://estimator.example/x/y")
		if ref := base.ResolveReference(u); ref.Host != base.Host {
			t.Fatalf("accepted %q which resolves to host %q", p, ref.Host)
		}
	})
}
