package tracker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Conn is a group's connection to its tracker.
type Conn struct {
	Kind Kind
	// Base is the base URL, one of the operator's list.
	Base  string
	Token string
	// Project is a Jira project key, GitHub's owner/repo or a GitLab project
	// id or path.
	Project string
	// Field is Jira's story points field or GitHub's label prefix (GitLab: the
	// issue's weight, no field).
	Field string
}

// Defaults of Conn.Field.
const (
	DefaultJiraField   = "customfield_10016"
	DefaultLabelPrefix = "estimate: "
)

// Issue is an issue found to import.
type Issue struct {
	// Ref names it in the tracker's API: a Jira key, a GitHub or GitLab issue
	// number.
	Ref string
	// Key is how Estimator names it: SHOP-12, #12.
	Key   string
	Title string
	Body  string
	// URL is the issue's web page.
	URL string
}

// Error is a call that failed, said for people: it never holds the token.
type Error struct {
	// Status is the tracker's HTTP status (0: no answer).
	Status int
	// Msg says what went wrong, with the tracker's own message if it gave one.
	Msg string
	// Temporary: trying again later may succeed (no answer, 429, 5xx, a rate
	// limit); RetryAfter is when the tracker said to (0: not said).
	Temporary  bool
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// Client makes every call through the operator's list.
type Client struct {
	al   Allowed
	http *http.Client
	now  func() time.Time
}

// New builds a client whose calls each end within timeout (0: CallTimeout).
func New(al Allowed, timeout time.Duration) *Client {
	return &Client{al: al, http: al.HTTPClient(timeout), now: time.Now}
}

// Allowed is the operator's list the client keeps to.
func (c *Client) Allowed() Allowed { return c.al }

// MaxPages bounds the pages one search reads.
const MaxPages = 40

// pageSize is how many issues a page asks for.
const pageSize = 50

func (c *Client) api(conn Conn) (api, error) {
	b, ok := c.al.Find(conn.Base)
	if !ok || b.Kind != conn.Kind {
		return nil, &Error{Msg: "The tracker " + conn.Base + " is not on this server's list (--trackers): it is not contacted."}
	}
	conn.Base = b.URL
	switch conn.Kind {
	case Jira:
		if conn.Field == "" {
			conn.Field = DefaultJiraField
		}
		return jira{c, conn}, nil
	case GitHub:
		if conn.Field == "" {
			conn.Field = DefaultLabelPrefix
		}
		return github{c, conn}, nil
	case GitLab:
		return gitlab{c, conn}, nil
	}
	return nil, &Error{Msg: "unknown tracker kind"}
}

type api interface {
	check(ctx context.Context) error
	search(ctx context.Context, query string, max int) ([]Issue, error)
	write(ctx context.Context, ref string, n int) error
}

// Check makes sure the token is taken and the project (and Jira's field)
// exist, with as few calls as that takes.
func (c *Client) Check(ctx context.Context, conn Conn) error {
	a, err := c.api(conn)
	if err != nil {
		return err
	}
	return scrub(a.check(ctx), conn.Token)
}

// Search lists the project's issues the query finds, page after page, at most
// max of them.
func (c *Client) Search(ctx context.Context, conn Conn, query string, max int) ([]Issue, error) {
	a, err := c.api(conn)
	if err != nil {
		return nil, err
	}
	is, err := a.search(ctx, query, max)
	return is, scrub(err, conn.Token)
}

// Write sets the estimate of the issue ref to n.
func (c *Client) Write(ctx context.Context, conn Conn, ref string, n int) error {
	a, err := c.api(conn)
	if err != nil {
		return err
	}
	return scrub(a.write(ctx, ref, n), conn.Token)
}

// scrub takes the token out of a message, should a tracker ever echo it.
func scrub(err error, token string) error {
	if err == nil || token == "" {
		return err
	}
	var te *Error
	if !errors.As(err, &te) {
		te = &Error{Msg: err.Error()}
	}
	out := *te
	out.Msg = strings.ReplaceAll(out.Msg, token, "…")
	if i := strings.LastIndex(token, ":"); i >= 0 && i+1 < len(token) {
		out.Msg = strings.ReplaceAll(out.Msg, token[i+1:], "…")
	}
	return &out
}

// call sends one request and decodes a JSON answer into out (nil: ignored).
// Every failure comes back as *Error.
func (c *Client) call(ctx context.Context, method, u string, hdr http.Header, body []byte, contentType string, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, &Error{Msg: "a request could not be made: " + err.Error()}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Estimator")
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return nil, &Error{Msg: "The tracker sent the request to another address (a redirect), which this server does not follow."}
		}
		host := req.URL.Host
		if ctx.Err() != nil || isTimeout(err) {
			return nil, &Error{Msg: "No answer from " + host + " in time.", Temporary: true}
		}
		return nil, &Error{Msg: "No answer from " + host + ".", Temporary: true}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, BodyMax+1))
	if err != nil {
		return nil, &Error{Status: resp.StatusCode, Msg: "The answer of " + req.URL.Host + " was cut off.", Temporary: true}
	}
	if len(b) > BodyMax {
		return nil, &Error{Status: resp.StatusCode, Msg: fmt.Sprintf("The answer of %s was larger than %d MiB; it was not read.", req.URL.Host, BodyMax>>20)}
	}
	if resp.StatusCode >= 300 {
		return nil, c.statusError(resp, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, &Error{Status: resp.StatusCode, Msg: "The answer of " + req.URL.Host + " was not what " + "its API sends (not JSON of the expected shape)."}
		}
	}
	return resp.Header, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// statusError reads a failed answer: the tracker's own message, and whether
