// Package testkit is what the tests of every package share: a fresh database
// (an SQLite file, or a PostgreSQL schema of its own), one reader of
// server-sent events, and Eventually, which waits for a condition instead of
// sleeping. It imports nothing of the app, so any package's tests can use it.
package testkit
