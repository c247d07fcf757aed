package signin

import (
	"net/url"
	"testing"
)

// The sign-in form, decoded (it was the first part of handlers' TestDecodeForms).
func TestDecodeLoginForm(t *testing.T) {
	t.Parallel()
	f, nick := decodeLogin(url.Values{"nickname": {"  Zoë  "}, "remember": {"on"}, "next": {"//evil.example"}, "kept": {"ref"}})
	if nick != "Zoë" || !f.Remember || f.Next != "/" || f.Kept != "ref" || len(f.Errors) != 0 {
		t.Errorf("login: %+v %q", f, nick)
	}
	if f, _ := decodeLogin(url.Values{"nickname": {"x"}}); f.Errors["nickname"] == "" || f.Nickname != "x" {
		t.Errorf("short nickname: %+v", f)
	}
}
