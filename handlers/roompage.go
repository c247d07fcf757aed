package handlers

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// The room's page is kept per person, as "My Groups" is (homecache.go), under
// the store's generation (store.Generation): served again only to the same
// person, for the same room, in a request served at the generation it was
// rendered at, so it is never older than its data; its page facts (the
// person, the language, the base URL) and who is in the room (kept by the
// broker, not the store) must be equal too. Two things set it apart:
//
//   - A page that shows the viewer's own vote, note or invitation is never
//     kept: the process holds no page pairing a person with a value (the store
//     forgets who voted what at the reveal; a kept page would not).
//   - The page holds the server's clock (data-now on #live, from which the
//     countdown takes its offset), fresh in every answer: the page is kept as
//     the two halves around it. While a countdown runs the page shows the time
//     left, read from that clock, and is not kept.

// generationStore is what the kept pages need of the store: the room's here,
// My Groups (groups.go).
type generationStore interface {
	Generation(ctx context.Context) (uint64, bool)
}

// roomInputs is what a kept room page was rendered from, beside the store's
// data at gen.
type roomInputs struct {
	gen     uint64
	user    store.User
	lang    i18n.Lang
	baseURL string
	role    store.Role
	present map[int64]bool
}

func (x roomInputs) equal(y roomInputs) bool {
	return x.gen == y.gen && x.user == y.user && x.lang == y.lang && x.baseURL == y.baseURL && x.role == y.role &&
		maps.Equal(x.present, y.present)
}

// keepable reports whether a room page may be kept: nothing of the viewer's
// own estimate on it, no countdown running.
func keepable(v views.StatusView, own views.EstimateView) bool {
	return own.Own.IsZero() && own.Note == "" && own.Invite == (store.Invitation{}) && !v.CountingDown()
}

type roomPageKey struct{ user, issue int64 }

type roomPage struct {
	in         roomInputs
	head, tail []byte // the page around the value of data-now
}

// roomPages keeps the room pages last rendered, at most roomPagesMaxBytes of
// them (a room of ten people and twenty issues is ~20 KB).
type roomPages struct {
	mu    sync.Mutex
	m     map[roomPageKey]*roomPage
	bytes int
}

const roomPagesMaxBytes = 8 << 20

func (rp *roomPages) get(k roomPageKey, in roomInputs) *roomPage {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if p, ok := rp.m[k]; ok && p.in.equal(in) {
		return p
	}
	return nil
}

func (rp *roomPages) drop(k roomPageKey) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if old, ok := rp.m[k]; ok {
		rp.bytes -= len(old.head) + len(old.tail)
		delete(rp.m, k)
	}
}

func (rp *roomPages) put(k roomPageKey, p *roomPage) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	size := len(p.head) + len(p.tail)
	if old, ok := rp.m[k]; ok {
		rp.bytes -= len(old.head) + len(old.tail)
	}
	if rp.m == nil || rp.bytes+size > roomPagesMaxBytes {
		rp.m, rp.bytes = make(map[roomPageKey]*roomPage), 0
	}
	rp.m[k] = p
	rp.bytes += size
}

// clockMark is the clock a kept page is rendered with: its digits are found
// in the page and cut out (no real clock reads the year 287396).
var (
	clockMark     = time.UnixMilli(1<<53 - 1)
	clockMarkAttr = []byte(`data-now="` + strconv.FormatInt(clockMark.UnixMilli(), 10) + `"`)
)

// roomPage answers with the whole room of the issue: kept, when it may be
// and is.
func (a *App) roomPage(c *gin.Context, is store.Issue, g store.Group, role store.Role) {
	ctx := c.Request.Context()
	p := a.pages.Info(c)
	if n, isErr := a.pages.PopNotice(c); n != "" {
		p.Notice, p.NoticeError = n, isErr
	}
	// The room's page holds the viewer's cards: compressed, its size would
	// depend on the vote shown.
	web.SendUncompressed(c)
	now := a.st.Now()
	gen, steady := a.st.Generation(ctx)
	key := roomPageKey{user: p.User.ID, issue: is.ID}
	in := roomInputs{gen: gen, user: p.User, lang: p.Lang, baseURL: p.BaseURL, role: role, present: a.hub.Present(is.ID)}
	// A notice is shown once: not worth keeping.
	keep := steady && p.Notice == ""
	if keep {
		if kept := a.roomPages.get(key, in); kept != nil {
			writeRoomPage(c, kept, now)
			return
		}
	}
	// issueAccess has just loaded the issue and its group: only the room's
	// other facts are left to read.
	st, err := a.st.RoomFacts(ctx, is, g)
	if err != nil {
		web.Fail(c, err)
		return
	}
	v := views.StatusView{Status: st, Role: role, Present: in.present, Now: now}
	own, err := a.ownView(c, is, g, st.SeatOf(p.User.ID))
	if err != nil {
		web.Fail(c, err)
		return
	}
	if !keep {
		web.Render(c, http.StatusOK, views.IssueStatusPage(v, own), p)
		return
	}
	if gen2, steady2 := a.st.Generation(ctx); !steady2 || gen2 != gen || !keepable(v, own) {
		// What was kept of this room for this person is out of date, and
		// this page is not to be kept.
		a.roomPages.drop(key)
		web.Render(c, http.StatusOK, views.IssueStatusPage(v, own), p)
		return
	}
	v.Now = clockMark
	var buf bytes.Buffer
	if err := views.IssueStatusPage(v, own).Render(views.WithPage(ctx, p), &buf); err != nil {
		web.Fail(c, err)
		return
	}
	page := buf.Bytes()
	at := bytes.Index(page, clockMarkAttr)
	if at < 0 || bytes.Contains(page[at+1:], clockMarkAttr) {
		// The page no longer holds its clock once, where it is looked for.
		v.Now = now
		web.Render(c, http.StatusOK, views.IssueStatusPage(v, own), p)
		return
	}
	kept := &roomPage{in: in, head: page[:at+len(`data-now="`)], tail: page[at+len(clockMarkAttr)-1:]}
	a.roomPages.put(key, kept)
	writeRoomPage(c, kept, now)
}

func writeRoomPage(c *gin.Context, p *roomPage, now time.Time) {
	var digits [20]byte
	c.Writer.Header().Set("Content-Type", "text/html; charset=utf-8")
	web.WriteBodyParts(c, http.StatusOK, p.head, strconv.AppendInt(digits[:0], now.UnixMilli(), 10), p.tail)
}
