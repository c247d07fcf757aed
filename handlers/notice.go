package handlers

import (
	"maps"

	"github.com/gin-gonic/gin"

	"estimator/i18n"
	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// langOf is the language this request is answered in: the person's own
// choice, else their browser's. Notices are written in it; error pages take
// it themselves from the error's message IDs.
func langOf(c *gin.Context) i18n.Lang { return web.PageLang(c, signin.User(c)) }

// backToGroup is e offering a link back to the group's page, labelled with
// the group's name in the reader's language.
func backToGroup(e *web.Error, g store.Group) *web.Error {
	return withData(e, "Group", g.Name).WithLinkID(views.GroupPath(g.ID), "error.back_to_group")
}

// withData is e with one more value for its messages (and its link's label).
func withData(e *web.Error, k string, v any) *web.Error {
	c := *e
	c.Data = make(map[string]any, len(e.Data)+1)
	maps.Copy(c.Data, e.Data)
	c.Data[k] = v
	return &c
}
