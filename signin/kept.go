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
// Each label is the message "kept.field.<name>", in the reader's language.
var keptLabels = []string{"name", "key", "description", "estimate", "final", "seconds", "deck", "cards", "auto_reveal", "timer", "role", "rows", "lang"}

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
	lang := a.lang(c)
	// names[i] is the field v.Fields[i] shows.
	var names []string
	for _, name := range keptLabels {
		val := form.Get(name)
		if strings.TrimSpace(val) == "" {
			continue
		}
		switch name {
		case "auto_reveal":
			val = lang.T("kept.yes")
		case "deck":
			val = views.DeckTitle(lang, val)
		}
		val = shortened(val)
		v.Fields = append(v.Fields, views.KeptField{Label: lang.T("kept.field." + name), Value: val, Long: name == "rows" || name == "description"})
		names = append(names, name)
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
			return lang.F("kept.group_named", map[string]any{"Group": g.Name})
		}
		return lang.T("kept.group_unknown")
	}
	issueName := func(s string) string {
		id, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			if is, _, role, err := a.st.IssueFor(ctx, id, uid); err == nil && role != store.RoleNone {
				return is.Key
			}
		}
		return lang.T("kept.issue_unknown")
	}
	what := func(id string, data map[string]any) string { return lang.F("kept.what."+id, data) }
	at := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	switch {
	case f.Path == views.PathCreateGroup:
		v.What = what("create_group", map[string]any{"Name": shortened(form.Get("name"))})
		v.Fields = nil
	case f.Path == views.PathQuick:
		v.What = what("quick_room", nil)
	case at(0) == "join" && len(parts) == 2:
		v.What = what("join_gone", nil)
		if inv, err := a.st.InviteByToken(ctx, at(1)); err == nil {
			v.What = what("join", map[string]any{"Group": inv.Name, "Owner": inv.Owner})
		}
	case at(0) == "groups" && len(parts) >= 3:
		g := groupName(at(1))
		switch at(2) {
		case "issues":
			v.What = what("add_issue", map[string]any{"Group": g})
		case "rename":
			v.What = what("rename", map[string]any{"Group": g, "Name": form.Get("name")})
			v.Fields = nil
		case "settings":
			v.What = what("settings", map[string]any{"Group": g})
		case "import":
			v.What = what("import", map[string]any{"Group": g})
			if form.Get("confirmed") == "1" {
				v.What = what("import_checked", map[string]any{"Group": g})
			}
		case "invite":
			v.What = what("invite", map[string]any{"Group": g})
		case "transfer":
			v.What, v.Danger = what("transfer", map[string]any{"Group": g}), true
			if gr, ok := group(at(1)); ok {
				if ms, err := a.st.Members(ctx, gr.ID); err == nil {
					for _, m := range ms {
						if strconv.FormatInt(m.UserID, 10) == form.Get("user") {
							v.What = what("transfer_to", map[string]any{"Group": g, "Member": m.Nickname})
						}
					}
				}
			}
		case "members":
			v.What, v.Danger = what("remove", map[string]any{"Group": g}), true
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
				v.What, v.Danger = what("facilitator_of", map[string]any{"Group": g, "Member": name}), false
			case at(4) == "facilitator":
				v.What, v.Danger = what("facilitator", map[string]any{"Group": g}), false
			case name != "":
				v.What = what("remove_member", map[string]any{"Group": g, "Member": name})
			}
		case "quick":
			v.What = what("quick", map[string]any{"Group": g})
		case "leave":
			v.What, v.Danger = what("leave", map[string]any{"Group": g}), true
		case "delete":
			v.What, v.Danger = what("delete_group", map[string]any{"Group": g}), true
		case "role":
			v.What = what("seat", map[string]any{"Group": g})
		default:
			v.What = what("change_group", map[string]any{"Group": g})
		}
	case at(0) == "issues" && len(parts) >= 3:
		is := issueName(at(1))
		// On a deck of labels a card is read as its label: the form posts the
		// number M stands for.
		if id, err := strconv.ParseInt(at(1), 10, 64); err == nil {
			if _, g, role, err := a.st.IssueFor(ctx, id, uid); err == nil && role != store.RoleNone && !g.Settings.Deck.Numeric() {
				for i, fl := range v.Fields {
					if n, err := strconv.Atoi(fl.Value); err == nil && (names[i] == "estimate" || names[i] == "final") {
						v.Fields[i].Value = g.Settings.Deck.Label(n)
					}
				}
			}
		}
		switch at(2) {
		case "estimate":
			v.What = what("vote", map[string]any{"Issue": is})
		case "reveal":
			v.What = what("reveal", map[string]any{"Issue": is})
		case "accept":
			v.What = what("accept", map[string]any{"Issue": is})
		case "revote":
			v.What = what("revote", map[string]any{"Issue": is})
		case "start":
			v.What = what("start", map[string]any{"Issue": is})
		case "timer":
			v.What = what("timer", map[string]any{"Issue": is})
			if form.Get("seconds") == "0" {
				v.What, v.Fields = what("timer_stop", map[string]any{"Issue": is}), nil
			}
		case "edit":
			v.What = what("change_issue", map[string]any{"Issue": is})
		case "delete":
			v.What, v.Danger = what("delete_issue", map[string]any{"Issue": is}), true
		default:
			v.What = what("change_issue", map[string]any{"Issue": is})
		}
	case at(0) == "account":
		switch at(1) {
		case "signin-link":
			v.What = what("signin_link", nil)
		case "forget-browser":
			v.What = what("forget_browser", nil)
		case "language":
			v.What = what("language", nil)
		default:
			v.What = what("revoke", nil)
		}
	default:
		v.What = what("other", map[string]any{"Path": f.Path})
	}
	return v
}
