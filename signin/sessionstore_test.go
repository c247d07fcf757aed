package signin

import (
	"fmt"
	"maps"
	"testing"
)

// The decoded session data: what json.Unmarshal gives, for the same bytes as
// for new ones; nothing for data that is no object of strings; bounded.
func TestDecodedValues(t *testing.T) {
	var d decodedValues
	data := []byte(`{"lang":"pt-BR","next":"/groups/12/issues?q=PLAT-1234-api%20gateway","csrf":"\u00e9\"x\\y"}`)
	want := map[string]string{"lang": "pt-BR", "next": "/groups/12/issues?q=PLAT-1234-api%20gateway", "csrf": "é\"x\\y"}
	for i := range 2 {
		got, ok := d.get(data)
		if !ok || !maps.Equal(got, want) {
			t.Fatalf("get %d: %v %v", i, got, ok)
		}
	}
	for _, bad := range []string{`{"n":1}`, `[1]`, `{"a":`, ``} {
		if got, ok := d.get([]byte(bad)); ok {
			t.Errorf("%q decoded to %v", bad, got)
		}
	}
	for i := range decodedValuesMax + 10 {
		if _, ok := d.get(fmt.Appendf(nil, `{"n":"%d"}`, i)); !ok {
			t.Fatal(i)
		}
	}
	if n := len(d.m); n > decodedValuesMax {
		t.Errorf("%d kept, at most %d", n, decodedValuesMax)
	}
}
