package store

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseEstimate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want int // 0: refused
	}{
		{"1", 1},
		{"5", 5},
		{"13", 13},
		{"100", 100},
		{" 5 ", 5},
		{"\t8\n", 8},
		{"007", 7},
		{"", 0},
		{"   ", 0},
		{"0", 0},
		{"00", 0},
		{"101", 0},
		{"999", 0},
		{"-1", 0},
		{"+5", 0},
		{"1e2", 0},
		{"0x10", 0},
		{"0b1", 0},
		{"4.5", 0},
		{"4,5", 0},
		{"5.", 0},
		{"５", 0},        // full-width digit
		{"٥", 0},        // Arabic-Indic digit
		{"5\x00", 0},    // NUL
		{"\x005", 0},    // NUL first
		{"5\x07", 0},    // control character
		{"\xff", 0},     // invalid UTF-8
		{"5\xff", 0},    // invalid UTF-8 after a digit
		{"1 0", 0},      // space inside
		{"0100", 0},     // too many digits even if the value fits
		{"abc", 0},      //
		{"NaN", 0},      //
		{"Infinity", 0}, //
		{strings.Repeat("9", 10000), 0},
		{strings.Repeat(" ", 5000) + "5" + strings.Repeat(" ", 5000), 5},
	}
	for _, tt := range tests {
		n, msg := ParseEstimate(tt.raw)
		if n != tt.want {
			t.Errorf("ParseEstimate(%.40q) = %d, want %d", tt.raw, n, tt.want)
		}
		if (msg == "") != (tt.want != 0) {
			t.Errorf("ParseEstimate(%.40q): message %q for value %d", tt.raw, msg, n)
		}
	}
	// Every card of the scale and every number of the range is accepted.
	for v := EstimateMin; v <= EstimateMax; v++ {
		if n, msg := ParseEstimate(strconv.Itoa(v)); n != v || msg != "" {
			t.Errorf("ParseEstimate(%d) = %d, %q", v, n, msg)
		}
	}
}

func TestNormalizeNickname(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string // want "": refused
	}{
		{"Ana", "Ana"},
		{"  Ana  ", "Ana"},
		{"Ana   Maria", "Ana Maria"},
		{"Ana\tMaria\n", "Ana Maria"},
		{"Ana\u00a0Maria", "Ana Maria"}, // no-break space is white space too
		{"a_b.c-d", "a_b.c-d"},
		{"R2D2", "R2D2"},
		{"Zoë", "Zoë"},
		{"Zoe\u0308", "Zoë"}, // decomposed → NFC
		{"Ａｎａ", "Ａｎａ"},       // full width is kept as typed; the key folds it
		{"名前", "名前"},
		{"Ωμέγα", "Ωμέγα"},
		{"ab", "ab"},
		{strings.Repeat("x", 32), strings.Repeat("x", 32)},
		{strings.Repeat("é", 32), strings.Repeat("é", 32)}, // characters, not bytes
		{"  " + strings.Repeat("y", 16) + "     " + strings.Repeat("y", 15) + "  ", strings.Repeat("y", 16) + " " + strings.Repeat("y", 15)},
		{"", ""},
		{"    ", ""},
		{"a", ""},
		{" a ", ""},
		{strings.Repeat("x", 33), ""},
		{strings.Repeat("é", 33), ""},
		{strings.Repeat("x", 100000), ""},
		{"ab!", ""},
		{"a/b", ""},
		{"<script>", ""},
		{"a@b", ""},
		{"a\x00b", ""},
		{"a\x07b", ""},
		{"\x1bab", ""},
		{"a\u200bb", ""}, // zero-width space
		{"a\u202eb", ""}, // right-to-left override
		{"ab\xff", ""},
		{"\xc3\x28ab", ""},
		{"😀😀", ""},
	}
	for _, tt := range tests {
		got, msg := NormalizeNickname(tt.raw)
		if got != tt.want {
			t.Errorf("NormalizeNickname(%.40q) = %q, want %q", tt.raw, got, tt.want)
		}
		if (msg == "") != (tt.want != "") {
			t.Errorf("NormalizeNickname(%.40q): message %q with result %q", tt.raw, msg, got)
		}
	}
}

