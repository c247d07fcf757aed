package live

import (
	"context"
	"sync"
)

// Kind is what a notice says happened.
type Kind uint8

const (
	TopicChanged Kind = iota + 1
	TopicDeleted
	GroupChanged
	GroupDeleted
	MemberLeft
	SessionsEnded
	GroupPageChanged
	GroupMoved
	// Resync: notices may have been lost (a transport between instances lost
	// its connection); every topic is rendered afresh, which also closes the
	// streams of viewers who lost access meanwhile.
	Resync
	// OwnChanged: User's own part of Topic (their vote) changed; only their
	// streams of it hear of it.
	OwnChanged
)

func (k Kind) String() string {
	switch k {
	case TopicChanged:
		return "topic-changed"
	case TopicDeleted:
		return "topic-deleted"
	case GroupChanged:
		return "group-changed"
	case GroupDeleted:
		return "group-deleted"
	case MemberLeft:
		return "member-left"
	case SessionsEnded:
		return "sessions-ended"
	case GroupPageChanged:
		return "group-page-changed"
	case GroupMoved:
		return "group-moved"
	case Resync:
		return "resync"
	case OwnChanged:
		return "own-changed"
	}
	return "unknown"
}

// Notice tells brokers that something changed. It carries ids only: every
// broker renders from its own reads, so a notice never holds what a page shows,
// and it fits a PostgreSQL NOTIFY payload.
type Notice struct {
	Kind        Kind
	Topic       int64   // TopicChanged, TopicDeleted, GroupMoved (where to), OwnChanged
	Group, User int64   // GroupChanged, GroupDeleted, MemberLeft (both), GroupPageChanged, GroupMoved; OwnChanged (User)
	Sessions    []int64 // SessionsEnded; MemberLeft: the session that left
	// Tab (OwnChanged) is the page tab that made the change (Viewer.Tab):
	// its streams showed it already. "" for none.
	Tab string
}

// Bus carries notices to the broker of every instance, this one included. The
// in-process LocalBus serves one instance; a transport between instances (for
// example PostgreSQL LISTEN/NOTIFY) implements the same two methods.
type Bus interface {
	// Publish sends n to every listener. It must not wait on listeners for
	// long: handlers call it after a commit, before they answer.
	Publish(ctx context.Context, n Notice) error
	// Listen delivers every notice published from now on to deliver, until
	// stop is called. deliver does not block.
	Listen(deliver func(Notice)) (stop func())
}

// LocalBus is the in-process Bus: Publish hands the notice to every listener
// before it returns.
type LocalBus struct {
	mu        sync.RWMutex
	next      int
	listeners map[int]func(Notice)
}

func NewLocalBus() *LocalBus { return &LocalBus{listeners: map[int]func(Notice){}} }

func (l *LocalBus) Publish(_ context.Context, n Notice) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, deliver := range l.listeners {
		deliver(n)
	}
	return nil
}

func (l *LocalBus) Listen(deliver func(Notice)) (stop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.next
	l.next++
	l.listeners[id] = deliver
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.listeners, id)
	}
}
