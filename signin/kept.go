package signin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// A kept form never acts on an account by itself. Whoever sent it from this
// browser session before the sign-in cannot be told from the person signing
// in: a session (and the form kept in it) can be planted in a browser by
// someone else, so that the victim's sign-in would run the planter's form
// (join the planter's group) as the victim. After the sign-in the person sees
// what the form would send and sends it with one click, or discards it.

// keptPage shows the kept form named by ?kept= to the person who just signed
// in. A form that cannot be sent (used, expired, foreign, unknown) leaves a
// message and goes on to next: refreshing the page after sending never sends
// it twice.
func (a *Auth) keptPage(c *gin.Context) {
	kept, next := c.Query("kept"), web.SafeNext(c.Query("next"))
	_, st := session(c)
	f, err := a.st.PeekForm(c.Request.Context(), kept, st.rec.ID)
	if err != nil {
		a.keptRefused(c, err, next)
		return
	}
	v := a.describeKept(c, f)
	v.Kept, v.Next = kept, next
	a.pages.Page(c, http.StatusOK, views.KeptConfirmPage(v))
}

// keptPost sends the kept form (do=send), as the signed-in user through the
// whole router, or discards it (do=discard). Either uses it up.
func (a *Auth) keptPost(c *gin.Context) {
	form, err := web.ReadForm(c)
	if err != nil {
		web.Fail(c, err)
		return
	}
	kept, next := form.Get("kept"), web.SafeNext(form.Get("next"))
	switch form.Get("do") {
	case "send":
		a.replay(c, kept, next)
	case "discard":
		_, st := session(c)
		if _, err := a.st.TakeForm(c.Request.Context(), kept, st.rec.ID); err != nil {
			a.keptRefused(c, err, next)
			return
		}
		web.DoneRedirect(c, a.lang(c).T("notice.kept_discarded"), next)
	default:
		web.Fail(c, web.NewErrorID(http.StatusBadRequest, "error.kept_choice", nil).WithLinkID(views.KeptPath(kept, next), "error.back"))
	}
}

// keptRefused answers a kept form that cannot be sent: why, then next.
func (a *Auth) keptRefused(c *gin.Context, err error, next string) {
	if errors.Is(err, store.ErrUnavailable) {
		web.Fail(c, err)
		return
	}
	if err := web.SetErrorNotice(c, keptFormMessage(a.lang(c), err)); err != nil {
		web.Fail(c, err)
		return
	}
	web.Redirect(c, next)
}

// keptLabels names the fields a kept form shows, in the order shown; fields
// not named here (once, confirmed, next) are not shown.
var keptLabels = []struct{ name, label string }{
	{"name", "Name"},
	{"key", "Key"},
	{"description", "Description"},
	{"estimate", "Your estimate"},
	{"final", "Final estimate"},
	{"seconds", "Seconds"},
	{"deck", "Deck"},
	{"cards", "Cards"},
	{"auto_reveal", "Reveal when everyone has voted"},
	{"timer", "Default timer (seconds)"},
	{"role", "Seat"},
	{"rows", "Rows"},
	{"lang", "Language"},
}

// keptValueMax bounds a value shown on the page; the form sends it whole.
const keptValueMax = 2000

