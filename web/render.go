package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"
	// Same API and output format as compress/gzip; at BestSpeed it compresses
	// the 4.6 KB "My Groups" page in ~19 µs where compress/gzip took ~25 µs.
	"github.com/klauspost/compress/gzip"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var gzPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// GzipMin is the smallest body worth compressing.
const GzipMin = 1024

// Pages renders the app's pages and fragments with what every page shows: the
// user, the asset URLs, the public base URL and the one-time notice.
type Pages struct {
	// Asset is the cache-busted URL of an asset.
	Asset func(name string) string
	// PublicURL is the public scheme://host for links people copy; "" takes
	// it from each request (https when Secure: the app is behind TLS).
	PublicURL string
	Secure    bool
	// User is the request's user (signin.User).
	User func(*gin.Context) store.User
	Log  *slog.Logger
}

// Page renders a full page: it takes the one-time notice out of the session.
func (p *Pages) Page(c *gin.Context, status int, comp templ.Component) {
	info := p.Info(c)
	if n, isErr := p.PopNotice(c); n != "" {
		info.Notice, info.NoticeError = n, isErr
	}
	Render(c, status, comp, info)
}

// Fragment renders a piece of a page for htmx to swap. The answer to an action
// (a POST) also empties the notice area: a message left by an earlier request
// ("Issue … was added.") must not stand above this one's result.
func (p *Pages) Fragment(c *gin.Context, status int, comp templ.Component) {
	if c.Request.Method == http.MethodPost {
		comp = views.ActionDone(comp, "")
	}
	Render(c, status, comp, p.Info(c))
}

// ActionDone answers an htmx action with what it changed and its own notice.
func (p *Pages) ActionDone(c *gin.Context, comp templ.Component, notice string) {
	Render(c, http.StatusOK, views.ActionDone(comp, notice), p.Info(c))
}

// Info is what every page needs: the user, asset URLs, the public base URL.
func (p *Pages) Info(c *gin.Context) *views.Page {
	u := p.User(c)
	return &views.Page{User: u, Asset: p.Asset, BaseURL: p.BaseURL(c), Lang: PageLang(c, u)}
}

// PageLang is the language of the answer: the person's own choice, else the
// browser's Accept-Language (every answer says it varies with it: ReadHTMX).
func PageLang(c *gin.Context, u store.User) i18n.Lang {
	return i18n.Negotiate(i18n.Lang(u.Lang), c.GetHeader("Accept-Language"))
}

// BaseURL is the public scheme://host of the app, as people reach it.
func (p *Pages) BaseURL(c *gin.Context) string {
	if p.PublicURL != "" {
		return p.PublicURL
	}
	scheme := "http://"
	if c.Request.TLS != nil || p.Secure {
		scheme = "https://"
	}
	return scheme + c.Request.Host
}

// Render renders into a buffer first, so a failed render never sends half a
// page with a 200; then writes status, type and body (gzipped when worth it).
func Render(c *gin.Context, status int, comp templ.Component, p *views.Page) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	ctx := views.WithPage(c.Request.Context(), p)
	if err := comp.Render(ctx, buf); err != nil {
		Fail(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	WriteBody(c, status, buf.Bytes())
}

// Rendered is a page rendered once, and its gzip form made when first asked.
type Rendered struct {
	body   []byte
	gzOnce sync.Once
	gz     []byte
}

func (r *Rendered) gzipped() []byte {
	r.gzOnce.Do(func() {
		var out bytes.Buffer
		zw := gzPool.Get().(*gzip.Writer)
		zw.Reset(&out)
		zw.Write(r.body)
		zw.Close()
		gzPool.Put(zw)
		r.gz = out.Bytes()
	})
	return r.gz
}

// RenderKept is Render for a page worth keeping: it returns the rendered
// page (nil when the render failed and the error was answered).
func RenderKept(c *gin.Context, status int, comp templ.Component, p *views.Page) *Rendered {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := comp.Render(views.WithPage(c.Request.Context(), p), buf); err != nil {
		Fail(c, err)
		return nil
	}
	r := &Rendered{body: bytes.Clone(buf.Bytes())}
	WriteRendered(c, status, r)
	return r
}

// WriteRendered answers with a rendered page as WriteBody would.
func WriteRendered(c *gin.Context, status int, r *Rendered) {
	c.Writer.Header().Set("Content-Type", "text/html; charset=utf-8")
	if len(r.body) >= GzipMin && AcceptsGzip(c.Request) && c.Request.Method != http.MethodHead && !c.GetBool(identityKey) {
		h := c.Writer.Header()
		h.Add("Vary", "Accept-Encoding")
		gz := r.gzipped()
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(gz)))
		c.Status(status)
		c.Writer.Write(gz)
		return
	}
	WriteBody(c, status, r.body)
}

// identityKey marks an answer that is never compressed: one whose length must
// not depend on what it says (a person's own estimate).
const identityKey = "estimator.identity"

// SendUncompressed makes this request's answer go out uncompressed.
func SendUncompressed(c *gin.Context) { c.Set(identityKey, true) }

// WriteBody writes a text body, gzip-compressed when the client takes it.
func WriteBody(c *gin.Context, status int, body []byte) {
	h := c.Writer.Header()
	h.Add("Vary", "Accept-Encoding")
	if len(body) >= GzipMin && AcceptsGzip(c.Request) && c.Request.Method != http.MethodHead && !c.GetBool(identityKey) {
		out := bufPool.Get().(*bytes.Buffer)
		out.Reset()
		defer bufPool.Put(out)
		zw := gzPool.Get().(*gzip.Writer)
		zw.Reset(out)
		zw.Write(body)
		zw.Close()
		gzPool.Put(zw)
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(out.Len()))
		c.Status(status)
		c.Writer.Write(out.Bytes())
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(status)
	if c.Request.Method != http.MethodHead {
		c.Writer.Write(body)
	}
}

// WriteBodyParts is WriteBody for a body kept in parts (a kept page around
// what is new in each answer).
func WriteBodyParts(c *gin.Context, status int, parts ...[]byte) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	for _, p := range parts {
		buf.Write(p)
	}
	WriteBody(c, status, buf.Bytes())
}

// AcceptsGzip reports whether the client takes a gzip-compressed answer.
func AcceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(q), "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				return err == nil && f > 0
			}
			return true
		}
	}
	return false
}
