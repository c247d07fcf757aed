// Package trackertest is a fake Jira, GitHub and GitLab in one httptest
// server on loopback, speaking the shapes of their real APIs: for the tests
// of the tracker client, the web layer and the browser.
package trackertest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Issue is an issue of the fake's one project.
type Issue struct {
	// Number: GitHub's number and GitLab's iid; Jira's key is PROJECT-Number.
	Number      int
	Title, Body string
	Labels      []string
}

// Request is a write the fake received.
type Request struct {
	Method, Path, Body string
	Header             http.Header
}

// Fake is the fake tracker. Its fields are set before use; the methods lock.
type Fake struct {
	*httptest.Server
	// Token is the token it takes (Jira: "email:token" by basic auth or a
	// bearer token; GitHub a bearer token; GitLab PRIVATE-TOKEN).
	Token string
	// Project is Jira's project key (SHOP), GitHub's owner/repo and GitLab's
	// project path or id.
	Project string
	// Field is the Jira story points field it knows.
	Field string
	// DataCenter: Jira without /rest/api/3/search/jql (404), plain text.
	DataCenter bool

	mu     sync.Mutex
	issues []Issue
	points map[string]int // Jira key → story points
	weight map[int]int    // GitLab iid → weight
	writes []Request
	faults []Fault
	calls  []Request
	// Hook answers a request first when it returns true (slow, huge or
	// redirecting answers).
	hook func(w http.ResponseWriter, r *http.Request) bool
}

// Fault is an answer the next write gets instead of success.
type Fault struct {
	Status int
	Header map[string]string
	Body   string
}

// New starts a fake with n issues (#1 … #n, SHOP-1 … SHOP-n).
func New(token string, n int) *Fake {
	f := &Fake{Token: token, Project: "SHOP", Field: "customfield_10016", points: map[string]int{}, weight: map[int]int{}}
	for i := 1; i <= n; i++ {
		f.issues = append(f.issues, Issue{Number: i, Title: fmt.Sprintf("Checkout total %d", i), Body: fmt.Sprintf("Line one of %d\nline two", i), Labels: []string{"ready"}})
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// SetIssues replaces the issues.
func (f *Fake) SetIssues(is []Issue) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issues = is
}

// SetHook sets the hook (nil: none).
func (f *Fake) SetHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

// FailWrites queues answers for the next writes.
func (f *Fake) FailWrites(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fs...)
}

// Writes are the writes received (PUT), failed ones included.
func (f *Fake) Writes() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.writes...)
}

// Calls are every request received.
func (f *Fake) Calls() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.calls...)
}

// Points is a Jira issue's story points (0: none).
func (f *Fake) Points(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.points[key]
}

// Weight is a GitLab issue's weight.
func (f *Fake) Weight(iid int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.weight[iid]
}

// Labels are a GitHub issue's labels.
func (f *Fake) Labels(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, is := range f.issues {
		if is.Number == n {
			return append([]string(nil), is.Labels...)
		}
	}
	return nil
}

