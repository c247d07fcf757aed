package signin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-contrib/sessions"
	gsessions "github.com/gorilla/sessions"

	"estimator/store"
	"estimator/web"
)

// sessionRecords is the part of the store used by the session store.
type sessionRecords interface {
	CreateSessionFrom(ctx context.Context, ss store.Session, p store.SessionPolicy) (store.Session, string, error)
	DeleteSession(ctx context.Context, id int64) error
	LoadSession(ctx context.Context, token string, p store.SessionPolicy) (store.Session, store.User, error)
	UpdateSession(ctx context.Context, ss store.Session, token string, rotate bool, p store.SessionPolicy) (string, error)
}

// sessionStore is the gin-contrib/sessions store backed by the store (SQLite or PostgreSQL). The cookie
// holds only a random token; the row (data, user, timestamps) stays on the server
// and only the token's hash is stored.
type sessionStore struct {
	st         sessionRecords
	policy     store.SessionPolicy
	secure     bool
	cookieName string
	keyCookie  string // the browser key, a separate long-lived cookie
	// anon limits the rows stored for visitors who are not signed in, per
	// client address: their sessions here, their kept forms (replay.go).
	anon *ipLimiter
	// board holds the notices of stored sessions when they are kept in
	// memory (Config.NoticesInMemory); nil: in the rows.
	board *noticeBoard
	// decoded is the session data decoded last time.
	decoded decodedValues
}

// decodedValues keeps what session data decoded to, by the data's bytes: a
// session's data changes seldom, and every request of it decodes it. The
// maps kept are never handed out, only copied from. At most
// decodedValuesMax are kept; then it starts again.
type decodedValues struct {
	mu sync.RWMutex
	m  map[string]map[string]string
}

const decodedValuesMax = 4096

// get is what data decodes to (ok false: data is no JSON object of strings).
func (d *decodedValues) get(data []byte) (map[string]string, bool) {
	d.mu.RLock()
	values, ok := d.m[string(data)]
	d.mu.RUnlock()
	if ok {
		return values, true
	}
	if json.Unmarshal(data, &values) != nil {
		return nil, false
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= decodedValuesMax {
		d.m = make(map[string]map[string]string)
	}
	d.m[string(data)] = values
	d.mu.Unlock()
	return values, true
}

func newSessionStore(st sessionRecords, cfg Config, anon *ipLimiter) *sessionStore {
	s := &sessionStore{st: st, policy: cfg.Sessions, secure: cfg.SecureCookies, anon: anon,
		cookieName: "estimator_session", keyCookie: "estimator_browser"}
	if cfg.NoticesInMemory {
		s.board = &noticeBoard{}
	}
	if cfg.SecureCookies {
		s.cookieName, s.keyCookie = "__Host-"+s.cookieName, "__Host-"+s.keyCookie
	}
	return s
}

// sessState is the server's view of the request's session, kept in the gorilla
// session's values under a private key (never persisted).
type sessState struct {
	rec   store.Session // rec.ID == 0: not stored yet
	user  store.User
	token string
	// rotate asks the next save for a new token (sign-in).
	rotate bool
	// create asks a GET to store a new session all the same: a sign-in that
	// starts here (OpenID Connect) binds its flow to it.
	create bool
	// destroy asks the next save to end the session (sign-out).
	destroy bool
	// err is a failed load: the session must not be written over.
	err error
	// addr is the client's address (loadUser); counted, that a limit of its
	// own already counted this request (a kept form, a provider sign-in), so
	// the anonymous session it needs is not counted twice.
	addr    string
	counted bool
}

type stateKey struct{}

var _ sessions.Store = (*sessionStore)(nil)

// Get loads the request's session; gin-contrib calls it once per request.
func (s *sessionStore) Get(r *http.Request, name string) (*gsessions.Session, error) {
	return s.New(r, name)
}

// New reads the cookie and loads its session. An unknown, expired or malformed
// token gives a fresh anonymous session with no id: the server never adopts an
// identifier it did not issue. A database failure is returned and remembered,
// so nothing overwrites the real session.
func (s *sessionStore) New(r *http.Request, name string) (*gsessions.Session, error) {
	sess := gsessions.NewSession(s, name)
	sess.IsNew = true
	st := &sessState{user: store.Anonymous}
	sess.Values[stateKey{}] = st
	ck, err := r.Cookie(name)
	if err != nil || !wellFormedToken(ck.Value) {
		return sess, nil
	}
	rec, u, err := s.st.LoadSession(r.Context(), ck.Value, s.policy)
	if errors.Is(err, store.ErrNotFound) {
		return sess, nil
	}
	if err != nil {
		st.err = err
		return sess, err
	}
	st.rec, st.user, st.token = rec, u, ck.Value
	sess.ID, sess.IsNew = strconv.FormatInt(rec.ID, 10), false
	if len(rec.Data) > 0 {
		if values, ok := s.decoded.get(rec.Data); ok {
			for k, v := range values {
				sess.Values[k] = v
			}
		}
	}
	if s.board != nil {
		for k, v := range s.board.get(boardKey(st.token), time.Now()) {
			sess.Values[k] = v
		}
	}
	return sess, nil
}

// Save stores the session: creates its row on first save, rotates its token at
// sign-in, deletes it at sign-out, and sets or clears the cookie.
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, sess *gsessions.Session) error {
	st := stateFrom(sess)
	if st.err != nil {
		return st.err
	}
	ctx := r.Context()
	if st.destroy {
		if s.board != nil && st.token != "" {
			s.board.drop(boardKey(st.token))
		}
		if st.rec.ID != 0 {
			if err := s.st.DeleteSession(ctx, st.rec.ID); err != nil {
				return err
			}
		}
		st.rec, st.token, st.destroy, st.user = store.Session{}, "", false, store.Anonymous
		for k := range sess.Values {
			if _, ok := k.(string); ok {
				delete(sess.Values, k)
			}
		}
		s.setCookie(w, s.cookieName, "", -1)
		return nil
	}
	if s.board != nil && st.rec.ID != 0 && !st.rotate {
		// The notice goes on the board; the row is written only when what
		// it holds changed.
		data, notes := splitValues(sess.Values)
		s.board.set(boardKey(st.token), notes, time.Now())
		if bytes.Equal(data, st.rec.Data) {
			return nil
		}
		st.rec.Data = data
	} else {
		if s.board != nil && st.token != "" {
			// Signing in: the notice is written with the row, under its
			// new token.
			s.board.drop(boardKey(st.token))
		}
		st.rec.Data = encodeValues(sess.Values)
	}
	if st.rec.ID == 0 && !st.rotate && !st.create && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// A GET never stores a session for a visitor who has none: whatever
		// it set (a one-time notice) is shown in this answer, and a flood of
		// GETs leaves no rows behind.
		return nil
	}
	if st.rec.ID != 0 {
		tok, err := s.st.UpdateSession(ctx, st.rec, st.token, st.rotate, s.policy)
		switch {
		case errors.Is(err, store.ErrNotFound) && !st.rotate:
			// Ended or signed into elsewhere (another tab) meanwhile: this stale
			// request neither brings it back nor writes over it.
			return nil
		case errors.Is(err, store.ErrNotFound):
			st.rec.ID = 0 // signing in on a session ended meanwhile: start afresh
		case err != nil:
			return err
		default:
			if st.rotate {
				st.token, st.rotate = tok, false
				s.setCookie(w, s.cookieName, tok, s.maxAge(st.rec.Remember))
			}
			return nil
		}
	}
	if st.rec.UserID == 0 && !st.counted && st.addr != "" {
		// A visitor who is not signed in stores a row: counted per address.
		if ok, wait := s.anon.allow(st.addr); !ok {
			return anonTooMany(w.Header(), wait)
		}
	}
	rec, tok, err := s.st.CreateSessionFrom(ctx, st.rec, s.policy)
	if errors.Is(err, store.ErrAnonymousFull) {
		w.Header().Set("Retry-After", "60")
		return errAnonFull
	}
	if err != nil {
		return err
	}
	st.rec, st.token, st.rotate = rec, tok, false
	sess.ID, sess.IsNew = strconv.FormatInt(rec.ID, 10), false
	s.setCookie(w, s.cookieName, tok, s.maxAge(rec.Remember))
	return nil
}

