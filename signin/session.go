package signin

import (
	"errors"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"estimator/store"
)

// The request's session as sign-in uses it: signing in and out, and the
// values a sign-in leaves in it. The session store itself (the adapter of
// gin-contrib/sessions to the store) is in sessionstore.go; one-time notices
// are web.SetNotice's.

// session returns the request's gin-contrib session and the server state in it.
func session(c *gin.Context) (sessions.Session, *sessState) {
	s := sessions.Default(c)
	st, _ := s.Get(stateKey{}).(*sessState)
	if st == nil {
		st = &sessState{user: store.Anonymous, err: errors.New("session not loaded")}
	}
	return s, st
}

// saveSession writes the session, marking it changed first.
func saveSession(c *gin.Context) error {
	s, st := session(c)
	s.Set(stateKey{}, st)
	return s.Save()
}

// ensureSession stores the session if it is not stored yet and returns its row id:
// what is bound to a browser session (kept forms) needs one.
func ensureSession(c *gin.Context) (int64, error) {
	_, st := session(c)
	if st.rec.ID == 0 {
		st.create = true
		if err := saveSession(c); err != nil {
			return 0, err
		}
	}
	return st.rec.ID, nil
}

// keyUnconfirmed marks a session signed in with a fresh browser key that the
// browser has not yet shown it holds (see store.ConfirmBrowserKey).
const keyUnconfirmed = "key_unconfirmed"

// signIn makes the session the user's, under a new identifier, bound to the
// browser key it was signed in with (revoking the key ends it).
func signIn(c *gin.Context, u store.User, remember bool, browserKey string) error {
	s, st := session(c)
	st.rec.UserID, st.rec.Remember, st.rotate, st.user = u.ID, remember, true, u
	st.rec.BrowserKey = browserKey
	if browserKey != "" {
		s.Set(keyUnconfirmed, "1")
	}
	c.Set(userKey, u)
	return saveSession(c)
}

// signOut ends the session: its row, what is bound to it, and the cookie.
func signOut(c *gin.Context) (int64, error) {
	_, st := session(c)
	id := st.rec.ID
	st.destroy = true
	c.Set(userKey, store.Anonymous)
	return id, saveSession(c)
}
