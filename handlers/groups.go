package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// groupStore is the part of the store used by groups, their members and
// invites.
type groupStore interface {
	CreateGroupOnce(ctx context.Context, owner store.User, name string, once store.Once) (g store.Group, made bool, err error)
	CreateIssueOnce(ctx context.Context, userID, groupID int64, in store.IssueInput, once store.Once) (is store.Issue, made bool, err error)
	DeleteGroup(ctx context.Context, groupID int64) error
	GroupEvents(ctx context.Context, groupID int64, limit int) ([]store.AuditEvent, error)
	GroupFor(ctx context.Context, groupID, userID int64) (store.Group, store.Role, error)
	GroupIssues(ctx context.Context, groupID int64) ([]store.IssueSummary, error)
	InviteByToken(ctx context.Context, token string) (store.Invite, error)
	Join(ctx context.Context, token string, u store.User) (store.Group, error)
	LeaveGroup(ctx context.Context, groupID int64, u store.User, session int64) ([]int64, error)
	Members(ctx context.Context, groupID int64) ([]store.Member, error)
	RemoveMember(ctx context.Context, groupID, userID int64, by store.User) ([]int64, error)
	RenameGroup(ctx context.Context, groupID int64, name string) error
	ReplaceInvite(ctx context.Context, groupID int64) (string, error)
	TransferOwnership(ctx context.Context, groupID int64, from store.User, toUserID int64) error
	UserGroups(ctx context.Context, userID int64) ([]store.GroupSummary, error)
}

