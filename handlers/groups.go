package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
)

const groupKey, roleKey = "estimator.group", "estimator.role"

// parseID reads a positive numeric id from the path; anything else does not
// exist (404).
func parseID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Param(name) {
		return 0, false
	}
	return id, true
}

// groupAccess loads the group of /groups/:id and the user's role in it, once per
// request: 404 when it does not exist or the user is not a member (its existence
// is not revealed), 403 when ownerOnly and the user is a member.
func (a *App) groupAccess(ownerOnly bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := parseID(c, "id")
		if !ok {
			a.fail(c, errNotFound)
			return
		}
		g, role, err := a.st.GroupFor(c.Request.Context(), id, currentUser(c).ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		if !a.allowed(c, role, ownerOnly) {
			return
		}
		c.Set(groupKey, g)
		c.Set(roleKey, role)
		c.Next()
	}
}

// allowed answers 404 for non-members and 403 for members on owner-only routes.
func (a *App) allowed(c *gin.Context, role store.Role, ownerOnly bool) bool {
	switch {
	case role == store.RoleNone:
		a.fail(c, errNotFound)
		return false
	case ownerOnly && role != store.RoleOwner:
		a.fail(c, errForbidden)
		return false
	}
	return true
}

func groupOf(c *gin.Context) (store.Group, store.Role) {
	return c.MustGet(groupKey).(store.Group), c.MustGet(roleKey).(store.Role)
}

