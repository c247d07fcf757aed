package views

import (
	"net/url"
	"strconv"
)

// Paths of the app: the one place handlers and templates get URLs from. The route
// patterns in handlers use the same shapes.
const (
	PathHome    = "/"
	PathLogin   = "/login"
	PathLogout  = "/confirm-logout"
	PathAccount = "/account"
	// PathAccountLanguage is where a person chooses the interface language.
	PathAccountLanguage = "/account/language"
	PathCreateGroup     = "/creategroup"
	PathQuick           = "/quick"
	PathHealth          = "/healthz"
)

func id(n int64) string { return strconv.FormatInt(n, 10) }

// LoginPath is the sign-in page that continues to next and, when kept is set,
// replays the kept form it names.
func LoginPath(next, kept string) string {
	q := url.Values{}
	if next != "" && next != "/" {
		q.Set("next", next)
	}
	if kept != "" {
		q.Set("kept", kept)
	}
	if len(q) == 0 {
		return PathLogin
	}
	return PathLogin + "?" + q.Encode()
}

// Sign-in with the organisation's account (OpenID Connect), and the nickname
// choice of a first sign-in whose name is taken or not a valid nickname.
const (
	PathLoginOIDC         = "/login/oidc"
	PathLoginOIDCCallback = "/login/oidc/callback"
	PathLoginChoose       = "/login/choose"
)

// OIDCLoginPath starts the provider's sign-in, continuing to next and replaying
// the kept form kept (both stay on this server while the browser is away).
func OIDCLoginPath(next, kept string) string {
	q := url.Values{}
	if next != "" && next != "/" {
		q.Set("next", next)
	}
	if kept != "" {
		q.Set("kept", kept)
	}
	if len(q) == 0 {
		return PathLoginOIDC
	}
	return PathLoginOIDC + "?" + q.Encode()
}

func SigninLinkPath(token string) string      { return "/signin/" + url.PathEscape(token) }
func AccountActionPath(action string) string  { return "/account/" + action }
func AccountBrowserRevokePath(b int64) string { return "/account/browsers/" + id(b) + "/revoke" }

func GroupPath(g int64) string                { return "/groups/" + id(g) }
func GroupIssuesPath(g int64) string          { return GroupPath(g) + "/issues" }
func GroupRenamePath(g int64) string          { return GroupPath(g) + "/rename" }
func GroupInvitePath(g int64) string          { return GroupPath(g) + "/invite" }
func GroupLeavePath(g int64) string           { return GroupPath(g) + "/leave" }
func GroupDeletePath(g int64) string          { return GroupPath(g) + "/delete" }
func GroupTransferPath(g int64) string        { return GroupPath(g) + "/transfer" }
func GroupMemberRemovePath(g, u int64) string { return GroupPath(g) + "/members/" + id(u) + "/remove" }
func GroupFacilitatorPath(g, u int64) string {
	return GroupPath(g) + "/members/" + id(u) + "/facilitator"
}
func GroupQuickPath(g int64) string    { return GroupPath(g) + "/quick" }
func GroupRoomPath(g int64) string     { return GroupPath(g) + "/room" }
func JoinPath(token string) string     { return "/join/" + url.PathEscape(token) }
func GroupRolePath(g int64) string     { return GroupPath(g) + "/role" }
func GroupSettingsPath(g int64) string { return GroupPath(g) + "/settings" }
func GroupEventsPath(g int64) string   { return GroupPath(g) + "/events" }

func IssuePath(i int64) string         { return "/issues/" + id(i) }
func IssueEstimatePath(i int64) string { return IssuePath(i) + "/estimate" }
func IssueRevealPath(i int64) string   { return IssuePath(i) + "/reveal" }
func IssueAcceptPath(i int64) string   { return IssuePath(i) + "/accept" }
func IssueRevotePath(i int64) string   { return IssuePath(i) + "/revote" }
func IssueEditPath(i int64) string     { return IssuePath(i) + "/edit" }
func IssueDeletePath(i int64) string   { return IssuePath(i) + "/delete" }
func IssueEventsPath(i int64) string   { return IssuePath(i) + "/events" }
func IssueStartPath(i int64) string    { return IssuePath(i) + "/start" }
func IssueTimerPath(i int64) string    { return IssuePath(i) + "/timer" }
