package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

func TestDecodeForms(t *testing.T) {
	t.Parallel()
	f, nick := decodeLogin(url.Values{"nickname": {"  Zoë  "}, "remember": {"on"}, "next": {"//evil.example"}, "kept": {"ref"}})
	if nick != "Zoë" || !f.Remember || f.Next != "/" || f.Kept != "ref" || len(f.Errors) != 0 {
		t.Errorf("login: %+v %q", f, nick)
	}
	if f, _ := decodeLogin(url.Values{"nickname": {"x"}}); f.Errors["nickname"] == "" || f.Nickname != "x" {
		t.Errorf("short nickname: %+v", f)
	}
	if g, name := decodeGroup(url.Values{"name": {" Team  A "}}); name != "Team A" || len(g.Errors) != 0 {
		t.Errorf("group: %+v %q", g, name)
	}
	if g, _ := decodeGroup(url.Values{}); g.Errors["name"] == "" {
		t.Errorf("empty group name: %+v", g)
	}
	if is, in := decodeIssue(url.Values{"key": {" SHOP-1 "}, "description": {"d"}}); in.Key != "SHOP-1" || is.Key != " SHOP-1 " || len(is.Errors) != 0 {
		t.Errorf("issue: %+v %+v", is, in)
	}
	if is, _ := decodeIssue(url.Values{"description": {"d"}}); is.Errors["key"] == "" || is.Description != "d" {
		t.Errorf("issue without key: %+v", is)
	}
	if v, typed, errs := decodeEstimate(url.Values{"estimate": {" 8 "}}); v != 8 || typed != " 8 " || errs != nil {
		t.Errorf("estimate: %d %q %v", v, typed, errs)
	}
	if _, typed, errs := decodeEstimate(url.Values{"estimate": {"1e2"}}); typed != "1e2" || errs["estimate"] == "" {
		t.Errorf("estimate 1e2: %q %v", typed, errs)
	}
	if ff, v := decodeFinal(url.Values{"final": {"13"}}); v != 13 || len(ff.Errors) != 0 {
		t.Errorf("final: %+v %d", ff, v)
	}
	if ff, _ := decodeFinal(url.Values{"final": {" "}}); ff.Errors["final"] != "Enter the final estimate: a whole number from 1 to 100." || ff.Value != " " {
		t.Errorf("blank final: %+v", ff)
	}
}

// Adding and editing an issue take the same form, so they refuse a taken key
// with the same message.
func TestAddAndEditIssueShareTheirForm(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	tm := ta.team("Forms", "formowner")
	tm.owner.addIssue(tm.gid, "SHOP-1", "")
	other := tm.owner.addIssue(tm.gid, "SHOP-2", "")
	want := issueKeyTakenMessage("shop-1")
	add := tm.owner.plain().post(fmt.Sprintf("/groups/%d/issues", tm.gid), url.Values{"key": {"shop-1"}}).wantStatus(http.StatusUnprocessableEntity)
	edit := tm.owner.plain().post(fmt.Sprintf("/issues/%d/edit", other), url.Values{"key": {"shop-1"}}).wantStatus(http.StatusUnprocessableEntity)
	for name, r := range map[string]*response{"add": add, "edit": edit} {
		if got := r.text("key-error"); got != want {
			t.Errorf("%s: key error %q, want %q", name, got, want)
		}
	}
}
