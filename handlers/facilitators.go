package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"estimator/signin"
	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// facilitatorsStore is the part of the store used by who runs the meeting
// (facilitators) and by quick votes.
type facilitatorsStore interface {
	SetFacilitator(ctx context.Context, groupID, userID int64, on bool, by store.User) error
	QuickVote(ctx context.Context, userID, groupID int64, description string, once store.Once, by store.User) (store.Issue, bool, error)
	QuickRoom(ctx context.Context, owner store.User, name string, once store.Once) (store.Group, store.Issue, bool, error)
}

// setFacilitator lets a member run the meeting (facilitator=1) or takes it
// back (0): the owner's, on a member of the group. 404 for a uid that is not
// a member, 409 for the owner (who runs the meeting anyway), 422 for another
// value.
func (a *App) setFacilitator(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	uid, ok := web.ParseID(c, "uid")
	if !ok {
		web.Fail(c, errNotAMember(g))
		return
	}
	on, ok := decodeFacilitator(form)
	if !ok {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusUnprocessableEntity, "error.facilitator_choice", nil), g))
		return
	}
	err = a.st.SetFacilitator(c.Request.Context(), g.ID, uid, on, signin.User(c))
	switch {
	case errors.Is(err, store.ErrNotMember):
		web.Fail(c, errNotAMember(g))
		return
	case errors.Is(err, store.ErrIsOwner):
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusConflict, "error.owner_runs", nil), g))
		return
	case err != nil:
		web.Fail(c, err)
		return
	}
	notice := langOf(c).T("notice.facilitator_on")
	if !on {
		notice = langOf(c).T("notice.facilitator_off")
	}
	web.DoneRedirect(c, notice, views.GroupPath(g.ID))
}

// quickVote adds the group's next quick vote (Q-1, Q-2, …) with the optional
// description, makes it current (every open page of the group follows) and
// lands in its room. The same once sent again lands in the first's room.
func (a *App) quickVote(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, _ := groupOf(c)
	desc, msg := decodeQuick(form, langOf(c))
	if msg != "" {
		web.Fail(c, backToGroup(web.NewErrorID(http.StatusUnprocessableEntity, "error.quick_description", map[string]any{"Message": msg}), g))
		return
	}
	once, err := readOnce(form, views.GroupQuickPath(g.ID), desc)
	if err != nil {
		web.Fail(c, err)
		return
	}
	u := signin.User(c)
	is, _, err := a.st.QuickVote(c.Request.Context(), u.ID, g.ID, desc, once, u)
	if err != nil {
		web.Fail(c, err)
		return
	}
	web.DoneRedirect(c, signin.ReplayNotice(c, langOf(c).F("notice.quick_vote", map[string]any{"Key": is.Key})), views.IssuePath(is.ID))
}

// quickRoom is "Quick vote" on My Groups: a new group (name, by default
// "<nickname>'s room") with a first quick vote, landing in its room, where
// the owner sees the invite link. The same once sent again lands in the
// first's room.
func (a *App) quickRoom(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	u := signin.User(c)
	raw := form.Get("name")
	if raw == "" {
		raw = quickRoomName(u.Nickname)
	}
	name, p := store.CheckGroupName(raw)
	msg := p.In(langOf(c))
	if msg != "" {
		web.Fail(c, web.NewErrorID(http.StatusUnprocessableEntity, "error.quick_name", map[string]any{"Message": msg}).WithLinkID(views.PathHome, "error.back_to_my_groups"))
		return
	}
	once, err := readOnce(form, views.PathQuick, name)
	if err != nil {
		web.Fail(c, err)
		return
	}
	g, is, _, err := a.st.QuickRoom(c.Request.Context(), u, name, once)
	if err != nil {
		web.Fail(c, err)
		return
	}
	target := views.GroupRoomPath(g.ID)
	if is.ID != 0 {
		target = views.IssuePath(is.ID)
	}
	web.DoneRedirect(c, signin.ReplayNotice(c, langOf(c).F("notice.quick_room", map[string]any{"Group": g.Name})), target)
}

// quickRoomName is the default name of a quick vote's group: the nickname's
// possessive, cut to a group name's length.
func quickRoomName(nick string) string {
	name := nick + "’s room"
	if r := []rune(name); len(r) > store.GroupNameMax {
		name = string(r[:store.GroupNameMax])
	}
	return name
}
