package views

import (
	"context"
	"strconv"
	"strings"

	"estimator/i18n"
	"estimator/store"
)

// ActivityLines turn audit events into lines a person reads ("Alice moved the
// group to PHX-104"), from the action and its detail as the store wrote them;
// the sentence is written at render, in the reader's language. Events never
// hold a vote, so no line can tie a value to a person; the final estimate is
// the group's decision, not anyone's vote.
func ActivityLines(events []store.AuditEvent) []ActivityLine {
	out := make([]ActivityLine, 0, len(events))
	for _, e := range events {
		out = append(out, ActivityLine{At: e.At, Event: e})
	}
	return out
}

// ActivitySentence is an event as a sentence in the page's language.
func ActivitySentence(ctx context.Context, e store.AuditEvent) string {
	return activitySentence(Lang(ctx), e)
}

type words = map[string]any

func activitySentence(l i18n.Lang, e store.AuditEvent) string {
	who := e.Nickname
	if who == "" {
		who = l.T("activity.someone")
	}
	key := e.IssueKey
	if key == "" {
		key = l.T("activity.deleted_issue")
	}
	w := words{"Who": who, "Key": key}
	d := e.Detail
	switch e.Action {
	case store.ActSignIn:
		switch how := strings.TrimPrefix(d, "with "); how {
		case "nickname":
			return l.F("activity.signin.nickname", w)
		case "personal link":
			return l.F("activity.signin.link", w)
		case "":
			return l.F("activity.signin", w)
		default:
			w["How"] = how
			return l.F("activity.signin.with", w)
		}
	case store.ActSignOut:
		return l.F("activity.signout", w)
	case store.ActSignOutAll:
		if n, ok := leadingNumber(d); ok {
			return l.N("activity.signout_all.sessions", n, w)
		}
		return l.F("activity.signout_all", w)
	case store.ActBrowserRevoked:
		return l.F("activity.revoked", w)
	case store.ActOwnershipChange:
		if _, to, ok := strings.Cut(d, " → "); ok {
			w["Member"] = to
			return l.F("activity.owner", w)
		}
		return l.F("activity.handed", w)
	case store.ActReveal:
		return revealSentence(l, w, d)
	case store.ActTrackerConnected:
		if kind, project, ok := strings.Cut(d, " "); ok {
			w["Tracker"], w["Project"] = kindTitle(kind), project
			return l.F("activity.tracker.connected.project", w)
		}
		return l.F("activity.tracker.connected", w)
	case store.ActTrackerDisconnected:
		return l.F("activity.tracker.disconnected", w)
	case store.ActAccept:
		if final, ok := strings.CutPrefix(d, "final "); ok {
			w["Final"] = final
			return l.F("activity.accept.final", w)
		}
		return l.F("activity.accept", w)
	case store.ActRevote:
		if round, ok := strings.CutPrefix(d, "round "); ok {
			w["Round"] = round
			return l.F("activity.revote.round", w)
		}
		return l.F("activity.revote", w)
	case store.ActStart:
		return l.F("activity.start", w)
	case store.ActTimer:
		if d == "stopped" {
			return l.F("activity.timer.stopped", w)
		}
		if secs, err := strconv.Atoi(strings.TrimSuffix(d, "s")); err == nil {
			w["Duration"] = Duration(l, secs)
			return l.F("activity.timer.for", w)
		}
		return l.F("activity.timer", w)
	case store.ActSettings:
		if what := settingsWords(l, d); what != "" {
			w["What"] = what
			return l.F("activity.settings.what", w)
		}
		return l.F("activity.settings", w)
	case "user.deactivated":
		return l.F("activity.deactivated", w)
	case "user.activated":
		return l.F("activity.activated", w)
	case "member.removed":
		if d != "" {
			w["Member"] = d
			return l.F("activity.removed.member", w)
		}
		return l.F("activity.removed", w)
	case "member.left":
		return l.F("activity.left", w)
	case store.ActAhead:
		// "3 issues, 48h"
		if n, h, ok := strings.Cut(d, " issues, "); ok {
			issues, err1 := strconv.Atoi(n)
			hours, err2 := strconv.Atoi(strings.TrimSuffix(h, "h"))
			if err1 == nil && err2 == nil {
				w["Hours"] = l.N("duration.hours", hours, nil)
				return l.N("activity.ahead.issues", issues, w)
			}
		}
		return l.F("activity.ahead", w)
	case store.ActFacilitator:
		if nick, ok := strings.CutSuffix(d, " on"); ok {
			w["Member"] = nick
			return l.F("activity.facilitator.on", w)
		}
		if nick, ok := strings.CutSuffix(d, " off"); ok {
			w["Member"] = nick
			return l.F("activity.facilitator.off", w)
		}
		return l.F("activity.facilitator", w)
	}
	w["Action"] = e.Action
	return l.F("activity.other", w)
}