// Options is part of gin-contrib's interface; cookie options here are fixed by
// the security rules, not per call.
func (s *sessionStore) Options(sessions.Options) {}

func (s *sessionStore) maxAge(remember bool) int {
	if remember {
		return int(s.policy.Remember.Seconds())
	}
	return 0 // a browser-session cookie
}

func (s *sessionStore) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func stateFrom(sess *gsessions.Session) *sessState {
	st, _ := sess.Values[stateKey{}].(*sessState)
	if st == nil {
		st = &sessState{user: store.Anonymous}
		sess.Values[stateKey{}] = st
	}
	return st
}

// encodeValues keeps the string values of a session (notices and the like).
func encodeValues(values map[any]any) []byte {
	m := map[string]string{}
	for k, v := range values {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		if ok1 && ok2 {
			m[ks] = vs
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}

// splitValues is encodeValues for what is written to the row, apart from the
// notice (web.IsNoticeKey).
func splitValues(values map[any]any) (data []byte, notes map[string]string) {
	kept := map[any]any{}
	for k, v := range values {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		switch {
		case !ok1 || !ok2:
		case web.IsNoticeKey(ks):
			if notes == nil {
				notes = map[string]string{}
			}
			notes[ks] = vs
		default:
			kept[ks] = vs
		}
	}
	return encodeValues(kept), notes
}

// wellFormedToken accepts only what NewToken makes: 32 bytes, base64url.
func wellFormedToken(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil
}

// anonTooMany: one address stored its share of rows while signed out.
func anonTooMany(h http.Header, wait time.Duration) error {
	h.Set("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
	e := web.NewErrorID(http.StatusTooManyRequests, "error.anon_too_many", nil)
	e.AnonCap = true
	return e
}

// errAnonFull: everyone's rows of visitors who are not signed in are at their
// cap; nothing more is stored until some expire.
var errAnonFull = func() *web.Error {
	e := web.NewErrorID(http.StatusServiceUnavailable, "error.anon_full", nil)
	e.AnonCap = true
	return e
}()