func (f *Fake) authorized(r *http.Request) bool {
	if t := r.Header.Get("Private-Token"); t != "" {
		return t == f.Token
	}
	a := r.Header.Get("Authorization")
	if b, ok := strings.CutPrefix(a, "Basic "); ok {
		raw, _ := base64.StdEncoding.DecodeString(b)
		return string(raw) == f.Token
	}
	return a == "Bearer "+f.Token
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	req := Request{Method: r.Method, Path: r.URL.RequestURI(), Body: string(body), Header: r.Header.Clone()}
	f.calls = append(f.calls, req)
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	if !f.authorized(r) {
		writeJSON(w, 401, map[string]any{"message": "Bad credentials", "errorMessages": []string{"You are not authenticated."}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPut {
		f.writes = append(f.writes, req)
		if len(f.faults) > 0 {
			ft := f.faults[0]
			f.faults = f.faults[1:]
			for k, v := range ft.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(ft.Status)
			io.WriteString(w, ft.Body)
			return
		}
	}
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/rest/api/"):
		f.jira(w, r, p, body)
	case strings.HasPrefix(p, "/api/v4/projects/"):
		f.gitlab(w, r, strings.TrimPrefix(p, "/api/v4/projects/"), body)
	default:
		f.github(w, r, p, body)
	}
}

func (f *Fake) adf(text string) map[string]any {
	var paras []any
	for _, line := range strings.Split(text, "\n") {
		paras = append(paras, map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": line}}})
	}
	paras = append(paras, map[string]any{"type": "bulletList", "content": []any{
		map[string]any{"type": "listItem", "content": []any{map[string]any{"type": "paragraph", "content": []any{
			map[string]any{"type": "text", "text": "ask "}, map[string]any{"type": "mention", "attrs": map[string]any{"id": "x", "text": "@Dana"}}}}}},
	}})
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}

func (f *Fake) jiraIssues(adf bool) []any {
	var out []any
	for _, is := range f.issues {
		var desc any = is.Body
		if adf {
			desc = f.adf(is.Body)
		}
		out = append(out, map[string]any{"key": f.Project + "-" + strconv.Itoa(is.Number), "fields": map[string]any{"summary": is.Title, "description": desc}})
	}
	return out
}

func (f *Fake) jira(w http.ResponseWriter, r *http.Request, p string, body []byte) {
	switch {
	case r.Method == "GET" && strings.HasPrefix(p, "/rest/api/2/project/"):
		if strings.TrimPrefix(p, "/rest/api/2/project/") != f.Project {
			writeJSON(w, 404, map[string]any{"errorMessages": []string{"No project could be found with key '" + strings.TrimPrefix(p, "/rest/api/2/project/") + "'."}})
			return
		}
		writeJSON(w, 200, map[string]any{"key": f.Project, "name": "Shop"})
	case r.Method == "GET" && p == "/rest/api/2/field":
		writeJSON(w, 200, []any{map[string]any{"id": "summary", "name": "Summary"}, map[string]any{"id": f.Field, "name": "Story Points"}})
	case r.Method == "GET" && p == "/rest/api/3/search/jql":
		if f.DataCenter {
			writeJSON(w, 404, map[string]any{"errorMessages": []string{"null for uri"}})
			return
		}
		// Pages of 2 by token, whatever is asked: paging is exercised.
		all := f.jiraIssues(true)
		start, _ := strconv.Atoi(r.URL.Query().Get("nextPageToken"))
		end := min(len(all), start+2)
		res := map[string]any{"issues": all[start:end], "isLast": end == len(all)}
		if end < len(all) {
			res["nextPageToken"] = strconv.Itoa(end)
		}
		writeJSON(w, 200, res)
	case r.Method == "GET" && p == "/rest/api/2/search":
		all := f.jiraIssues(false)
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		start = min(start, len(all))
		end := min(len(all), start+2)
		writeJSON(w, 200, map[string]any{"issues": all[start:end], "startAt": start, "maxResults": 2, "total": len(all)})
	case r.Method == "PUT" && (strings.HasPrefix(p, "/rest/api/2/issue/") || strings.HasPrefix(p, "/rest/api/3/issue/")):
		key := p[len("/rest/api/2/issue/"):]
		var in struct {
			Fields map[string]json.RawMessage `json:"fields"`
		}
		if json.Unmarshal(body, &in) != nil {
			writeJSON(w, 400, map[string]any{"errorMessages": []string{"bad JSON"}})
			return
		}
		raw, ok := in.Fields[f.Field]
		var n int
		if !ok || json.Unmarshal(raw, &n) != nil {
			writeJSON(w, 400, map[string]any{"errors": map[string]string{"customfield": "Field cannot be set. It is not on the appropriate screen, or unknown."}})
			return
		}
		if !f.hasKey(key) {
			writeJSON(w, 404, map[string]any{"errorMessages": []string{"Issue does not exist or you do not have permission to see it."}})
			return
		}
		f.points[key] = n
		w.WriteHeader(204)
	default:
		writeJSON(w, 404, map[string]any{"errorMessages": []string{"not found"}})
	}
}

func (f *Fake) hasKey(key string) bool {
	for _, is := range f.issues {
		if f.Project+"-"+strconv.Itoa(is.Number) == key {
			return true
		}
	}
	return false
}

func (f *Fake) find(n string) *Issue {
	for i := range f.issues {
		if strconv.Itoa(f.issues[i].Number) == n {
			return &f.issues[i]
		}
	}
	return nil
}

func (f *Fake) ghIssue(is Issue) map[string]any {
	var labels []any
	for _, l := range is.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	return map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "labels": labels,
		"html_url": "https://github.com/" + f.Project + "/issues/" + strconv.Itoa(is.Number)}
}

func (f *Fake) github(w http.ResponseWriter, r *http.Request, p string, body []byte) {
	repo := "/repos/" + f.Project
	switch {
	case r.Method == "GET" && p == "/search/issues":
		q := r.URL.Query()
		if !strings.Contains(q.Get("q"), "repo:"+f.Project) {
			writeJSON(w, 422, map[string]any{"message": "Validation Failed"})
			return
		}
		per, _ := strconv.Atoi(q.Get("per_page"))
		per = min(per, 2) // small pages: paging is exercised
		page, _ := strconv.Atoi(q.Get("page"))
		start := min(len(f.issues), (page-1)*per)
		end := min(len(f.issues), start+per)
		var items []any
		for _, is := range f.issues[start:end] {
			items = append(items, f.ghIssue(is))
		}
		writeJSON(w, 200, map[string]any{"total_count": len(f.issues), "items": items})
	case r.Method == "GET" && p == repo:
		writeJSON(w, 200, map[string]any{"full_name": f.Project})
	case r.Method == "GET" && strings.HasPrefix(p, repo+"/issues/"):
		is := f.find(strings.TrimPrefix(p, repo+"/issues/"))
		if is == nil {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		writeJSON(w, 200, f.ghIssue(*is))
	case r.Method == "PUT" && strings.HasPrefix(p, repo+"/issues/") && strings.HasSuffix(p, "/labels"):
		is := f.find(strings.TrimSuffix(strings.TrimPrefix(p, repo+"/issues/"), "/labels"))
		var in struct {
			Labels []string `json:"labels"`
		}
		if is == nil || json.Unmarshal(body, &in) != nil {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		is.Labels = in.Labels
		writeJSON(w, 200, []any{})
	default:
		writeJSON(w, 404, map[string]any{"message": "Not Found"})
	}
}

func (f *Fake) gitlab(w http.ResponseWriter, r *http.Request, p string, body []byte) {
	proj, rest, _ := strings.Cut(p, "/")
	if name, _ := url.PathUnescape(proj); name != f.Project {
		writeJSON(w, 404, map[string]any{"message": "404 Project Not Found"})
		return
	}
	switch {
	case r.Method == "GET" && rest == "":
		writeJSON(w, 200, map[string]any{"id": 7, "path_with_namespace": f.Project})
	case r.Method == "GET" && rest == "issues":
		q := r.URL.Query()
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		start := min(len(f.issues), (page-1)*2)
		end := min(len(f.issues), start+2)
		var items []any
		for _, is := range f.issues[start:end] {
			items = append(items, map[string]any{"iid": is.Number, "title": is.Title, "description": is.Body,
				"web_url": "https://gitlab.example/" + f.Project + "/-/issues/" + strconv.Itoa(is.Number)})
		}
		if end < len(f.issues) {
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		}
		writeJSON(w, 200, items)
	case r.Method == "PUT" && strings.HasPrefix(rest, "issues/"):
		is := f.find(strings.TrimPrefix(rest, "issues/"))
		v, _ := url.ParseQuery(string(body))
		n, err := strconv.Atoi(v.Get("weight"))
		if is == nil || err != nil {
			writeJSON(w, 404, map[string]any{"message": "404 Not found"})
			return
		}
		f.weight[is.Number] = n
		writeJSON(w, 200, map[string]any{"iid": is.Number, "weight": n})
	default:
		writeJSON(w, 404, map[string]any{"message": "404 Not found"})
	}
}
