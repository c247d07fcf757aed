package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// voteBatch commits the votes that wait for SQLite's one writer together:
// one transaction for all the votes that came while the last one committed,
// each vote in a savepoint of its own, so a vote refused (a closed round, a
// stranger) changes nothing and the others stand. Each vote is answered after
// the commit that holds it, with what its own part of the transaction found:
// nothing is acknowledged that a crash of the process could lose. On
// PostgreSQL, whose many writers commit side by side, votes keep a
// transaction each.
//
// The batches run on a goroutine of their own, started by a vote when none
// runs and gone when no vote waits, not on a voter's: no request's deadline or
// departure interrupts a transaction that holds other people's votes. A vote
// whose request is gone before its batch begins is left out; one whose
// request goes while its batch runs may be stored unacknowledged, as a vote
// whose answer was lost on the way.
type voteBatch struct {
	mu      sync.Mutex
	pending []*voteReq
	// running: the goroutine runs, and closes stopped when it returns.
	running bool
	stopped chan struct{}
	closed  bool
	// scrubs are the scrubs the batches started after a reveal.
	scrubs sync.WaitGroup
}

// voteBatchMax bounds one transaction: the writer is held for at most this
// many votes before a reveal or any other write waiting gets its turn.
const voteBatchMax = 128

type voteReq struct {
	ctx             context.Context
	issueID, userID int64
	v               Vote
	note            *string
	done            chan struct{}

	cast     Cast
	groupID  int64
	revealed bool
	err      error
	// scrubbed is closed when the checkpoint that scrubs the files after
	// the vote's reveal has run: started by the batch, whether or not
	// anyone still waits for the answer.
	scrubbed chan struct{}
	// panicked: what the telling of the batch's changes panicked with,
	// after the commit; raised again on the caller's goroutine.
	panicked any
}

var errStoreClosed = errors.New("the store is closed")

// cast queues the vote for the next batch and waits for its answer.
func (b *voteBatch) cast(s *Store, ctx context.Context, issueID, userID int64, v Vote, note *string) (Cast, error) {
	r := &voteReq{ctx: ctx, issueID: issueID, userID: userID, v: v, note: note, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return Cast{}, fmt.Errorf("%w: %w", ErrUnavailable, errStoreClosed)
	}
	b.pending = append(b.pending, r)
	if !b.running {
		b.running, b.stopped = true, make(chan struct{})
		go b.run(s, b.stopped)
	}
	b.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return Cast{}, ctx.Err()
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	if r.err != nil {
		return Cast{}, r.err
	}
	return r.answer(s), nil
}

// change is what a vote stored tells the screens.
func (r *voteReq) change() Change {
	if r.revealed {
		return Change{Kind: RoundRevealed, Group: r.groupID, Issue: r.issueID}
	}
	return Change{Kind: VoteCast, Group: r.groupID, Issue: r.issueID, User: r.userID, Tab: tabOf(r.ctx)}
}

// answer is the vote's answer once committed and told: after a reveal it
// waits for the files' scrub (the batch's, or one of its own), and says no
// more than that it revealed.
func (r *voteReq) answer(s *Store) Cast {
	if !r.revealed {
		return r.cast
	}
	if r.scrubbed != nil {
		select {
		case <-r.scrubbed:
		case <-r.ctx.Done(): // the scrub still runs
		}
	} else {
		s.scrubFiles(r.ctx)
	}
	return Cast{Revealed: true, Issue: r.cast.Issue, Group: r.cast.Group}
}

// run commits batches until no vote waits.
func (b *voteBatch) run(s *Store, stopped chan struct{}) {
	defer close(stopped)
	for {
		b.mu.Lock()
		n := min(len(b.pending), voteBatchMax)
		if n == 0 {
			b.pending = nil
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		s.commitVotes(batch)
	}
}

// close refuses votes from now on, and returns once the votes already
// waiting are committed and the scrubs of their reveals have run.
func (b *voteBatch) close() {
	b.mu.Lock()
	b.closed = true
	var stopped chan struct{}
	if b.running {
		stopped = b.stopped
	}
	b.mu.Unlock()
	if stopped != nil {
		<-stopped
	}
	b.scrubs.Wait()
}

// commitVotes runs one batch: every vote in its savepoint, one commit, then
// the changes told in the order of the transaction (the writer free again),
// the scrub started after a reveal, then the answers.
func (s *Store) commitVotes(batch []*voteReq) {
	committed := false
	defer func() {
		if p := recover(); p != nil {
			if !committed {
				s.failVotes(batch, fmt.Errorf("a vote's transaction failed: %v", p))
			} else {
				// The votes stand; what told them failed, as a request's
				// own telling did before the batches: their callers raise it.
				for _, r := range batch {
					r.panicked = p
				}
			}
		}
		for _, r := range batch {
			close(r.done)
		}
	}()
	if !s.writeVotes(batch) {
		return
	}
	committed = true
	revealed := false
	for _, r := range batch {
		if r.err == nil {
			s.tell(r.change())
			revealed = revealed || r.revealed
		}
	}
	if !revealed {
		return
	}
	// Once told, the reveals' scrub runs, whether or not their voters still
	// wait (Purge would not know it is due).
	scrubbed := make(chan struct{})
	s.votes.scrubs.Go(func() {
		defer close(scrubbed)
		s.scrubFiles(context.Background())
	})
	for _, r := range batch {
		if r.err == nil && r.revealed {
			r.scrubbed = scrubbed
		}
	}
}

// failVotes answers every vote of the batch not yet refused with err:
// nothing of the batch was committed.
func (s *Store) failVotes(batch []*voteReq, err error) {
	err = s.noteWrite(wrap(err))
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
	}
}

// writeVotes is the batch's transaction, on the writer's turn: true when it
// committed the votes not refused (at least one). When SQLite ends the whole
// transaction inside a vote (a full disk, say: the vote's savepoint is gone
// with it), that vote gets its error and the batch runs again without it;
// the others' outcomes stay what they would have been in one transaction.
func (s *Store) writeVotes(batch []*voteReq) bool {
	ctx := context.Background()
	done, err := s.writerTurn(ctx)
	if err != nil {
		s.failVotes(batch, err)
		return false
	}
	defer done()
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
		}
	}
	for {
		committed, again := s.writeVotesOnce(ctx, batch)
		if !again {
			return committed
		}
	}
}

// writeVotesOnce is one try of writeVotes over the votes not yet refused;
// again: the transaction ended inside a vote, which is now refused.
func (s *Store) writeVotesOnce(ctx context.Context, batch []*voteReq) (committed, again bool) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		s.failVotes(batch, err)
		return false, false
	}
	defer tx.Rollback() // after the commit: nothing
	stored := 0
	for _, r := range batch {
		if r.err != nil {
			continue
		}
		// The vote's statements carry its request's values, not its
		// cancellation.
		vctx := context.WithoutCancel(r.ctx)
		if _, err := tx.ExecContext(vctx, "SAVEPOINT vote"); err != nil {
			s.failVotes(batch, err)
			return false, false
		}
		if err := s.castTx(vctx, tx, r); err != nil {
			r.err = s.noteWrite(wrap(err))
			if _, rbErr := tx.ExecContext(vctx, "ROLLBACK TO vote"); rbErr != nil {
				return false, true
			}
		} else {
			stored++
		}
		if _, err := tx.ExecContext(vctx, "RELEASE vote"); err != nil {
			s.failVotes(batch, err)
			return false, false
		}
	}
	if stored == 0 {
		return false, false
	}
	err = tx.Commit()
	s.wrote()
	if err != nil {
		s.failVotes(batch, err)
		return false, false
	}
	return true, false
}
