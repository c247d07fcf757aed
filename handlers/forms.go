package handlers

import (
	"net/url"
	"strings"

	"estimator/store"
	"estimator/views"
)

// Forms: one function per form turns the posted fields into the form as the
// view shows it again (what was typed, and a message per field in error) and
// the value the store takes. Every handler taking that form uses it; the
// messages people read are here, beside the form they belong to.

// decodeLogin reads the sign-in form (POST /login).
func decodeLogin(v url.Values) (f views.LoginForm, nickname string) {
	f = views.LoginForm{
		Nickname: v.Get("nickname"),
		Remember: v.Get("remember") != "",
		Next:     safeNext(v.Get("next")),
		Kept:     v.Get("kept"),
		Errors:   views.FieldErrors{},
	}
	nickname, msg := store.NormalizeNickname(f.Nickname)
	if msg != "" {
		f.Errors["nickname"] = msg
	}
	return f, nickname
}

func nicknameTakenMessage(nickname string) string {
	return "“" + nickname + "” is taken. If it is yours, open your personal sign-in link (Account page, on a browser where you are signed in); otherwise choose another nickname."
}

const nicknameDeactivatedMessage = "This nickname has been deactivated by an administrator."

// decodeGroup reads a group's name (create a group, rename it).
func decodeGroup(v url.Values) (f views.GroupForm, name string) {
	f = views.GroupForm{Name: v.Get("name"), Errors: views.FieldErrors{}}
	name, msg := store.NormalizeGroupName(f.Name)
	if msg != "" {
		f.Errors["name"] = msg
	}
	return f, name
}

// decodeIssue reads an issue's key and description (add an issue, edit it).
func decodeIssue(v url.Values) (views.IssueForm, store.IssueInput) {
	f := views.IssueForm{Key: v.Get("key"), Description: v.Get("description")}
	in, errs := store.ValidateIssue(f.Key, f.Description)
	f.Errors = errs
	return f, in
}

func issueKeyTakenMessage(key string) string {
	return "This group already has an issue “" + key + "”. Keys are unique within a group (ignoring case)."
}

// decodeEstimate reads a vote: the value, or what was typed and its message.
func decodeEstimate(v url.Values) (value int, typed string, errs views.FieldErrors) {
	typed = v.Get("estimate")
	value, msg := store.ParseEstimate(typed)
	if msg != "" {
		return 0, typed, views.FieldErrors{"estimate": msg}
	}
	return value, typed, nil
}

// decodeFinal reads the final estimate an owner accepts.
func decodeFinal(v url.Values) (views.FinalForm, int) {
	f := views.FinalForm{Value: v.Get("final")}
	final, msg := store.ParseEstimate(f.Value)
	if msg != "" {
		if strings.TrimSpace(f.Value) == "" {
			msg = "Enter the final estimate: a whole number from 1 to 100."
		}
		f.Errors = views.FieldErrors{"final": msg}
	}
	return f, final
}
