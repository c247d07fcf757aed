package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestUserMixin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		u                     User
		authenticated, active bool
		anonymous             bool
	}{
		{"anonymous", Anonymous, false, false, true},
		{"active user", User{ID: 1, Nickname: "Ana", Active: true}, true, true, false},
		{"deactivated user", User{ID: 1, Nickname: "Ana"}, true, false, false},
		{"active flag without id", User{Active: true}, false, false, true},
	}
	for _, tt := range tests {
		if tt.u.IsAuthenticated() != tt.authenticated || tt.u.IsActive() != tt.active || tt.u.IsAnonymous() != tt.anonymous {
			t.Errorf("%s: IsAuthenticated %v IsActive %v IsAnonymous %v", tt.name, tt.u.IsAuthenticated(), tt.u.IsActive(), tt.u.IsAnonymous())
		}
	}
}

func TestClaimNickname(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	browser, stranger := NewToken(), NewToken()

	u, created, err := s.ClaimNickname(ctx, "  Ana  ", browser)
	if err != nil || !created || u.ID == 0 || u.Nickname != "Ana" || !u.Active || u.CreatedAt.Unix() != epoch.Unix() {
		t.Fatalf("first claim = %+v, created %v, %v", u, created, err)
	}

	tests := []struct {
		name    string
		nick    string
		browser string
		wantErr error
	}{
		{"same browser again", "Ana", browser, nil},
		{"same browser, other case", "ANA", browser, nil},
		{"same browser, full width", "Ａｎａ", browser, nil},
		{"other browser", "Ana", stranger, ErrNicknameTaken},
		{"other browser, other case", "aNA", stranger, ErrNicknameTaken},
		{"other browser, full width", "ａｎａ", stranger, ErrNicknameTaken},
		{"no browser key", "Ana", "", ErrNicknameTaken},
		{"invalid nickname", "A", browser, ErrInvalid},
		{"invalid characters", "Ana!", browser, ErrInvalid},
	}
	for _, tt := range tests {
		got, created, err := s.ClaimNickname(ctx, tt.nick, tt.browser)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if created {
			t.Errorf("%s: a second user was created", tt.name)
		}
		if tt.wantErr == nil && (got.ID != u.ID || got.Nickname != "Ana") {
			t.Errorf("%s: got %+v, want user %d Ana", tt.name, got, u.ID)
		}
		if tt.wantErr != nil && got != (User{}) {
			t.Errorf("%s: a refused claim returned %+v", tt.name, got)
		}
	}
	if n := count(t, s, "SELECT COUNT(*) FROM users"); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}

	// One browser may serve several nicknames (a shared computer).
	bo, created, err := s.ClaimNickname(ctx, "Bo", browser)
	if err != nil || !created {
		t.Fatalf("second nickname from the same browser: %v, created %v", err, created)
	}
	for _, id := range []int64{u.ID, bo.ID} {
		if ok, err := s.BrowserKnows(ctx, id, browser); err != nil || !ok {
			t.Errorf("BrowserKnows(%d) = %v, %v", id, ok, err)
		}
	}
	if ok, _ := s.BrowserKnows(ctx, u.ID, stranger); ok {
		t.Error("a stranger's browser is known")
	}

	// Only hashes of browser keys are at rest.
	if n := count(t, s, "SELECT COUNT(*) FROM browser_keys WHERE key_hash = ?", browser); n != 0 {
		t.Error("a browser key is stored in clear")
	}

	for _, nick := range []string{"ana", "ANA", "Ａｎａ"} {
		if got, err := s.UserByNickname(ctx, nick); err != nil || got.ID != u.ID {
			t.Errorf("UserByNickname(%q) = %+v, %v", nick, got, err)
		}
	}
	if _, err := s.UserByNickname(ctx, "Nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByNickname(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByID(unknown) = %v, want ErrNotFound", err)
	}

	// LinkBrowser lets a second device type the nickname (after the sign-in link).
	if err := s.LinkBrowser(ctx, u.ID, stranger); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkBrowser(ctx, u.ID, stranger); err != nil {
		t.Fatalf("linking twice: %v", err)
	}
	if _, _, err := s.ClaimNickname(ctx, "Ana", stranger); err != nil {
		t.Errorf("claim from a linked browser: %v", err)
	}
}

