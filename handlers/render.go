package handlers

import (
	"bytes"
	"net/http"
	"slices"
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

// gzipMin is the smallest body worth compressing.
const gzipMin = 1024

// page renders a full page: it takes the one-time notice out of the session.
func (a *App) page(c *gin.Context, status int, comp templ.Component) {
	p := a.pageInfo(c)
	if n, isErr := a.popNotice(c); n != "" {
		p.Notice, p.NoticeError = n, isErr
	}
	a.renderWith(c, status, comp, p)
}

// fragment renders a piece of a page for htmx to swap. The answer to an action
// (a POST) also empties the notice area: a message left by an earlier request
// ("Issue … was added.") must not stand above this one's result.
func (a *App) fragment(c *gin.Context, status int, comp templ.Component) {
	if c.Request.Method == http.MethodPost {
		comp = views.ActionDone(comp, "")
	}
	a.renderWith(c, status, comp, a.pageInfo(c))
}

// actionDone answers an htmx action with what it changed and its own notice.
func (a *App) actionDone(c *gin.Context, comp templ.Component, notice string) {
	a.renderWith(c, http.StatusOK, views.ActionDone(comp, notice), a.pageInfo(c))
}

// renderWith renders into a buffer first, so a failed render never sends half a
// page with a 200; then writes status, type and body (gzipped when worth it).
func (a *App) renderWith(c *gin.Context, status int, comp templ.Component, p *views.Page) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	ctx := views.WithPage(c.Request.Context(), p)
	if err := comp.Render(ctx, buf); err != nil {
		a.fail(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	writeBody(c, status, buf.Bytes())
}

// rendered is a page rendered once, and its gzip form made when first asked.
type rendered struct {
	body   []byte
	gzOnce sync.Once
	gz     []byte
}

func (r *rendered) gzipped() []byte {
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

// renderKept is renderWith for a page worth keeping: it returns the rendered
// page (nil when the render failed and the error was answered).
func (a *App) renderKept(c *gin.Context, status int, comp templ.Component, p *views.Page) *rendered {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := comp.Render(views.WithPage(c.Request.Context(), p), buf); err != nil {
		a.fail(c, err)
		return nil
	}
	r := &rendered{body: bytes.Clone(buf.Bytes())}
	writeRendered(c, status, r)
	return r
}

// writeRendered answers with a rendered page as writeBody would.
func writeRendered(c *gin.Context, status int, r *rendered) {
	c.Writer.Header().Set("Content-Type", "text/html; charset=utf-8")
	if len(r.body) >= gzipMin && acceptsGzip(c.Request) && c.Request.Method != http.MethodHead && !c.GetBool(identityKey) {
		h := c.Writer.Header()
		h.Add("Vary", "Accept-Encoding")
		gz := r.gzipped()
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(gz)))
		c.Status(status)
		c.Writer.Write(gz)
		return
	}
	writeBody(c, status, r.body)
}

// homeInputs is everything "My Groups" is rendered from: the page facts (the
// user, the one-time notice, the base URL; the asset URLs are fixed for the
// process) and the groups. HomePage reads nothing else, so the same inputs
// render the same bytes.
type homeInputs struct {
	user    store.User
	lang    i18n.Lang
	notice  string
	isErr   bool
	baseURL string
	groups  []store.GroupSummary
}

func newHomeInputs(p *views.Page, groups []store.GroupSummary) homeInputs {
	return homeInputs{user: p.User, lang: p.Lang, notice: p.Notice, isErr: p.NoticeError, baseURL: p.BaseURL, groups: groups}
}

func (x homeInputs) equal(y homeInputs) bool {
	return x.user == y.user && x.lang == y.lang && x.notice == y.notice && x.isErr == y.isErr && x.baseURL == y.baseURL &&
		slices.Equal(x.groups, y.groups)
}

// homeCache keeps each user's last rendered "My Groups" with what it was
// rendered from. It is served only to the same user for equal inputs, which
// the request has just read (through the store's cache, itself always
// current): the page is never older than its data. Nothing in it is secret
// per answer (no nonce, no token: cross-site checks use Sec-Fetch-Site).
type homeCache struct {
	mu sync.Mutex
	m  map[int64]homeEntry
}

type homeEntry struct {
	in homeInputs
	r  *rendered
}

// homeCacheMax bounds the pages kept (each ~5–6 KB with its gzip form).
const homeCacheMax = 1000

func (hc *homeCache) get(userID int64, in homeInputs) *rendered {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if e, ok := hc.m[userID]; ok && e.in.equal(in) {
		return e.r
	}
	return nil
}

func (hc *homeCache) put(userID int64, in homeInputs, r *rendered) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.m == nil || len(hc.m) >= homeCacheMax {
		hc.m = make(map[int64]homeEntry)
	}
	in.groups = slices.Clone(in.groups)
	hc.m[userID] = homeEntry{in: in, r: r}
}

// identityKey marks an answer that is never compressed: one whose length must
// not depend on what it says (a person's own estimate).
const identityKey = "estimator.identity"

// sendUncompressed makes this request's answer go out uncompressed.
func sendUncompressed(c *gin.Context) { c.Set(identityKey, true) }

// writeBody writes a text body, gzip-compressed when the client takes it.
func writeBody(c *gin.Context, status int, body []byte) {
	h := c.Writer.Header()
	h.Add("Vary", "Accept-Encoding")
	if len(body) >= gzipMin && acceptsGzip(c.Request) && c.Request.Method != http.MethodHead && !c.GetBool(identityKey) {
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

func acceptsGzip(r *http.Request) bool {
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

// pageInfo is what every page needs: the user, asset URLs, the public base URL.
func (a *App) pageInfo(c *gin.Context) *views.Page {
	u := currentUser(c)
	return &views.Page{User: u, Asset: a.assets.url, BaseURL: a.baseURL(c), Lang: pageLang(c, u)}
}

func (a *App) baseURL(c *gin.Context) string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL
	}
	scheme := "http://"
	if c.Request.TLS != nil || a.cfg.SecureCookies {
		scheme = "https://"
	}
	return scheme + c.Request.Host
}
