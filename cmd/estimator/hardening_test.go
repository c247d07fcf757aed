package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// TestSigninLimitFlags: --signin-burst and --signin-rate set the per-address
// sign-in limit of the running server.
func TestSigninLimitFlags(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "limit.db"), "--signin-burst", "3", "--signin-rate", "1/h")
	defer p.stop()
	for i := range 5 {
		b := newBrowser(p.base, nil)
		err := b.signIn(fmt.Sprintf("Person %d", i))
		switch {
		case i < 3 && err != nil:
			t.Fatalf("sign-in %d within the burst: %v", i, err)
		case i >= 3:
			a, err := b.post("/login", nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
				t.Fatalf("sign-in %d past the burst: %s", i, a)
			}
		}
	}
}
