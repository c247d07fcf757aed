package handlers

import "estimator/store"

// committed is the one place that decides who hears of a change the store has
// committed: the live pages (rooms, group pages, a person's own tabs) and the
// metrics. Handlers do not notify; whatever commits a change (a request, the
// timer loop, auto-reveal) reaches the screens the same way, at its commit.
func (a *App) committed(ch store.Change) {
	b := a.hub
	switch ch.Kind {
	// Every room of the group lists the group's issues (the backlog), so a
	// change to one issue is news in all of them and on the group page.
	case store.RoundRevealed:
		a.metrics.Reveal()
		b.GroupChanged(ch.Group)
	case store.IssueChanged:
		b.GroupChanged(ch.Group)
	case store.VoteCast:
		// Everyone in the room sees who has voted (the backlog does not
		// change); the voter's own cards, with the vote, go to their own
		// streams of the issue only, but the tab that voted (its answer
		// holds them).
		b.TopicChanged(ch.Issue)
		b.GroupPageChanged(ch.Group)
		b.OwnChanged(ch.Issue, ch.User, ch.Tab)
	case store.IssueDeleted:
		b.TopicDeleted(ch.Issue)
		b.GroupChanged(ch.Group)
	case store.GroupMoved:
		b.GroupMoved(ch.Group, ch.Issue)
		b.GroupPageChanged(ch.Group)
	case store.IssuesAdded, store.GroupChanged:
		// New issues change what a room offers next, not only the group page.
		b.GroupChanged(ch.Group)
	case store.MemberLeft:
		b.MemberLeft(ch.Group, ch.User, ch.Session)
	case store.GroupDeleted:
		b.GroupDeleted(ch.Group)
	case store.SessionsEnded:
		b.SessionsEnded(ch.Sessions)
	default:
		a.log.Warn("a committed change nobody hears of", "kind", ch.Kind)
	}
}
