//go:build race

package main

// raceBuild: the tests run with -race, so the binary they start is built with
// it too. That reuses the race-instrumented packages the test build already
// compiled, and the server under load is checked for data races as well.
const raceBuild = true
