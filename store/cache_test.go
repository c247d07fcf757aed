package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cacheStore is a store over a fresh SQLite file, with its path so a second
// store or a raw connection can open the same file, as another process would.
func cacheStore(t *testing.T) (*Store, string, *testClock) {
	t.Helper()
	sqliteOnly(t, "the read cache follows SQLite's data_version")
	clk := newClock()
	path := newDB(t, "estimator.db")
	return openStore(t, path, Options{Now: clk.Now}), path, clk
}

// warm reports whether the session of token is in the cache at the generation
// a fresh check finds now: the read that follows really is a cached one.
func warmSession(s *Store, token string) bool {
	gen, ok := s.generation(s.Fresh(context.Background()))
	if !ok {
		return false
	}
	_, hit := s.cache.sessions.get(gen, [32]byte(HashToken(token)))
	return hit
}

func signedInAs(t *testing.T, s *Store, ctx context.Context, token string) User {
	t.Helper()
	_, u, err := s.LoadSession(ctx, token, DefaultSessionPolicy)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatalf("LoadSession: %v", err)
	}
	return u
}

func groupNames(t *testing.T, s *Store, ctx context.Context, userID int64) string {
	t.Helper()
	gs, err := s.UserGroups(ctx, userID)
	if err != nil {
		t.Fatalf("UserGroups: %v", err)
	}
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	return strings.Join(names, ",")
}

