package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

var testPolicy = SessionPolicy{Idle: time.Hour, Lifetime: 3 * time.Hour, Remember: 24 * time.Hour}

func TestSessionRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)

	anon, tok, err := s.CreateSession(ctx, 0, false, []byte("csrf=1"), testPolicy)
	if err != nil || tok == "" || anon.ID == 0 {
		t.Fatalf("CreateSession = %+v, %q, %v", anon, tok, err)
	}
	if !anon.ExpiresAt.Equal(epoch.Add(testPolicy.Lifetime)) {
		t.Errorf("ExpiresAt = %v, want %v", anon.ExpiresAt, epoch.Add(testPolicy.Lifetime))
	}
	if n := count(t, s, "SELECT COUNT(*) FROM sessions WHERE token_hash = ?", tok); n != 0 {
		t.Error("the session token is stored in clear")
	}
	got, user, err := s.LoadSession(ctx, tok, testPolicy)
	if err != nil || got.ID != anon.ID || !user.IsAnonymous() || string(got.Data) != "csrf=1" {
		t.Fatalf("LoadSession(anonymous) = %+v, %+v, %v", got, user, err)
	}

	for _, bad := range []string{"", "forged", NewToken()} {
		if _, user, err := s.LoadSession(ctx, bad, testPolicy); !errors.Is(err, ErrNotFound) || !user.IsAnonymous() {
			t.Errorf("LoadSession(%q) = %+v, %v; want anonymous ErrNotFound", bad, user, err)
		}
	}

	// Without rotation the token stays and the data changes.
	got.Data = []byte("csrf=2")
	if nt, err := s.UpdateSession(ctx, got, tok, false, testPolicy); err != nil || nt != "" {
		t.Fatalf("UpdateSession(no rotate) = %q, %v", nt, err)
	}
	if again, _, err := s.LoadSession(ctx, tok, testPolicy); err != nil || string(again.Data) != "csrf=2" {
		t.Errorf("after update: %+v, %v", again, err)
	}

	if err := s.DeleteSession(ctx, anon.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LoadSession(ctx, tok, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted session loads: %v", err)
	}
	if _, err := s.UpdateSession(ctx, got, tok, false, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateSession(deleted) = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateSession(ctx, got, tok, true, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateSession(deleted, rotate) = %v, want ErrNotFound", err)
	}
}

// TestSessionRotation is sign-in: the token changes, the row (and the kept form
// bound to it) stays, the old token is dead, and the lifetime starts again.
func TestSessionRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	u := newUser(t, s, "Rita")

	ss, oldTok, err := s.CreateSession(ctx, 0, false, nil, testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // used now and then, so it does not idle
		clk.Advance(50 * time.Minute)
		if _, _, err := s.LoadSession(ctx, oldTok, testPolicy); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := s.KeepForm(ctx, ss.ID, "POST", "/groups", []byte("name=Team"))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	ss.UserID, ss.Remember = u.ID, true
	newTok, err := s.UpdateSession(ctx, ss, oldTok, true, testPolicy)
	if err != nil || newTok == "" || newTok == oldTok {
		t.Fatalf("rotate = %q, %v", newTok, err)
	}
	// A request still holding the old token (another tab) cannot write over it.
	stale := ss
	stale.UserID, stale.Data = 0, []byte("stale")
	if _, err := s.UpdateSession(ctx, stale, oldTok, false, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("update with the replaced token = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateSession(ctx, stale, oldTok, true, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("rotation with the replaced token = %v, want ErrNotFound", err)
	}
	if _, _, err := s.LoadSession(ctx, oldTok, testPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("old token after rotation = %v, want ErrNotFound", err)
	}
	got, user, err := s.LoadSession(ctx, newTok, testPolicy)
	if err != nil || got.ID != ss.ID || user.ID != u.ID || got.UserID != u.ID || !got.Remember {
		t.Fatalf("new token = %+v, %+v, %v", got, user, err)
	}
	if want := clk.Now().Add(testPolicy.Remember); got.ExpiresAt.Unix() != want.Unix() {
		t.Errorf("ExpiresAt after rotation = %v, want %v (lifetime restarts)", got.ExpiresAt, want)
	}
	if f, err := s.TakeForm(ctx, ref, got.ID); err != nil || string(f.Body) != "name=Team" {
		t.Errorf("kept form after rotation = %+v, %v", f, err)
	}
}

// TestSessionExpiry walks the clock through steps, loading the session after
// each, and expects it gone exactly at the last step.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		remember bool
		policy   SessionPolicy
		steps    []time.Duration
	}{
		{"idle", false, testPolicy, []time.Duration{59 * time.Minute, time.Hour}},
		{"idle measured from last use", false, testPolicy, []time.Duration{30 * time.Minute, 59 * time.Minute, 59 * time.Minute, time.Hour}},
		{"absolute despite activity", false, testPolicy, []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 29 * time.Minute, time.Minute}},
		{"remembered is not idle-expired", true, testPolicy, []time.Duration{10 * time.Hour, 13*time.Hour + 59*time.Minute, time.Minute}},
		{"remembered absolute", true, testPolicy, []time.Duration{24 * time.Hour}},
		{"no idle limit", false, SessionPolicy{Lifetime: 3 * time.Hour}, []time.Duration{2*time.Hour + 59*time.Minute, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, clk := newStore(t)
			u := newUser(t, s, "Ivy")
			ss, tok, err := s.CreateSession(ctx, u.ID, tt.remember, nil, tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tt.steps {
				clk.Advance(d)
				last := i == len(tt.steps)-1
				alive, aerr := s.SessionAlive(ctx, ss.ID, u.ID, tt.policy)
				_, user, err := s.LoadSession(ctx, tok, tt.policy)
				if aerr != nil {
					t.Fatal(aerr)
				}
				if last {
					if !errors.Is(err, ErrNotFound) || alive {
						t.Fatalf("step %d (+%v): err %v, alive %v; want expired", i, d, err, alive)
					}
				} else if err != nil || user.ID != u.ID || !alive {
					t.Fatalf("step %d (+%v): err %v, user %+v, alive %v; want alive", i, d, err, user, alive)
				}
			}
			if n := count(t, s, "SELECT COUNT(*) FROM sessions WHERE id = ?", ss.ID); n != 0 {
				t.Error("an expired session row was left after loading it")
			}
		})
	}
}

