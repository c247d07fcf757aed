package store

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestKeepAndTakeForm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	ss, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)

	ref, err := s.KeepForm(ctx, ss.ID, "POST", "/groups/7/issues", []byte("key=SHOP-1&description=x"))
	if err != nil || ref == "" {
		t.Fatalf("KeepForm = %q, %v", ref, err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM kept_forms WHERE ref_hash = ?", ref); n != 0 {
		t.Error("the form reference is stored in clear")
	}
	if n, _ := s.KeptFormCount(ctx, ss.ID); n != 1 {
		t.Errorf("KeptFormCount = %d, want 1", n)
	}
	if err := s.CheckForm(ctx, ref, ss.ID); err != nil {
		t.Fatalf("CheckForm = %v", err)
	}
	if err := s.CheckForm(ctx, ref, ss.ID); err != nil {
		t.Fatalf("CheckForm consumed the form: %v", err)
	}
	clk.Advance(time.Minute)
	f, err := s.TakeForm(ctx, ref, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.SessionID != ss.ID || f.Method != "POST" || f.Path != "/groups/7/issues" || string(f.Body) != "key=SHOP-1&description=x" || !f.CreatedAt.Equal(epoch) {
		t.Errorf("TakeForm = %+v", f)
	}
	if _, err := s.TakeForm(ctx, ref, ss.ID); !errors.Is(err, ErrFormUsed) {
		t.Errorf("second TakeForm = %v, want ErrFormUsed", err)
	}
	if err := s.CheckForm(ctx, ref, ss.ID); !errors.Is(err, ErrFormUsed) {
		t.Errorf("CheckForm after take = %v, want ErrFormUsed", err)
	}
	if n, _ := s.KeptFormCount(ctx, ss.ID); n != 0 {
		t.Errorf("KeptFormCount after take = %d, want 0", n)
	}
}

// TestFormRefusals: each way a reference can be wrong is told by CheckForm and
// TakeForm alike, and a refused take changes nothing (the rightful owner can
// still take the form in time).
func TestFormRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the reference and the session that presents it.
		setup func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64)
		want  error
		// ownerCanTakeAfter: whether, with the clock put back, the owner can still take it.
		ownerCanTakeAfter bool
	}{
		{"fresh", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			return keep(t, s, own), own
		}, nil, false},
		{"just before expiry", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			ref := keep(t, s, own)
			clk.Advance(KeptFormTTL - time.Second)
			return ref, own
		}, nil, false},
		{"expired at 15 minutes", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			ref := keep(t, s, own)
			clk.Advance(KeptFormTTL)
			return ref, own
		}, ErrFormExpired, true},
		{"foreign session", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			return keep(t, s, own), other
		}, ErrFormForeign, true},
		{"used", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			ref := keep(t, s, own)
			if _, err := s.TakeForm(context.Background(), ref, own); err != nil {
				t.Fatal(err)
			}
			return ref, own
		}, ErrFormUsed, false},
		{"unknown", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			keep(t, s, own)
			return NewToken(), own
		}, ErrNotFound, false},
		{"empty reference", func(t *testing.T, s *Store, clk *testClock, own, other int64) (string, int64) {
			keep(t, s, own)
			return "", own
		}, ErrNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, clk := newStore(t)
			own, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
			other, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
			ref, sid := tt.setup(t, s, clk, own.ID, other.ID)

			checkErr := s.CheckForm(ctx, ref, sid)
			if !errors.Is(checkErr, tt.want) {
				t.Errorf("CheckForm = %v, want %v", checkErr, tt.want)
			}
			_, takeErr := s.TakeForm(ctx, ref, sid)
			if !errors.Is(takeErr, tt.want) || (checkErr == nil) != (takeErr == nil) {
				t.Errorf("TakeForm = %v, CheckForm = %v; want both %v", takeErr, checkErr, tt.want)
			}
			if tt.ownerCanTakeAfter {
				clk.Set(epoch)
				if _, err := s.TakeForm(ctx, ref, own.ID); err != nil {
					t.Errorf("the refused take changed the form: owner's take = %v", err)
				}
			}
		})
	}
}

func keep(t *testing.T, s *Store, sessionID int64) string {
	t.Helper()
	ref, err := s.KeepForm(context.Background(), sessionID, "POST", "/groups", []byte("name=Team"))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestFormGoesWithItsSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	ss, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	other, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	ref := keep(t, s, ss.ID)
	otherRef := keep(t, s, other.ID)
	if err := s.DeleteSession(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeForm(ctx, ref, ss.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("form of a deleted session = %v, want ErrNotFound", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM kept_forms WHERE session_id = ?", ss.ID); n != 0 {
		t.Errorf("%d forms outlived their session", n)
	}
	if err := s.CheckForm(ctx, otherRef, other.ID); err != nil {
		t.Errorf("another session's form = %v", err)
	}
	// A form cannot be kept for a session that does not exist.
	if _, err := s.KeepForm(ctx, ss.ID, "POST", "/groups", nil); err == nil {
		t.Error("KeepForm for a deleted session succeeded")
	}
}

func TestFormSizeCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	ss, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	max := bytes.Repeat([]byte("a"), KeptFormMaxBytes)
	ref, err := s.KeepForm(ctx, ss.ID, "POST", "/groups", max)
	if err != nil {
		t.Fatalf("a form of exactly 64 KiB: %v", err)
	}
	if f, err := s.TakeForm(ctx, ref, ss.ID); err != nil || !bytes.Equal(f.Body, max) {
		t.Errorf("64 KiB form came back with %d bytes, %v", len(f.Body), err)
	}
	if _, err := s.KeepForm(ctx, ss.ID, "POST", "/groups", append(max, 'b')); !errors.Is(err, ErrInvalid) {
		t.Errorf("a form over 64 KiB = %v, want ErrInvalid", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM kept_forms"); n != 1 {
		t.Errorf("kept_forms = %d, want only the 64 KiB one", n)
	}
}

func TestFormCapPerSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	ss, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	other, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	otherRef := keep(t, s, other.ID)
	var refs []string
	for range keptFormsPerSession + 2 {
		refs = append(refs, keep(t, s, ss.ID))
	}
	if n, _ := s.KeptFormCount(ctx, ss.ID); n != keptFormsPerSession {
		t.Errorf("KeptFormCount = %d, want %d", n, keptFormsPerSession)
	}
	for i, ref := range refs {
		want := error(nil)
		if i < 2 {
			want = ErrNotFound // the oldest were dropped
		}
		if err := s.CheckForm(ctx, ref, ss.ID); !errors.Is(err, want) {
			t.Errorf("form %d: CheckForm = %v, want %v", i, err, want)
		}
	}
	if err := s.CheckForm(ctx, otherRef, other.ID); err != nil {
		t.Errorf("another session's form was dropped: %v", err)
	}
}

// TestTakeFormOnce: many concurrent replays of one reference, exactly one wins.
func TestTakeFormOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	ss, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	ref := keep(t, s, ss.ID)
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.TakeForm(ctx, ref, ss.ID)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrFormUsed):
			t.Errorf("take %d: %v, want nil or ErrFormUsed", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d takes succeeded, want exactly 1", wins)
	}
}
