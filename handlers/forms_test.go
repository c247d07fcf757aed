package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"estimator/i18n"
	"estimator/store"
)

func TestDecodeForms(t *testing.T) {
	t.Parallel()
	if g, name := decodeGroup(url.Values{"name": {" Team  A "}}, i18n.EN); name != "Team A" || len(g.Errors) != 0 {
		t.Errorf("group: %+v %q", g, name)
	}
	if g, _ := decodeGroup(url.Values{}, i18n.EN); g.Errors["name"] == "" {
		t.Errorf("empty group name: %+v", g)
	}
	if is, in := decodeIssue(url.Values{"key": {" SHOP-1 "}, "description": {"d"}}, i18n.EN); in.Key != "SHOP-1" || is.Key != " SHOP-1 " || len(is.Errors) != 0 {
		t.Errorf("issue: %+v %+v", is, in)
	}
	if is, _ := decodeIssue(url.Values{"description": {"d"}}, i18n.EN); is.Errors["key"] == "" || is.Description != "d" {
		t.Errorf("issue without key: %+v", is)
	}
	if v, typed, errs := decodeVote(url.Values{"estimate": {" 8 "}}, i18n.EN); v != (store.Vote{Value: 8}) || typed != " 8 " || errs != nil {
		t.Errorf("estimate: %+v %q %v", v, typed, errs)
	}
	for _, special := range []string{"?", "coffee"} {
		if v, _, errs := decodeVote(url.Values{"estimate": {special}}, i18n.EN); v != (store.Vote{Special: special}) || errs != nil {
			t.Errorf("estimate %s: %+v %v", special, v, errs)
		}
	}
	for _, bad := range []string{"1e2", "??", "0", "101", ""} {
		if v, typed, errs := decodeVote(url.Values{"estimate": {bad}}, i18n.EN); !v.IsZero() || typed != bad || errs["estimate"] == "" {
			t.Errorf("estimate %q: %+v %q %v", bad, v, typed, errs)
		}
	}
	if sf, set := decodeSettings(url.Values{"deck": {"custom"}, "cards": {"1, 2, 4"}, "auto_reveal": {"1"}, "timer": {"90"}}, i18n.EN); len(sf.Errors) != 0 ||
		set.Deck.Spec() != "custom:1,2,4" || !set.AutoReveal || set.TimerSeconds != 90 || !sf.AutoReveal || sf.Cards != "1, 2, 4" {
		t.Errorf("settings: %+v %+v", sf, set)
	}
	if sf, _ := decodeSettings(url.Values{"deck": {"runes"}, "timer": {"3601"}, "auto_reveal": {"yes"}}, i18n.EN); sf.Errors["deck"] == "" || sf.Errors["timer"] == "" || sf.Errors["auto_reveal"] == "" || sf.Timer != "3601" {
		t.Errorf("bad settings: %+v", sf)
	}
	if sf, _ := decodeSettings(url.Values{"deck": {"custom"}, "cards": {"7"}}, i18n.EN); sf.Errors["cards"] == "" {
		t.Errorf("one custom card: %+v", sf)
	}
	if tf, n := decodeTimer(url.Values{"seconds": {"120"}}, i18n.EN); n != 120 || len(tf.Errors) != 0 {
		t.Errorf("timer: %+v %d", tf, n)
	}
	for _, bad := range []string{"", "-1", "3601", "1.5"} {
		if tf, _ := decodeTimer(url.Values{"seconds": {bad}}, i18n.EN); tf.Errors["seconds"] == "" || tf.Value != bad {
			t.Errorf("timer %q: %+v", bad, tf)
		}
	}
	if seat, ok := decodeRole(url.Values{"role": {"spectator"}}); !ok || seat != store.SeatSpectator {
		t.Errorf("role: %q %v", seat, ok)
	}
	if _, ok := decodeRole(url.Values{"role": {"owner"}}); ok {
		t.Error("role owner accepted")
	}
	if ff, v := decodeFinal(url.Values{"final": {"13"}}, store.ComputeResult([]int{8, 13}), i18n.EN); v != 13 || len(ff.Errors) != 0 {
		t.Errorf("final: %+v %d", ff, v)
	}
	if ff, _ := decodeFinal(url.Values{"final": {" "}}, store.ComputeResult([]int{8, 13}), i18n.EN); ff.Errors["final"] != "Enter the final estimate: a whole number from 1 to 100." || ff.Value != " " {
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
	want := issueKeyTakenMessage(i18n.EN, "shop-1")
	add := tm.owner.plain().post(fmt.Sprintf("/groups/%d/issues", tm.gid), url.Values{"key": {"shop-1"}}).wantStatus(http.StatusUnprocessableEntity)
	edit := tm.owner.plain().post(fmt.Sprintf("/issues/%d/edit", other), url.Values{"key": {"shop-1"}}).wantStatus(http.StatusUnprocessableEntity)
	for name, r := range map[string]*response{"add": add, "edit": edit} {
		if got := r.text("key-error"); got != want {
			t.Errorf("%s: key error %q, want %q", name, got, want)
		}
	}
}
