package tracker_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"estimator/tracker"
	"estimator/tracker/trackertest"
)

const token = "tok-UNIQUE-7f3a-9c1e-1234"

func client(t *testing.T, f *trackertest.Fake, kind tracker.Kind, timeout time.Duration) (*tracker.Client, tracker.Conn) {
	t.Helper()
	al, err := tracker.ParseAllowed(string(kind) + "=" + f.URL)
	if err != nil {
		t.Fatal(err)
	}
	project := f.Project
	conn := tracker.Conn{Kind: kind, Base: f.URL + "/", Token: token, Project: project}
	return tracker.New(al, timeout), conn
}

func TestAllowListRefusesPlainHTTPBeyondLoopbackAndJunk(t *testing.T) {
	for _, bad := range []string{
		"jira=http://acme.atlassian.net", "github=http://10.0.0.5", "jira=ftp://x", "bugzilla=https://x",
		"jira", "jira=https://user:pw@acme.atlassian.net", "jira=https://acme.atlassian.net?x=1", "jira=/rest",
	} {
		if _, err := tracker.ParseAllowed(bad); err == nil {
			t.Errorf("ParseAllowed(%q) took it", bad)
		}
	}
	al, err := tracker.ParseAllowed(" jira=https://Acme.atlassian.net/jira/ , github=https://api.github.com,gitlab=http://127.0.0.1:8929")
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := al.Find("https://acme.atlassian.net/jira"); !ok || b.Kind != tracker.Jira || b.URL != "https://acme.atlassian.net/jira" {
		t.Fatalf("Find = %+v %v", b, ok)
	}
	for _, other := range []string{"https://acme.atlassian.net", "https://evil.example", "http://169.254.169.254/latest", "https://api.github.com.evil.example"} {
		if _, ok := al.Find(other); ok {
			t.Errorf("Find(%q) matched", other)
		}
	}
}

func TestAnAddressOutsideTheListIsNeverContacted(t *testing.T) {
	allowed := trackertest.New(token, 1)
	defer allowed.Close()
	other := trackertest.New(token, 1)
	defer other.Close()
	c, conn := client(t, allowed, tracker.GitHub, 0)
	conn.Base = other.URL
	conn.Project = "SHOP/x"
	if err := c.Check(context.Background(), conn); err == nil || !strings.Contains(err.Error(), "not on this server's list") {
		t.Fatalf("Check = %v", err)
	}
	if len(other.Calls()) != 0 {
		t.Fatalf("the other host was called: %v", other.Calls())
	}
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	other := trackertest.New(token, 1)
	defer other.Close()
	f := trackertest.New(token, 1)
	defer f.Close()
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
		return true
	})
	c, conn := client(t, f, tracker.Jira, 0)
	err := c.Check(context.Background(), conn)
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("Check = %v", err)
	}
	if len(other.Calls()) != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestCheckSaysWhatFailed(t *testing.T) {
	f := trackertest.New(token, 1)
	defer f.Close()
	c, conn := client(t, f, tracker.Jira, 0)
	ctx := context.Background()
	if err := c.Check(ctx, conn); err != nil {
		t.Fatalf("good connection: %v", err)
	}
	bad := conn
	bad.Token = "wrong"
	if err := c.Check(ctx, bad); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
	bad = conn
	bad.Project = "NOPE"
	if err := c.Check(ctx, bad); err == nil || !strings.Contains(err.Error(), `no project "NOPE"`) {
		t.Errorf("missing project: %v", err)
	}
	bad = conn
	bad.Field = "Story Points"
	if err := c.Check(ctx, bad); err == nil || !strings.Contains(err.Error(), `no field "Story Points"`) {
		t.Errorf("unknown field: %v", err)
	}
	gh, ghc := client(t, f, tracker.GitHub, 0)
	ghc.Project = "acme/none"
	if err := gh.Check(ctx, ghc); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("GitHub missing repo: %v", err)
	}
}

