package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchOf makes the votes of one batch, each with a context of its own that
// names the tab it came from.
func batchOf(votes ...voteReq) []*voteReq {
	out := make([]*voteReq, len(votes))
	for i, v := range votes {
		v.ctx = WithTab(context.Background(), fmt.Sprintf("tab-%d", i))
		v.done = make(chan struct{})
		out[i] = &v
	}
	return out
}

// TestVotesOfABatchStandAlone: the votes of one batch are one commit, and a
// vote refused in it (a stranger, a revealed round, a card not on the deck, a
// spectator) changes nothing and is answered as alone, while the others
// stand; the changes are told once each, in the transaction's order, with each
// vote's own tab, and every vote is answered.
func TestVotesOfABatchStandAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, h := newHeardStore(t)
	g, users := members(t, s, 6)
	stranger := newUser(t, s, "Stranger to the group - 32 chars")
	set := DefaultSettings()
	set.Deck = builtinDecks[DeckTShirt] // a deck of labels: 4 is no card
	if err := s.SaveSettings(ctx, g.ID, set, users[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSeat(ctx, g.ID, users[5].ID, SeatSpectator); err != nil {
		t.Fatal(err)
	}
	open := newIssue(t, s, g.ID, "PAY-1234")
	done := newIssue(t, s, g.ID, "PAY-1235")
	vote(t, s, done.ID, users[0], 3)
	vote(t, s, done.ID, users[1], 5)
	if _, err := s.Reveal(ctx, done.ID, users[0]); err != nil {
		t.Fatal(err)
	}
	h.take()
	before := s.writes.Load()

	batch := batchOf(
		voteReq{issueID: open.ID, userID: users[0].ID, v: Vote{Value: 8}},
		voteReq{issueID: open.ID, userID: stranger.ID, v: Vote{Value: 13}},
		voteReq{issueID: open.ID, userID: users[1].ID, v: Vote{Special: CardUnsure}},
		voteReq{issueID: done.ID, userID: users[2].ID, v: Vote{Value: 21}},
		voteReq{issueID: open.ID, userID: users[2].ID, v: Vote{Value: 4}},
		voteReq{issueID: open.ID, userID: users[5].ID, v: Vote{Value: 1}},
		voteReq{issueID: open.ID, userID: users[3].ID, v: Vote{Value: 2}},
		voteReq{issueID: open.ID + done.ID + 100, userID: users[3].ID, v: Vote{Value: 2}},
		voteReq{issueID: open.ID, userID: users[0].ID, v: Vote{Value: 5}}, // changes their mind
	)
	s.commitVotes(batch)

	want := []error{nil, ErrNotMember, nil, ErrNotOpen, ErrNotOnDeck, ErrSpectator, nil, ErrNotFound, nil}
	for i, r := range batch {
		select {
		case <-r.done:
		default:
			t.Errorf("vote %d was not answered", i)
		}
		if !errors.Is(r.err, want[i]) || (want[i] == nil) != (r.err == nil) {
			t.Errorf("vote %d: %v, want %v", i, r.err, want[i])
		}
	}
	if n := s.writes.Load() - before; n != 1 {
		t.Errorf("the batch took %d commits, want 1", n)
	}
	got := slots(t, s, open.ID)
	wantSlots := map[int64]slotCard{users[0].ID: slotCard(cardOf(Vote{Value: 5})), users[1].ID: slotCard(cardOf(Vote{Special: CardUnsure})),
		users[3].ID: slotCard(cardOf(Vote{Value: 2}))}
	if len(got) != len(wantSlots) {
		t.Errorf("the open round holds %d slots, want %d: %v", len(got), len(wantSlots), got)
	}
	for id, c := range wantSlots {
		if got[id] != c {
			t.Errorf("user %d: card %v, want %v", id, got[id], c)
		}
	}
	if n := withCards(t, s, done.ID); n != 0 {
		t.Errorf("the revealed round holds %d cards", n)
	}
	var tabs []string
	for _, ch := range h.take() {
		if ch.Kind != VoteCast || ch.Issue != open.ID || ch.Group != g.ID {
			t.Errorf("told %+v", ch)
		}
		tabs = append(tabs, ch.Tab)
	}
	if !slices.Equal(tabs, []string{"tab-0", "tab-2", "tab-6", "tab-8"}) {
		t.Errorf("changes told from tabs %v, want those of the four votes stored, in order", tabs)
	}
}

// autoRevealRoom is an open issue of a group of three voters with auto-reveal
// on: the third vote reveals it.
func autoRevealRoom(t *testing.T, s *Store, key string) (Issue, []User) {
	t.Helper()
	g, users := members(t, s, 3)
	set := DefaultSettings()
	set.AutoReveal = true
	if err := s.SaveSettings(context.Background(), g.ID, set, users[0]); err != nil {
		t.Fatal(err)
	}
	return newIssue(t, s, g.ID, key), users
}

// TestAutoRevealInsideABatch: the vote that completes the round reveals it
// inside the batch; a later vote of the same batch finds the round revealed
// and is refused; the reveal is told once, after the votes before it.
func TestAutoRevealInsideABatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, h := newHeardStore(t)
	is, users := autoRevealRoom(t, s, "MOBILE-77")
	h.take()
	batch := batchOf(
		voteReq{issueID: is.ID, userID: users[0].ID, v: Vote{Value: 3}},
		voteReq{issueID: is.ID, userID: users[1].ID, v: Vote{Value: 5}},
		voteReq{issueID: is.ID, userID: users[2].ID, v: Vote{Value: 5}},
		voteReq{issueID: is.ID, userID: users[0].ID, v: Vote{Value: 8}},
	)
	s.commitVotes(batch)
	for i, r := range batch[:3] {
		if r.err != nil || r.revealed != (i == 2) {
			t.Errorf("vote %d: revealed %v, %v", i, r.revealed, r.err)
		}
	}
	if !errors.Is(batch[3].err, ErrNotOpen) {
		t.Errorf("the vote after the reveal: %v, want ErrNotOpen", batch[3].err)
	}
	var kinds []ChangeKind
	for _, ch := range h.take() {
		kinds = append(kinds, ch.Kind)
	}
	if !slices.Equal(kinds, []ChangeKind{VoteCast, VoteCast, RoundRevealed}) {
		t.Errorf("told %v", kinds)
	}
	got, _, _, err := s.IssueFor(ctx, is.ID, users[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateRevealed || got.Result.Votes != 3 {
		t.Errorf("issue %s with %d votes, want revealed with 3", got.State, got.Result.Votes)
	}
	if n := withCards(t, s, is.ID); n != 0 {
		t.Errorf("%d cards left after the reveal", n)
	}
}

// TestVoteGoneBeforeItsBatch: a vote whose request went away before its batch
// began is not stored; the votes beside it are.
func TestVoteGoneBeforeItsBatch(t *testing.T) {
	t.Parallel()
	s, _, h := newHeardStore(t)
	g, users := members(t, s, 2)
	is := newIssue(t, s, g.ID, "OPS-9")
	h.take()
	batch := batchOf(
		voteReq{issueID: is.ID, userID: users[0].ID, v: Vote{Value: 3}},
		voteReq{issueID: is.ID, userID: users[1].ID, v: Vote{Value: 5}},
	)
	gone, cancel := context.WithCancel(batch[0].ctx)
	cancel()
	batch[0].ctx = gone
	s.commitVotes(batch)
	if !errors.Is(batch[0].err, context.Canceled) || batch[1].err != nil {
		t.Fatalf("answers: %v, %v", batch[0].err, batch[1].err)
	}
	if got := slots(t, s, is.ID); len(got) != 1 || got[users[1].ID] != slotCard(cardOf(Vote{Value: 5})) {
		t.Errorf("ballot %v, want only the second vote", got)
	}
	if chs := h.take(); len(chs) != 1 || chs[0].User != users[1].ID {
		t.Errorf("told %+v", chs)
	}
}

// TestVotesInParallelEachAnsweredAfterCommit: many voters at once, each
// changing their mind, through Cast: every vote is answered, the last value of
// each is stored, and fewer commits than votes were needed (they waited
// together) on SQLite.
func TestVotesInParallelEachAnsweredAfterCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, h := newHeardStore(t)
	const n = 48
	g, users := members(t, s, n)
	is := newIssue(t, s, g.ID, "PLAT-2048")
	h.take()
	before := s.writes.Load()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, u := range users {
		wg.Go(func() {
			<-start
			for k := range 5 {
				if _, err := s.Cast(ctx, is.ID, u.ID, Vote{Value: Scale[(i+k)%len(Scale)]}, nil); err != nil {
					errs[i] = err
					return
				}
				// Answered after the commit: a read sees the vote.
				if v, err := s.OwnEstimate(ctx, is.ID, u.ID); err != nil || v.Value != Scale[(i+k)%len(Scale)] {
					errs[i] = fmt.Errorf("after vote %d: read %+v, %v", k, v, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("voter %d: %v", i, err)
		}
	}
	got := slots(t, s, is.ID)
	for i, u := range users {
		if got[u.ID] != slotCard(cardOf(Vote{Value: Scale[(i+4)%len(Scale)]})) {
			t.Errorf("voter %d: card %v", i, got[u.ID])
		}
	}
	if told := len(h.take()); told != 5*n {
		t.Errorf("%d changes told, want %d", told, 5*n)
	}
	commits := s.writes.Load() - before
	t.Logf("%d votes in %d commits", 5*n, commits)
	if !s.pg && commits >= 5*n {
		t.Errorf("%d votes took %d commits: none waited for another's", 5*n, commits)
	}
}

// TestCloseAnswersTheVotesWaiting: Close waits for the votes already
// waiting for the writer and commits them; votes racing Close are each
// answered: stored (and found when the file is opened again) or refused as
// unavailable (and not stored).
func TestCloseAnswersTheVotesWaiting(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "votes wait together for SQLite's one writer")
	ctx := context.Background()
	path := newDB(t, "estimator.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, users := members(t, s, 40)
	is := newIssue(t, s, g.ID, "CORE-1")
	// The writer is busy: the first votes wait for it.
	if err := s.wq.lock(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for i, u := range users {
		wg.Go(func() { _, errs[i] = s.Cast(ctx, is.ID, u.ID, Vote{Value: 5}, nil) })
	}
	for {
		s.wq.mu.Lock()
		waiting := len(s.wq.waiting)
		s.wq.mu.Unlock()
		if waiting > 0 {
			break
		}
		runtime.Gosched()
	}
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while votes waited for the writer", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.wq.unlock()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = openStore(t, path, Options{})
	got := slots(t, s, is.ID)
	stored := 0
	for i, u := range users {
		_, in := got[u.ID]
		switch {
		case errs[i] == nil && in:
			stored++
		case errors.Is(errs[i], ErrUnavailable) && !in:
		default:
			t.Errorf("voter %d: answered %v, stored %v", i, errs[i], in)
		}
	}
	if stored == 0 {
		t.Error("no vote that waited for the writer was stored")
	}
	t.Logf("%d of %d votes stored before Close", stored, len(users))
	if _, err := s.Cast(ctx, is.ID, users[0].ID, Vote{Value: 8}, nil); err != nil {
		t.Errorf("a vote on the store opened again: %v", err)
	}
}

// TestBatchRevealIsScrubbedWithoutItsVoter: the vote that reveals a round in
// a batch starts the files' scrub itself: the write-ahead log is emptied
// (no page of it still pairs a voter with a card) though nobody waits for
// the vote's answer.
func TestBatchRevealIsScrubbedWithoutItsVoter(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "the scrub is SQLite's checkpoint")
	s, _, _ := newHeardStore(t)
	is, users := autoRevealRoom(t, s, "SEC-404")
	before := s.checkpoints.Load()
	vote(t, s, is.ID, users[0], 2) // a vote of the round in the log before the batch
	if walSize(t, s) == 0 {
		t.Fatal("the WAL is empty before the reveal: the check would prove nothing")
	}
	batch := batchOf(
		voteReq{issueID: is.ID, userID: users[0].ID, v: Vote{Value: 3}},
		voteReq{issueID: is.ID, userID: users[1].ID, v: Vote{Value: 5}},
		voteReq{issueID: is.ID, userID: users[2].ID, v: Vote{Value: 8}},
	)
	s.commitVotes(batch) // and nobody asks for the answers
	if !batch[2].revealed || batch[2].scrubbed == nil {
		t.Fatalf("the last vote: revealed %v, scrub %v", batch[2].revealed, batch[2].scrubbed)
	}
	<-batch[2].scrubbed
	if n := s.checkpoints.Load() - before; n == 0 {
		t.Error("no checkpoint ran after the reveal")
	}
	if n := walSize(t, s); n != 0 {
		t.Errorf("the WAL holds %d bytes after the reveal's scrub", n)
	}
	if n := withCards(t, s, is.ID); n != 0 {
		t.Errorf("%d estimates keep a value after the batch's reveal", n)
	}
}

// TestBatchOnAFullFile: votes that find the file full (it may not grow) are
// refused as unavailable and not stored, each alone; the others are stored;
// none gets an error of another's.
func TestBatchOnAFullFile(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "SQLite's page limit")
	ctx := context.Background()
	s, _, _ := newHeardStore(t)
	g, users := members(t, s, 12)
	var issues []Issue
	for i := range 40 {
		issues = append(issues, newIssue(t, s, g.ID, fmt.Sprintf("FULL-%d", i)))
	}
	var pages int
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("A note that explains the estimate at some length, with a link https://wiki.example.com/x. ", 3)
	var reqs []voteReq
	for _, is := range issues {
		for _, u := range users {
			reqs = append(reqs, voteReq{issueID: is.ID, userID: u.ID, v: Vote{Value: 5}, note: &note})
		}
	}
	batch := batchOf(reqs[:voteBatchMax]...)
	s.commitVotes(batch)
	full := 0
	for i, r := range batch {
		stored := slots(t, s, r.issueID)[r.userID] != 0
		switch {
		case r.err == nil && stored:
		case errors.Is(r.err, ErrUnavailable) && !stored:
			full++
		default:
			t.Errorf("vote %d: answered %v, stored %v", i, r.err, stored)
		}
	}
	if full == 0 {
		t.Fatal("no vote found the file full: the test did not test")
	}
	t.Logf("%d of %d votes refused for a full file", full, len(batch))
}

// TestBatchOutlivesAVoteThatEndsTheTransaction: when a vote's statement ends
// the whole transaction (here a trigger's RAISE(ROLLBACK); SQLite does the
// same on some I/O errors), the savepoint is gone with it: that vote gets its
// own error, and the batch runs again without it, so the votes before and
// after it are stored and answered as such, told once each.
func TestBatchOutlivesAVoteThatEndsTheTransaction(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "an SQLite trigger")
	ctx := context.Background()
	s, _, h := newHeardStore(t)
	g, users := members(t, s, 4)
	ok1, bad, ok2 := newIssue(t, s, g.ID, "OPS-1"), newIssue(t, s, g.ID, "OPS-2"), newIssue(t, s, g.ID, "OPS-3")
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`CREATE TRIGGER test_abort BEFORE INSERT ON ballots
		WHEN NEW.issue_id = %d BEGIN SELECT RAISE(ROLLBACK, 'the transaction ends here'); END`, bad.ID)); err != nil {
		t.Fatal(err)
	}
	h.take()
	batch := batchOf(
		voteReq{issueID: ok1.ID, userID: users[0].ID, v: Vote{Value: 3}},
		voteReq{issueID: ok1.ID, userID: users[1].ID, v: Vote{Value: 5}},
		voteReq{issueID: bad.ID, userID: users[2].ID, v: Vote{Value: 8}},
		voteReq{issueID: ok2.ID, userID: users[3].ID, v: Vote{Value: 13}},
	)
	s.commitVotes(batch)
	for i, r := range batch {
		stored := slots(t, s, r.issueID)[r.userID] != 0
		if i == 2 {
			if r.err == nil || !strings.Contains(r.err.Error(), "the transaction ends here") || stored {
				t.Errorf("the vote that ended the transaction: %v, stored %v", r.err, stored)
			}
			continue
		}
		if r.err != nil || !stored {
			t.Errorf("vote %d: %v, stored %v", i, r.err, stored)
		}
	}
	if chs := h.take(); len(chs) != 3 {
		t.Errorf("told %d changes, want 3: %+v", len(chs), chs)
	}
}
