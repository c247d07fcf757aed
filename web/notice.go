package web

import (
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// One-time notices: a message left in the browser's session for the next page
// it sees ("Issue … was added."), shown once.

const noticeKey, noticeErrKey = "notice", "notice_error"

// IsNoticeKey tells the session values that hold the one-time notice.
func IsNoticeKey(k string) bool { return k == noticeKey || k == noticeErrKey }

// SetNotice leaves a one-time message for the next page this browser sees.
func SetNotice(c *gin.Context, msg string) error {
	s := sessions.Default(c)
	s.Set(noticeKey, msg)
	s.Delete(noticeErrKey)
	return s.Save()
}

// SetErrorNotice is SetNotice for a message about something that went wrong.
func SetErrorNotice(c *gin.Context, msg string) error {
	s := sessions.Default(c)
	s.Set(noticeKey, msg)
	s.Set(noticeErrKey, "1")
	return s.Save()
}

// SetNoticeUnsaved leaves the notice in the session without saving it: for
// a request that saves the session anyway (a sign-in), one write instead of two.
func SetNoticeUnsaved(c *gin.Context, msg string) {
	s := sessions.Default(c)
	s.Set(noticeKey, msg)
	s.Delete(noticeErrKey)
}

// PopNotice takes the one-time message out of the session, if there is one.
func (p *Pages) PopNotice(c *gin.Context) (string, bool) {
	if _, ok := c.Get(sessions.DefaultKey); !ok {
		return "", false // answered before the session was read (refused early)
	}
	s := sessions.Default(c)
	msg, _ := s.Get(noticeKey).(string)
	if msg == "" {
		return "", false
	}
	isErr := s.Get(noticeErrKey) != nil
	s.Delete(noticeKey)
	s.Delete(noticeErrKey)
	if err := s.Save(); err != nil {
		p.Log.Warn("could not clear notice", "err", err)
	}
	return msg, isErr
}

// DoneRedirect leaves a notice and sends the browser on (PRG).
func DoneRedirect(c *gin.Context, notice, target string) {
	// A visitor who is not signed in, over the cap of their rows: on without
	// the notice (it would need a session row).
	if err := SetNotice(c, notice); err != nil && !IsAnonCap(err) {
		Fail(c, err)
		return
	}
	Redirect(c, target)
}
