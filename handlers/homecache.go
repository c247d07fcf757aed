package handlers

import (
	"slices"
	"sync"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// The app's pages are rendered by web.Pages (a.pages); "My Groups" is also
// kept here, per user, once rendered.

// homeInputs is everything "My Groups" is rendered from: the page facts (the
// user, the one-time notice, the base URL; the asset URLs are fixed for the
// process) and the groups. HomePage reads nothing else, so the same inputs
// render the same bytes. gen is the store's generation the groups were read
// at (store.Generation; 0: not steady, or no cache, as on PostgreSQL): a
// request served at the same generation has the same groups without reading
// them.
type homeInputs struct {
	user    store.User
	lang    i18n.Lang
	notice  string
	isErr   bool
	baseURL string
	gen     uint64
	groups  []store.GroupSummary
}

func newHomeInputs(p *views.Page, gen uint64) homeInputs {
	return homeInputs{user: p.User, lang: p.Lang, notice: p.Notice, isErr: p.NoticeError, baseURL: p.BaseURL, gen: gen}
}

func (x homeInputs) samePage(y homeInputs) bool {
	return x.user == y.user && x.lang == y.lang && x.notice == y.notice && x.isErr == y.isErr && x.baseURL == y.baseURL
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
	r  *web.Rendered
}

// homeCacheMax bounds the pages kept (each ~5–6 KB with its gzip form).
const homeCacheMax = 1000

// atGen is the page kept for the same page facts at in's generation.
func (hc *homeCache) atGen(userID int64, in homeInputs) *web.Rendered {
	if in.gen == 0 {
		return nil
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if e, ok := hc.m[userID]; ok && e.in.gen == in.gen && e.in.samePage(in) {
		return e.r
	}
	return nil
}

// get is the page kept for the same page facts and the same groups (just
// read): then kept under in's generation too.
func (hc *homeCache) get(userID int64, in homeInputs) *web.Rendered {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if e, ok := hc.m[userID]; ok && e.in.samePage(in) && slices.Equal(e.in.groups, in.groups) {
		if e.in.gen != in.gen {
			e.in.gen = in.gen
			hc.m[userID] = e
		}
		return e.r
	}
	return nil
}

func (hc *homeCache) put(userID int64, in homeInputs, r *web.Rendered) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.m == nil || len(hc.m) >= homeCacheMax {
		hc.m = make(map[int64]homeEntry)
	}
	in.groups = slices.Clone(in.groups)
	hc.m[userID] = homeEntry{in: in, r: r}
}
