package signin

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// headerSubjectKey remembers, in the session, which header value signed it in,
// so later requests with the same header cost no lookup.
const headerSubjectKey = "header_subject"

// MaxHeaderSubject bounds the name a proxy may send.
const MaxHeaderSubject = 256

// parseProxies reads --trusted-proxies the way gin does: addresses or CIDRs.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range list {
		if strings.Contains(p, "/") {
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return nil, err
			}
			out = append(out, pfx.Masked())
			continue
		}
		addr, err := netip.ParseAddr(p)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	}
	return out, nil
}

// fromTrustedProxy reports whether the request's peer (not X-Forwarded-For,
// which anyone can write) is one of the trusted proxies.
func (a *Auth) fromTrustedProxy(c *gin.Context) bool {
	addr, err := netip.ParseAddr(c.RemoteIP())
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range a.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

var errHeaderValue = web.NewErrorID(http.StatusBadRequest, "error.header_value", nil)

// trustedUser signs in the user the trusted proxy names in its header. From any
// other address the header is ignored (and that is logged once). The user is
// linked like a provider's subject, with issuer "header": a guest who picked the
// same nickname is not that user, and a first-time name that is taken or not a
// valid nickname gets the nickname choice.
func (a *Auth) trustedUser(c *gin.Context) {
	values := c.Request.Header.Values(a.cfg.TrustedUserHeader)
	if len(values) == 0 {
		c.Next()
		return
	}
	if !a.fromTrustedProxy(c) {
		a.untrustedHeader.Do(func() {
			a.log.Warn("ignoring the trusted user header from an address not in --trusted-proxies (logged once)",
				"header", a.cfg.TrustedUserHeader, "remote", c.RemoteIP())
		})
		c.Next()
		return
	}
	// Assets need nobody signed in; the nickname choice is answered by its own
	// handler (and must not be asked again while it is being answered).
	if route := c.FullPath(); strings.HasPrefix(route, "/assets/") || route == views.PathLoginChoose {
		c.Next()
		return
	}
	subject := strings.TrimSpace(values[0])
	if len(values) > 1 || !usableSubject(subject) {
		web.Fail(c, errHeaderValue)
		return
	}
	s, _ := session(c)
	if User(c).IsAuthenticated() && s.Get(schemeKey) == schemeHeader && s.Get(headerSubjectKey) == subject {
		c.Next()
		return
	}
	if a.rateLimited(c) {
		return
	}
	ctx := c.Request.Context()
	u, err := a.st.UserByIdentity(ctx, store.HeaderIssuer, subject)
	if errors.Is(err, store.ErrNotFound) {
		nick, p := store.CheckNickname(subject)
		var msg string
		if p.OK() {
			u, err = a.st.ClaimIdentity(ctx, store.HeaderIssuer, subject, nick)
			msg, _ = claimRefusal(err, nick)
		} else {
			msg = store.Problem{ID: "rule.nickname.refused", Data: map[string]any{"Name": clip(subject, 64), "Problem": p}}.In(a.lang(c))
		}
		if msg != "" {
			a.askNickname(c, identityFlow{issuer: store.HeaderIssuer, subject: subject, proposed: subject, next: a.loginNext(c)}, schemeHeader, msg)
			c.Abort()
			return
		}
	}
	if err != nil {
		web.Fail(c, err)
		return
	}
	if !u.Active {
		web.Fail(c, errDeactivated)
		return
	}
	s.Set(headerSubjectKey, subject)
	if _, err := a.renewBrowserKey(c, u, false); err != nil {
		web.Fail(c, err)
		return
	}
	if err := a.startSession(c, u, false, "", schemeHeader); err != nil {
		web.Fail(c, err)
		return
	}
	c.Next()
}

// usableSubject: text, not too long, no control characters.
func usableSubject(s string) bool {
	if s == "" || len(s) > MaxHeaderSubject || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
