package handlers

import (
	"context"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/store"
	"estimator/web"
)

// accessStore is the part of the store used by the access middleware (who may
// see or run a group or an issue).
type accessStore interface {
	GroupFor(ctx context.Context, groupID, userID int64) (store.Group, store.Role, error)
	IssueFor(ctx context.Context, issueID, userID int64) (store.Issue, store.Group, store.Role, error)
}

// Who may do what: the middleware that loads a group or an issue of the path
// with the user's role in it, once per request, and answers 404 or 403.

const groupKey, roleKey = "estimator.group", "estimator.role"

// level is who may use a route of a group or an issue.
type level uint8

const (
	// anyMember: every member of the group.
	anyMember level = iota
	// facilitates: the owner and the facilitators (the room and the backlog).
	facilitates
	// ownerOnly: the owner alone (settings, members, invite, rename,
	// transfer, deletion).
	ownerOnly
)

// permits reports whether a member with role may use a route of level need.
func (need level) permits(role store.Role) bool {
	switch need {
	case ownerOnly:
		return role == store.RoleOwner
	case facilitates:
		return role.CanFacilitate()
	}
	return role != store.RoleNone
}

// groupAccess loads the group of /groups/:id and the user's role in it, once per
// request: 404 when it does not exist or the user is not a member (its existence
// is not revealed), 403 when the user is a member that need does not permit.
func (a *App) groupAccess(need level) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := web.ParseID(c, "id")
		if !ok {
			web.Fail(c, web.ErrNotFound)
			return
		}
		g, role, err := a.st.GroupFor(c.Request.Context(), id, signin.User(c).ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		if !a.allowed(c, role, need) {
			return
		}
		c.Set(groupKey, g)
		c.Set(roleKey, role)
		c.Next()
	}
}

// allowed answers 404 for non-members and 403 for members the route's level
// does not permit.
func (a *App) allowed(c *gin.Context, role store.Role, need level) bool {
	switch {
	case role == store.RoleNone:
		web.Fail(c, web.ErrNotFound)
		return false
	case !need.permits(role) && need == facilitates:
		web.Fail(c, web.ErrForbiddenRun)
		return false
	case !need.permits(role):
		web.Fail(c, web.ErrForbidden)
		return false
	}
	return true
}

func groupOf(c *gin.Context) (store.Group, store.Role) {
	return c.MustGet(groupKey).(store.Group), c.MustGet(roleKey).(store.Role)
}

const issueKey = "estimator.issue"

// issueAccess loads the issue of /issues/:id, its group and the user's role, in
// one query per request, answering like groupAccess (404 / 403).
func (a *App) issueAccess(need level) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := web.ParseID(c, "id")
		if !ok {
			web.Fail(c, web.ErrNotFound)
			return
		}
		if a.loadIssue(c, id, need) {
			c.Next()
		}
	}
}

// loadIssue is issueAccess for a handler that loads the issue itself: false
// when it answered (404 / 403).
func (a *App) loadIssue(c *gin.Context, id int64, need level) bool {
	is, g, role, err := a.st.IssueFor(c.Request.Context(), id, signin.User(c).ID)
	if err != nil {
		web.Fail(c, err)
		return false
	}
	if !a.allowed(c, role, need) {
		return false
	}
	c.Set(issueKey, is)
	c.Set(groupKey, g)
	c.Set(roleKey, role)
	return true
}

func issueOf(c *gin.Context) (store.Issue, store.Group, store.Role) {
	g, role := groupOf(c)
	return c.MustGet(issueKey).(store.Issue), g, role
}
