package views_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"estimator/i18n"
	"estimator/store"
	"estimator/views"
)

// BenchmarkStatusPanel renders the room's live panel as the broker does for
// each change of a room of ten (32-character names, a 20-issue backlog), for
// a member, open with six votes and revealed with a result.
func BenchmarkStatusPanel(b *testing.B) {
	st := store.Status{
		Issue: store.Issue{ID: 7, GroupID: 3, Key: "PLAT-1234", Description: "Rate-limit the public API gateway per tenant: https://wiki.example.com/display/PLAT/Gateway+rate+limits+per+tenant+and+per+route", State: store.StateOpen, Round: 2},
		Group: store.Group{ID: 3, Name: "Platform team - Tuesday planning", Settings: store.DefaultSettings()},
	}
	present := map[int64]bool{}
	for i := range 10 {
		st.Voters = append(st.Voters, store.Voter{UserID: int64(i + 1), Nickname: fmt.Sprintf("Person %02d with a long nickname..", i),
			Role: store.RoleMember, Seat: store.SeatVoter, Voted: i < 6})
		present[int64(i+1)] = true
	}
	for i := range 20 {
		st.Backlog = append(st.Backlog, store.IssueSummary{Issue: store.Issue{ID: int64(100 + i), Key: fmt.Sprintf("PLAT-%d", 1200+i), Description: "An issue of the backlog", State: store.StateOpen}})
	}
	revealed := st
	revealed.Issue.State = store.StateRevealed
	revealed.Issue.Result = store.Tally(store.DefaultDeck(), []store.Vote{{Value: 3}, {Value: 5}, {Value: 5}, {Value: 8}, {Special: store.CardCoffee}, {Value: 5}})
	ctx := views.WithPage(context.Background(), &views.Page{Lang: i18n.FR})
	for name, s := range map[string]store.Status{"open": st, "revealed": revealed} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := views.StatusPanel(views.StatusView{Status: s, Role: store.RoleMember, Present: present}).Render(ctx, &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
