package testkit

import (
	"testing"
	"time"
)

// Eventually waits until cond holds, checking it every few milliseconds, and
// fails the test when it does not hold within within; what says what was
// awaited. Tests wait for a condition with it, never for a fixed time.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
