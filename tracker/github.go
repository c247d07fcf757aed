package tracker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// github speaks GitHub's REST API; the estimate is a label "PREFIX N".
type github struct {
	c    *Client
	conn Conn
}

func (g github) header() http.Header {
	return http.Header{
		"Accept":               {"application/vnd.github+json"},
		"Authorization":        {"Bearer " + g.conn.Token},
		"X-Github-Api-Version": {"2022-11-28"},
	}
}

// repo is owner/repo, each part escaped.
func (g github) repo() (string, error) {
	owner, name, ok := strings.Cut(strings.TrimSpace(g.conn.Project), "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", &Error{Msg: "A GitHub project is owner/repo, such as acme/shop."}
	}
	return "/repos/" + seg(owner) + "/" + seg(name), nil
}

func (g github) check(ctx context.Context) error {
	repo, err := g.repo()
	if err != nil {
		return err
	}
	_, err = g.c.call(ctx, http.MethodGet, path(g.conn.Base, repo), g.header(), nil, "", nil)
	if e := asError(err); e != nil && e.Status == http.StatusNotFound {
		return &Error{Status: 404, Msg: "GitHub has no repository " + strconv.Quote(g.conn.Project) + " that this token can see (404)."}
	}
	return err
}

type githubIssue struct {
	Number  int    `json:"number"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	Labels  []struct {
		Name string `json:"name"`
	} `json:"labels"`
}

// search asks /search/issues for the repository's issues (not pull requests)
// the qualifiers find.
func (g github) search(ctx context.Context, query string, max int) ([]Issue, error) {
	if _, err := g.repo(); err != nil {
		return nil, err
	}
	q := "repo:" + strings.TrimSpace(g.conn.Project) + " is:issue " + strings.TrimSpace(query)
	var out []Issue
	for page := 1; page <= MaxPages && len(out) < max; page++ {
		v := url.Values{"q": {strings.TrimSpace(q)}, "per_page": {strconv.Itoa(pageSize)}, "page": {strconv.Itoa(page)}}
		var res struct {
			Total int           `json:"total_count"`
			Items []githubIssue `json:"items"`
		}
		if _, err := g.c.call(ctx, http.MethodGet, path(g.conn.Base, "/search/issues?"+v.Encode()), g.header(), nil, "", &res); err != nil {
			return nil, err
		}
		for _, it := range res.Items {
			n := strconv.Itoa(it.Number)
			out = append(out, Issue{Ref: n, Key: "#" + n, Title: it.Title, Body: it.Body, URL: webURL(it.HTMLURL)})
		}
		if len(res.Items) == 0 || len(out) >= res.Total {
			break
		}
	}
	return cut(out, max), nil
}

// write replaces the labels with the prefix by "PREFIX N" and keeps the
// others: the issue's labels are read first.
func (g github) write(ctx context.Context, ref string, n int) error {
	repo, err := g.repo()
	if err != nil {
		return err
	}
	var is githubIssue
	if _, err := g.c.call(ctx, http.MethodGet, path(g.conn.Base, repo+"/issues/"+seg(ref)), g.header(), nil, "", &is); err != nil {
		return err
	}
	prefix := g.conn.Field
	labels := []string{}
	for _, l := range is.Labels {
		if !strings.HasPrefix(strings.ToLower(l.Name), strings.ToLower(prefix)) {
			labels = append(labels, l.Name)
		}
	}
	labels = append(labels, prefix+strconv.Itoa(n))
	body, _ := json.Marshal(map[string][]string{"labels": labels})
	_, err = g.c.call(ctx, http.MethodPut, path(g.conn.Base, repo+"/issues/"+seg(ref)+"/labels"), g.header(), body, "application/json", nil)
	return err
}

// webURL keeps a link only if it is http(s): a page shows it as a link.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}