func TestSearchPagesEveryKind(t *testing.T) {
	f := trackertest.New(token, 5) // the fake answers 2 a page
	defer f.Close()
	ctx := context.Background()
	for _, kind := range []tracker.Kind{tracker.Jira, tracker.GitHub, tracker.GitLab} {
		f.Project = "SHOP"
		if kind == tracker.GitHub {
			f.Project = "acme/shop"
		}
		c, conn := client(t, f, kind, 0)
		is, err := c.Search(ctx, conn, "", 100)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if len(is) != 5 {
			t.Fatalf("%s: %d issues, want 5", kind, len(is))
		}
		if is[4].Title != "Checkout total 5" || is[4].URL == "" {
			t.Errorf("%s: %+v", kind, is[4])
		}
		want := "#5"
		if kind == tracker.Jira {
			want = "SHOP-5"
		}
		if is[4].Key != want {
			t.Errorf("%s: key %q, want %q", kind, is[4].Key, want)
		}
	}
	f.Project = "SHOP"
}

func TestJiraCloudDescriptionsInADFBecomePlainText(t *testing.T) {
	f := trackertest.New(token, 1)
	defer f.Close()
	c, conn := client(t, f, tracker.Jira, 0)
	is, err := c.Search(context.Background(), conn, "labels = ready ORDER BY rank", 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Line one of 1\nline two\n- ask @Dana"; is[0].Body != want {
		t.Fatalf("body %q, want %q", is[0].Body, want)
	}
	var jql string
	for _, call := range f.Calls() {
		if strings.HasPrefix(call.Path, "/rest/api/3/search/jql") {
			req, _ := http.NewRequest("GET", call.Path, nil)
			jql = req.URL.Query().Get("jql")
		}
	}
	if jql != `project = "SHOP" AND (labels = ready) ORDER BY rank` {
		t.Fatalf("jql %q", jql)
	}
}

func TestJiraDataCenterFallsBackToVersion2(t *testing.T) {
	f := trackertest.New(token, 3)
	f.DataCenter = true
	defer f.Close()
	c, conn := client(t, f, tracker.Jira, 0)
	is, err := c.Search(context.Background(), conn, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(is) != 3 || is[0].Body != "Line one of 1\nline two" {
		t.Fatalf("%+v", is)
	}
}

func TestWriteSendsTheNumberAlone(t *testing.T) {
	f := trackertest.New(token, 2)
	defer f.Close()
	ctx := context.Background()
	c, conn := client(t, f, tracker.Jira, 0)
	if err := c.Write(ctx, conn, "SHOP-2", 8); err != nil {
		t.Fatal(err)
	}
	if f.Points("SHOP-2") != 8 {
		t.Fatal("points not set")
	}
	w := f.Writes()[0]
	if w.Method != "PUT" || w.Path != "/rest/api/2/issue/SHOP-2" || w.Body != `{"fields":{"customfield_10016":8}}` {
		t.Fatalf("jira write %+v", w)
	}
	gl, glc := client(t, f, tracker.GitLab, 0)
	if err := gl.Write(ctx, glc, "2", 5); err != nil {
		t.Fatal(err)
	}
	if w := f.Writes()[1]; w.Body != "weight=5" || w.Path != "/api/v4/projects/SHOP/issues/2" {
		t.Fatalf("gitlab write %+v", w)
	}
	f.Project = "acme/shop"
	f.SetIssues([]trackertest.Issue{{Number: 2, Title: "x", Labels: []string{"ready", "estimate: 3", "ux"}}})
	gh, ghc := client(t, f, tracker.GitHub, 0)
	ghc.Project = "acme/shop"
	if err := gh.Write(ctx, ghc, "2", 13); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Labels(2), "|"); got != "ready|ux|estimate: 13" {
		t.Fatalf("labels %q", got)
	}
	var body map[string][]string
	json.Unmarshal([]byte(f.Writes()[2].Body), &body)
	if len(body) != 1 || len(body["labels"]) != 3 {
		t.Fatalf("github body %q", f.Writes()[2].Body)
	}
}

