package handlers

import (
	"errors"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"estimator/store"
)

// The request's session as handlers use it: signing in and out, and one-time
// notices. The session store itself (the SQLite adapter) is in sessions.go.

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

const noticeKey, noticeErrKey = "notice", "notice_error"

// setNotice leaves a one-time message for the next page this browser sees.
func setNotice(c *gin.Context, msg string) error {
	s, _ := session(c)
	s.Set(noticeKey, msg)
	s.Delete(noticeErrKey)
	return s.Save()
}

// setErrorNotice is setNotice for a message about something that went wrong.
func setErrorNotice(c *gin.Context, msg string) error {
	s, _ := session(c)
	s.Set(noticeKey, msg)
	s.Set(noticeErrKey, "1")
	return s.Save()
}

// popNotice takes the one-time message out of the session, if there is one.
func (a *App) popNotice(c *gin.Context) (string, bool) {
	if _, ok := c.Get(sessions.DefaultKey); !ok {
		return "", false // answered before the session was read (refused early)
	}
	s, st := session(c)
	if st.err != nil {
		return "", false
	}
	msg, _ := s.Get(noticeKey).(string)
	if msg == "" {
		return "", false
	}
	isErr := s.Get(noticeErrKey) != nil
	s.Delete(noticeKey)
	s.Delete(noticeErrKey)
	if err := s.Save(); err != nil {
		a.log.Warn("could not clear notice", "err", err)
	}
	return msg, isErr
}