// Blank-looking nicknames ("ㅤㅤ", "..", "- -", invisible marks) are refused:
// nobody can read them out or tell them apart. Real names with dots and
// hyphens stay.
func TestBlankLookingNicknamesAreRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string // want "": refused
	}{
		{"\u3164\u3164", ""}, // Hangul filler (a "letter")
		{"\u115f\u115f", ""}, // Hangul choseong filler
		{"\u1160\u1160", ""}, // Hangul jungseong filler
		{"\uffa0\uffa0", ""}, // half-width Hangul filler
		{"Ana\u3164", ""},    // a filler behind a real name
		{"\u2800\u2800", ""}, // Braille blank
		{"Ana\u200bx", ""},   // zero-width space
		{"Ana\u200ex", ""},   // left-to-right mark
		{"Ana\u2060x", ""},   // word joiner
		{"\ufeffAna", ""},    // byte order mark
		{"Ana\u034f", ""},    // combining grapheme joiner (a "mark")
		{"Ana\ufe0f", ""},    // variation selector
		{"\u17b4\u17b4", ""}, // Khmer inherent vowel (invisible)
		{"\u0301\u0301", ""}, // combining marks alone
		{"..", ""},
		{"--", ""},
		{"__", ""},
		{"_ _", ""},
		{"- -", ""},
		{". - _", ""},
		{"ــ", ""},                               // Arabic tatweel, a modifier letter
		{"ーー", ""},                               // katakana prolonged sound mark
		{"ˈˈ", ""},                               // modifier letters
		{"ǀǀ", ""},                               // click letters, read as bars
		{"ㆍㆍ", ""},                               // Hangul araea, read as dots
		{"a" + strings.Repeat("\u0301", 30), ""}, // marks drawn over the page
		{"ラーメン", "ラーメン"},                         // ー beside letters is a name
		{"བསྒྲུབས", "བསྒྲུབས"}, // Tibetan: three marks on a letter
		{"नमस्ते", "नमस्ते"},
		{"Ann-Marie", "Ann-Marie"},
		{"J.R.", "J.R."},
		{"李小龍", "李小龍"},
		{"R2", "R2"},
		{"42", "42"},
		{"-x-", "-x-"},
		{"한글", "한글"},
		{"Zoë Ann-Marie J.R. de la Fuente", "Zoë Ann-Marie J.R. de la Fuente"},
		{strings.Repeat("Zoë", 10) + "J.", strings.Repeat("Zoë", 10) + "J."}, // 32 characters
	}
	for _, tt := range tests {
		got, msg := NormalizeNickname(tt.raw)
		if got != tt.want || (msg == "") != (tt.want != "") {
			t.Errorf("NormalizeNickname(%+q) = %q, %q; want %q", tt.raw, got, msg, tt.want)
		}
	}
}

// The refusal names the character, so a person can find it in what they typed.
func TestNormalizeNicknameNamesTheCharacter(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"Al!ce", "“!” is not allowed in a nickname"},
		{"a/b", "“/” is not allowed"},
		{"😀😀", "“😀” is not allowed"},
		{"a\u200bb", "The invisible character U+200B is not allowed"},
		{"a\u202eb", "The invisible character U+202E is not allowed"},
		{"a\x07b", "The invisible character U+0007 is not allowed"},
		{"\u0301ab", "A mark (U+0301) without a letter before it is not allowed"},
		{"\u3164\u3164", "The invisible character U+3164 is not allowed"},
		{"Ana\u034f", "The invisible character U+034F is not allowed"},
	}
	for _, tt := range tests {
		_, msg := NormalizeNickname(tt.raw)
		if !strings.HasPrefix(msg, tt.want) || !strings.Contains(msg, "use letters, digits, spaces") {
			t.Errorf("NormalizeNickname(%q) says %q, want it to start %q and say what is allowed", tt.raw, msg, tt.want)
		}
	}
}