// TestSessionTouch: last_seen_at is written at most once a minute.
func TestSessionTouch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	ss, tok, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	clk.Advance(30 * time.Second)
	got, _, _ := s.LoadSession(ctx, tok, testPolicy)
	if !got.LastSeenAt.Equal(ss.LastSeenAt.Truncate(time.Second)) {
		t.Errorf("touched after 30s: %v", got.LastSeenAt)
	}
	clk.Advance(30 * time.Second)
	got, _, _ = s.LoadSession(ctx, tok, testPolicy)
	if got.LastSeenAt.Unix() != clk.Now().Unix() {
		t.Errorf("not touched after a minute: %v, now %v", got.LastSeenAt, clk.Now())
	}
}

func TestDeleteUserSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	u, other := newUser(t, s, "Many"), newUser(t, s, "Other")
	var want []int64
	var toks []string
	for i := range 3 {
		ss, tok, err := s.CreateSession(ctx, u.ID, i == 0, nil, testPolicy)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ss.ID)
		toks = append(toks, tok)
	}
	anon, anonTok, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	otherSS, otherTok, _ := s.CreateSession(ctx, other.ID, false, nil, testPolicy)

	ids, err := s.DeleteUserSessions(ctx, u.ID)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, want) {
		t.Fatalf("DeleteUserSessions = %v, %v; want %v", ids, err, want)
	}
	for _, tok := range toks {
		if _, _, err := s.LoadSession(ctx, tok, testPolicy); !errors.Is(err, ErrNotFound) {
			t.Errorf("ended session loads: %v", err)
		}
	}
	if got, _, err := s.LoadSession(ctx, anonTok, testPolicy); err != nil || got.ID != anon.ID {
		t.Errorf("anonymous session was touched: %v", err)
	}
	if alive, err := s.SessionAlive(ctx, otherSS.ID, other.ID, testPolicy); err != nil || !alive {
		t.Errorf("another user's session ended: %v, %v", alive, err)
	}
	if _, user, err := s.LoadSession(ctx, otherTok, testPolicy); err != nil || user.ID != other.ID {
		t.Errorf("another user's session = %+v, %v", user, err)
	}
	if ids, err := s.DeleteUserSessions(ctx, u.ID); err != nil || len(ids) != 0 {
		t.Errorf("second DeleteUserSessions = %v, %v", ids, err)
	}
}

