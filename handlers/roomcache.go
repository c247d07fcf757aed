package handlers

import (
	"context"
	"sync"

	"estimator/store"
)

// roomCache keeps, between renders of the live rooms, what only a change of a
// group alters: each watched room's state but the ballot (its issue, group,
// members and seats, rounds, where the group is), and each group's backlog
// (every room of a group lists the same issues). A vote changes its room's
// ballot alone, so a room rendered after a vote reads only who has voted.
// The broker drops a group's part on a notice that changed something of the
// group (live.Config.GroupNews), whichever instance sent it, before it
// renders the group's rooms again; every change but a vote sends one
// (changes.go).
type roomCache struct {
	mu sync.Mutex
	// gen counts the drops: what was read before a drop is not kept after
	// it (it may be older than the change the drop was for).
	gen     uint64
	backlog map[int64]keptBacklog  // by group
	rooms   map[int64]store.Status // by issue, without the backlog
	// reads numbers the backlogs read: each one's own.
	reads uint64
}

// keptBacklog is a group's backlog as read, and which read it was: two
// renders with the same read show the same backlog.
type keptBacklog struct {
	issues []store.IssueSummary
	read   uint64
}

// roomCacheMax caps the rooms and the groups kept: past it, all of them are
// dropped and read again when next needed.
const roomCacheMax = 4096

func newRoomCache() *roomCache {
	return &roomCache{backlog: map[int64]keptBacklog{}, rooms: map[int64]store.Status{}}
}

// room is the state of an issue's room without its backlog, read by load
// when it is not kept; fresh says it was just read (a kept one has the
// ballot of its read: the caller reads who has voted since). The slices are
// shared by every render that gets them: nobody changes them.
func (k *roomCache) room(ctx context.Context, issueID int64, load func(context.Context, int64) (store.Status, error)) (st store.Status, fresh bool, err error) {
	k.mu.Lock()
	if st, ok := k.rooms[issueID]; ok {
		k.mu.Unlock()
		return st, false, nil
	}
	gen := k.gen
	k.mu.Unlock()
	if st, err = load(ctx, issueID); err != nil {
		return st, false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen == gen {
		if len(k.rooms) >= roomCacheMax {
			clear(k.rooms)
		}
		k.rooms[issueID] = st
	}
	return st, true, nil
}

// backlogOf is the group's backlog, read by load when it is not kept, and
// the number of its read (a backlog read again has a new one).
func (k *roomCache) backlogOf(ctx context.Context, group int64, load func(context.Context, int64) ([]store.IssueSummary, error)) ([]store.IssueSummary, uint64, error) {
	k.mu.Lock()
	if b, ok := k.backlog[group]; ok {
		k.mu.Unlock()
		return b.issues, b.read, nil
	}
	gen := k.gen
	k.mu.Unlock()
	issues, err := load(ctx, group)
	if err != nil {
		return nil, 0, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reads++
	b := keptBacklog{issues, k.reads}
	if k.gen == gen {
		if len(k.backlog) >= roomCacheMax {
			clear(k.backlog)
		}
		k.backlog[group] = b
	}
	return b.issues, b.read, nil
}

// drop forgets the backlog and the rooms of a group (0: of every group).
func (k *roomCache) drop(group int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	if group == 0 {
		clear(k.backlog)
		clear(k.rooms)
		return
	}
	delete(k.backlog, group)
	for id, st := range k.rooms {
		if st.Group.ID == group {
			delete(k.rooms, id)
		}
	}
}