func TestNicknameKey(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"Ana", "ANA", "ana", "Ａｎａ", "ａｎａ", "aNa"},
		{"Zoë", "ZOË", "Zoe\u0308", "zoë"},
		{"Straße", "STRASSE", "strasse"},
		{"Ωμέγα", "ΩΜΈΓΑ"},
	}
	for _, group := range same {
		want := NicknameKey(group[0])
		for _, n := range group[1:] {
			if got := NicknameKey(n); got != want {
				t.Errorf("NicknameKey(%q) = %q, want %q (as for %q)", n, got, want, group[0])
			}
		}
	}
	different := [][2]string{{"Ana", "Anna"}, {"Ana", "Ana 2"}, {"Ana", "Aña"}, {"a.b", "a_b"}}
	for _, p := range different {
		if NicknameKey(p[0]) == NicknameKey(p[1]) {
			t.Errorf("NicknameKey(%q) == NicknameKey(%q)", p[0], p[1])
		}
	}
}

func TestNormalizeGroupName(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"Team A", "Team A"},
		{"  Team   A  ", "Team A"},
		{"Team\nA", "Team A"},
		{"x", "x"},
		{"Équipe ✓ #1 (web)", "Équipe ✓ #1 (web)"},
		{strings.Repeat("g", 80), strings.Repeat("g", 80)},
		{strings.Repeat("ü", 80), strings.Repeat("ü", 80)},
		{"", ""},
		{" \t\n ", ""},
		{strings.Repeat("g", 81), ""},
		{strings.Repeat("g", 100000), ""},
		{"Team\x00A", ""},
		{"Team\x7fA", ""},
		{"Team\u0085A", "Team A"}, // NEL is white space: folded away
		{"Team\x1bA", ""},
		{"Team\xffA", ""},
	}
	for _, tt := range tests {
		got, msg := NormalizeGroupName(tt.raw)
		if got != tt.want || (msg == "") != (tt.want != "") {
			t.Errorf("NormalizeGroupName(%.40q) = %q, %q; want %q", tt.raw, got, msg, tt.want)
		}
	}
}

func TestValidateIssue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, desc   string
		wantKey, wantDesc string
		errFields         string // comma-separated fields with a message
	}{
		{"plain", "SHOP-12", "Checkout page", "SHOP-12", "Checkout page", ""},
		{"trimmed", "  SHOP-12 ", "  text  \n", "SHOP-12", "text", ""},
		{"key spaces folded", "A  \t B", "", "A B", "", ""},
		{"empty description", "K", "", "K", "", ""},
		{"description keeps lines and tabs", "K", "line 1\r\n\tline 2", "K", "line 1\n\tline 2", ""},
		{"key 32", strings.Repeat("k", 32), "", strings.Repeat("k", 32), "", ""},
		{"description 2000", "K", strings.Repeat("d", 2000), "K", strings.Repeat("d", 2000), ""},
		{"empty key", "", "x", "", "x", "key"},
		{"blank key", "   ", "x", "", "x", "key"},
		{"key 33", strings.Repeat("k", 33), "", "", "", "key"},
		{"description 2001", "K", strings.Repeat("d", 2001), "K", "", "description"},
		{"key NUL", "K\x00", "", "", "", "key"},
		{"description NUL", "K", "a\x00b", "K", "", "description"},
		{"description bare CR", "K", "a\rb", "K", "", "description"},
		{"description escape", "K", "\x1b[31mred", "K", "", "description"},
		{"key invalid UTF-8", "K\xff", "", "", "", "key"},
		{"description invalid UTF-8", "K", "\xc3\x28", "K", "", "description"},
		{"both wrong", "", strings.Repeat("d", 5000), "", "", "description,key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, errs := ValidateIssue(tt.key, tt.desc)
			var fields []string
			for _, f := range []string{"description", "key"} {
				if errs[f] != "" {
					fields = append(fields, f)
				}
			}
			if got := strings.Join(fields, ","); got != tt.errFields {
				t.Fatalf("fields with messages = %q (%v), want %q", got, errs, tt.errFields)
			}
			if !strings.Contains(tt.errFields, "key") && in.Key != tt.wantKey {
				t.Errorf("Key = %q, want %q", in.Key, tt.wantKey)
			}
			if !strings.Contains(tt.errFields, "description") && in.Description != tt.wantDesc {
				t.Errorf("Description = %q, want %q", in.Description, tt.wantDesc)
			}
		})
	}
}