func TestSessionAlive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	u, other := newUser(t, s, "Alive"), newUser(t, s, "Else")
	ss, _, _ := s.CreateSession(ctx, u.ID, false, nil, testPolicy)
	anon, _, _ := s.CreateSession(ctx, 0, false, nil, testPolicy)
	tests := []struct {
		name   string
		id     int64
		userID int64
		want   bool
	}{
		{"own session", ss.ID, u.ID, true},
		{"another user", ss.ID, other.ID, false},
		{"anonymous session", anon.ID, u.ID, false},
		{"unknown session", 9999, u.ID, false},
	}
	for _, tt := range tests {
		if got, err := s.SessionAlive(ctx, tt.id, tt.userID, testPolicy); err != nil || got != tt.want {
			t.Errorf("%s: SessionAlive = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	s.DeleteSession(ctx, ss.ID)
	if got, _ := s.SessionAlive(ctx, ss.ID, u.ID, testPolicy); got {
		t.Error("SessionAlive after sign-out")
	}
}

// TestPurge sets up live and dead sessions, kept forms and browser keys at
// different times and checks that Purge takes exactly the dead ones.
func TestPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	const keyAge = 24 * time.Hour
	t0 := clk.Now()
	at := func(d time.Duration) { t.Helper(); clk.Set(t0.Add(d)) }

	// t0: a stale browser key, and a remembered session that will pass its lifetime.
	staleKey := NewToken()
	stale, _, err := s.ClaimNickname(ctx, "Stale", staleKey)
	if err != nil {
		t.Fatal(err)
	}
	remOld, _, _ := s.CreateSession(ctx, stale.ID, true, nil, testPolicy)
	formOfDeadSession, _ := s.KeepForm(ctx, remOld.ID, "POST", "/groups", []byte("a=1"))

	// t0+29h: a remembered session, long unused by purge time but within its lifetime,
	// with a form that expires at 29h15m (more than an hour before the purge).
	at(29 * time.Hour)
	remLive, _, _ := s.CreateSession(ctx, 0, true, nil, testPolicy)
	formLongExpired, _ := s.KeepForm(ctx, remLive.ID, "POST", "/groups", []byte("b=1"))

	// t0+30h: a fresh browser key; a session that will idle; a live session with a
	// form that will have expired less than an hour before the purge.
	at(30 * time.Hour)
	freshKey := NewToken()
	fresh, _, err := s.ClaimNickname(ctx, "Fresh", freshKey)
	if err != nil {
		t.Fatal(err)
	}
	idle, _, _ := s.CreateSession(ctx, fresh.ID, false, nil, testPolicy)
	live, liveTok, _ := s.CreateSession(ctx, fresh.ID, false, nil, testPolicy)
	formRecentlyExpired, _ := s.KeepForm(ctx, live.ID, "POST", "/groups", []byte("c=1"))

	at(30*time.Hour + 50*time.Minute)
	if _, _, err := s.LoadSession(ctx, liveTok, testPolicy); err != nil {
		t.Fatal(err)
	}
	at(31*time.Hour + 5*time.Minute)
	formLive, _ := s.KeepForm(ctx, live.ID, "POST", "/groups", []byte("d=1"))

	// Purge at t0+31h10m: idle cut-off 30h10m, form cut-off 30h10m, key cut-off 7h10m.
	at(31*time.Hour + 10*time.Minute)
	n, err := s.Purge(ctx, testPolicy, keyAge)
	if err != nil {
		t.Fatal(err)
	}
	// Deleted by the purge statements: remOld, idle, formLongExpired, staleKey.
	// (formOfDeadSession goes by cascade, which SQLite does not count.)
	if n != 4 {
		t.Errorf("Purge removed %d rows, want 4", n)
	}

	sessionsGone := map[string]int64{"absolute-expired remembered": remOld.ID, "idle": idle.ID}
	for name, id := range sessionsGone {
		if count(t, s, "SELECT COUNT(*) FROM sessions WHERE id = ?", id) != 0 {
			t.Errorf("%s session survived the purge", name)
		}
	}
	for name, id := range map[string]int64{"live": live.ID, "remembered within lifetime": remLive.ID} {
		if count(t, s, "SELECT COUNT(*) FROM sessions WHERE id = ?", id) != 1 {
			t.Errorf("%s session was purged", name)
		}
	}

	forms := []struct {
		name string
		ref  string
		sess int64
		want error
	}{
		{"form of a purged session", formOfDeadSession, remOld.ID, ErrNotFound},
		{"form expired over an hour ago", formLongExpired, remLive.ID, ErrNotFound},
		{"form expired within the hour still says so", formRecentlyExpired, live.ID, ErrFormExpired},
		{"live form", formLive, live.ID, nil},
	}
	for _, f := range forms {
		if err := s.CheckForm(ctx, f.ref, f.sess); !errors.Is(err, f.want) {
			t.Errorf("%s: CheckForm = %v, want %v", f.name, err, f.want)
		}
	}

	if ok, _ := s.BrowserKnows(ctx, stale.ID, staleKey); ok {
		t.Error("stale browser key survived the purge")
	}
	if ok, _ := s.BrowserKnows(ctx, fresh.ID, freshKey); !ok {
		t.Error("fresh browser key was purged")
	}

	// A second purge finds nothing more.
	if n, err := s.Purge(ctx, testPolicy, keyAge); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v", n, err)
	}
}

