package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Names in every script are welcome; characters that disguise text are not.
func TestUnicodeNamesAndDisguises(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		nick string
		ok   bool
	}{
		{"नमस्ते", true},             // Devanagari: letters with combining vowel signs
		{"Nguyễn", true},             // precomposed
		{"Nguye\u0302\u0303n", true}, // decomposed: combining marks after a letter
		{"\u0301ab", false},          // a mark with no letter before it
		{"ab \u0301c", false},        // a mark after a space
		{"محمد", true},
		{"張偉", true},
	} {
		_, msg := NormalizeNickname(tc.nick)
		if (msg == "") != tc.ok {
			t.Errorf("NormalizeNickname(%q): message %q, want ok=%v", tc.nick, msg, tc.ok)
		}
	}
	for _, name := range []string{"Team\u202eevil", "a\u200bb", "x\u2066y", "\ufeffBOM"} {
		if _, msg := NormalizeGroupName(name); msg == "" {
			t.Errorf("group name %q with an invisible character was accepted", name)
		}
		if _, errs := ValidateIssue(name, "ok"); errs["key"] == "" {
			t.Errorf("issue key %q with an invisible character was accepted", name)
		}
	}
	for _, name := range []string{"دانش\u200cآموز", "👩\u200d💻 team"} {
		if _, msg := NormalizeGroupName(name); msg != "" {
			t.Errorf("group name %q refused: %s", name, msg)
		}
	}
}

// A stored result is rebuilt from its counts without expanding them, and a
// corrupt one is refused rather than trusted.
func TestDecodeResultIsBounded(t *testing.T) {
	t.Parallel()
	r, err := decodeResult("5:1000000,8:2")
	if err != nil || r.Votes != 1000002 || r.Min() != 5 || r.Max() != 8 {
		t.Fatalf("decode: %+v %v", r, err)
	}
	for _, bad := range []string{"5:99999999999", "5:1,5:2", "5:2000000"} {
		if _, err := decodeResult(bad); err == nil {
			t.Errorf("decodeResult(%q) accepted", bad)
		}
	}
}

// A database path may hold characters that mean something in a URI.
func TestOpenPathWithURICharacters(t *testing.T) {
	sqliteOnly(t, "a file path")
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "odd?name#1%20.db")
	s := openStore(t, path, Options{})
	if _, err := s.CreateGroup(context.Background(), newUser(t, s, "Ute"), "Odd"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the literal path: %v", err)
	}
}