// revealSentence reads a reveal's detail: "round 2, 3 votes" and, when
// nobody clicked, ", auto-reveal" or ", timer". Each way is a whole sentence
// in the message files (a round and a result differ in gender in some
// languages).
func revealSentence(l i18n.Lang, w words, d string) string {
	parts := strings.Split(d, ", ")
	id := "activity.reveal"
	switch {
	case len(parts) == 3 && parts[2] == string(store.RevealByTimer):
		id = "activity.reveal.timer"
	case len(parts) == 3 && parts[2] == string(store.RevealByAuto):
		id = "activity.reveal.auto"
	case len(parts) == 3 && parts[2] == string(store.RevealByDeadline):
		id = "activity.reveal.deadline"
	}
	if len(parts) >= 2 {
		if round, ok := strings.CutPrefix(parts[0], "round "); ok {
			w["Round"] = round
			id += ".round"
		}
	}
	s := l.F(id, w)
	if len(parts) >= 2 {
		if n, ok := leadingNumber(parts[1]); ok {
			s += " " + l.N("activity.votes", n, nil)
		}
	}
	return s
}

// settingsWords reads a settings change ("deck tshirt, auto-reveal on, timer
// 60s") as "T-shirt sizes, reveal by itself, a timer of 1 minute".
func settingsWords(l i18n.Lang, d string) string {
	var ws []string
	for _, part := range strings.Split(d, ", ") {
		name, value, _ := strings.Cut(part, " ")
		switch name {
		case "deck":
			if deck, err := store.ParseDeckSpec(value); err == nil {
				ws = append(ws, deckName(l, deck))
			}
		case "auto-reveal":
			if value == "on" {
				ws = append(ws, l.T("activity.settings.auto_on"))
			} else {
				ws = append(ws, l.T("activity.settings.auto_off"))
			}
		case "timer":
			if secs, err := strconv.Atoi(strings.TrimSuffix(value, "s")); err == nil && secs > 0 {
				ws = append(ws, l.F("activity.settings.timer", words{"Duration": Duration(l, secs)}))
			} else if err == nil {
				ws = append(ws, l.T("activity.settings.no_timer"))
			}
		}
	}
	return strings.Join(ws, ", ")
}

func deckName(l i18n.Lang, d store.Deck) string {
	switch d.Name {
	case store.DeckFibonacci:
		return l.T("deck.fibonacci")
	case store.DeckModified:
		return l.T("deck.modified")
	case store.DeckTShirt:
		return l.T("deck.tshirt")
	case store.DeckPowers:
		return l.T("deck.powers")
	}
	return l.F("deck.custom", words{"Cards": d.CardsText()})
}

// Duration says a number of seconds as a person would, in language l: "6
// seconds", "1 minute", "90 seconds", "2 minutes".
func Duration(l i18n.Lang, secs int) string {
	if secs >= 60 && secs%60 == 0 {
		return l.N("duration.minutes", secs/60, nil)
	}
	return l.N("duration.seconds", secs, nil)
}

// leadingNumber reads the number a detail starts with ("3 sessions").
func leadingNumber(s string) (int, bool) {
	num, _, _ := strings.Cut(s, " ")
	n, err := strconv.Atoi(num)
	return n, err == nil
}