// TestPurgeWithoutIdleLimit: a policy without an idle limit (Idle 0, as
// LoadSession reads it) must not purge live sessions.
func TestPurgeWithoutIdleLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	p := SessionPolicy{Lifetime: 3 * time.Hour, Remember: 24 * time.Hour}
	_, tok, _ := s.CreateSession(ctx, 0, false, nil, p)
	clk.Advance(2 * time.Hour)
	if _, err := s.Purge(ctx, p, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LoadSession(ctx, tok, p); err != nil {
		t.Errorf("a live session was purged with no idle limit: %v", err)
	}
	clk.Advance(time.Hour)
	if _, err := s.Purge(ctx, p, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Errorf("%d sessions past their lifetime survived the purge", n)
	}
}

// TestAnonymousSessionsAreCappedAndShortLived: sessions nobody signed in to
// stop at their cap (nothing stored past it; signed-in sessions unaffected),
// and end 30 minutes after their last use, at load and at the purge.
func TestAnonymousSessionsAreCappedAndShortLived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := openStore(t, newDB(t, "anon.db"), Options{Now: clk.Now, AnonymousSessionsMax: 3})
	p := DefaultSessionPolicy
	var anon []string
	for range 3 {
		_, tok, err := s.CreateSession(ctx, 0, false, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		anon = append(anon, tok)
	}
	if _, _, err := s.CreateSession(ctx, 0, false, []byte(`{"notice":"x"}`), p); !errors.Is(err, ErrAnonymousFull) {
		t.Fatalf("a 4th anonymous session: %v, want ErrAnonymousFull", err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM sessions WHERE user_id IS NULL"); n != 3 {
		t.Fatalf("%d anonymous sessions stored, cap 3", n)
	}
	u := newUser(t, s, "Ngozi Adeyemi-Larsen")
	_, member, err := s.CreateSession(ctx, u.ID, false, nil, p)
	if err != nil {
		t.Fatalf("a signed-in session with the anonymous ones at their cap: %v", err)
	}
	clk.Advance(29 * time.Minute)
	if _, _, err := s.LoadSession(ctx, anon[0], p); err != nil {
		t.Fatalf("an anonymous session used 29 minutes ago: %v", err)
	}
	clk.Advance(2 * time.Minute)
	if _, _, err := s.LoadSession(ctx, anon[1], p); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an anonymous session unused for 31 minutes: %v", err)
	}
	clk.Advance(29 * time.Minute)
	if _, err := s.Purge(ctx, p, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM sessions WHERE user_id IS NULL"); n != 0 {
		t.Fatalf("%d anonymous sessions after the purge", n)
	}
	if _, got, err := s.LoadSession(ctx, member, p); err != nil || got.ID != u.ID {
		t.Fatalf("the signed-in session after an hour: %v, %v", got, err)
	}
}