// and when to try again.
func (c *Client) statusError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	msg := trackerMessage(body)
	limited := resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("RateLimit-Remaining") == "0"
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusForbidden && limited):
		e.Temporary = true
		e.RetryAfter = c.retryAfter(resp.Header)
		e.Msg = "The tracker limits how often it is called (" + strconv.Itoa(resp.StatusCode) + ")"
	case resp.StatusCode >= 500:
		e.Temporary = true
		e.RetryAfter = c.retryAfter(resp.Header)
		e.Msg = "The tracker had a problem (" + strconv.Itoa(resp.StatusCode) + ")"
	case resp.StatusCode == http.StatusUnauthorized:
		e.Msg = "The tracker refused the token (401): it is wrong, expired or revoked"
	case resp.StatusCode == http.StatusForbidden:
		e.Msg = "The token may not do this (403): it lacks a permission or scope"
	case resp.StatusCode == http.StatusNotFound:
		e.Msg = "Not found (404)"
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Msg = "The tracker answered with a redirect (" + strconv.Itoa(resp.StatusCode) + "), which this server does not follow"
	default:
		e.Msg = "The tracker refused it (" + strconv.Itoa(resp.StatusCode) + ")"
	}
	if msg != "" {
		e.Msg += ": " + msg
	} else {
		e.Msg += "."
	}
	return e
}

// retryAfter reads Retry-After (seconds or a date) or a rate limit's reset
// time (GitHub's X-RateLimit-Reset, GitLab's RateLimit-Reset: Unix seconds).
func (c *Client) retryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(c.now()))
		}
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if s, err := strconv.ParseInt(strings.TrimSpace(h.Get(k)), 10, 64); err == nil && s > 0 {
			return max(0, time.Unix(s, 0).Sub(c.now()))
		}
	}
	return 0
}

// trackerMessage finds the message in an error answer: Jira's errorMessages
// and errors, GitHub's and GitLab's message or error.
func trackerMessage(body []byte) string {
	var m struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        json.RawMessage   `json:"errors"`
		Message       json.RawMessage   `json:"message"`
		Error         json.RawMessage   `json:"error"`
		Extra         map[string]string `json:"-"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var parts []string
	parts = append(parts, m.ErrorMessages...)
	var fieldErrs map[string]string
	if json.Unmarshal(m.Errors, &fieldErrs) == nil {
		for k, v := range fieldErrs {
			parts = append(parts, k+": "+v)
		}
	}
	for _, raw := range []json.RawMessage{m.Message, m.Error} {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			parts = append(parts, s)
			continue
		}
		var ms map[string][]string
		if json.Unmarshal(raw, &ms) == nil {
			for k, v := range ms {
				parts = append(parts, k+" "+strings.Join(v, ", "))
			}
		}
	}
	return clip(strings.Join(parts, "; "), 300)
}

func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// path joins the base URL and an API path whose parts are escaped already.
func path(base, p string) string { return base + p }

func seg(s string) string { return url.PathEscape(s) }