func (a *App) home(c *gin.Context) {
	u := signin.User(c)
	if !u.IsAuthenticated() {
		a.pages.Page(c, http.StatusOK, views.HomePage(nil, views.GroupForm{}))
		return
	}
	ctx := c.Request.Context()
	p := a.pages.Info(c)
	if n, isErr := a.pages.PopNotice(c); n != "" {
		p.Notice, p.NoticeError = n, isErr
	}
	// Kept under the generation the groups are read at, when every read of
	// the request is at one (store.Generation).
	var gen uint64
	if g, steady := a.st.Generation(ctx); steady {
		gen = g
	}
	in := newHomeInputs(p, gen)
	if p.Notice == "" {
		if r := a.homes.atGen(u.ID, in); r != nil {
			web.WriteRendered(c, http.StatusOK, r)
			return
		}
	}
	groups, err := a.st.UserGroups(ctx, u.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	if p.Notice != "" {
		// Shown once: not worth keeping.
		web.Render(c, http.StatusOK, views.HomePage(groups, homeForm(u.ID, groups)), p)
		return
	}
	if g, steady := a.st.Generation(ctx); !steady || g != gen {
		in.gen = 0
	}
	in.groups = groups
	if r := a.homes.get(u.ID, in); r != nil {
		web.WriteRendered(c, http.StatusOK, r)
		return
	}
	if r := web.RenderKept(c, http.StatusOK, views.HomePage(groups, homeForm(u.ID, groups)), p); r != nil {
		a.homes.put(u.ID, in, r)
	}
}

func (a *App) createGroup(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	u := signin.User(c)
	ctx := c.Request.Context()
	f, name := decodeGroup(form, langOf(c))
	// Sent back with messages, the form keeps its once: nothing was made.
	f.Once = form.Get("once")
	if len(f.Errors) > 0 {
		if web.WantsFragment(c) {
			a.pages.Fragment(c, http.StatusUnprocessableEntity, views.CreateGroupForm(f))
			return
		}
		groups, err := a.st.UserGroups(ctx, u.ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		f.QuickOnce = homeForm(u.ID, groups).QuickOnce
		a.pages.Page(c, http.StatusUnprocessableEntity, views.HomePage(groups, f))
		return
	}
	once, err := readOnce(form, views.PathCreateGroup, name)
	if err != nil {
		web.Fail(c, err)
		return
	}
	// Sent again (a double click): the group the first made, and the same answer.
	g, _, err := a.st.CreateGroupOnce(ctx, u, name, once)
	if err != nil {
		web.Fail(c, err)
		return
	}
	notice := signin.ReplayNotice(c, langOf(c).F("notice.group_created", map[string]any{"Group": g.Name}))
	if web.WantsFragment(c) {
		groups, err := a.st.UserGroups(ctx, u.ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		a.pages.ActionDone(c, views.CreateGroupDone(groups, groupsOnce(u.ID, groups)), notice)
		return
	}
	web.DoneRedirect(c, notice, views.GroupPath(g.ID))
}

// doneRedirect leaves a notice and sends the browser on (PRG).
func (a *App) doneRedirect(c *gin.Context, notice, target string) {
	// A visitor who is not signed in, over the cap of their rows: on without
	// the notice (it would need a session row).
	if err := web.SetNotice(c, notice); err != nil && !web.IsAnonCap(err) {
		web.Fail(c, err)
		return
	}
	web.Redirect(c, target)
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
		web.Fail(c, err)
		return
	}
	v.Seat = store.SeatVoter
	for _, m := range v.Members {
		if m.UserID == signin.User(c).ID {
			v.Seat = m.Seat
		}
	}
	if v.Issues, err = a.st.GroupIssues(ctx, g.ID); err != nil {
		web.Fail(c, err)
		return
	}
	if v.IssueForm.Once == "" {
		v.IssueForm.Once = issuesOnce(signin.User(c).ID, g.ID, v.Issues)
	}
	if role.CanFacilitate() && len(v.Tracker.Allowed) == 0 {
		if v.Tracker, err = a.trackerView(ctx, g.ID); err != nil {
			web.Fail(c, err)
			return
		}
	}
	if role == store.RoleOwner {
		events, err := a.st.GroupEvents(ctx, g.ID, 10)
		if err != nil {
			web.Fail(c, err)
			return
		}
		v.Activity = views.ActivityLines(events)
	}
	a.pages.Page(c, status, views.GroupPage(v))
}

var errInviteInvalid = web.NewErrorID(http.StatusNotFound, "error.invite_invalid", nil)

func (a *App) joinPage(c *gin.Context) {
	ctx := c.Request.Context()
	inv, err := a.st.InviteByToken(ctx, c.Param("token"))
	if errors.Is(err, store.ErrNotFound) {
		web.Fail(c, errInviteInvalid)
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	_, role, err := a.st.GroupFor(ctx, inv.ID, signin.User(c).ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.pages.Page(c, http.StatusOK, views.JoinPage(inv, c.Param("token"), role != store.RoleNone))
}

func (a *App) joinPost(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	u := signin.User(c)
	g, err := a.st.Join(c.Request.Context(), c.Param("token"), u)
	switch {
	case errors.Is(err, store.ErrNotFound):
		web.Fail(c, errInviteInvalid)
		return
	case errors.Is(err, store.ErrAlreadyMember):
		web.Fail(c, web.NewErrorID(http.StatusConflict, "error.already_member", map[string]any{"Group": g.Name}).WithLinkID(views.GroupPath(g.ID), "group.go"))
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, signin.ReplayNotice(c, langOf(c).F("notice.joined", map[string]any{"Group": g.Name})), views.GroupPath(g.ID))
}

func (a *App) addIssue(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, role := groupOf(c)
	ctx := c.Request.Context()
	f, in := decodeIssue(form, langOf(c))
	f.Once = form.Get("once")
	var is store.Issue
	if len(f.Errors) == 0 {
		once, err := readOnce(form, strconv.FormatInt(g.ID, 10), in.Key, in.Description)
		if err != nil {
			web.Fail(c, err)
			return
		}
		// Sent again (a double click): the issue the first added, and the
		// same answer, not "this key is taken".
		is, _, err = a.st.CreateIssueOnce(ctx, signin.User(c).ID, g.ID, in, once)
		if errors.Is(err, store.ErrKeyTaken) {
			f.Errors["key"] = issueKeyTakenMessage(langOf(c), in.Key)
		} else if err != nil {
			web.Fail(c, err)
			return
		}
	}
	if len(f.Errors) > 0 {
		if web.WantsFragment(c) {
			a.pages.Fragment(c, http.StatusUnprocessableEntity, views.AddIssueForm(g.ID, f))
			return
		}
		a.renderGroup(c, http.StatusUnprocessableEntity, g, role, f, views.GroupForm{Name: g.Name})
		return
	}
	notice := signin.ReplayNotice(c, langOf(c).F("notice.issue_added", map[string]any{"Key": is.Key}))
	if web.WantsFragment(c) {
		issues, err := a.st.GroupIssues(ctx, g.ID)
		if err != nil {
			web.Fail(c, err)
			return
		}
		a.pages.ActionDone(c, views.AddIssueDone(g.ID, issues, issuesOnce(signin.User(c).ID, g.ID, issues)), notice)
		return
	}
	web.DoneRedirect(c, notice, views.GroupPath(g.ID))
}

func (a *App) replaceInvite(c *gin.Context) {
	g, _ := groupOf(c)
	if _, err := a.st.ReplaceInvite(c.Request.Context(), g.ID); err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).T("notice.invite_replaced"), views.GroupPath(g.ID))
}

func (a *App) renameGroup(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, role := groupOf(c)
	f, name := decodeGroup(form, langOf(c))
	if len(f.Errors) > 0 {
		a.renderGroup(c, http.StatusUnprocessableEntity, g, role, views.IssueForm{}, f)
		return
	}
	if err := a.st.RenameGroup(c.Request.Context(), g.ID, name); err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).F("notice.group_renamed", map[string]any{"Group": name}), views.GroupPath(g.ID))
}

