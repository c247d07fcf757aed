package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

// heard records the changes a store reports, and what the test's probe saw at
// the moment each was told.
type heard struct {
	mu      sync.Mutex
	changes []Change
	probe   func(Change)
}

func (h *heard) Committed(ch Change) {
	if h.probe != nil {
		h.probe(ch)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, ch)
}

// take returns what was heard since the last take.
func (h *heard) take() []Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.changes
	h.changes = nil
	return out
}

// newHeardStore opens a fresh store whose committed changes the test hears.
func newHeardStore(t *testing.T) (*Store, *testClock, *heard) {
	t.Helper()
	clk := newClock()
	h := &heard{}
	s := openStore(t, newDB(t, "estimator.db"), Options{Now: clk.Now, Changes: h})
	return s, clk, h
}

// TestEveryChangeIsToldOnce: each change the store commits is reported once,
// with the ids that say where it belongs and nothing else; a refused change is
// not reported.
func TestEveryChangeIsToldOnce(t *testing.T) {
	t.Parallel()
	s, _, h := newHeardStore(t)
	ctx := context.Background()
	owner, ann, bob := newUser(t, s, "owner"), newUser(t, s, "ann"), newUser(t, s, "bob")
	g, err := s.CreateGroup(ctx, owner, "Team Phoenix")
	if err != nil {
		t.Fatal(err)
	}
	h.take() // a new group has no page open yet: nothing to hear of it
	gid := g.ID
	want := func(step string, w ...Change) {
		t.Helper()
		if got := h.take(); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: told %+v, want %+v", step, got, w)
		}
	}
	if _, err := s.Join(ctx, g.InviteToken, ann); err != nil {
		t.Fatal(err)
	}
	want("join", Change{Kind: GroupChanged, Group: gid})
	if _, err := s.Join(ctx, g.InviteToken, bob); err != nil {
		t.Fatal(err)
	}
	want("join", Change{Kind: GroupChanged, Group: gid})
	if _, err := s.Join(ctx, g.InviteToken, ann); !errors.Is(err, ErrAlreadyMember) {
		t.Fatalf("join again: %v", err)
	}
	want("a refused join")

	is, err := s.CreateIssue(ctx, gid, IssueInput{Key: "PHX-101", Description: "Checkout"})
	if err != nil {
		t.Fatal(err)
	}
	want("add", Change{Kind: IssuesAdded, Group: gid, Issue: is.ID})
	if _, err := s.CreateIssue(ctx, gid, IssueInput{Key: "phx-101"}); !errors.Is(err, ErrKeyTaken) {
		t.Fatalf("a taken key: %v", err)
	}
	want("a refused add")
	if _, err := s.ImportIssues(ctx, gid, []ImportRow{{Line: 1, IssueInput: IssueInput{Key: "PHX-102"}}, {Line: 2, IssueInput: IssueInput{Key: "PHX-103"}}}); err != nil {
		t.Fatal(err)
	}
	want("import", Change{Kind: IssuesAdded, Group: gid})
	if err := s.UpdateIssue(ctx, is.ID, IssueInput{Key: "PHX-101", Description: "Checkout, again"}); err != nil {
		t.Fatal(err)
	}
	want("edit", Change{Kind: IssueChanged, Group: gid, Issue: is.ID})
	if _, err := s.StartIssue(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	want("start", Change{Kind: GroupMoved, Group: gid, Issue: is.ID})
	if _, err := s.SetTimer(ctx, is.ID, 60, owner); err != nil {
		t.Fatal(err)
	}
	want("timer", Change{Kind: IssueChanged, Group: gid, Issue: is.ID})
	vote(t, s, is.ID, owner, 5)
	want("vote", Change{Kind: VoteCast, Group: gid, Issue: is.ID, User: owner.ID})
	vote(t, s, is.ID, ann, 8)
	want("vote", Change{Kind: VoteCast, Group: gid, Issue: is.ID, User: ann.ID})
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	want("reveal", Change{Kind: RoundRevealed, Group: gid, Issue: is.ID})
	if _, err := s.Reveal(ctx, is.ID, owner); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("second reveal: %v", err)
	}
	want("a refused reveal")
	if err := s.Revote(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	want("new round", Change{Kind: IssueChanged, Group: gid, Issue: is.ID})
	vote(t, s, is.ID, owner, 5)
	vote(t, s, is.ID, ann, 5)
	h.take()
	if _, err := s.Reveal(ctx, is.ID, owner); err != nil {
		t.Fatal(err)
	}
	h.take()
	if err := s.Accept(ctx, is.ID, owner, 5); err != nil {
		t.Fatal(err)
	}
	want("accept", Change{Kind: IssueChanged, Group: gid, Issue: is.ID})

	other := newIssue(t, s, gid, "PHX-104")
	h.take()
	if err := s.SaveSettings(ctx, gid, GroupSettings{Deck: DefaultDeck(), AutoReveal: true}, owner); err != nil {
		t.Fatal(err)
	}
	want("settings", Change{Kind: GroupChanged, Group: gid})
	vote(t, s, other.ID, owner, 3)
	vote(t, s, other.ID, ann, 5)
	h.take()
	// Bob, the last voter who has not voted, turns spectator: auto-reveal
	// closes the round.
	if _, err := s.SetSeat(ctx, gid, bob.ID, SeatSpectator); err != nil {
		t.Fatal(err)
	}
	want("seat", Change{Kind: GroupChanged, Group: gid}, Change{Kind: RoundRevealed, Group: gid, Issue: other.ID})
	if err := s.RenameGroup(ctx, gid, "Team Firebird"); err != nil {
		t.Fatal(err)
	}
	want("rename", Change{Kind: GroupChanged, Group: gid})
	if err := s.TransferOwnership(ctx, gid, owner, ann.ID); err != nil {
		t.Fatal(err)
	}
	want("transfer", Change{Kind: GroupChanged, Group: gid})
	last := newIssue(t, s, gid, "PHX-105")
	h.take()
	if err := s.DeleteIssue(ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	want("delete issue", Change{Kind: IssueDeleted, Group: gid, Issue: last.ID})
	if err := s.DeleteIssue(ctx, last.ID); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("delete again: %v", err)
	}
	want("a refused delete")
	if _, err := s.RemoveMember(ctx, gid, bob.ID, ann); err != nil {
		t.Fatal(err)
	}
	want("remove", Change{Kind: MemberLeft, Group: gid, User: bob.ID})
	if _, err := s.LeaveGroup(ctx, gid, owner, 77); err != nil {
		t.Fatal(err)
	}
	want("leave", Change{Kind: MemberLeft, Group: gid, User: owner.ID, Session: 77})
	if err := s.DeleteGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	want("delete group", Change{Kind: GroupDeleted, Group: gid})

	sess, _, err := s.CreateSession(ctx, ann.ID, false, nil, SessionPolicy{Idle: time.Hour, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h.take()
	if err := s.DeleteSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	want("sign-out", Change{Kind: SessionsEnded, Sessions: []int64{sess.ID}})
}

// tellsAtCommit checks, for one way of revealing a round, that the reveal is
// told once, when it is committed (the room can show the result at once) and
// before the files are scrubbed (the WAL still holds the pages of before), and
// that the call returns only once the scrub is done.
func tellsAtCommit(t *testing.T, reveal func(s *Store, clk *testClock, is Issue, owner, ann User) error) {
	t.Helper()
	s, clk, h := newHeardStore(t)
	if s.pg {
		t.Skip("PostgreSQL has no checkpoint of the store's")
	}
	ctx := context.Background()
	owner, ann := newUser(t, s, "owner"), newUser(t, s, "ann")
	g := newGroup(t, s, owner, "Told", ann)
	is := newIssue(t, s, g.ID, "T-1")
	var reveals int
	var stateThen IssueState
	var walThen int64
	h.probe = func(ch Change) {
		if ch.Kind != RoundRevealed {
			return
		}
		reveals++
		got, _, _, err := s.IssueFor(ctx, is.ID, owner.ID)
		if err != nil {
			t.Error(err)
		}
		stateThen, walThen = got.State, walSize(t, s)
	}
	if err := reveal(s, clk, is, owner, ann); err != nil {
		t.Fatal(err)
	}
	if reveals != 1 || stateThen != StateRevealed {
		t.Fatalf("reveal told %d times, the issue %s then", reveals, stateThen)
	}
	if walThen == 0 {
		t.Error("the WAL was already empty when the reveal was told: it waited for the scrub")
	}
	if n := walSize(t, s); n != 0 {
		t.Errorf("the WAL holds %d bytes after the reveal returned", n)
	}
}

// TestRevealTellsCommittedBeforeScrub: the facilitator's reveal.
func TestRevealTellsCommittedBeforeScrub(t *testing.T) {
	t.Parallel()
	tellsAtCommit(t, func(s *Store, clk *testClock, is Issue, owner, ann User) error {
		vote(t, s, is.ID, owner, 5)
		vote(t, s, is.ID, ann, 8)
		_, err := s.Reveal(context.Background(), is.ID, owner)
		return err
	})
}

// TestAutoRevealTellsCommittedBeforeScrub: the vote that completes a round
// with auto-reveal on.
func TestAutoRevealTellsCommittedBeforeScrub(t *testing.T) {
	t.Parallel()
	tellsAtCommit(t, func(s *Store, clk *testClock, is Issue, owner, ann User) error {
		ctx := context.Background()
		if err := s.SaveSettings(ctx, is.GroupID, GroupSettings{Deck: DefaultDeck(), AutoReveal: true}, owner); err != nil {
			return err
		}
		vote(t, s, is.ID, owner, 5)
		revealed, err := s.Estimate(ctx, is.ID, ann.ID, Vote{Value: 8})
		if err == nil && !revealed {
			t.Error("the last vote did not reveal")
		}
		return err
	})
}

// TestTimerRevealTellsCommittedBeforeScrub: the round revealed by its timer,
// with nobody asking, reaches the screens at its commit like the owner's.
func TestTimerRevealTellsCommittedBeforeScrub(t *testing.T) {
	t.Parallel()
	tellsAtCommit(t, func(s *Store, clk *testClock, is Issue, owner, ann User) error {
		ctx := context.Background()
		vote(t, s, is.ID, owner, 5)
		vote(t, s, is.ID, ann, 8)
		if _, err := s.SetTimer(ctx, is.ID, 1, owner); err != nil {
			return err
		}
		clk.Advance(2 * time.Second)
		out, err := s.FireTimers(ctx)
		if err == nil && (len(out) != 1 || !out[0].Revealed) {
			t.Errorf("FireTimers: %+v", out)
		}
		return err
	})
}

// TestSeatChangeRevealTellsCommittedBeforeScrub: the last voter who had not
// voted turns spectator, and auto-reveal closes the round.
func TestSeatChangeRevealTellsCommittedBeforeScrub(t *testing.T) {
	t.Parallel()
	tellsAtCommit(t, func(s *Store, clk *testClock, is Issue, owner, ann User) error {
		ctx := context.Background()
		bob := newUser(t, s, "bob")
		g, _, err := s.GroupFor(ctx, is.GroupID, owner.ID)
		if err != nil {
			return err
		}
		if _, err := s.Join(ctx, g.InviteToken, bob); err != nil {
			return err
		}
		if err := s.SaveSettings(ctx, is.GroupID, GroupSettings{Deck: DefaultDeck(), AutoReveal: true}, owner); err != nil {
			return err
		}
		vote(t, s, is.ID, owner, 5)
		vote(t, s, is.ID, ann, 8)
		ch, err := s.SetSeat(ctx, is.GroupID, bob.ID, SeatSpectator)
		if err == nil && len(ch.Revealed) != 1 {
			t.Errorf("SetSeat revealed %v", ch.Revealed)
		}
		return err
	})
}
