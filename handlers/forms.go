package handlers

import (
	"net/url"
	"strings"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
)

// Forms: one function per form turns the posted fields into the form as the
// view shows it again (what was typed, and a message per field in error) and
// the value the store takes. Every handler taking that form uses it; the
// messages people read are here, beside the form they belong to, written in
// the language l of the page (langOf): the store's rules give them as a
// store.Problem.

// decodeGroup reads a group's name (create a group, rename it).
func decodeGroup(v url.Values, l i18n.Lang) (f views.GroupForm, name string) {
	f = views.GroupForm{Name: v.Get("name"), Errors: views.FieldErrors{}}
	name, p := store.CheckGroupName(f.Name)
	if !p.OK() {
		f.Errors["name"] = p.In(l)
	}
	return f, name
}

// decodeIssue reads an issue's key and description (add an issue, edit it).
func decodeIssue(v url.Values, l i18n.Lang) (views.IssueForm, store.IssueInput) {
	f := views.IssueForm{Key: v.Get("key"), Description: v.Get("description")}
	in, errs := store.CheckIssue(f.Key, f.Description)
	f.Errors = errs.In(l)
	return f, in
}

func issueKeyTakenMessage(l i18n.Lang, key string) string {
	return l.F("form.key_taken", map[string]any{"Key": key})
}

// decodeVote reads a vote (POST /issues/{id}/estimate): a number 1–100, ?
// or coffee, or what was typed and its message.
func decodeVote(v url.Values, l i18n.Lang) (vote store.Vote, typed string, errs views.FieldErrors) {
	typed = v.Get("estimate")
	vote, p := store.CheckVote(typed)
	if !p.OK() {
		return store.Vote{}, typed, views.FieldErrors{"estimate": p.In(l)}
	}
	return vote, typed, nil
}

// decodeFinal reads the final estimate an owner accepts for a round's result:
// a label of its deck on a deck of labels, a whole number 1–100 otherwise.
func decodeFinal(v url.Values, r store.Result, l i18n.Lang) (views.FinalForm, int) {
	f := views.FinalForm{Value: v.Get("final")}
	final, p := r.CheckFinal(f.Value)
	if msg := p.In(l); msg != "" {
		if strings.TrimSpace(f.Value) == "" && !r.Labelled() {
			msg = l.T("form.final_empty")
		}
		f.Errors = views.FieldErrors{"final": msg}
	}
	return f, final
}

// decodeSettings reads a group's settings (POST /groups/{id}/settings): deck,
// cards, auto_reveal and the default timer.
func decodeSettings(v url.Values, l i18n.Lang) (views.SettingsForm, store.GroupSettings) {
	f := views.SettingsForm{Deck: v.Get("deck"), Cards: v.Get("cards"), Timer: v.Get("timer"), AutoReveal: v.Get("auto_reveal") == "1"}
	set, errs := store.CheckSettings(f.Deck, f.Cards, v.Get("auto_reveal"), f.Timer)
	if len(errs) > 0 {
		f.Errors = errs.In(l)
	}
	return f, set
}

// decodeTimer reads the round's countdown (POST /issues/{id}/timer): seconds
// 1–3600, or 0 to stop it.
func decodeTimer(v url.Values, l i18n.Lang) (views.TimerForm, int) {
	f := views.TimerForm{Value: v.Get("seconds")}
	seconds, p := store.CheckTimer(f.Value, false)
	if !p.OK() {
		f.Errors = views.FieldErrors{"seconds": p.In(l)}
	}
	return f, seconds
}

// decodeRole reads a member's seat (POST /groups/{id}/role): voter or
// spectator; ok false with anything else.
func decodeRole(v url.Values) (seat store.Seat, ok bool) {
	return store.ParseSeat(v.Get("role"))
}

// decodeFacilitator reads the facilitator switch (POST
// /groups/{id}/members/{uid}/facilitator): 1 or 0; ok false with anything else.
func decodeFacilitator(v url.Values) (on, ok bool) {
	switch v.Get("facilitator") {
	case "1":
		return true, true
	case "0":
		return false, true
	}
	return false, false
}

// decodeQuick reads a quick vote's optional description (POST
// /groups/{id}/quick).
func decodeQuick(v url.Values, l i18n.Lang) (description, msg string) {
	in, errs := store.CheckIssue("Q", v.Get("description"))
	return in.Description, errs["description"].In(l)
}
