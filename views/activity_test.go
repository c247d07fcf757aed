package views

import (
	"strings"
	"testing"

	"estimator/i18n"
	"estimator/store"
)

func TestActivityReadsInTheReadersLanguage(t *testing.T) {
	ev := func(action, detail string) store.AuditEvent {
		return store.AuditEvent{Nickname: "Friederike Schätzer-Großmann 123", IssueKey: "PAY-2042", Action: action, Detail: detail}
	}
	cases := []struct {
		l    i18n.Lang
		e    store.AuditEvent
		want string
	}{
		{i18n.EN, ev(store.ActReveal, "round 2, 3 votes, timer"), "Time was up: round 2 of PAY-2042 was revealed (3 votes)"},
		{i18n.DE, ev(store.ActReveal, "round 2, 3 votes, timer"), "Die Zeit war um: Runde 2 von PAY-2042 wurde aufgedeckt (3 Stimmen)"},
		{i18n.PTBR, ev(store.ActReveal, "round 2, 1 votes, auto-reveal"), "Todos tinham votado: a rodada 2 de PAY-2042 foi revelada (1 voto)"},
		{i18n.ES, ev(store.ActReveal, "round 1, 2 votes"), "Friederike Schätzer-Großmann 123 reveló la ronda 1 de PAY-2042 (2 votos)"},
		{i18n.FR, ev(store.ActTimer, "90s"), "Friederike Schätzer-Großmann 123 a lancé un minuteur de 90 secondes sur PAY-2042"},
		{i18n.DE, ev(store.ActTimer, "120s"), "Friederike Schätzer-Großmann 123 hat einen Timer von 2 Minuten für PAY-2042 gestartet"},
		{i18n.DE, ev(store.ActSettings, "deck tshirt, auto-reveal on, timer 60s"), "Friederike Schätzer-Großmann 123 hat geändert, wie die Gruppe schätzt: T-Shirt-Größen, automatisch aufdecken, ein Timer von 1 Minute"},
		{i18n.EN, ev(store.ActSignOutAll, "1 sessions"), "Friederike Schätzer-Großmann 123 signed out everywhere, ending 1 session"},
		{i18n.EN, store.AuditEvent{Action: store.ActStart}, "Someone moved the group to an issue since deleted"},
		{i18n.FR, store.AuditEvent{Action: store.ActStart}, "Quelqu’un a emmené le groupe sur un ticket supprimé depuis"},
	}
	for _, c := range cases {
		if got := activitySentence(c.l, c.e); got != c.want {
			t.Errorf("%s %s %q:\n got %q\nwant %q", c.l, c.e.Action, c.e.Detail, got, c.want)
		}
	}
	// Every action a store writes reads as a sentence in every language,
	// with no placeholder left.
	for _, l := range i18n.Langs {
		for _, a := range []string{store.ActSignIn, store.ActSignOut, store.ActSignOutAll, store.ActBrowserRevoked, store.ActOwnershipChange, store.ActReveal, store.ActAccept, store.ActRevote, store.ActStart, store.ActTimer, store.ActSettings, store.ActFacilitator, "member.removed", "member.left", "user.deactivated", "user.activated"} {
			for _, d := range []string{"", "with nickname", "final 8", "round 3", "stopped", "x → Mia", "Mia on", "Mia off", "deck fibonacci"} {
				if got := activitySentence(l, ev(a, d)); got == "" || containsAny(got, "{{", "<no value>", "activity.") {
					t.Errorf("%s %s %q reads %q", l, a, d, got)
				}
			}
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
