package store

import (
	"context"
	"errors"
	"testing"
)

func TestClaimIdentity(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	const iss = "https://idp.example.com"

	alice, err := s.ClaimIdentity(ctx, iss, "sub-1", "Alice")
	if err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if alice.Nickname != "Alice" || !alice.Active {
		t.Fatalf("user = %+v", alice)
	}
	got, err := s.UserByIdentity(ctx, iss, "sub-1")
	if err != nil || got.ID != alice.ID {
		t.Fatalf("UserByIdentity = %+v, %v; want user %d", got, err, alice.ID)
	}
	// The claim left no browser key: nobody can type "Alice" to become her.
	if _, _, err := s.ClaimNickname(ctx, "alice", NewToken()); !errors.Is(err, ErrNicknameTaken) {
		t.Fatalf("guest claiming an identity user's nickname: %v, want ErrNicknameTaken", err)
	}
	var keys int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM browser_keys WHERE user_id = ?", alice.ID).Scan(&keys); err != nil || keys != 0 {
		t.Fatalf("browser keys of an identity user = %d, %v; want 0", keys, err)
	}

	// Linked already: the same user, whatever nickname is asked for now.
	again, err := s.ClaimIdentity(ctx, iss, "sub-1", "Someone Else")
	if err != nil || again.ID != alice.ID {
		t.Fatalf("second claim = %+v, %v; want user %d", again, err, alice.ID)
	}

	guest := newUser(t, s, "Bob")
	for _, tc := range []struct {
		name, issuer, subject, nick string
		want                        error
	}{
		{"a guest's nickname", iss, "sub-2", "bob", ErrNicknameTaken},
		{"its full-width twin", iss, "sub-2", "ＢＯＢ", ErrNicknameTaken},
		{"an e-mail address", iss, "sub-2", "bob@example.com", ErrInvalid},
		{"too short", iss, "sub-2", "b", ErrInvalid},
		{"no subject", iss, "", "Carol", ErrInvalid},
		{"no issuer", "", "sub-2", "Carol", ErrInvalid},
	} {
		if _, err := s.ClaimIdentity(ctx, tc.issuer, tc.subject, tc.nick); !errors.Is(err, tc.want) {
			t.Errorf("%s: ClaimIdentity(%q) = %v, want %v", tc.name, tc.nick, err, tc.want)
		}
	}
	if _, err := s.UserByIdentity(ctx, iss, "sub-2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused claims linked sub-2: %v", err)
	}
	if n, err := s.IdentityCount(ctx, guest.ID); err != nil || n != 0 {
		t.Fatalf("the guest got %d identities (%v)", n, err)
	}

	// A deactivated user's nickname stays taken; their identity still finds them,
	// marked inactive, so sign-in can refuse them.
	if _, err := s.SetActive(ctx, "Alice", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimIdentity(ctx, iss, "sub-3", "alice"); !errors.Is(err, ErrNicknameTaken) {
		t.Fatalf("claiming a deactivated nickname: %v", err)
	}
	if u, err := s.UserByIdentity(ctx, iss, "sub-1"); err != nil || u.Active {
		t.Fatalf("deactivated identity user = %+v, %v", u, err)
	}

	// The same subject at another issuer is another person.
	other, err := s.ClaimIdentity(ctx, HeaderIssuer, "sub-1", "Alice From Proxy")
	if err != nil || other.ID == alice.ID {
		t.Fatalf("same subject, other issuer = %+v, %v", other, err)
	}
}

func TestSigninFlows(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	sess := func() int64 {
		ss, _, err := s.CreateSession(ctx, 0, false, nil, DefaultSessionPolicy)
		if err != nil {
			t.Fatal(err)
		}
		return ss.ID
	}
	mine, theirs := sess(), sess()

	tok, err := s.StartSigninFlow(ctx, SigninFlow{Kind: FlowOIDC, SessionID: mine, Nonce: "n", Verifier: "v", Next: "/groups/1", Kept: "ref"})
	if err != nil {
		t.Fatal(err)
	}
	// Another session offering the token learns nothing and spoils nothing.
	if _, err := s.TakeSigninFlow(ctx, FlowOIDC, tok, theirs); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign take: %v", err)
	}
	// Nor does asking for the wrong kind.
	if _, err := s.TakeSigninFlow(ctx, FlowChoice, tok, mine); !errors.Is(err, ErrNotFound) {
		t.Fatalf("wrong kind: %v", err)
	}
	f, err := s.TakeSigninFlow(ctx, FlowOIDC, tok, mine)
	if err != nil || f.Nonce != "n" || f.Verifier != "v" || f.Next != "/groups/1" || f.Kept != "ref" {
		t.Fatalf("take = %+v, %v", f, err)
	}
	if _, err := s.TakeSigninFlow(ctx, FlowOIDC, tok, mine); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second take: %v", err)
	}

	// A choice can be read until it is taken.
	choice, err := s.StartSigninFlow(ctx, SigninFlow{Kind: FlowChoice, SessionID: mine, Issuer: "i", Subject: "s", Proposed: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if f, err := s.SigninFlow(ctx, FlowChoice, choice, mine); err != nil || f.Subject != "s" || f.Next != "/" {
			t.Fatalf("read choice = %+v, %v", f, err)
		}
	}
	if _, err := s.SigninFlow(ctx, FlowChoice, choice, theirs); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign read: %v", err)
	}

	// Expired flows are unknown.
	late, err := s.StartSigninFlow(ctx, SigninFlow{Kind: FlowOIDC, SessionID: mine})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(SigninFlowTTL)
	if _, err := s.TakeSigninFlow(ctx, FlowOIDC, late, mine); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired take: %v", err)
	}

	// One session cannot park more than a few.
	for range 3 * signinFlowsPerSession {
		if _, err := s.StartSigninFlow(ctx, SigninFlow{Kind: FlowOIDC, SessionID: theirs}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SigninFlowCount(ctx, theirs); err != nil || n != signinFlowsPerSession {
		t.Fatalf("flows kept for one session = %d, %v; want %d", n, err, signinFlowsPerSession)
	}
	// Ending the session ends its flows.
	if err := s.DeleteSession(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SigninFlowCount(ctx, theirs); err != nil || n != 0 {
		t.Fatalf("flows after the session ended = %d, %v", n, err)
	}
	if _, err := s.StartSigninFlow(ctx, SigninFlow{Kind: "other", SessionID: mine}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown kind: %v", err)
	}
}
