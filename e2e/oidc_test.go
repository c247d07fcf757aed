package e2e

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"estimator/handlers"
	"estimator/signin"
)

// Acceptance (sign-in with the organisation's provider): a signed-out teammate
// opens an invite link, signs in through a real OpenID Connect provider served
// on loopback, and lands back on the invite. Later, signed out in another tab,
// they press Join: the form is kept, survives the round trip to the provider,
// and is replayed once they are back.
func TestSignInThroughProvider(t *testing.T) {
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the browser showed the provider, to check nothing of ours leaked.
	var mu sync.Mutex
	var atProvider []string
	idp.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			atProvider = append(atProvider, r.URL.String())
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Shutdown() })
	e := newEnv(t, func(cfg *handlers.Config, base string) {
		cfg.BaseURL = base
		cfg.OIDC = signin.OIDCConfig{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, Name: "Acme SSO"}
	})

	owner := e.person("Olga (owner)")
	owner.signIn("Olga")
	const group = "SSO Team"
	groupPath := owner.createGroup(group)
	owner.open(groupPath)
	link := owner.inviteLink()
	invite, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}

	sam := e.person("Sam (SSO)")
	idp.QueueUser(&mockoidc.MockUser{Subject: "sub-sam", PreferredUsername: "Sam"})
	sam.do(chromedp.Navigate(link))
	sam.waitPath("/login")
	if got := sam.text(testID("oidc-signin")); got != "Sign in with Acme SSO" {
		t.Errorf("provider button says %q", got)
	}
	sam.click(testID("oidc-signin"))
	// Through the provider and back where it started.
	sam.waitPath(invite.Path)
	sam.waitText(testID("nav-signout"), "Sign out Sam", stepTimeout)
	sam.waitText(testID("join-title"), "Join group "+group+"?", stepTimeout)
	if cbs := e.requestsTo("GET", signin.OIDCCallbackPath); len(cbs) != 1 || cbs[0].Status != 303 {
		t.Fatalf("callback requests: %+v, want one answered 303", cbs)
	}

	// Signed out in a second tab; the first still shows the Join button.
	other := sam.newTab("Sam, tab B")
	other.open("/confirm-logout")
	other.click(testID("signout-confirm"))
	other.waitVisible(testID("nav-signin"))

	idp.QueueUser(&mockoidc.MockUser{Subject: "sub-sam", PreferredUsername: "Sam"})
	sam.click(testID("join-confirm"))
	u := sam.waitPath("/login")
	sam.waitVisible(testID("kept-notice"))
	if u.Query().Get("kept") == "" {
		t.Fatalf("sign-in page %s carries no kept form", u)
	}
	sam.click(testID("oidc-signin"))
	sam.confirmKept("Join the group")
	sam.waitPath(groupPath)
	sam.waitText(testID("group-name"), group, stepTimeout)
	sam.waitText(testID("notice"), "Signed in as Sam", stepTimeout)
	// Join's path holds the invite token, so the log names its route only.
	var replays []request
	for _, r := range e.requests() {
		if r.Replay {
			replays = append(replays, r)
		}
	}
	if len(replays) != 1 || replays[0].Method != "POST" || replays[0].Status != 303 {
		t.Errorf("want the kept Join replayed once after the provider (303 to the group), got %+v", replays)
	}
	// The provider saw neither the kept form nor where to go back to.
	mu.Lock()
	seen := strings.Join(atProvider, "\n")
	mu.Unlock()
	if !strings.Contains(seen, "/oidc/authorize?") {
		t.Fatalf("the browser never reached the provider's authorize endpoint:\n%s", seen)
	}
	for _, secret := range []string{u.Query().Get("kept"), strings.TrimPrefix(invite.Path, "/join/")} {
		if strings.Contains(seen, secret) || strings.Contains(seen, url.QueryEscape(secret)) {
			t.Errorf("the provider was shown %q:\n%s", secret, seen)
		}
	}
	if strings.Contains(e.logs.String(), u.Query().Get("kept")) {
		t.Error("the kept form's reference reached the log")
	}

	owner.open(groupPath)
	if members := owner.texts(testID("member-name")); !slices.Contains(members, "Sam") {
		t.Errorf("owner's group page lists %q, want Sam among them", members)
	}
	sam.noConsoleErrors()
	other.noConsoleErrors()
}
