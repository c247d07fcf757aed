package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"estimator/store"
)

// TestRevealScrubSurvivesSIGKILLWhileAReaderHoldsASnapshot: another process
// (a backup, an sqlite3 shell) holds a read snapshot from before the reveal,
// so the reveal's checkpoint cannot scrub the write-ahead log; the server is
// then killed (SIGKILL). The scrub was due: the next start finishes it before
// it serves — it waits for the reader to let go — and afterwards neither the
// database file nor its WAL holds a vote of the revealed round.
func TestRevealScrubSurvivesSIGKILLWhileAReaderHoldsASnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "scrub.db")
	srv := startServer(t, db)
	owner := newBrowser(srv.base, nil)
	if err := owner.signIn("Scrub-owner-with-a-long-nickname"); err != nil {
		t.Fatal(err)
	}
	_, invite, issueID := owner.groupWithIssue(t, "Scrub after a crash", "SCRUB-1")
	room := fmt.Sprintf("/issues/%d", issueID)
	votes := map[string]int{"Scrub-owner-with-a-long-nickname": 71, "Mira-Kowalczyk-Estimates-Things": 97, "Noa": 59, "Piet-van-der-Berg": 83}
	browsers := map[string]*browser{"Scrub-owner-with-a-long-nickname": owner}
	for nick := range votes {
		if browsers[nick] != nil {
			continue
		}
		b := newBrowser(srv.base, nil)
		if err := b.signIn(nick); err != nil {
			t.Fatal(err)
		}
		b.mustPost(t, "/join/"+invite, nil)
		browsers[nick] = b
	}
	for nick, v := range votes {
		browsers[nick].mustPost(t, room+"/estimate", url.Values{"estimate": {fmt.Sprint(v)}})
	}

	// The votes as stored: a slot of the round's ballot (8-byte user id, the
	// card's byte), or, before ballots, the start of an estimates row.
	raw := openRaw(t, db)
	var patterns [][]byte
	for nick, v := range votes {
		var uid int64
		if err := raw.QueryRow("SELECT id FROM users WHERE nickname = ?", nick).Scan(&uid); err != nil {
			t.Fatal(err)
		}
		ti, bi := smallInt(issueID)
		tu, bu := smallInt(uid)
		row := append(append(append([]byte{6, ti, tu, 1, 4, 0}, bi...), bu...), byte(v))
		patterns = append(patterns, append(binary.BigEndian.AppendUint64(nil, uint64(uid)), byte(v)), row)
	}
	found := func() []string {
		var out []string
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(db + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			for _, p := range patterns {
				if bytes.Contains(b, p) {
					out = append(out, fmt.Sprintf("db%s holds a vote (%x)", suffix, p))
				}
			}
		}
		return out
	}

	// The outside reader takes its snapshot, and the owner reveals.
	reader, err := sql.Open("sqlite", store.DSN(db, 5*time.Second, true))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	snap, err := reader.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if _, err := snap.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := snap.QueryRowContext(ctx, "SELECT COUNT(*) FROM issues").Scan(&n); err != nil {
		t.Fatal(err)
	}
	owner.mustPost(t, room+"/reveal", url.Values{"confirmed": {"1"}})
	if len(found()) == 0 {
		t.Fatal("no vote found in the files while the reader holds its snapshot: the test would prove nothing")
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !srv.wait(10 * time.Second) {
		t.Fatal("server alive 10s after SIGKILL")
	}

	// The reader lets go 2 seconds into the restart: the server must not
	// serve before.
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(2 * time.Second)
		snap.ExecContext(ctx, "ROLLBACK")
		snap.Close()
		released <- time.Now()
	}()
	srv2 := startServer(t, db)
	served := time.Now()
	select {
	case at := <-released:
		if served.Before(at) {
			t.Errorf("the server served %v before the reader let go, with the scrub not done", at.Sub(served))
		}
	default:
		t.Error("the server served while the reader still held its snapshot, with the scrub not done")
	}
	if a, err := newBrowser(srv2.base, nil).get("/healthz"); err != nil || a.status != http.StatusOK {
		t.Fatalf("/healthz after the restart: %v %v", a, err)
	}
	for _, msg := range found() {
		t.Errorf("after the restart: %s", msg)
	}
	srv2.stop()
	for _, msg := range found() {
		t.Errorf("after a clean stop: %s", msg)
	}
}

// smallInt is SQLite's record serial type and body of an integer 0–127.
func smallInt(v int64) (byte, []byte) {
	switch v {
	case 0:
		return 8, nil
	case 1:
		return 9, nil
	}
	return 1, []byte{byte(v)}
}