// shortened is s cut to keptValueMax bytes (at a rune), with "…" when cut.
func shortened(s string) string {
	if len(s) <= keptValueMax {
		return s
	}
	cut := keptValueMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// describeKept says in words what a kept form would do. Names of groups and
// issues are shown only to their members (an invite's group to anyone holding
// the invite, as its join page does): the form may name something this person
// cannot see.
func (a *Auth) describeKept(c *gin.Context, f store.KeptForm) views.KeptView {
	ctx := c.Request.Context()
	uid := User(c).ID
	form, _ := url.ParseQuery(string(f.Body))
	v := views.KeptView{}
	for _, l := range keptLabels {
		val := form.Get(l.name)
		if strings.TrimSpace(val) == "" {
			continue
		}
		switch l.name {
		case "auto_reveal":
			val = "yes"
		case "deck":
			val = store.DeckTitle(val)
		}
		val = shortened(val)
		v.Fields = append(v.Fields, views.KeptField{Label: l.label, Value: val, Long: l.name == "rows" || l.name == "description"})
	}
	parts := strings.Split(strings.Trim(f.Path, "/"), "/")
	group := func(s string) (store.Group, bool) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return store.Group{}, false
		}
		g, role, err := a.st.GroupFor(ctx, id, uid)
		return g, err == nil && role != store.RoleNone
	}
	groupName := func(s string) string {
		if g, ok := group(s); ok {
			return "“" + g.Name + "”"
		}
		return "a group you are not in"
	}
	issueName := func(s string) string {
		id, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			if is, _, role, err := a.st.IssueFor(ctx, id, uid); err == nil && role != store.RoleNone {
				return is.Key
			}
		}
		return "an issue of a group you are not in"
	}
	at := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	switch {
	case f.Path == views.PathCreateGroup:
		v.What = "Create the group “" + shortened(form.Get("name")) + "”"
		v.Fields = nil
	case f.Path == views.PathQuick:
		v.What = "Open a room of your own with a quick vote"
	case at(0) == "join" && len(parts) == 2:
		v.What = "Join a group (its invite link no longer works)"
		if inv, err := a.st.InviteByToken(ctx, at(1)); err == nil {
			v.What = "Join the group “" + inv.Name + "” (owner " + inv.Owner + ")"
		}
	case at(0) == "groups" && len(parts) >= 3:
		g := groupName(at(1))
		switch at(2) {
		case "issues":
			v.What = "Add an issue to " + g
		case "rename":
			v.What = "Rename " + g + " to “" + form.Get("name") + "”"
			v.Fields = nil
		case "settings":
			v.What = "Change the settings of " + g
		case "import":
			v.What = "Import issues into " + g
			if form.Get("confirmed") == "1" {
				v.What = "Import the checked issues into " + g
			}
		case "invite":
			v.What = "Replace the invite link of " + g
		case "transfer":
			v.What, v.Danger = "Make another member the owner of "+g, true
			if gr, ok := group(at(1)); ok {
				if ms, err := a.st.Members(ctx, gr.ID); err == nil {
					for _, m := range ms {
						if strconv.FormatInt(m.UserID, 10) == form.Get("user") {
							v.What = "Make " + m.Nickname + " the owner of " + g
						}
					}
				}
			}
		case "members":
			v.What, v.Danger = "Remove a member from "+g, true
			var name string
			if gr, ok := group(at(1)); ok {
				if ms, err := a.st.Members(ctx, gr.ID); err == nil {
					for _, m := range ms {
						if strconv.FormatInt(m.UserID, 10) == at(3) {
							name = m.Nickname
						}
					}
				}
			}
			switch {
			case at(4) == "facilitator" && name != "":
				v.What, v.Danger = "Change whether "+name+" runs the meeting in "+g, false
			case at(4) == "facilitator":
				v.What, v.Danger = "Change who runs the meeting in "+g, false
			case name != "":
				v.What = "Remove " + name + " from " + g
			}
		case "quick":
			v.What = "Start a quick vote in " + g
		case "leave":
			v.What, v.Danger = "Leave "+g, true
		case "delete":
			v.What, v.Danger = "Delete the group "+g+", its issues and results", true
		case "role":
			v.What = "Change your seat in " + g
		default:
			v.What = "Change " + g
		}
	case at(0) == "issues" && len(parts) >= 3:
		is := issueName(at(1))
		// On a deck of labels a card is read as its label: the form posts the
		// number M stands for.
		if id, err := strconv.ParseInt(at(1), 10, 64); err == nil {
			if _, g, role, err := a.st.IssueFor(ctx, id, uid); err == nil && role != store.RoleNone && !g.Settings.Deck.Numeric() {
				for i, fl := range v.Fields {
					if n, err := strconv.Atoi(fl.Value); err == nil && (fl.Label == "Your estimate" || fl.Label == "Final estimate") {
						v.Fields[i].Value = g.Settings.Deck.Label(n)
					}
				}
			}
		}
		switch at(2) {
		case "estimate":
			v.What = "Vote on " + is
		case "reveal":
			v.What = "Reveal the result of " + is
		case "accept":
			v.What = "Accept the final estimate of " + is
		case "revote":
			v.What = "Start a new round of " + is
		case "start":
			v.What = "Make " + is + " the issue the group estimates now"
		case "timer":
			v.What = "Start the timer of " + is
			if form.Get("seconds") == "0" {
				v.What, v.Fields = "Stop the timer of "+is, nil
			}
		case "edit":
			v.What = "Change " + is
		case "delete":
			v.What, v.Danger = "Delete "+is, true
		default:
			v.What = "Change " + is
		}
	case at(0) == "account":
		switch at(1) {
		case "signin-link":
			v.What = "Replace your personal sign-in link"
		case "forget-browser":
			v.What = "Make this browser forget your nickname"
		case "language":
			v.What = "Change the language of your pages"
		default:
			v.What = "Revoke one of your browsers"
		}
	default:
		v.What = "Send a form to " + f.Path
	}
	return v
}
