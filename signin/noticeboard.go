package signin

import (
	"sync"
	"time"

	"estimator/store"
)

// noticeBoard keeps the one-time notices of the sessions (web.SetNotice) in
// memory, where one process serves (SQLite): a notice left by a form's answer
// (Post/Redirect/Get) and taken by the page after it would otherwise write the
// session's row twice, once to leave it and once to take it, beside the write
// the form itself made. Where several instances serve (PostgreSQL) the next
// page may come from another one, and notices stay in the row. A notice not
// shown in noticeFor is dropped; so is one left when the process stops.
type noticeBoard struct {
	mu sync.Mutex
	m  map[string]boardNote
}

type boardNote struct {
	values map[string]string
	at     time.Time
}

const (
	noticeFor      = 15 * time.Minute
	noticeBoardMax = 10000
)

// boardKey names a session on the board by its token's hash: a row id may
// come back after its session ended, a token never does.
func boardKey(token string) string { return string(store.HashToken(token)) }

// get returns the session's notice values (nil if none).
func (b *noticeBoard) get(key string, now time.Time) map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.m[key]
	if !ok {
		return nil
	}
	if now.Sub(n.at) > noticeFor {
		delete(b.m, key)
		return nil
	}
	return n.values
}

// set leaves the session's notice values, or takes them off when empty.
func (b *noticeBoard) set(key string, values map[string]string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(values) == 0 {
		delete(b.m, key)
		return
	}
	if b.m == nil || len(b.m) >= noticeBoardMax {
		b.sweep(now)
	}
	b.m[key] = boardNote{values: values, at: now}
}

// sweep drops the notices past noticeFor, and all of them if the board is
// still full (a flood of sessions that never came back for theirs).
func (b *noticeBoard) sweep(now time.Time) {
	for k, n := range b.m {
		if now.Sub(n.at) > noticeFor {
			delete(b.m, k)
		}
	}
	if b.m == nil || len(b.m) >= noticeBoardMax {
		b.m = make(map[string]boardNote)
	}
}

func (b *noticeBoard) drop(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}
