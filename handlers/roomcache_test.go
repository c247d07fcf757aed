package handlers

import (
	"context"
	"sync"
	"testing"

	"estimator/store"
)

// A group's backlog and its rooms are read once and kept until the group
// changes; a read that a drop overtook is not kept (it may be older than the
// change), so the next render reads again; a drop of group 0 forgets every
// group, and a drop of one group leaves the others kept.
func TestRoomCacheKeepsUntilTheGroupChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newRoomCache()
	var mu sync.Mutex
	reads := map[string]int{}
	key := map[int64]string{1: "PLAT-1", 2: "WEB-1"}
	groupOf := map[int64]int64{10: 1, 11: 1, 20: 2}
	var during func()
	readOf := map[int64]uint64{}
	read := func(what string, group int64) string {
		mu.Lock()
		reads[what]++
		v := key[group]
		mu.Unlock()
		if during != nil {
			during()
		}
		return v
	}
	loadBacklog := func(_ context.Context, group int64) ([]store.IssueSummary, error) {
		return []store.IssueSummary{{Issue: store.Issue{GroupID: group, Key: read("backlog", group)}}}, nil
	}
	loadRoom := func(_ context.Context, issue int64) (store.Status, error) {
		g := groupOf[issue]
		return store.Status{Issue: store.Issue{ID: issue, GroupID: g, Key: read("room", g)}, Group: store.Group{ID: g}}, nil
	}
	backlog := func(group int64) string {
		t.Helper()
		before := reads["backlog"]
		b, read, err := k.backlogOf(ctx, group, loadBacklog)
		if err != nil || len(b) != 1 {
			t.Fatalf("backlogOf(%d) = %v, %v", group, b, err)
		}
		// A backlog read again has a new number; a kept one its own.
		if prev, ok := readOf[group]; ok && (read == prev) != (reads["backlog"] == before) {
			t.Errorf("backlog of group %d: read number %d after %d, reads %d -> %d", group, read, prev, before, reads["backlog"])
		}
		readOf[group] = read
		return b[0].Key
	}
	room := func(issue int64) (string, bool) {
		t.Helper()
		st, fresh, err := k.room(ctx, issue, loadRoom)
		if err != nil {
			t.Fatal(err)
		}
		return st.Issue.Key, fresh
	}
	for i := range 3 {
		backlog(1)
		backlog(2)
		for _, is := range []int64{10, 11, 20} {
			if _, fresh := room(is); fresh != (i == 0) {
				t.Errorf("room %d, render %d: fresh %v", is, i, fresh)
			}
		}
	}
	if reads["backlog"] != 2 || reads["room"] != 3 {
		t.Fatalf("reads %v, want one per group and room", reads)
	}
	key[1] = "PLAT-1-renamed"
	k.drop(1)
	if got, fresh := room(11); got != "PLAT-1-renamed" || !fresh {
		t.Errorf("room of the changed group: %q, fresh %v", got, fresh)
	}
	if got, fresh := room(20); got != "WEB-1" || fresh {
		t.Errorf("room of the other group: %q, fresh %v (it did not change)", got, fresh)
	}
	if got := backlog(1); got != "PLAT-1-renamed" || reads["backlog"] != 3 || backlog(2) != "WEB-1" || reads["backlog"] != 3 {
		t.Errorf("after the group changed: %q, reads %v", got, reads)
	}
	// A change commits while a render reads: what it read may be from before
	// the change, so it serves that render only.
	k.drop(1)
	during = func() { key[1] = "PLAT-1-after"; k.drop(1) }
	if got := backlog(1); got != "PLAT-1-renamed" {
		t.Errorf("the read overtaken by the change gave %q", got)
	}
	during = func() { key[1] = "PLAT-1-later"; k.drop(1) }
	if got, _ := room(10); got != "PLAT-1-after" {
		t.Errorf("the room read overtaken by the change gave %q", got)
	}
	during = nil
	if got := backlog(1); got != "PLAT-1-later" {
		t.Errorf("the render after the change got %q, want it read again", got)
	}
	if got, fresh := room(10); got != "PLAT-1-later" || !fresh {
		t.Errorf("the room after the change: %q, fresh %v", got, fresh)
	}
	k.drop(0)
	before := reads["room"]
	room(20)
	if reads["room"] != before+1 {
		t.Errorf("after a drop of every group the room was not read again: %v", reads)
	}
}
