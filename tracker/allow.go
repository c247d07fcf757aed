// Package tracker talks to the issue trackers an operator allows (Jira, GitHub,
// GitLab): it checks a connection, searches issues to import and writes an
// accepted estimate back. It contacts nothing but the base URLs of the
// operator's list: a group owner is anyone with a nickname, and the URL they
// give must not turn the server into a way into the network it runs in.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Kind is a tracker's type.
type Kind string

const (
	Jira   Kind = "jira"
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
)

// Title is how a page names the kind.
func (k Kind) Title() string {
	switch k {
	case Jira:
		return "Jira"
	case GitHub:
		return "GitHub"
	case GitLab:
		return "GitLab"
	}
	return string(k)
}

// Base is one entry of the operator's list: a kind and its base URL (no
// trailing slash; it may carry a path, a Jira under /jira).
type Base struct {
	Kind Kind
	URL  string
}

// Allowed is the operator's list (--trackers).
type Allowed []Base

// ParseAllowed reads "KIND=BASEURL,…". http:// is taken only for a loopback
// address; a base URL carries no user, query or fragment.
func ParseAllowed(s string) (Allowed, error) {
	var out Allowed
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, raw, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want KIND=BASEURL, such as jira=https://acme.atlassian.net", part)
		}
		kind := Kind(strings.ToLower(strings.TrimSpace(k)))
		if kind != Jira && kind != GitHub && kind != GitLab {
			return nil, fmt.Errorf("%q: the kind is jira, github or gitlab", part)
		}
		base, err := cleanBase(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		if seen[base] {
			return nil, fmt.Errorf("%q: listed twice", base)
		}
		seen[base] = true
		out = append(out, Base{Kind: kind, URL: base})
	}
	return out, nil
}

func cleanBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New("not an absolute URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", errors.New("a base URL has no user, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", errors.New("http:// only for a loopback address (127.0.0.1, ::1, localhost); use https://")
		}
	default:
		return "", errors.New("the scheme is https (or http for a loopback address)")
	}
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Find is the entry whose base URL is u (as typed by an owner: a trailing slash
// or capitals in the host do not matter). Anything else is not on the list.
func (al Allowed) Find(u string) (Base, bool) {
	clean, err := cleanBase(strings.TrimSpace(u))
	if err != nil {
		return Base{}, false
	}
	for _, b := range al {
		if b.URL == clean {
			return b, true
		}
	}
	return Base{}, false
}

// hostPort is the address a base URL is dialled at.
func hostPort(base string) string {
	u, _ := url.Parse(base)
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Limits of every call.
const (
	// CallTimeout bounds one call, from dialling to the last byte read.
	CallTimeout = 15 * time.Second
	// BodyMax caps what is read of an answer.
	BodyMax = 4 << 20
)

// ErrNotAllowed is a request to an address not on the operator's list (a
// redirect to another host, say).
var ErrNotAllowed = errors.New("not on the server's list of trackers")

// HTTPClient is the one client every call goes through: it dials only the
// hosts of the list, follows a redirect only within the same scheme and host,
// ignores proxies from the environment and times out.
func (al Allowed) HTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = CallTimeout
	}
	hosts := map[string]bool{}
	for _, b := range al {
		hosts[hostPort(b.URL)] = true
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !hosts[strings.ToLower(addr)] {
				return nil, fmt.Errorf("%s: %w", addr, ErrNotAllowed)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			prev := via[len(via)-1].URL
			if req.URL.Scheme != prev.Scheme || !strings.EqualFold(req.URL.Host, prev.Host) {
				return fmt.Errorf("a redirect to %s: %w", req.URL.Host, ErrNotAllowed)
			}
			return nil
		},
	}
}
