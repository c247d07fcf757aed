package tracker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// jira speaks Jira's REST API: Cloud (version 3, descriptions in the Atlassian
// Document Format) and Data Center (version 2, plain text).
type jira struct {
	c    *Client
	conn Conn
}

// header: "email:api-token" is Cloud's basic auth; anything else a personal
// access token (Data Center).
func (j jira) header() http.Header {
	h := http.Header{"Accept": {"application/json"}}
	if strings.Contains(j.conn.Token, ":") {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(j.conn.Token)))
	} else {
		h.Set("Authorization", "Bearer "+j.conn.Token)
	}
	return h
}

func (j jira) check(ctx context.Context) error {
	_, err := j.c.call(ctx, http.MethodGet, path(j.conn.Base, "/rest/api/2/project/"+seg(j.conn.Project)), j.header(), nil, "", nil)
	if e := asError(err); e != nil && e.Status == http.StatusNotFound {
		return &Error{Status: 404, Msg: "Jira has no project " + strconv.Quote(j.conn.Project) + " that this token can see (404)."}
	}
	if err != nil {
		return err
	}
	var fields []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if _, err := j.c.call(ctx, http.MethodGet, path(j.conn.Base, "/rest/api/2/field"), j.header(), nil, "", &fields); err != nil {
		return err
	}
	for _, f := range fields {
		if f.ID == j.conn.Field {
			return nil
		}
	}
	return &Error{Msg: "Jira has no field " + strconv.Quote(j.conn.Field) + ": give the id of the story points field (such as customfield_10016), not its name."}
}

var orderBy = regexp.MustCompile(`(?i)\border\s+by\b`)

// jql scopes the query to the project; an ORDER BY stays at the end.
func (j jira) jql(query string) string {
	q := strings.TrimSpace(query)
	order := ""
	if loc := orderBy.FindStringIndex(q); loc != nil {
		q, order = strings.TrimSpace(q[:loc[0]]), " "+q[loc[0]:]
	}
	scope := "project = " + strconv.Quote(j.conn.Project)
	if q != "" {
		scope += " AND (" + q + ")"
	}
	return scope + order
}

type jiraIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Summary     string          `json:"summary"`
		Description json.RawMessage `json:"description"`
	} `json:"fields"`
}

func (j jira) issue(ji jiraIssue) Issue {
	var body string
	if json.Unmarshal(ji.Fields.Description, &body) != nil {
		body = ADFText(ji.Fields.Description)
	}
	return Issue{Ref: ji.Key, Key: ji.Key, Title: ji.Fields.Summary, Body: body, URL: j.conn.Base + "/browse/" + seg(ji.Key)}
}

// search uses Cloud's /rest/api/3/search/jql (paged by token); a server
// without it (404) is asked /rest/api/2/search (paged by startAt).
func (j jira) search(ctx context.Context, query string, max int) ([]Issue, error) {
	jql := j.jql(query)
	var out []Issue
	token := ""
	for page := 0; page < MaxPages && len(out) < max; page++ {
		q := url.Values{"jql": {jql}, "fields": {"summary,description"}, "maxResults": {strconv.Itoa(pageSize)}}
		if token != "" {
			q.Set("nextPageToken", token)
		}
		var res struct {
			Issues        []jiraIssue `json:"issues"`
			NextPageToken string      `json:"nextPageToken"`
			IsLast        *bool       `json:"isLast"`
		}
		_, err := j.c.call(ctx, http.MethodGet, path(j.conn.Base, "/rest/api/3/search/jql?"+q.Encode()), j.header(), nil, "", &res)
		if e := asError(err); e != nil && e.Status == http.StatusNotFound && page == 0 {
			return j.searchV2(ctx, jql, max)
		}
		if err != nil {
			return nil, err
		}
		for _, ji := range res.Issues {
			out = append(out, j.issue(ji))
		}
		if res.NextPageToken == "" || (res.IsLast != nil && *res.IsLast) || len(res.Issues) == 0 {
			break
		}
		token = res.NextPageToken
	}
	return cut(out, max), nil
}

func (j jira) searchV2(ctx context.Context, jql string, max int) ([]Issue, error) {
	var out []Issue
	for page := 0; page < MaxPages && len(out) < max; page++ {
		q := url.Values{"jql": {jql}, "fields": {"summary,description"}, "maxResults": {strconv.Itoa(pageSize)}, "startAt": {strconv.Itoa(len(out))}}
		var res struct {
			Issues []jiraIssue `json:"issues"`
			Total  int         `json:"total"`
		}
		if _, err := j.c.call(ctx, http.MethodGet, path(j.conn.Base, "/rest/api/2/search?"+q.Encode()), j.header(), nil, "", &res); err != nil {
			return nil, err
		}
		for _, ji := range res.Issues {
			out = append(out, j.issue(ji))
		}
		if len(res.Issues) == 0 || len(out) >= res.Total {
			break
		}
	}
	return cut(out, max), nil
}

// write sets the story points field: {"fields": {FIELD: N}}, nothing else.
func (j jira) write(ctx context.Context, ref string, n int) error {
	body, _ := json.Marshal(map[string]map[string]int{"fields": {j.conn.Field: n}})
	_, err := j.c.call(ctx, http.MethodPut, path(j.conn.Base, "/rest/api/2/issue/"+seg(ref)), j.header(), body, "application/json", nil)
	return err
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func cut(is []Issue, max int) []Issue {
	if len(is) > max {
		return is[:max]
	}
	return is
}