func (a *App) home(c *gin.Context) {
	u := currentUser(c)
	if !u.IsAuthenticated() {
		a.page(c, http.StatusOK, views.HomePage(nil, views.GroupForm{}))
		return
	}
	groups, err := a.st.UserGroups(c.Request.Context(), u.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	p := a.pageInfo(c)
	if n, isErr := a.popNotice(c); n != "" {
		p.Notice, p.NoticeError = n, isErr
	}
	if p.Notice != "" {
		// Shown once: not worth keeping.
		a.renderWith(c, http.StatusOK, views.HomePage(groups, views.GroupForm{}), p)
		return
	}
	in := newHomeInputs(p, groups)
	if r := a.homes.get(u.ID, in); r != nil {
		writeRendered(c, http.StatusOK, r)
		return
	}
	if r := a.renderKept(c, http.StatusOK, views.HomePage(groups, views.GroupForm{}), p); r != nil {
		a.homes.put(u.ID, in, r)
	}
}

func (a *App) createGroup(c *gin.Context) {
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	u := currentUser(c)
	ctx := c.Request.Context()
	f, name := decodeGroup(form)
	if len(f.Errors) > 0 {
		if wantsFragment(c) {
			a.fragment(c, http.StatusUnprocessableEntity, views.CreateGroupForm(f))
			return
		}
		groups, err := a.st.UserGroups(ctx, u.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		a.page(c, http.StatusUnprocessableEntity, views.HomePage(groups, f))
		return
	}
	g, err := a.st.CreateGroup(ctx, u, name)
	if err != nil {
		a.fail(c, err)
		return
	}
	notice := replayNotice(c, "Your group “"+g.Name+"” was created.")
	if wantsFragment(c) {
		groups, err := a.st.UserGroups(ctx, u.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		a.actionDone(c, views.CreateGroupDone(groups), notice)
		return
	}
	a.doneRedirect(c, notice, views.GroupPath(g.ID))
}

// doneRedirect leaves a notice and sends the browser on (PRG).
func (a *App) doneRedirect(c *gin.Context, notice, target string) {
	if err := setNotice(c, notice); err != nil {
		a.fail(c, err)
		return
	}
	redirect(c, target)
}

func (a *App) groupPage(c *gin.Context) {
	g, role := groupOf(c)
	a.renderGroup(c, http.StatusOK, g, role, views.IssueForm{}, views.GroupForm{Name: g.Name})
}

func (a *App) renderGroup(c *gin.Context, status int, g store.Group, role store.Role, issueForm views.IssueForm, renameForm views.GroupForm) {
	a.renderGroupWith(c, status, views.GroupView{Group: g, Role: role, IssueForm: issueForm, RenameForm: renameForm})
}

// renderGroupWith renders the group page around the forms in v; the settings
// form shows the group's settings unless v holds one sent back with errors.
func (a *App) renderGroupWith(c *gin.Context, status int, v views.GroupView) {
	ctx := c.Request.Context()
	g, role := v.Group, v.Role
	if v.SettingsForm.Errors == nil {
		v.SettingsForm = views.SettingsFormOf(g.Settings)
	}
	var err error
	if v.Members, err = a.st.Members(ctx, g.ID); err != nil {
		a.fail(c, err)
		return
	}
	v.Seat = store.SeatVoter
	for _, m := range v.Members {
		if m.UserID == currentUser(c).ID {
			v.Seat = m.Seat
		}
	}
	if v.Issues, err = a.st.GroupIssues(ctx, g.ID); err != nil {
		a.fail(c, err)
		return
	}
	if role == store.RoleOwner {
		events, err := a.st.GroupEvents(ctx, g.ID, 10)
		if err != nil {
			a.fail(c, err)
			return
		}
		v.Activity = activityLines(events)
	}
	a.page(c, status, views.GroupPage(v))
}

var errInviteInvalid = newError(http.StatusNotFound, "Invite link not valid",
	"This invite link does not work: the group’s owner may have replaced it, or the group is gone. Ask the owner for a new link.")

func (a *App) joinPage(c *gin.Context) {
	ctx := c.Request.Context()
	inv, err := a.st.InviteByToken(ctx, c.Param("token"))
	if errors.Is(err, store.ErrNotFound) {
		a.fail(c, errInviteInvalid)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	_, role, err := a.st.GroupFor(ctx, inv.ID, currentUser(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.page(c, http.StatusOK, views.JoinPage(inv, c.Param("token"), role != store.RoleNone))
}

func (a *App) joinPost(c *gin.Context) {
	if _, err := readForm(c); err != nil {
		a.fail(c, err)
		return
	}
	u := currentUser(c)
	g, err := a.st.Join(c.Request.Context(), c.Param("token"), u)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.fail(c, errInviteInvalid)
		return
	case errors.Is(err, store.ErrAlreadyMember):
		a.fail(c, newError(http.StatusConflict, "Already a member",
			"You are already a member of “"+g.Name+"”.").withLink(views.GroupPath(g.ID), "Go to "+g.Name))
		return
	case err != nil:
		a.fail(c, err)
		return
	}
	a.hub.groupChanged(g.ID)
	a.doneRedirect(c, replayNotice(c, "You joined “"+g.Name+"”."), views.GroupPath(g.ID))
}

func (a *App) addIssue(c *gin.Context) {
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	g, role := groupOf(c)
	ctx := c.Request.Context()
	f, in := decodeIssue(form)
	var is store.Issue
	if len(f.Errors) == 0 {
		is, err = a.st.CreateIssue(ctx, g.ID, in)
		if errors.Is(err, store.ErrKeyTaken) {
			f.Errors["key"] = issueKeyTakenMessage(in.Key)
		} else if err != nil {
			a.fail(c, err)
			return
		}
	}
	if len(f.Errors) > 0 {
		if wantsFragment(c) {
			a.fragment(c, http.StatusUnprocessableEntity, views.AddIssueForm(g.ID, f))
			return
		}
		a.renderGroup(c, http.StatusUnprocessableEntity, g, role, f, views.GroupForm{Name: g.Name})
		return
	}
	a.hub.groupPageChanged(g.ID)
	notice := replayNotice(c, "Issue “"+is.Key+"” was added.")
	if wantsFragment(c) {
		issues, err := a.st.GroupIssues(ctx, g.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		a.actionDone(c, views.AddIssueDone(g.ID, issues), notice)
		return
	}
	a.doneRedirect(c, notice, views.GroupPath(g.ID))
}

func (a *App) replaceInvite(c *gin.Context) {
	g, _ := groupOf(c)
	if _, err := a.st.ReplaceInvite(c.Request.Context(), g.ID); err != nil {
		a.fail(c, err)
		return
	}
	a.doneRedirect(c, "The invite link was replaced; the old link no longer works.", views.GroupPath(g.ID))
}

func (a *App) renameGroup(c *gin.Context) {
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	g, role := groupOf(c)
	f, name := decodeGroup(form)
	if len(f.Errors) > 0 {
		a.renderGroup(c, http.StatusUnprocessableEntity, g, role, views.IssueForm{}, f)
		return
	}
	if err := a.st.RenameGroup(c.Request.Context(), g.ID, name); err != nil {
		a.fail(c, err)
		return
	}
	a.doneRedirect(c, "The group is now called “"+name+"”.", views.GroupPath(g.ID))
}

// memberOf finds a member of the group for a confirmation page: 404 when that
// person is not one.
func (a *App) memberOf(c *gin.Context, g store.Group, userID int64) (store.Member, bool) {
	members, err := a.st.Members(c.Request.Context(), g.ID)
	if err != nil {
		a.fail(c, err)
		return store.Member{}, false
	}
	for _, m := range members {
		if m.UserID == userID {
			return m, true
		}
	}
	a.fail(c, errNotAMember(g))
	return store.Member{}, false
}

func errNotAMember(g store.Group) *httpError {
	return newError(http.StatusNotFound, "Not a member", "That person is not a member of this group.").withLink(views.GroupPath(g.ID), "Back to "+g.Name)
}

// transferTarget reads whom the group is to be handed to (field or query
// user): 400 when it is not a number or is the owner.
func (a *App) transferTarget(c *gin.Context, g store.Group, raw string) (int64, bool) {
	to, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || to <= 0 {
		a.fail(c, newError(http.StatusBadRequest, "Bad request", "Choose a member to hand the group over to.").withLink(views.GroupPath(g.ID), "Back to "+g.Name))
		return 0, false
	}
	if to == currentUser(c).ID {
		a.fail(c, newError(http.StatusBadRequest, "Already yours", "You already own this group: choose another member to hand it over to.").withLink(views.GroupPath(g.ID), "Back to "+g.Name))
		return 0, false
	}
	return to, true
}

// transferConfirmPage asks before handing the group over: what the "Make
// owner" button leads to without JavaScript.
func (a *App) transferConfirmPage(c *gin.Context) {
	g, _ := groupOf(c)
	to, ok := a.transferTarget(c, g, c.Query("user"))
	if !ok {
		return
	}
	m, ok := a.memberOf(c, g, to)
	if !ok {
		return
	}
	a.page(c, http.StatusOK, views.TransferConfirmPage(g, m))
}

// transferOwnership hands the group to a member (form field user): 400 when it is
// not a number, 404 when that person is not a member.
func (a *App) transferOwnership(c *gin.Context) {
	form, err := readForm(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	g, _ := groupOf(c)
	to, ok := a.transferTarget(c, g, form.Get("user"))
	if !ok {
		return
	}
	err = a.st.TransferOwnership(c.Request.Context(), g.ID, currentUser(c), to)
	if errors.Is(err, store.ErrNotMember) {
		a.fail(c, errNotAMember(g))
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.hub.groupChanged(g.ID)
	a.doneRedirect(c, "You handed the group over; you are now a member.", views.GroupPath(g.ID))
}

// removeConfirmPage asks before removing a member; the owner is not one to
// remove (409, as the POST answers).
func (a *App) removeConfirmPage(c *gin.Context) {
	g, _ := groupOf(c)
	uid, ok := parseID(c, "uid")
	if !ok {
		a.fail(c, errNotFound)
		return
	}
	m, ok := a.memberOf(c, g, uid)
	if !ok {
		return
	}
	if m.Role == store.RoleOwner {
		a.fail(c, errRemoveOwner(g))
		return
	}
	a.page(c, http.StatusOK, views.RemoveConfirmPage(g, m))
}

func errRemoveOwner(g store.Group) *httpError {
	return newError(http.StatusConflict, "Cannot remove the owner", "The owner cannot be removed.").withLink(views.GroupPath(g.ID), "Back to "+g.Name)
}

func (a *App) removeMember(c *gin.Context) {
	if _, err := readForm(c); err != nil {
		a.fail(c, err)
		return
	}
	g, _ := groupOf(c)
	uid, ok := parseID(c, "uid")
	if !ok {
		a.fail(c, errNotFound)
		return
	}
	_, err := a.st.RemoveMember(c.Request.Context(), g.ID, uid, currentUser(c))
	switch {
	case errors.Is(err, store.ErrNotMember):
		a.fail(c, errNotAMember(g))
		return
	case errors.Is(err, store.ErrOwnerCannotLeave):
		a.fail(c, errRemoveOwner(g))
		return
	case err != nil:
		a.fail(c, err)
		return
	}
	a.hub.memberLeft(g.ID, uid, 0)
	a.doneRedirect(c, "The member was removed.", views.GroupPath(g.ID))
}

func errOwnerLeaves(g store.Group) *httpError {
	return newError(http.StatusConflict, "Hand the group over first",
		"As the owner you cannot leave: make another member the owner, or delete the group.").withLink(views.GroupPath(g.ID), "Back to "+g.Name)
}

// leaveConfirmPage asks a member before they leave.
func (a *App) leaveConfirmPage(c *gin.Context) {
	g, role := groupOf(c)
	if role == store.RoleOwner {
		a.fail(c, errOwnerLeaves(g))
		return
	}
	a.page(c, http.StatusOK, views.LeaveConfirmPage(g))
}

func (a *App) leaveGroup(c *gin.Context) {
	if _, err := readForm(c); err != nil {
		a.fail(c, err)
		return
	}
	g, _ := groupOf(c)
	u := currentUser(c)
	_, err := a.st.LeaveGroup(c.Request.Context(), g.ID, u)
	if errors.Is(err, store.ErrOwnerCannotLeave) {
		a.fail(c, errOwnerLeaves(g))
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	// This session's own pages are not sent to "/" by their streams: this
	// answer takes it there, and the first page there shows the notice.
	_, st := session(c)
	a.hub.memberLeft(g.ID, u.ID, st.rec.ID)
	a.doneRedirect(c, "You left “"+g.Name+"”.", views.PathHome)
}

func (a *App) deleteGroupPage(c *gin.Context) {
	g, _ := groupOf(c)
	issues, err := a.st.GroupIssues(c.Request.Context(), g.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.page(c, http.StatusOK, views.GroupDeletePage(g, len(issues)))
}

func (a *App) deleteGroup(c *gin.Context) {
	if _, err := readForm(c); err != nil {
		a.fail(c, err)
		return
	}
	g, _ := groupOf(c)
	ctx := c.Request.Context()
	if err := a.st.DeleteGroup(ctx, g.ID); err != nil {
		a.fail(c, err)
		return
	}
	a.hub.groupDeleted(g.ID)
	a.doneRedirect(c, "The group “"+g.Name+"” was deleted.", views.PathHome)
}
