package web

import (
	"net/url"
	"strings"
	"unicode"
)

// maxPathLen bounds what is accepted as a redirect target.
const maxPathLen = 2048

// SafePath reports whether p is a path on this site that the app may send a
// browser to (next, HX-Current-URL, and every Location / HX-Redirect it sends):
// one leading "/" not followed by "/" or "\", no control characters or white
// space, and no scheme, host or opaque part — checked before and after decoding.
func SafePath(p string) (string, bool) {
	if len(p) == 0 || len(p) > maxPathLen {
		return "", false
	}
	decoded := p
	// Check the raw value and every decoding of it, so %2F%2F or %5C cannot turn
	// into "//" or "\" after someone decodes it once more.
	for range 3 {
		if !plainLocalPath(decoded) {
			return "", false
		}
		next, err := url.PathUnescape(decoded)
		if err != nil {
			return "", false
		}
		if next == decoded {
			break
		}
		decoded = next
	}
	if !plainLocalPath(decoded) {
		return "", false
	}
	return p, true
}

func plainLocalPath(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for _, r := range p {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' || r == unicode.ReplacementChar {
			return false
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return false
	}
	return !strings.HasPrefix(u.Path, "//")
}

// SafeNext is p when SafePath accepts it, "/" otherwise.
func SafeNext(p string) string {
	if s, ok := SafePath(p); ok {
		return s
	}
	return "/"
}
