package store

import (
	"context"
	"sync/atomic"
)

// ChangeKind says what a committed change was.
type ChangeKind uint8

const (
	// IssueChanged: something an issue's room shows changed (a vote came in or
	// was changed, the result was accepted, a new round or a timer started, the
	// issue was edited).
	IssueChanged ChangeKind = iota + 1
	// RoundRevealed: an issue's round was revealed, whoever or whatever
	// revealed it (the facilitator, auto-reveal, the timer, a seat change).
	RoundRevealed
	// IssuesAdded: the group has new issues (added one by one or imported).
	IssuesAdded
	// IssueDeleted: the issue is gone.
	IssueDeleted
	// GroupMoved: the group's current issue is now Issue.
	GroupMoved
	// GroupChanged: who is in the group, their roles or seats, its name or its
	// settings changed: everything the group shows may look different.
	GroupChanged
	// MemberLeft: User left the group or was removed from it.
	MemberLeft
	// GroupDeleted: the group and its issues are gone.
	GroupDeleted
	// SessionsEnded: the sessions in Sessions were signed out.
	SessionsEnded
	// VoteCast: User gave or changed their vote on Issue (the round stays
	// open): the room changed for everyone (who has voted), and User's own
	// cards changed for User alone.
	VoteCast
)

func (k ChangeKind) String() string {
	switch k {
	case IssueChanged:
		return "issue-changed"
	case RoundRevealed:
		return "round-revealed"
	case IssuesAdded:
		return "issues-added"
	case IssueDeleted:
		return "issue-deleted"
	case GroupMoved:
		return "group-moved"
	case GroupChanged:
		return "group-changed"
	case MemberLeft:
		return "member-left"
	case GroupDeleted:
		return "group-deleted"
	case SessionsEnded:
		return "sessions-ended"
	case VoteCast:
		return "vote-cast"
	}
	return "unknown"
}

// Change is a fact the store reports once it is committed. It holds ids only,
// never a value, a name or who did it: whoever listens reads what it shows.
type Change struct {
	Kind ChangeKind
	// Group is the group the change belongs to (every kind but SessionsEnded).
	Group int64
	// Issue is the issue changed, revealed or deleted, or the one a group
	// moved to.
	Issue int64
	// User is the member who left (MemberLeft), or who voted (VoteCast: who
	// has voted is what the room shows everyone; what they voted is never in
	// a Change).
	User int64
	// Session is the session a member left from (MemberLeft; 0 for a
	// removal): its own answer takes its pages on, and a page load sent by
	// its streams could take the one-time notice that says it left.
	Session int64
	// Sessions are the sessions ended (SessionsEnded).
	Sessions []int64
	// Tab (VoteCast) is the page tab the vote came from, as the request
	// named it (WithTab; "" for none): an id the page made up, so that the
	// cards its answer showed are not sent to it again.
	Tab string
}

type tabKey struct{}

// WithTab is ctx naming the page tab a request comes from (live.Viewer.Tab),
// for the Change it commits.
func WithTab(ctx context.Context, tab string) context.Context {
	return context.WithValue(ctx, tabKey{}, tab)
}

// tabOf is the page tab ctx names ("" for none).
func tabOf(ctx context.Context) string {
	tab, _ := ctx.Value(tabKey{}).(string)
	return tab
}

// Changes hears of every change the store commits, once it is committed and
// before the call that made it returns: a reveal is told at its commit, before
// it waits for the checkpoint that scrubs the files. Committed is called on the
// committing goroutine, so it must not wait long.
type Changes interface {
	Committed(Change)
}

// Relay is the Changes given to Open when whoever listens is built from the
// store itself (the web layer): it passes each change to the function set by
// Listen, and drops changes until one is set.
type Relay struct {
	fn atomic.Pointer[func(Change)]
}

// Committed passes ch on to the listener, if there is one.
func (r *Relay) Committed(ch Change) {
	if fn := r.fn.Load(); fn != nil {
		(*fn)(ch)
	}
}

// Listen makes fn the listener of every change from now on; nil stops it.
func (r *Relay) Listen(fn func(Change)) {
	if fn == nil {
		r.fn.Store(nil)
		return
	}
	r.fn.Store(&fn)
}

// sessionsEnded reports ended sessions, if any.
func (s *Store) sessionsEnded(ids []int64) {
	if len(ids) > 0 {
		s.tell(Change{Kind: SessionsEnded, Sessions: ids})
	}
}

// tell reports committed changes to the Changes given at Open.
func (s *Store) tell(chs ...Change) {
	if s.changes == nil {
		return
	}
	for _, ch := range chs {
		s.changes.Committed(ch)
	}
}