func FuzzParseEstimate(f *testing.F) {
	for _, s := range []string{"1", "100", "101", "0", " 5 ", "+5", "-1", "1e2", "0x10", "4.5", "５", "\x00", "\xff", "007", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, msg := ParseEstimate(raw)
		if msg != "" {
			if n != 0 {
				t.Fatalf("ParseEstimate(%q) refused with %q but returned %d", raw, msg, n)
			}
			return
		}
		if n < EstimateMin || n > EstimateMax {
			t.Fatalf("ParseEstimate(%q) accepted %d, out of range", raw, n)
		}
		digits := strings.TrimSpace(raw)
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				t.Fatalf("ParseEstimate(%q) accepted a non-digit %q", raw, digits[i])
			}
		}
		if v, err := strconv.Atoi(digits); err != nil || v != n {
			t.Fatalf("ParseEstimate(%q) = %d, but the digits say %d (%v)", raw, n, v, err)
		}
	})
}

func FuzzNormalizeNickname(f *testing.F) {
	for _, s := range []string{"Ana", "  Ana   Maria ", "Ａｎａ", "Zoe\u0308", "a", strings.Repeat("x", 33), "a\x00b", "\xff\xfe", "名前", "Straße", "a\u2003\u0301b", "ǅ", "ﬁx", "\u3164\u3164", "- -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		nick, msg := NormalizeNickname(raw)
		if msg != "" {
			if nick != "" {
				t.Fatalf("NormalizeNickname(%q) refused with %q but returned %q", raw, msg, nick)
			}
			return
		}
		if !utf8.ValidString(nick) {
			t.Fatalf("NormalizeNickname(%q) = %q, not UTF-8", raw, nick)
		}
		if n := utf8.RuneCountInString(nick); n < NicknameMin || n > NicknameMax {
			t.Fatalf("NormalizeNickname(%q) = %q, %d characters", raw, nick, n)
		}
		if nick != strings.TrimSpace(nick) || strings.Contains(nick, "  ") {
			t.Fatalf("NormalizeNickname(%q) = %q, untrimmed or unfolded spaces", raw, nick)
		}
		var prev rune
		for _, r := range nick {
			// A combining mark is allowed right after a letter (or another mark).
			mark := unicode.IsMark(r) && (unicode.IsLetter(prev) || unicode.IsMark(prev))
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || mark || strings.ContainsRune(" -_.", r)) {
				t.Fatalf("NormalizeNickname(%q) = %q, with %q", raw, nick, r)
			}
			prev = r
		}
		if !strings.ContainsFunc(nick, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) ||
			strings.ContainsFunc(nick, func(r rune) bool { return unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) }) {
			t.Fatalf("NormalizeNickname(%q) = %q, blank-looking", raw, nick)
		}
		again, msg2 := NormalizeNickname(nick)
		if msg2 != "" || again != nick {
			t.Fatalf("not idempotent: %q → %q → %q (%q)", raw, nick, again, msg2)
		}
		key := NicknameKey(nick)
		if key == "" {
			t.Fatalf("NicknameKey(%q) is empty", nick)
		}
		if NicknameKey(again) != key || NicknameKey(nick) != key {
			t.Fatalf("NicknameKey of %q is not stable", nick)
		}
	})
}
