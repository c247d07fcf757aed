package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestNicknameSkeleton(t *testing.T) {
	t.Parallel()
	if ConfusablesVersion != "17.0.0" {
		t.Errorf("confusables data is Unicode %s", ConfusablesVersion)
	}
	same := [][]string{
		{"Zelda", "ZELDA", "ZeIda", "Ze1da", "\u0396elda", "Zeld\u0430", "Ｚｅｌｄａ", "Zelda\ufe0f"},
		{"paypal", "\u0440\u0430\u0443\u0440\u0430l"},
		{"cop", "\u0441\u043e\u0440", "COP"},
		{"Bob0", "BobO", "bobo"},
		{"ana", "Ana"},
	}
	for _, group := range same {
		want := NicknameSkeleton(group[0])
		for _, n := range group[1:] {
			if got := NicknameSkeleton(n); got != want {
				t.Errorf("skeleton(%q) = %q, skeleton(%q) = %q: want the same", n, got, group[0], want)
			}
		}
	}
	for _, pair := range [][2]string{{"Zelda", "Zeida"}, {"Ana", "Anna"}, {"José", "Jose"}, {"Emil", "Emily"}} {
		if NicknameSkeleton(pair[0]) == NicknameSkeleton(pair[1]) {
			t.Errorf("%q and %q share a skeleton", pair[0], pair[1])
		}
	}
}

func TestMixedScripts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ nick, a, b string }{
		{"Zelda", "", ""},
		{"Zelda 2", "", ""},
		{"\u0396elda", "Greek", "Latin"},
		{"Zeld\u0430", "Latin", "Cyrillic"},
		{"\u0414\u0430\u0440\u044c\u044f", "", ""},
		{"山田たろう", "", ""},
		{"Tanaka 山田", "", ""},
		{"김민준 Kim", "", ""},
		{"山田 김 たろう", "Hangul", "Hiragana"},
		{"Ana Ζωή", "Latin", "Greek"},
		{"नमस्ते", "", ""},
	} {
		a, b := MixedScripts(tc.nick)
		if a != tc.a || b != tc.b {
			t.Errorf("MixedScripts(%q) = %q, %q; want %q, %q", tc.nick, a, b, tc.a, tc.b)
		}
		if _, msg := NormalizeNickname(tc.nick); (msg != "") != (tc.a != "") {
			t.Errorf("NormalizeNickname(%q) message %q", tc.nick, msg)
		}
	}
}

// TestSkeletonsOfExistingUsers: users made before skeletons were kept get one at
// start, oldest first; a younger look-alike keeps working but blocks nobody.
func TestSkeletonsOfExistingUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// As before migration 5: nicknames stored without skeletons, two alike.
	for _, nick := range []string{"Zelda", "Zeld\u0430", "Otto"} {
		if _, err := s.w.ExecContext(ctx, "INSERT INTO users (nickname, nickname_key, created_at) VALUES (?, ?, 0)", nick, NicknameKey(nick)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string]bool{"Zelda": true, "Zeld\u0430": false, "Otto": true}
	for nick, has := range want {
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE nickname = ? AND nickname_skeleton = ?", nick, NicknameSkeleton(nick)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 1) != has {
			t.Errorf("%q has a skeleton: %v, want %v", nick, n == 1, has)
		}
	}
	if _, _, err := s.ClaimNickname(ctx, "ZeIda", NewToken()); !errors.Is(err, ErrNicknameTaken) {
		t.Errorf("look-alike of a migrated user: %v, want ErrNicknameTaken", err)
	}
	if _, _, err := s.ClaimNickname(ctx, "0tto", NewToken()); !errors.Is(err, ErrNicknameTaken) {
		t.Errorf("look-alike of a migrated user: %v, want ErrNicknameTaken", err)
	}
}

func TestKeptFormsCapAndBodies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s := openStore(t, filepath.Join(t.TempDir(), "kept.db"), Options{Now: clk.Now, KeptFormsMaxBytes: 100})
	ss, _, err := s.CreateSession(ctx, 0, false, nil, DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("estimate=37&pad=" + string(make([]byte, 24)))
	var refs []string
	for range 2 {
		ref, err := s.KeepForm(ctx, ss.ID, "POST", "/issues/1/estimate", body)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if room, _ := s.KeptFormsRoom(ctx, len(body)); room {
		t.Error("KeptFormsRoom says a third form fits under 100 bytes")
	}
	if _, err := s.KeepForm(ctx, ss.ID, "POST", "/issues/1/estimate", body); !errors.Is(err, ErrKeptFormsFull) {
		t.Fatalf("third form: %v, want ErrKeptFormsFull", err)
	}
	// A replayed form keeps its row ("already submitted") but not its body.
	if _, err := s.TakeForm(ctx, refs[0], ss.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM kept_forms WHERE length(body) > 0"); n != 1 {
		t.Errorf("%d kept forms have a body, want 1", n)
	}
	if _, err := s.TakeForm(ctx, refs[0], ss.ID); !errors.Is(err, ErrFormUsed) {
		t.Errorf("second take: %v", err)
	}
	// Room again; and an expired form's body stops counting.
	if _, err := s.KeepForm(ctx, ss.ID, "POST", "/issues/1/estimate", body); err != nil {
		t.Fatalf("after a take: %v", err)
	}
	clk.Advance(KeptFormTTL)
	if room, _ := s.KeptFormsRoom(ctx, 90); !room {
		t.Error("expired forms still take room")
	}
	if _, err := s.KeepForm(ctx, ss.ID, "POST", "/issues/1/estimate", body); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM kept_forms WHERE length(body) > 0"); n != 1 {
		t.Errorf("%d kept forms have a body after expiry, want 1", n)
	}
}
