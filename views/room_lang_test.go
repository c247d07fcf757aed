package views_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
	"estimator/views/htmltest"
)

func renderIn(t *testing.T, lang i18n.Lang, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	ctx := views.WithPage(context.Background(), &views.Page{User: store.User{ID: 1}, Lang: lang})
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// A German facilitator's room after the reveal reads German: the state, the
// round, the count and the figures, the average with a decimal comma; the
// state the stylesheet and scripts read stays English.
func TestRevealedRoomSpeaksGermanWithADecimalComma(t *testing.T) {
	t.Parallel()
	st := openStatus()
	st.Voters[1].Voted = true
	st.Issue.State = store.StateRevealed
	st.Issue.Result = store.Tally(store.DefaultDeck(), []store.Vote{{Value: 3}, {Value: 5}, {Special: store.CardCoffee}})
	st.Backlog = []store.IssueSummary{{Issue: st.Issue}}
	doc := htmltest.Parse(t, renderIn(t, i18n.DE, views.RoomUpdate(views.StatusView{Status: st, Role: store.RoleOwner})))
	for id, want := range map[string]string{
		"state":           "aufgedeckt",
		"round":           "Runde 1",
		"voted-count":     "2 von 2 haben geschätzt",
		"result-average":  "4,0",
		"result-median":   "4",
		"result-specials": "0 · 1",
		"backlog-state":   "aufgedeckt",
		"backlog-count":   "0 von 1 geschätzt",
	} {
		if got := htmltest.Texts(doc, id); len(got) != 1 || got[0] != want {
			t.Errorf("%s reads %q, want %q", id, got, want)
		}
	}
	if got := htmltest.Texts(doc, "distribution-text"); len(got) != 1 || !strings.HasSuffix(got[0], "Kaffee × 1") {
		t.Errorf("the chart's text %q should name coffee in German", got)
	}
	if got := htmltest.Texts(doc, "distribution"); len(got) != 1 || strings.Contains(got[0], "coffee") || !strings.Contains(got[0], "Kaffee") {
		t.Errorf("the chart's labels %q should name coffee in German", got)
	}
	if got := htmltest.Attr(htmltest.All(doc, "status")[0], "data-state"); got != "revealed" {
		t.Errorf("data-state %q: the scripts read the English state", got)
	}
	if got := htmltest.Texts(doc, "reveal"); len(got) != 0 {
		t.Errorf("reveal button after the reveal: %q", got)
	}
	if got := htmltest.Texts(doc, "accept"); len(got) != 1 || got[0] != "Übernehmen" {
		t.Errorf("accept button %q", got)
	}
}

// Whatever a person votes, their panel is one length in every language,
// coffee included, whose word is longer or shorter than the English one.
func TestOwnCardsAreOneLengthInEveryLanguage(t *testing.T) {
	t.Parallel()
	is := store.Issue{ID: 7, Key: "SHOP-7", State: store.StateOpen, Round: 1}
	g := store.Group{ID: 3, Name: "Shop", Settings: store.DefaultSettings()}
	votes := []store.Vote{{Value: 1}, {Value: 13}, {Value: 100}, {Value: 42}, {Special: store.CardUnsure}, {Special: store.CardCoffee}}
	for _, l := range i18n.Langs {
		lengths := map[int]string{}
		for _, v := range votes {
			out := renderIn(t, l, views.EstimatePanel(views.EstimateView{Issue: is, Group: g, Seat: store.SeatVoter, Own: v}))
			lengths[len(out)] += " " + v.Special + strings.Repeat("#", min(1, v.Value))
		}
		if len(lengths) != 1 {
			t.Errorf("%s: the own cards' panel has %d lengths: %v", l, len(lengths), lengths)
		}
	}
}
