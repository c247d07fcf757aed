package signin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// keptStore is the part of the store used by keeping forms sent while signed
// out and sending them after sign-in (replay.go, kept.go).
type keptStore interface {
	CheckForm(ctx context.Context, ref string, sessionID int64) error
	DeleteSession(ctx context.Context, id int64) error
	GroupFor(ctx context.Context, groupID, userID int64) (store.Group, store.Role, error)
	InviteByToken(ctx context.Context, token string) (store.Invite, error)
	IssueFor(ctx context.Context, issueID, userID int64) (store.Issue, store.Group, store.Role, error)
	KeepForm(ctx context.Context, sessionID int64, method, path string, body []byte) (string, error)
	KeptFormsRoom(ctx context.Context, n int) (bool, error)
	Members(ctx context.Context, groupID int64) ([]store.Member, error)
	PeekForm(ctx context.Context, ref string, sessionID int64) (store.KeptForm, error)
	TakeForm(ctx context.Context, ref string, sessionID int64) (store.KeptForm, error)
}

// RequireLogin protects a route. A signed-in user goes on. Anyone else is sent
// to the sign-in page, by request kind:
//
//   - plain GET: 303 to /login?next=<this page>;
//   - plain POST: the form is kept (replayable routes only), 303 to sign-in;
//   - htmx, any method: 200 with HX-Redirect (a 3xx would be followed inside
//     fetch), next being the page the person is on (HX-Current-URL), and a POST's
//     form kept likewise.
//
// Cross-site requests never get here (crossOrigin refuses them first), so a
// forged form is never kept.
func (a *Auth) RequireLogin(replayable bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if User(c).IsAuthenticated() {
			c.Next()
			return
		}
		next := a.loginNext(c)
		kept := ""
		if c.Request.Method == http.MethodPost && replayable {
			var err error
			if kept, err = a.keepForm(c, next); err != nil {
				web.Fail(c, err)
				return
			}
		}
		web.Redirect(c, views.LoginPath(next, kept))
		c.Abort()
	}
}

// loginNext is where to go after signing in if nothing is replayed: the page the
// person is on.
func (a *Auth) loginNext(c *gin.Context) string {
	if web.IsHTMX(c) {
		if p := web.CurrentPagePath(c); p != "" {
			return afterSignIn(p)
		}
		return "/"
	}
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return afterSignIn(c.Request.URL.RequestURI())
	}
	// A plain POST: the page holding the form, when the browser says so.
	if ref, err := url.Parse(c.GetHeader("Referer")); err == nil && ref.Host == c.Request.Host {
		return afterSignIn(ref.RequestURI())
	}
	return "/"
}

// keepForm stores the request's URL-encoded form for this browser session and
// returns the reference to it. Multipart and other bodies are refused (415); a
// body over 64 KiB is refused (413) and nothing is kept.
//
// The import form is multipart (it takes a CSV file): pasted rows are kept as
// a URL-encoded form, a file is refused with a message to sign in first.
func (a *Auth) keepForm(c *gin.Context, next string) (string, error) {
	var body []byte
	switch ct := c.ContentType(); {
	case ct == "multipart/form-data" && c.FullPath() == a.upload:
		f, err := keptUploadForm(c, next, a.maxBody)
		if err != nil {
			return "", err
		}
		body = []byte(f.Encode())
	case ct != "application/x-www-form-urlencoded" && c.Request.ContentLength != 0:
		return "", web.ErrMediaType
	default:
		var err error
		body, err = io.ReadAll(io.LimitReader(c.Request.Body, store.KeptFormMaxBytes+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", web.ErrTooLarge
			}
			return "", web.ErrBadRequest
		}
	}
	if len(body) > store.KeptFormMaxBytes {
		return "", web.ErrTooLarge
	}
	if _, err := url.ParseQuery(string(body)); err != nil {
		return "", web.ErrBadRequest
	}
	// Caps, before anything is stored (a session row included): per client
	// address, and for everyone together.
	ctx := c.Request.Context()
	if ok, wait := a.keeps.allow(c.ClientIP()); !ok {
		return "", keptFormsTooMany(c, wait)
	}
	room, err := a.st.KeptFormsRoom(ctx, len(body))
	if err != nil {
		return "", err
	}
	if !room {
		return "", keptFormsFull(c)
	}
	_, st := session(c)
	fresh := st.rec.ID == 0
	st.counted = true // by a.keeps above: the form and its session are one
	sid, err := ensureSession(c)
	if err != nil {
		return "", err
	}
	ref, err := a.st.KeepForm(ctx, sid, c.Request.Method, c.Request.URL.Path, body)
	if errors.Is(err, store.ErrKeptFormsFull) {
		// Filled up meanwhile: the session made for this form goes too.
		if fresh {
			if err := a.st.DeleteSession(ctx, sid); err != nil {
				return "", err
			}
		}
		return "", keptFormsFull(c)
	}
	return ref, err
}

