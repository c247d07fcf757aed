package tracker

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// gitlab speaks GitLab's REST API (v4); the estimate is the issue's weight.
// The base URL is the instance (https://gitlab.com), the API under /api/v4.
type gitlab struct {
	c    *Client
	conn Conn
}

func (g gitlab) header() http.Header {
	return http.Header{"Private-Token": {g.conn.Token}, "Accept": {"application/json"}}
}

// project is the project's id or its path, escaped as one segment
// (group%2Fshop).
func (g gitlab) project() string {
	return "/api/v4/projects/" + url.PathEscape(strings.TrimSpace(g.conn.Project))
}

func (g gitlab) check(ctx context.Context) error {
	_, err := g.c.call(ctx, http.MethodGet, path(g.conn.Base, g.project()), g.header(), nil, "", nil)
	if e := asError(err); e != nil && e.Status == http.StatusNotFound {
		return &Error{Status: 404, Msg: "GitLab has no project " + strconv.Quote(g.conn.Project) + " that this token can see (404)."}
	}
	return err
}

// search lists the project's issues with the query's filters
// (labels=ready&state=opened), following X-Next-Page.
func (g gitlab) search(ctx context.Context, query string, max int) ([]Issue, error) {
	filters, err := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(query), "?"))
	if err != nil {
		return nil, &Error{Msg: "A GitLab query is list filters such as labels=ready&state=opened."}
	}
	var out []Issue
	page := "1"
	for n := 0; n < MaxPages && page != "" && len(out) < max; n++ {
		v := url.Values{}
		for k, vs := range filters {
			if k != "page" && k != "per_page" {
				v[k] = vs
			}
		}
		v.Set("per_page", strconv.Itoa(pageSize))
		v.Set("page", page)
		var res []struct {
			IID         int    `json:"iid"`
			Title       string `json:"title"`
			Description string `json:"description"`
			WebURL      string `json:"web_url"`
		}
		h, err := g.c.call(ctx, http.MethodGet, path(g.conn.Base, g.project()+"/issues?"+v.Encode()), g.header(), nil, "", &res)
		if err != nil {
			return nil, err
		}
		for _, it := range res {
			iid := strconv.Itoa(it.IID)
			out = append(out, Issue{Ref: iid, Key: "#" + iid, Title: it.Title, Body: it.Description, URL: webURL(it.WebURL)})
		}
		page = strings.TrimSpace(h.Get("X-Next-Page"))
		if len(res) == 0 {
			break
		}
	}
	return cut(out, max), nil
}

// write sets the issue's weight to n, nothing else.
func (g gitlab) write(ctx context.Context, ref string, n int) error {
	body := url.Values{"weight": {strconv.Itoa(n)}}.Encode()
	_, err := g.c.call(ctx, http.MethodPut, path(g.conn.Base, g.project()+"/issues/"+seg(ref)), g.header(), []byte(body), "application/x-www-form-urlencoded", nil)
	return err
}
