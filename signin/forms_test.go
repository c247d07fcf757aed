package signin

import (
	"net/url"
	"testing"

	"estimator/i18n"
)

// The sign-in form, decoded (it was the first part of handlers' TestDecodeForms).
func TestDecodeLoginForm(t *testing.T) {
	t.Parallel()
	f, nick := decodeLogin(url.Values{"nickname": {"  Zoë  "}, "remember": {"on"}, "next": {"//evil.example"}, "kept": {"ref"}}, i18n.EN)
	if nick != "Zoë" || !f.Remember || f.Next != "/" || f.Kept != "ref" || len(f.Errors) != 0 {
		t.Errorf("login: %+v %q", f, nick)
	}
	if f, _ := decodeLogin(url.Values{"nickname": {"x"}}, i18n.EN); f.Errors["nickname"] == "" || f.Nickname != "x" {
		t.Errorf("short nickname: %+v", f)
	}
}