// keptUploadForm reads a signed-out upload (multipart: the import): its
// fields, when no file was chosen; a file is refused, since a file is not kept.
func keptUploadForm(c *gin.Context, next string, maxBody int64) (url.Values, error) {
	if err := c.Request.ParseMultipartForm(maxBody + 1); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, web.ErrTooLarge
		}
		return nil, web.ErrBadRequest
	}
	defer c.Request.MultipartForm.RemoveAll()
	mf := c.Request.MultipartForm
	if fhs := mf.File["file"]; len(fhs) > 0 && (fhs[0].Filename != "" || fhs[0].Size > 0) {
		return nil, errUploadSignedOut.WithLink(views.LoginPath(next, ""), "Sign in")
	}
	return url.Values(mf.Value), nil
}

var errUploadSignedOut = web.NewErrorID(http.StatusUnsupportedMediaType, "error.upload_signed_out", nil)

func keptFormsTooMany(c *gin.Context, wait time.Duration) error {
	c.Header("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
	return web.NewErrorID(http.StatusTooManyRequests, "error.kept_too_many", map[string]any{"Minutes": max(int(math.Ceil(wait.Minutes())), 1)})
}

func keptFormsFull(c *gin.Context) error {
	c.Header("Retry-After", "60")
	return web.NewErrorID(http.StatusServiceUnavailable, "error.kept_full", nil)
}

type replayKey struct{}

// IsReplay reports a request that sends a kept form again after the sign-in.
func IsReplay(c *gin.Context) bool { return c.Request.Context().Value(replayKey{}) != nil }

// replay runs the kept form again, now as the signed-in user, through the whole
// router: the same validation and permission checks as any request. The browser
// then goes where the action leads; if the action refused the form (validation,
// permission), the person sees that answer — their form, filled in, with the
// messages. A reference that is used, expired, foreign or unknown changes
// nothing and says why.
func (a *Auth) replay(c *gin.Context, kept, next string) {
	_, st := session(c)
	f, err := a.st.TakeForm(c.Request.Context(), kept, st.rec.ID)
	if err != nil {
		a.keptRefused(c, err, next)
		return
	}
	a.replayed()
	ctx := context.WithValue(c.Request.Context(), replayKey{}, kept)
	req, err := http.NewRequestWithContext(ctx, f.Method, f.Path, bytes.NewReader(f.Body))
	if err != nil {
		web.Fail(c, err)
		return
	}
	req.Host = c.Request.Host
	req.RemoteAddr = c.Request.RemoteAddr
	req.TLS = c.Request.TLS
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("User-Agent", c.Request.UserAgent())
	req.AddCookie(&http.Cookie{Name: a.sessions.cookieName, Value: st.token})
	if k := a.existingBrowserKey(c); k != "" {
		req.AddCookie(&http.Cookie{Name: a.sessions.keyCookie, Value: k})
	}
	rec := newRecorder()
	a.router.ServeHTTP(rec, req)

	if loc := rec.header.Get("Location"); rec.status >= 300 && rec.status < 400 && loc != "" {
		web.Redirect(c, loc)
		return
	}
	// The action answered with a page (its form with messages, or a refusal):
	// show that page as the answer to the sign-in.
	h := c.Writer.Header()
	for _, k := range []string{"Content-Type", "Content-Encoding", "Retry-After"} {
		if v := rec.header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	h.Set("Cache-Control", "no-store")
	if web.IsHTMX(c) {
		// The sign-in form targets itself; a whole page replaces the body instead.
		h.Set("HX-Retarget", "body")
		h.Set("HX-Reswap", "outerHTML")
	}
	c.Status(rec.status)
	c.Writer.Write(rec.body.Bytes())
}

// recorder captures the answer of a replayed request.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) { r.status = status }

// ReplayNotice prefixes the notice of a replayed action, so the person knows the
// form they sent before signing in went through.
func ReplayNotice(c *gin.Context, msg string) string {
	if IsReplay(c) {
		return strings.TrimSpace(web.PageLang(c, User(c)).F("notice.signed_in_as", map[string]any{"Nickname": User(c).Nickname}) + " " + msg)
	}
	return msg
}

// checkKept is the sign-in page's look at the kept form it was sent with: the
// reference when the form still waits for this session; "" and a notice
// saying why when it cannot be replayed. ok is false when the answer is
// already given (the database failed).
func (a *Auth) checkKept(c *gin.Context, kept string) (_ string, ok bool) {
	_, st := session(c)
	err := a.st.CheckForm(c.Request.Context(), kept, st.rec.ID)
	switch {
	case err == nil:
		return kept, true
	case errors.Is(err, store.ErrUnavailable):
		web.Fail(c, err)
		return "", false
	default:
		if err := web.SetErrorNotice(c, keptFormMessage(a.lang(c), err)); err != nil {
			web.Fail(c, err)
			return "", false
		}
		return "", true
	}
}

func keptFormMessage(l i18n.Lang, err error) string {
	switch {
	case errors.Is(err, store.ErrFormUsed):
		return l.T("notice.kept_used")
	case errors.Is(err, store.ErrFormExpired):
		return l.T("notice.kept_expired")
	case errors.Is(err, store.ErrFormForeign):
		return l.T("notice.kept_foreign")
	default:
		return l.T("notice.kept_missing")
	}
}
