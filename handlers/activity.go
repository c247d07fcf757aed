package handlers

import (
	"strconv"
	"strings"

	"estimator/store"
	"estimator/views"
)

// activityLines turn audit events into sentences a person reads ("Alice moved
// the group to PHX-104"), from the action and its detail as the store wrote
// them. Events never hold a vote, so no line can tie a value to a person; the
// final estimate is the group's decision, not anyone's vote.
func activityLines(events []store.AuditEvent) []views.ActivityLine {
	out := make([]views.ActivityLine, 0, len(events))
	for _, e := range events {
		out = append(out, views.ActivityLine{At: e.At, Text: activitySentence(e)})
	}
	return out
}

func activitySentence(e store.AuditEvent) string {
	who := e.Nickname
	if who == "" {
		who = "Someone"
	}
	key := e.IssueKey
	if key == "" {
		key = "an issue since deleted"
	}
	d := e.Detail
	switch e.Action {
	case store.ActSignIn:
		switch how := strings.TrimPrefix(d, "with "); how {
		case "nickname":
			return who + " signed in by typing the nickname"
		case "personal link":
			return who + " signed in with the personal sign-in link"
		case "":
			return who + " signed in"
		default:
			return who + " signed in with " + how
		}
	case store.ActSignOut:
		return who + " signed out"
	case store.ActSignOutAll:
		if n, ok := leadingNumber(d); ok {
			return who + " signed out everywhere, ending " + plural(n, "session", "sessions")
		}
		return who + " signed out everywhere"
	case store.ActBrowserRevoked:
		return who + " revoked a browser: it no longer signs in by typing the nickname"
	case store.ActOwnershipChange:
		if _, to, ok := strings.Cut(d, " → "); ok {
			return who + " made " + to + " the owner"
		}
		return who + " handed the group over"
	case store.ActReveal:
		return revealSentence(who, key, d)
	case store.ActTrackerConnected:
		if kind, project, ok := strings.Cut(d, " "); ok {
			return who + " connected the group to " + trackerTitle(kind) + ", project " + project
		}
		return who + " connected the group to an issue tracker"
	case store.ActTrackerDisconnected:
		return who + " disconnected the issue tracker; its token was forgotten"
	case store.ActAccept:
		if final, ok := strings.CutPrefix(d, "final "); ok {
			return who + " accepted " + final + " as the final estimate of " + key
		}
		return who + " accepted the final estimate of " + key
	case store.ActRevote:
		if round, ok := strings.CutPrefix(d, "round "); ok {
			return who + " started round " + round + " of " + key
		}
		return who + " started a new round of " + key
	case store.ActStart:
		return who + " moved the group to " + key
	case store.ActTimer:
		if d == "stopped" {
			return who + " stopped the timer on " + key
		}
		if secs, err := strconv.Atoi(strings.TrimSuffix(d, "s")); err == nil {
			return who + " started a timer of " + duration(secs) + " on " + key
		}
		return who + " started a timer on " + key
	case store.ActSettings:
		return who + " changed how the group estimates" + settingsWords(d)
	case "user.deactivated":
		return who + " was deactivated"
	case "user.activated":
		return who + " was activated again"
	case "member.removed":
		if d != "" {
			return who + " removed " + d + " from the group"
		}
		return who + " removed a member"
	case "member.left":
		return who + " left the group"
	case store.ActFacilitator:
		if nick, ok := strings.CutSuffix(d, " on"); ok {
			return who + " made " + nick + " a facilitator"
		}
		if nick, ok := strings.CutSuffix(d, " off"); ok {
			return who + " took the facilitator role back from " + nick
		}
		return who + " changed who runs the meeting"
	}
	return who + ": " + e.Action
}

// revealSentence reads a reveal's detail: "round 2, 3 votes" and, when the
// owner did not click, ", auto-reveal" or ", timer".
func revealSentence(who, key, d string) string {
	parts := strings.Split(d, ", ")
	round, votes := "", ""
	if len(parts) >= 2 {
		round = strings.TrimPrefix(parts[0], "round ")
		if n, ok := leadingNumber(parts[1]); ok {
			votes = " (" + plural(n, "vote", "votes") + ")"
		}
	}
	what := "the result of " + key
	if round != "" {
		what = "round " + round + " of " + key
	}
	switch {
	case len(parts) == 3 && parts[2] == string(store.RevealByTimer):
		return "Time was up: " + what + " was revealed" + votes
	case len(parts) == 3 && parts[2] == string(store.RevealByAuto):
		return "Everyone had voted: " + what + " was revealed" + votes
	}
	return who + " revealed " + what + votes
}

// settingsWords reads a settings change ("deck tshirt, auto-reveal on, timer
// 60s") as ": T-shirt sizes, reveal by itself, 1 minute timer".
func settingsWords(d string) string {
	var words []string
	for _, part := range strings.Split(d, ", ") {
		name, value, _ := strings.Cut(part, " ")
		switch name {
		case "deck":
			if deck, err := store.ParseDeckSpec(value); err == nil {
				words = append(words, deckName(deck))
			}
		case "auto-reveal":
			if value == "on" {
				words = append(words, "reveal by itself")
			} else {
				words = append(words, "the owner reveals")
			}
		case "timer":
			if secs, err := strconv.Atoi(strings.TrimSuffix(value, "s")); err == nil && secs > 0 {
				words = append(words, "a timer of "+duration(secs))
			} else if err == nil {
				words = append(words, "no timer")
			}
		}
	}
	if len(words) == 0 {
		return ""
	}
	return ": " + strings.Join(words, ", ")
}

func deckName(d store.Deck) string {
	switch d.Name {
	case store.DeckFibonacci:
		return "Fibonacci deck"
	case store.DeckModified:
		return "modified Fibonacci deck"
	case store.DeckTShirt:
		return "T-shirt sizes"
	case store.DeckPowers:
		return "powers of two"
	}
	return "custom deck " + d.CardsText()
}

// duration says a number of seconds as a person would: "6 seconds",
// "1 minute", "90 seconds", "2 minutes".
func duration(secs int) string {
	if secs >= 60 && secs%60 == 0 {
		return plural(secs/60, "minute", "minutes")
	}
	return plural(secs, "second", "seconds")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// leadingNumber reads the number a detail starts with ("3 sessions").
func leadingNumber(s string) (int, bool) {
	num, _, _ := strings.Cut(s, " ")
	n, err := strconv.Atoi(num)
	return n, err == nil
}
