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
	r  *web.Rendered
}

// homeCacheMax bounds the pages kept (each ~5–6 KB with its gzip form).
const homeCacheMax = 1000

func (hc *homeCache) get(userID int64, in homeInputs) *web.Rendered {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if e, ok := hc.m[userID]; ok && e.in.equal(in) {
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