// memberOf finds a member of the group for a confirmation page: 404 when that
// person is not one.
func (a *App) memberOf(c *gin.Context, g store.Group, userID int64) (store.Member, bool) {
	members, err := a.st.Members(c.Request.Context(), g.ID)
	if err != nil {
		web.Fail(c, err)
		return store.Member{}, false
	}
	for _, m := range members {
		if m.UserID == userID {
			return m, true
		}
	}
	web.Fail(c, errNotAMember(g))
	return store.Member{}, false
}

func errNotAMember(g store.Group) *web.Error {
	return backToGroup(web.NewErrorID(http.StatusNotFound, "error.not_a_member", nil), g)
}

// transferTarget reads whom the group is to be handed to (field or query
// user): 400 when it is not a number or is the owner.
func (a *App) transferTarget(c *gin.Context, g store.Group, raw string) (int64, bool) {
	to, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || to <= 0 {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusBadRequest, "error.transfer_choose", nil), g))
		return 0, false
	}
	if to == signin.User(c).ID {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusBadRequest, "error.transfer_self", nil), g))
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
	a.pages.Page(c, http.StatusOK, views.TransferConfirmPage(g, m))
}

// transferOwnership hands the group to a member (form field user): 400 when it is
// not a number, 404 when that person is not a member.
func (a *App) transferOwnership(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	to, ok := a.transferTarget(c, g, form.Get("user"))
	if !ok {
		return
	}
	err = a.st.TransferOwnership(c.Request.Context(), g.ID, signin.User(c), to)
	if errors.Is(err, store.ErrNotMember) {
		web.Fail(c, errNotAMember(g))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).T("notice.handed_over"), views.GroupPath(g.ID))
}

// removeConfirmPage asks before removing a member; the owner is not one to
// remove (409, as the POST answers).
func (a *App) removeConfirmPage(c *gin.Context) {
	g, _ := groupOf(c)
	uid, ok := web.ParseID(c, "uid")
	if !ok {
		web.Fail(c, web.ErrNotFound)
		return
	}
	m, ok := a.memberOf(c, g, uid)
	if !ok {
		return
	}
	if m.Role == store.RoleOwner {
		web.Fail(c, errRemoveOwner(g))
		return
	}
	a.pages.Page(c, http.StatusOK, views.RemoveConfirmPage(g, m))
}

func errRemoveOwner(g store.Group) *web.Error {
	return backToGroup(web.NewErrorID(http.StatusConflict, "error.remove_owner", nil), g)
}

func (a *App) removeMember(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	uid, ok := web.ParseID(c, "uid")
	if !ok {
		web.Fail(c, web.ErrNotFound)
		return
	}
	_, err := a.st.RemoveMember(c.Request.Context(), g.ID, uid, signin.User(c))
	switch {
	case errors.Is(err, store.ErrNotMember):
		web.Fail(c, errNotAMember(g))
		return
	case errors.Is(err, store.ErrOwnerCannotLeave):
		web.Fail(c, errRemoveOwner(g))
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).T("notice.member_removed"), views.GroupPath(g.ID))
}

func errOwnerLeaves(g store.Group) *web.Error {
	return backToGroup(web.NewErrorID(http.StatusConflict, "error.owner_leave", nil), g)
}

// leaveConfirmPage asks a member before they leave.
func (a *App) leaveConfirmPage(c *gin.Context) {
	g, role := groupOf(c)
	if role == store.RoleOwner {
		web.Fail(c, errOwnerLeaves(g))
		return
	}
	a.pages.Page(c, http.StatusOK, views.LeaveConfirmPage(g))
}

func (a *App) leaveGroup(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	u := signin.User(c)
	// This session's own pages are not sent to "/" by their streams: this
	// answer takes it there, and the first page there shows the notice.
	_, err := a.st.LeaveGroup(c.Request.Context(), g.ID, u, signin.SessionID(c))
	if errors.Is(err, store.ErrOwnerCannotLeave) {
		web.Fail(c, errOwnerLeaves(g))
		return
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).F("notice.left", map[string]any{"Group": g.Name}), views.PathHome)
}

func (a *App) deleteGroupPage(c *gin.Context) {
	g, _ := groupOf(c)
	issues, err := a.st.GroupIssues(c.Request.Context(), g.ID)
	if err != nil {
		web.Fail(c, err)
		return
	}
	a.pages.Page(c, http.StatusOK, views.GroupDeletePage(g, len(issues)))
}

func (a *App) deleteGroup(c *gin.Context) {
	if _, err := web.ReadForm(c); err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	ctx := c.Request.Context()
	if err := a.st.DeleteGroup(ctx, g.ID); err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, langOf(c).F("notice.group_deleted", map[string]any{"Group": g.Name}), views.PathHome)
}