func TestFailuresSayWhetherToTryAgain(t *testing.T) {
	f := trackertest.New(token, 1)
	defer f.Close()
	ctx := context.Background()
	c, conn := client(t, f, tracker.Jira, 0)
	f.FailWrites(
		trackertest.Fault{Status: 429, Header: map[string]string{"Retry-After": "42"}, Body: `{"errorMessages":["Rate limit exceeded"]}`},
		trackertest.Fault{Status: 503, Body: `<html>down</html>`},
		trackertest.Fault{Status: 400, Body: `{"errors":{"customfield_10016":"Field 'customfield_10016' cannot be set."}}`},
	)
	var te *tracker.Error
	err := c.Write(ctx, conn, "SHOP-1", 3)
	if !errors.As(err, &te) || !te.Temporary || te.RetryAfter != 42*time.Second || !strings.Contains(te.Msg, "Rate limit exceeded") {
		t.Fatalf("429: %#v", err)
	}
	err = c.Write(ctx, conn, "SHOP-1", 3)
	if !errors.As(err, &te) || !te.Temporary || te.Status != 503 {
		t.Fatalf("503: %#v", err)
	}
	err = c.Write(ctx, conn, "SHOP-1", 3)
	if !errors.As(err, &te) || te.Temporary || !strings.Contains(te.Msg, "cannot be set") {
		t.Fatalf("400: %#v", err)
	}
}

func TestSlowAnswerTimesOut(t *testing.T) {
	f := trackertest.New(token, 1)
	defer f.Close()
	release := make(chan struct{})
	defer close(release)
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	c, conn := client(t, f, tracker.GitLab, 200*time.Millisecond)
	start := time.Now()
	err := c.Write(context.Background(), conn, "1", 3)
	var te *tracker.Error
	if !errors.As(err, &te) || !te.Temporary || !strings.Contains(te.Msg, "in time") {
		t.Fatalf("slow: %#v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waited %v", d)
	}
}

func TestHugeAnswerIsNotRead(t *testing.T) {
	f := trackertest.New(token, 1)
	defer f.Close()
	f.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat("x", 1<<16))
		w.Write([]byte(`{"issues":[],"pad":"`))
		for i := 0; i < (tracker.BodyMax>>16)+8; i++ {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		return true
	})
	c, conn := client(t, f, tracker.Jira, 0)
	_, err := c.Search(context.Background(), conn, "", 10)
	if err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Fatalf("huge: %v", err)
	}
}

func TestTheTokenIsNeverInAMessage(t *testing.T) {
	// A tracker that echoes the credentials it was sent.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"message": "bad token " + r.Header.Get("Private-Token")})
	}))
	defer srv.Close()
	al, _ := tracker.ParseAllowed("gitlab=" + srv.URL)
	err := tracker.New(al, 0).Check(context.Background(), tracker.Conn{Kind: tracker.GitLab, Base: srv.URL, Token: token, Project: "a/b"})
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "1234") && strings.Contains(err.Error(), "7f3a") {
		t.Fatalf("message: %v", err)
	}
}

func TestGitLabProjectPathIsOneSegment(t *testing.T) {
	f := trackertest.New(token, 3)
	defer f.Close()
	f.Project = "acme/shop-team"
	c, conn := client(t, f, tracker.GitLab, 0)
	ctx := context.Background()
	if err := c.Check(ctx, conn); err != nil {
		t.Fatal(err)
	}
	is, err := c.Search(ctx, conn, "labels=ready&state=opened&page=9", 10)
	if err != nil || len(is) != 3 || is[2].Key != "#3" || !strings.HasPrefix(is[2].URL, "https://gitlab.example/") {
		t.Fatalf("%+v %v", is, err)
	}
	if err := c.Write(ctx, conn, "3", 8); err != nil || f.Weight(3) != 8 {
		t.Fatalf("write: %v, weight %d", err, f.Weight(3))
	}
	for _, call := range f.Calls() {
		if !strings.HasPrefix(call.Path, "/api/v4/projects/acme%2Fshop-team") {
			t.Fatalf("path %s", call.Path)
		}
		if strings.Contains(call.Path, "page=9") {
			t.Fatalf("the query chose the page: %s", call.Path)
		}
	}
}