// TestCacheSeesOtherConnections: a change committed by another connection to
// the same file (another store, as the estimator CLI is; a raw connection, as
// an operator's tool is) is seen by the next request although the entry it
// changes is cached.
func TestCacheSeesOtherConnections(t *testing.T) {
	s, path, _ := cacheStore(t)
	other := openStore(t, path, Options{})
	raw := rawDB(t, path)
	bg := context.Background()
	alice := newUser(t, s, "Alice")
	_, tok, err := s.CreateSession(bg, alice.ID, false, nil, DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	g := newGroup(t, s, alice, "First")

	if u := signedInAs(t, s, s.Fresh(bg), tok); u.ID != alice.ID {
		t.Fatalf("signed in as %+v, want Alice", u)
	}
	if got := groupNames(t, s, s.Fresh(bg), alice.ID); got != "First" {
		t.Fatalf("groups %q", got)
	}
	if !warmSession(s, tok) {
		t.Fatal("the session is not cached: this test would prove nothing")
	}

	// Another store on the file makes a group for Alice.
	if _, err := other.CreateGroup(bg, alice, "Second"); err != nil {
		t.Fatal(err)
	}
	if got := groupNames(t, s, s.Fresh(bg), alice.ID); got != "Second,First" {
		t.Errorf("after another process added a group: %q", got)
	}
	// A raw connection renames one.
	if _, err := raw.Exec("UPDATE groups SET name = 'Renamed' WHERE id = ?", g.ID); err != nil {
		t.Fatal(err)
	}
	if got := groupNames(t, s, s.Fresh(bg), alice.ID); got != "Second,Renamed" {
		t.Errorf("after a raw rename: %q", got)
	}

	// Deactivated behind the store's back (the session row stays): the next
	// request is signed out.
	if u := signedInAs(t, s, s.Fresh(bg), tok); u.ID != alice.ID || !warmSession(s, tok) {
		t.Fatalf("before: %+v, cached %v", u, warmSession(s, tok))
	}
	if _, err := raw.Exec("UPDATE users SET active = 0 WHERE id = ?", alice.ID); err != nil {
		t.Fatal(err)
	}
	if u := signedInAs(t, s, s.Fresh(bg), tok); u.IsAuthenticated() {
		t.Errorf("a user deactivated by another connection is still signed in: %+v", u)
	}
	if _, err := raw.Exec("UPDATE users SET active = 1 WHERE id = ?", alice.ID); err != nil {
		t.Fatal(err)
	}
	if u := signedInAs(t, s, s.Fresh(bg), tok); u.ID != alice.ID {
		t.Fatalf("reactivated: %+v", u)
	}
	// And as `estimator users deactivate` does it, through another store.
	if _, err := other.SetActive(bg, "Alice", false); err != nil {
		t.Fatal(err)
	}
	if u := signedInAs(t, s, s.Fresh(bg), tok); u.IsAuthenticated() {
		t.Errorf("deactivated by another store, still signed in: %+v", u)
	}
}

// TestCacheSeesOwnWrites: within one request (one Fresh), a read after the
// request's own write sees it: sign-out, leaving a group and a vote, each
// cached just before.
func TestCacheSeesOwnWrites(t *testing.T) {
	s, _, _ := cacheStore(t)
	bg := context.Background()
	alice, bob := newUser(t, s, "Alice"), newUser(t, s, "Bob")
	g := newGroup(t, s, alice, "Team", bob)
	is := newIssue(t, s, g.ID, "ONE")
	_, tok, err := s.CreateSession(bg, bob.ID, false, nil, DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}

	ctx := s.Fresh(bg)
	is2, g2, role, err := s.IssueFor(ctx, is.ID, bob.ID)
	if err != nil || role != RoleMember {
		t.Fatalf("IssueFor: %v %v", role, err)
	}
	st, err := s.RoomFacts(ctx, is2, g2)
	if err != nil || st.SeatOf(bob.ID) == "" || voted(st, bob.ID) {
		t.Fatalf("RoomFacts before the vote: %+v %v", st.Voters, err)
	}
	if _, err := s.Estimate(ctx, is.ID, bob.ID, Vote{Value: 5}); err != nil {
		t.Fatal(err)
	}
	if st, err = s.RoomFacts(ctx, is2, g2); err != nil || !voted(st, bob.ID) {
		t.Errorf("the vote is not in the room read right after it: %+v %v", st.Voters, err)
	}

	if got := groupNames(t, s, ctx, bob.ID); got != "Team" {
		t.Fatalf("groups %q", got)
	}
	if _, err := s.LeaveGroup(ctx, g.ID, bob, 0); err != nil {
		t.Fatal(err)
	}
	if got := groupNames(t, s, ctx, bob.ID); got != "" {
		t.Errorf("after leaving: %q", got)
	}
	if _, _, role, err := s.IssueFor(ctx, is.ID, bob.ID); err != nil || role != RoleNone {
		t.Errorf("after leaving, role %q %v", role, err)
	}

	ss, u, err := s.LoadSession(ctx, tok, DefaultSessionPolicy)
	if err != nil || u.ID != bob.ID {
		t.Fatalf("LoadSession: %+v %v", u, err)
	}
	if err := s.DeleteSession(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LoadSession(ctx, tok, DefaultSessionPolicy); !errors.Is(err, ErrNotFound) {
		t.Errorf("signed out, then LoadSession: %v", err)
	}
}

func voted(st Status, userID int64) bool {
	for _, v := range st.Voters {
		if v.UserID == userID {
			return v.Voted
		}
	}
	return false
}

// TestCacheKeepsUsersApart: cached entries are per session, per user, per
// issue and viewer: nobody is served another's.
func TestCacheKeepsUsersApart(t *testing.T) {
	s, _, _ := cacheStore(t)
	bg := context.Background()
	alice, bob, carol := newUser(t, s, "Alice"), newUser(t, s, "Bob"), newUser(t, s, "Carol")
	ga := newGroup(t, s, alice, "Alpha", bob)
	newGroup(t, s, bob, "Beta")
	is := newIssue(t, s, ga.ID, "A-1")
	toks := map[int64]string{}
	for _, u := range []User{alice, bob, carol} {
		_, tok, err := s.CreateSession(bg, u.ID, false, nil, DefaultSessionPolicy)
		if err != nil {
			t.Fatal(err)
		}
		toks[u.ID] = tok
	}
	wantGroups := map[int64]string{alice.ID: "Alpha", bob.ID: "Beta,Alpha", carol.ID: ""}
	wantRole := map[int64]Role{alice.ID: RoleOwner, bob.ID: RoleMember, carol.ID: RoleNone}
	// Twice: the second round is served from the cache.
	for round := range 2 {
		ctx := s.Fresh(bg)
		for _, u := range []User{alice, bob, carol} {
			if got := signedInAs(t, s, ctx, toks[u.ID]); got.ID != u.ID || got.Nickname != u.Nickname {
				t.Errorf("round %d: %s's cookie is signed in as %+v", round, u.Nickname, got)
			}
			if got := groupNames(t, s, ctx, u.ID); got != wantGroups[u.ID] {
				t.Errorf("round %d: %s's groups %q, want %q", round, u.Nickname, got, wantGroups[u.ID])
			}
			if _, _, role, err := s.IssueFor(ctx, is.ID, u.ID); err != nil || role != wantRole[u.ID] {
				t.Errorf("round %d: %s's role %q %v, want %q", round, u.Nickname, role, err, wantRole[u.ID])
			}
		}
	}
	if !warmSession(s, toks[bob.ID]) {
		t.Error("the sessions are not cached: this test would prove nothing")
	}
	// A cached slice handed out is the caller's own: changing it changes no
	// one else's answer.
	ctx := s.Fresh(bg)
	gs, _ := s.UserGroups(ctx, bob.ID)
	gs[0].Name = "Mine"
	if got := groupNames(t, s, ctx, bob.ID); got != "Beta,Alpha" {
		t.Errorf("a caller's change leaked into the cache: %q", got)
	}
}

// TestCacheTimeRules: a cached session is measured against the clock on
// every read: it ends when idle or expired although nothing was written.
func TestCacheTimeRules(t *testing.T) {
	s, _, clk := cacheStore(t)
	bg := context.Background()
	alice := newUser(t, s, "Alice")
	p := SessionPolicy{Idle: time.Hour, Lifetime: 3 * time.Hour, Remember: 24 * time.Hour}
	_, tok, err := s.CreateSession(bg, alice.ID, false, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, u, err := s.LoadSession(s.Fresh(bg), tok, p); err != nil || u.ID != alice.ID {
		t.Fatalf("LoadSession: %v", err)
	}
	if !warmSession(s, tok) {
		t.Fatal("not cached")
	}
	clk.Advance(time.Hour)
	if _, _, err := s.LoadSession(s.Fresh(bg), tok, p); !errors.Is(err, ErrNotFound) {
		t.Errorf("idle for an hour, cached: %v, want ErrNotFound", err)
	}

	_, tok, err = s.CreateSession(bg, alice.ID, true, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LoadSession(s.Fresh(bg), tok, p); err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	if !warmSession(s, tok) {
		t.Fatal("not cached")
	}
	if _, _, err := s.LoadSession(s.Fresh(bg), tok, p); !errors.Is(err, ErrNotFound) {
		t.Errorf("past its lifetime, cached: %v, want ErrNotFound", err)
	}
}

// TestCacheNeverStale races writers (this store, and another store on the
// same file) against readers: every read under a Fresh taken after a commit
// sees that commit or a later one. Run it under -race.
func TestCacheNeverStale(t *testing.T) {
	s, path, _ := cacheStore(t)
	other := openStore(t, path, Options{})
	bg := context.Background()
	alice := newUser(t, s, "Alice")
	ga, gb := newGroup(t, s, alice, "a-0"), newGroup(t, s, alice, "b-0")
	_, tok, err := s.CreateSession(bg, alice.ID, false, []byte(`{"n":"0"}`), DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	ss, _, err := s.LoadSession(bg, tok, DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	_, tok2, err := s.CreateSession(bg, alice.ID, false, []byte(`{"n":"0"}`), DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	ss2, _, err := other.LoadSession(bg, tok2, DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	// Votes of this store all along, as in a meeting: they must not hide
	// the other store's writes.
	is := newIssue(t, s, ga.ID, "VOTED")
	// done[0]: renames of group a by this store; done[1]: of group b by the
	// other store; done[2]: session data written by this store; done[3]: by
	// the other store.
	var done [4]atomic.Int64
	const writes = 60
	stop := make(chan struct{})
	var wg sync.WaitGroup
	write := func(i int, fn func(n int) error) {
		defer wg.Done()
		for n := 1; n <= writes; n++ {
			if err := fn(n); err != nil {
				t.Error(err)
				return
			}
			done[i].Store(int64(n))
		}
	}
	wg.Add(4)
	go write(3, func(n int) error {
		ss2.Data = []byte(fmt.Sprintf(`{"n":"%d"}`, n))
		_, err := other.UpdateSession(bg, ss2, tok2, false, DefaultSessionPolicy)
		return err
	})
	voting := make(chan struct{})
	go func() {
		defer close(voting)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Estimate(bg, is.ID, alice.ID, Vote{Value: Scale[n%len(Scale)]}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go write(0, func(n int) error { return s.RenameGroup(bg, ga.ID, "a-"+strconv.Itoa(n)) })
	go write(1, func(n int) error { return other.RenameGroup(bg, gb.ID, "b-"+strconv.Itoa(n)) })
	go write(2, func(n int) error {
		ss.Data = []byte(fmt.Sprintf(`{"n":"%d"}`, n))
		_, err := s.UpdateSession(bg, ss, tok, false, DefaultSessionPolicy)
		return err
	})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				min := [4]int64{done[0].Load(), done[1].Load(), done[2].Load(), done[3].Load()}
				ctx := s.Fresh(bg)
				gs, err := s.UserGroups(ctx, alice.ID)
				if err != nil {
					t.Error(err)
					return
				}
				got := map[string]int64{}
				for _, g := range gs {
					pre, n, _ := strings.Cut(g.Name, "-")
					got[pre], _ = strconv.ParseInt(n, 10, 64)
				}
				if got["a"] < min[0] || got["b"] < min[1] {
					t.Errorf("stale groups: a-%d b-%d, committed before the read: a-%d b-%d", got["a"], got["b"], min[0], min[1])
					return
				}
				rec, _, err := s.LoadSession(ctx, tok, DefaultSessionPolicy)
				if err != nil {
					t.Error(err)
					return
				}
				var n int64
				fmt.Sscanf(string(rec.Data), `{"n":"%d"}`, &n)
				if n < min[2] {
					t.Errorf("stale session data %s, committed before the read: %d", rec.Data, min[2])
					return
				}
				rec2, _, err := s.LoadSession(ctx, tok2, DefaultSessionPolicy)
				if err != nil {
					t.Error(err)
					return
				}
				fmt.Sscanf(string(rec2.Data), `{"n":"%d"}`, &n)
				if n < min[3] {
					t.Errorf("stale session data %s written by another store, committed before the read: %d", rec2.Data, min[3])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	<-voting
}

// TestCacheOffWithoutFresh: reads without a Fresh context, and every read on
// PostgreSQL, go to the database.
func TestCacheOffWithoutFresh(t *testing.T) {
	s, _ := newStore(t)
	bg := context.Background()
	if _, ok := s.generation(bg); ok {
		t.Error("a context without Fresh may use the cache")
	}
	_, ok := s.generation(s.Fresh(bg))
	if s.Postgres() && ok {
		t.Error("the cache is on on PostgreSQL, which has no data_version")
	}
	if !s.Postgres() && !ok {
		t.Error("the cache is off on SQLite")
	}
	other, _ := newStore(t)
	if _, ok := other.generation(s.Fresh(bg)); ok {
		t.Error("one store's generation serves another store's cache")
	}
}

// TestGenerationSteady: a request's Generation holds while nothing is
// committed, and says so; once the request's reads may have come from two
// generations (its own write, another connection's after a second), it is no
// longer steady, and a new request finds the new generation. It is never on
// without Fresh, nor on PostgreSQL.
func TestGenerationSteady(t *testing.T) {
	bg := context.Background()
	if s, _ := newStore(t); s.Postgres() {
		if _, ok := s.Generation(s.Fresh(bg)); ok {
			t.Error("Generation is steady on PostgreSQL, which has no cache")
		}
	}
	s, path, _ := cacheStore(t)
	if _, ok := s.Generation(bg); ok {
		t.Error("Generation is steady without Fresh")
	}
	alice, bob := newUser(t, s, "Alice"), newUser(t, s, "Bob")
	g := newGroup(t, s, alice, "Team", bob)
	is := newIssue(t, s, g.ID, "ONE")

	ctx := s.Fresh(bg)
	gen, ok := s.Generation(ctx)
	if !ok {
		t.Fatal("a fresh request's Generation is not steady")
	}
	if _, err := s.RoomFacts(ctx, is, g); err != nil {
		t.Fatal(err)
	}
	if gen2, ok := s.Generation(s.Fresh(bg)); !ok || gen2 != gen {
		t.Errorf("with nothing committed, another request is at %d (%v), want %d", gen2, ok, gen)
	}
	if _, err := s.Estimate(ctx, is.ID, bob.ID, Vote{Value: 5}); err != nil {
		t.Fatal(err)
	}
	if gen2, ok := s.Generation(ctx); ok || gen2 == gen {
		t.Errorf("after the request's own write: generation %d steady %v, want a new one, not steady", gen2, ok)
	}
	next, ok := s.Generation(s.Fresh(bg))
	if !ok || next == gen {
		t.Errorf("the next request is at %d (steady %v), want a new generation", next, ok)
	}

	// Another process's commit: a request that reads past the check's second
	// sees it, and is not steady either.
	ctx = s.Fresh(bg)
	gen, _ = s.Generation(ctx)
	raw := rawDB(t, path)
	if _, err := raw.Exec("UPDATE groups SET name = 'Renamed' WHERE id = ?", g.ID); err != nil {
		t.Fatal(err)
	}
	if v := ctx.Value(viewKey{}).(*view); v != nil {
		v.at.Store(monoNow() - int64(viewFor) - 1)
	}
	if gen2, ok := s.Generation(ctx); ok || gen2 == gen {
		t.Errorf("after another connection's commit: generation %d steady %v, want a new one, not steady", gen2, ok)
	}
}

// TestGenerationFollowsTheWALIndex: with the WAL index mapped (walindex.go),
// every commit of another connection moves the generation on, across
// checkpoints that empty the log and start it over, and a request with
// nothing committed since keeps it.
func TestGenerationFollowsTheWALIndex(t *testing.T) {
	s, path, _ := cacheStore(t)
	bg := context.Background()
	alice := newUser(t, s, "Alice")
	g := newGroup(t, s, alice, "Team")
	gen, ok := s.Generation(s.Fresh(bg))
	if !ok {
		t.Fatal("no generation on SQLite")
	}
	if s.gens.idx == nil {
		t.Fatal("the WAL index is not mapped: every check asks SQLite")
	}
	raw := rawDB(t, path)
	for i := range 60 {
		if i%10 == 9 {
			if _, err := raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				t.Fatal(err)
			}
		}
		if again, _ := s.Generation(s.Fresh(bg)); i%10 != 9 && again != gen {
			t.Fatalf("commit %d: with nothing committed, the generation moved from %d to %d", i, gen, again)
		}
		gen = renamedElsewhere(t, s, raw, alice.ID, g.ID, i, gen)
	}
}

// renamedElsewhere renames the group through another connection (commit i)
// and checks that the next request's generation moves on from gen and that My
// Groups reads the new name; it returns the new generation.
func renamedElsewhere(t *testing.T, s *Store, raw *sql.DB, userID, groupID int64, i int, gen uint64) uint64 {
	t.Helper()
	bg := context.Background()
	name := "Team " + strconv.Itoa(i)
	if _, err := raw.Exec("UPDATE groups SET name = ? WHERE id = ?", name, groupID); err != nil {
		t.Fatal(err)
	}
	next, ok := s.Generation(s.Fresh(bg))
	if !ok || next == gen {
		t.Fatalf("commit %d by another connection: the generation stays %d", i, gen)
	}
	if got := groupNames(t, s, s.Fresh(bg), userID); got != name {
		t.Fatalf("commit %d: My Groups reads %q", i, got)
	}
	return next
}

// TestUnmappableWALIndexFallsBackQuietly: where the WAL index cannot be
// mapped, the checks go by data_version (every commit of another connection
// still moves the generation) and do not try to map it again on each check.
func TestUnmappableWALIndexFallsBackQuietly(t *testing.T) {
	s, path, _ := cacheStore(t)
	bg := context.Background()
	alice := newUser(t, s, "Alice")
	g := newGroup(t, s, alice, "Team")
	s.gens.mu.Lock()
	if s.gens.idx != nil {
		s.gens.idx.close()
		s.gens.idx = nil
	}
	s.gens.shm = filepath.Join(t.TempDir(), "no such file-shm")
	s.gens.mu.Unlock()
	gen, ok := s.Generation(s.Fresh(bg))
	if !ok {
		t.Fatal("no generation on SQLite")
	}
	retry := s.gens.mapAfter
	if s.gens.idx != nil || retry <= monoNow() {
		t.Fatalf("after a failed map: index %v, next try in %v", s.gens.idx, time.Duration(retry-monoNow()))
	}
	raw := rawDB(t, path)
	for i := range 5 {
		gen = renamedElsewhere(t, s, raw, alice.ID, g.ID, i, gen)
	}
	if s.gens.mapAfter != retry {
		t.Error("the checks tried to map the index again before their time")
	}
}