// TestClaimNicknameRace: many browsers typing one free nickname at once make
// exactly one user; everyone else is told it is taken.
func TestClaimNicknameRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	made := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			_, made[i], errs[i] = s.ClaimNickname(ctx, "Rush", NewToken())
		})
	}
	wg.Wait()
	wins := 0
	for i := range n {
		switch {
		case errs[i] == nil && made[i]:
			wins++
		case errors.Is(errs[i], ErrNicknameTaken):
		default:
			t.Errorf("claim %d: created %v, err %v", i, made[i], errs[i])
		}
	}
	if wins != 1 || count(t, s, "SELECT COUNT(*) FROM users") != 1 {
		t.Errorf("%d claims won, want exactly 1", wins)
	}
}

func TestDeactivation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	browser := NewToken()
	u, _, err := s.ClaimNickname(ctx, "Dora", browser)
	if err != nil {
		t.Fatal(err)
	}
	other := newUser(t, s, "Other")
	p := DefaultSessionPolicy
	_, tok1, _ := s.CreateSession(ctx, u.ID, false, nil, p)
	ss2, tok2, _ := s.CreateSession(ctx, u.ID, true, nil, p)
	_, otherTok, _ := s.CreateSession(ctx, other.ID, false, nil, p)

	got, err := s.SetActive(ctx, "DORA", false)
	if err != nil || got.ID != u.ID || got.Active {
		t.Fatalf("SetActive(false) = %+v, %v", got, err)
	}
	for _, tok := range []string{tok1, tok2} {
		if _, _, err := s.LoadSession(ctx, tok, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("a deactivated user's session loads: %v", err)
		}
	}
	if alive, _ := s.SessionAlive(ctx, ss2.ID, u.ID, p); alive {
		t.Error("SessionAlive for a deactivated user's session")
	}
	if n := count(t, s, "SELECT COUNT(*) FROM sessions WHERE user_id = ?", u.ID); n != 0 {
		t.Errorf("%d sessions of the deactivated user remain", n)
	}
	if _, otherUser, err := s.LoadSession(ctx, otherTok, p); err != nil || otherUser.ID != other.ID {
		t.Errorf("another user's session was touched: %+v, %v", otherUser, err)
	}
	for _, key := range []string{browser, NewToken()} {
		if _, _, err := s.ClaimNickname(ctx, "Dora", key); !errors.Is(err, ErrInactive) {
			t.Errorf("claim of a deactivated nickname = %v, want ErrInactive", err)
		}
	}
	if u2, _ := s.UserByID(ctx, u.ID); u2.Active || u2.IsActive() {
		t.Errorf("stored user still active: %+v", u2)
	}

	if got, err := s.SetActive(ctx, "dora", true); err != nil || !got.Active {
		t.Fatalf("SetActive(true) = %+v, %v", got, err)
	}
	if _, _, err := s.ClaimNickname(ctx, "Dora", browser); err != nil {
		t.Errorf("claim after reactivation: %v", err)
	}
	if _, err := s.SetActive(ctx, "Nobody", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetActive(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSigninToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	u := newUser(t, s, "Linker")

	if has, err := s.HasSigninToken(ctx, u.ID); err != nil || has {
		t.Fatalf("HasSigninToken before = %v, %v", has, err)
	}
	old, err := s.ReplaceSigninToken(ctx, u.ID)
	if err != nil || old == "" {
		t.Fatal(err)
	}
	if got, err := s.UserBySigninToken(ctx, old); err != nil || got.ID != u.ID {
		t.Fatalf("UserBySigninToken = %+v, %v", got, err)
	}
	fresh, err := s.ReplaceSigninToken(ctx, u.ID)
	if err != nil || fresh == old {
		t.Fatalf("replace = %q, %v", fresh, err)
	}
	if _, err := s.UserBySigninToken(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("old token after replace = %v, want ErrNotFound", err)
	}
	if got, err := s.UserBySigninToken(ctx, fresh); err != nil || got.ID != u.ID {
		t.Errorf("new token = %+v, %v", got, err)
	}
	if has, _ := s.HasSigninToken(ctx, u.ID); !has {
		t.Error("HasSigninToken after replace = false")
	}
	if n := count(t, s, "SELECT COUNT(*) FROM users WHERE signin_token_hash = ?", fresh); n != 0 {
		t.Error("the sign-in token is stored in clear")
	}
	for _, tok := range []string{"", "nope", NewToken()} {
		if _, err := s.UserBySigninToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserBySigninToken(%q) = %v, want ErrNotFound", tok, err)
		}
	}
	if _, err := s.ReplaceSigninToken(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReplaceSigninToken(unknown user) = %v", err)
	}
	if _, err := s.HasSigninToken(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("HasSigninToken(unknown user) = %v", err)
	}
}

func TestForgetBrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	shared, own := NewToken(), NewToken()
	a, _, _ := s.ClaimNickname(ctx, "Alpha", shared)
	b, _, _ := s.ClaimNickname(ctx, "Beta", shared)
	c, _, _ := s.ClaimNickname(ctx, "Gamma", own)

	steps := []struct {
		user      User
		key       string
		remaining int
	}{
		{a, shared, 1},
		{a, shared, 1}, // forgetting twice changes nothing
		{c, shared, 1}, // a key that never served Gamma
		{b, shared, 0},
		{c, own, 0},
	}
	for i, st := range steps {
		n, err := s.ForgetBrowser(ctx, st.user.ID, st.key)
		if err != nil || n != st.remaining {
			t.Errorf("step %d: ForgetBrowser(%s) = %d, %v; want %d", i, st.user.Nickname, n, err, st.remaining)
		}
	}
	if _, _, err := s.ClaimNickname(ctx, "Alpha", shared); !errors.Is(err, ErrNicknameTaken) {
		t.Errorf("claim from a forgotten browser = %v, want ErrNicknameTaken", err)
	}
}

func TestDeleteUserKeepsSessionsAnonymous(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	u := newUser(t, s, "Gone")
	ss, tok, err := s.CreateSession(ctx, u.ID, false, []byte("data"), DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got, user, err := s.LoadSession(ctx, tok, DefaultSessionPolicy)
	if err != nil {
		t.Fatalf("a session whose user is gone = %v, want it to load as anonymous", err)
	}
	if user != Anonymous || !user.IsAnonymous() || got.ID != ss.ID || got.UserID != 0 || string(got.Data) != "data" {
		t.Errorf("LoadSession = %+v, %+v", got, user)
	}
	if alive, _ := s.SessionAlive(ctx, ss.ID, u.ID, DefaultSessionPolicy); alive {
		t.Error("SessionAlive for a deleted user")
	}
}

// LastNickname: the nickname this browser signed in with last, among its active
// ones; nothing for a key it never used, or once the browser is forgotten.
func TestLastNickname(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(t)
	shared, other := NewToken(), NewToken()
	want := func(key, nick string) {
		t.Helper()
		got, err := s.LastNickname(ctx, key)
		if err != nil || got != nick {
			t.Errorf("LastNickname = %q, %v; want %q", got, err, nick)
		}
	}
	want(shared, "")
	if _, _, err := s.ClaimNickname(ctx, "Ana", shared); err != nil {
		t.Fatal(err)
	}
	want(shared, "Ana")
	clk.Advance(time.Minute)
	bea, _, err := s.ClaimNickname(ctx, "Bea", shared)
	if err != nil {
		t.Fatal(err)
	}
	want(shared, "Bea")
	clk.Advance(time.Minute)
	if _, _, err := s.ClaimNickname(ctx, "Ana", shared); err != nil {
		t.Fatal(err)
	}
	want(shared, "Ana")
	want(other, "")

	if _, err := s.SetActive(ctx, "Ana", false); err != nil {
		t.Fatal(err)
	}
	want(shared, "Bea")
	if _, err := s.ForgetBrowser(ctx, bea.ID, shared); err != nil {
		t.Fatal(err)
	}
	want(shared, "")
}

// TestSignInWithAnotherPersonsLiveKeyRenewsIt: a browser signing in with a
// key someone else also holds (Mallory's own, planted) leaves with a new key;
// the old one serves nobody, so it never signs in as the person who signed in
// there; the browser's entries keep their ids (a new secret, not a new row).
func TestSignInWithAnotherPersonsLiveKeyRenewsIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	planted, k1, k2, k3 := NewToken(), NewToken(), NewToken(), NewToken()
	mallory, _, err := s.ClaimNickname(ctx, "Mallory", planted)
	if err != nil {
		t.Fatal(err)
	}
	victim, created, err := s.SignInNickname(ctx, "Victoria Okonkwo-Lindqvist Jr.", planted, k1)
	if err != nil || !created {
		t.Fatalf("new nickname with a planted live key: %v, created %v", err, created)
	}
	if _, _, err := s.SignInNickname(ctx, victim.Nickname, planted, k2); !errors.Is(err, ErrNicknameTaken) {
		t.Fatalf("the planted key signed in as the victim: %v", err)
	}
	for _, u := range []User{mallory, victim} {
		if ok, _ := s.BrowserKnows(ctx, u.ID, k1); !ok {
			t.Errorf("the browser's new key does not serve %s", u.Nickname)
		}
	}
	if live, _ := s.BrowserKeyLive(ctx, planted); live {
		t.Error("the planted key still serves a nickname")
	}
	before, _ := s.UserBrowsers(ctx, victim.ID, k1)
	// The nickname the browser already holds: proven by k1, then k1 → k2.
	if _, _, err := s.SignInNickname(ctx, victim.Nickname, k1, k2); err != nil {
		t.Fatal(err)
	}
	// k1 proves the nickname until the browser shows it holds k2 (a sign-in
	// whose answer was lost must not lock it out); then it proves nothing.
	if err := s.ConfirmBrowserKey(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignInNickname(ctx, victim.Nickname, k1, k3); !errors.Is(err, ErrNicknameTaken) {
		t.Fatalf("a key replaced at sign-in signed in again: %v", err)
	}
	// A personal link (or a provider) renews the key the same way.
	if n, err := s.RenewBrowserKey(ctx, victim.ID, k2, k3, true); err != nil || n != 2 {
		t.Fatalf("RenewBrowserKey = %d, %v; want the browser's 2 nicknames", n, err)
	}
	after, _ := s.UserBrowsers(ctx, victim.ID, k3)
	if len(before) != 1 || len(after) != 1 || before[0].ID != after[0].ID || !after[0].This {
		t.Fatalf("browser entries before %+v, after %+v: want the same one, this browser", before, after)
	}
	if n, err := s.RenewBrowserKey(ctx, victim.ID, NewToken(), NewToken(), false); err != nil || n != 0 {
		t.Fatalf("renewing a key nobody issued, untied: %d, %v", n, err)
	}
}

// A sign-in whose answer is lost leaves the browser holding its old key: that
// key still proves the browser's nicknames (and the retry renews it again)
// until the browser shows it holds a new key.
func TestOldKeyProvesUntilTheNewOneIsConfirmed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	k0, lost, k2 := NewToken(), NewToken(), NewToken()
	u, _, err := s.ClaimNickname(ctx, "Ngozi Adeyemi-Larsen", k0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignInNickname(ctx, u.Nickname, k0, lost); err != nil {
		t.Fatal(err)
	}
	if nick, _ := s.LastNickname(ctx, k0); nick != u.Nickname {
		t.Errorf("the sign-in page offers %q to the browser that lost its answer", nick)
	}
	if _, _, err := s.SignInNickname(ctx, u.Nickname, k0, k2); err != nil {
		t.Fatalf("the retry with the old key: %v", err)
	}
	if err := s.ConfirmBrowserKey(ctx, k2); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{k0, lost} {
		if _, _, err := s.SignInNickname(ctx, u.Nickname, k, NewToken()); !errors.Is(err, ErrNicknameTaken) {
			t.Errorf("a key the browser no longer holds signed in: %v", err)
		}
	}
	if ok, _ := s.BrowserKnows(ctx, u.ID, k2); !ok {
		t.Error("the confirmed key does not serve the nickname")
	}
}
