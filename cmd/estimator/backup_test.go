package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"estimator/store"
)

// TestOnlineBackup: `estimator backup PATH`, a second process on the same
// database, writes a consistent copy while the server takes writes; it refuses
// to overwrite; and the README's restore steps bring the copy back.
func TestOnlineBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("a backup under 20 writers takes seconds: not with -short")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "estimator.db")
	srv := startServer(t, db, "--trusted-proxies", "127.0.0.1")
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)

	// Before the backup: an owner with a group and an issue, and people who
	// created groups and voted. All of it must be in the copy.
	owner := newBrowser(srv.base, tr)
	owner.xff = "10.8.0.1"
	if err := owner.signIn("backup owner"); err != nil {
		t.Fatal(err)
	}
	roomID, invite, issueID := owner.groupWithIssue(t, "backup room", "BK-1")
	const writers = 6
	people := make([]*browser, writers)
	before := map[int64]string{roomID: "backup room"} // group id → name
	for i := range people {
		b := newBrowser(srv.base, tr)
		b.xff = fmt.Sprintf("10.8.1.%d", i+1)
		if err := b.signIn(fmt.Sprintf("backup-%d", i)); err != nil {
			t.Fatal(err)
		}
		b.mustPost(t, "/join/"+invite, nil)
		b.mustPost(t, fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {strconv.Itoa(i + 1)}})
		for j := range 3 {
			name := fmt.Sprintf("before backup %d-%d", i, j)
			id, _, err := b.createGroup(name)
			if err != nil {
				t.Fatal(err)
			}
			before[id] = name
		}
		people[i] = b
	}

	// Writes go on while the backup runs.
	var (
		acked    atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		errsMu   sync.Mutex
		writeErr []string
	)
	for i, b := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5000 {
				select {
				case <-stop:
					return
				default:
				}
				var a answer
				var err error
				if round%2 == 0 {
					a, err = b.post(fmt.Sprintf("/issues/%d/estimate", issueID), url.Values{"estimate": {strconv.Itoa(1 + (i+round)%100)}})
				} else {
					_, a, err = b.createGroup(fmt.Sprintf("during backup %d-%d", i, round))
				}
				if err != nil || !a.acked() {
					errsMu.Lock()
					writeErr = append(writeErr, fmt.Sprintf("write during backup: %v %v", err, a))
					errsMu.Unlock()
					return
				}
				acked.Add(1)
			}
		}()
	}
	stopWriters := func() {
		select {
		case <-stop:
			return
		default:
		}
		close(stop)
		wg.Wait()
	}
	t.Cleanup(stopWriters)
	for deadline := time.Now().Add(20 * time.Second); acked.Load() < 20 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	copyPath := filepath.Join(dir, "backup.db")
	ackedBefore := acked.Load()
	// The README's form: estimator --db estimator.db backup backup.db
	stdout, stderr, code := runCLI(t, nil, "--db", db, "backup", copyPath)
	during := acked.Load() - ackedBefore
	stopWriters()
	if code != 0 {
		t.Fatalf("backup exited %d:\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "backed up") {
		t.Errorf("backup printed %q", stdout)
	}
	for _, e := range writeErr {
		t.Error(e)
	}
	if during == 0 {
		t.Errorf("no write was acknowledged while the backup process ran: the test did not back up during writes")
	}
	t.Logf("%d writes acknowledged while the backup process ran", during)

	// The copy opens with the store, is intact, and holds everything from
	// before the backup started, whole.
	ctx := context.Background()
	func() {
		st, err := store.Open(ctx, copyPath, store.Options{})
		if err != nil {
			t.Fatalf("open the backup: %v", err)
		}
		defer st.Close()
		if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
			t.Fatalf("integrity_check of the backup: %q %v", res, err)
		}
		raw := openRaw(t, copyPath)
		if fk := foreignKeyProblems(t, raw); len(fk) > 0 {
			t.Errorf("foreign_key_check of the backup: %v", fk)
		}
		for i := range people {
			u := mustUser(t, st, fmt.Sprintf("backup-%d", i))
			if _, role, err := st.GroupFor(ctx, roomID, u.ID); err != nil || role != store.RoleMember {
				t.Errorf("backup-%d is not a member of the room in the backup: %q %v", i, role, err)
			}
			if v, err := st.OwnEstimate(ctx, issueID, u.ID); err != nil || v.Value < 1 {
				t.Errorf("backup-%d's estimate is missing from the backup: %v %v", i, v, err)
			}
		}
		owners := groupOwners(t, raw)
		for id, name := range before {
			if g, ok := owners[name]; !ok || g.id != id || g.owner == "" {
				t.Errorf("group %d %q from before the backup: in the copy as %+v (present: %v)", id, name, g, ok)
			}
		}
		for name, g := range owners {
			if g.owner == "" {
				t.Errorf("the backup holds group %q without its owner", name)
			}
		}
	}()

	// An existing file is never overwritten: not a backup, not anything else.
	t.Run("refuses an existing path", func(t *testing.T) {
		precious := filepath.Join(dir, "precious.txt")
		if err := os.WriteFile(precious, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		copyBytes, err := os.ReadFile(copyPath)
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string][]byte{copyPath: copyBytes, precious: []byte("keep me")} {
			_, stderr, code := runCLI(t, nil, "--db", db, "backup", path)
			if code == 0 || !strings.Contains(stderr, "exists") {
				t.Errorf("backup to existing %s: exit %d, stderr %q; want a failure saying it exists", filepath.Base(path), code, stderr)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
				t.Errorf("backup to existing %s changed the file", filepath.Base(path))
			}
		}
	})

	// Something written after the backup, to tell the restored database from
	// the one it replaces.
	afterID, _, err := owner.createGroup("after the backup")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("README restore steps", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []string{"backup backup.db", "To **restore**, stop the server", "move", "-wal", "-shm", "start the server"} {
			if !strings.Contains(string(readme), step) {
				t.Fatalf("README's backup and restore section no longer says %q; update this test with it", step)
			}
		}
		// Stop the server, remove any -wal and -shm beside the old file, move the
		// backup into place as the database file, and start the server.
		srv.stop()
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Remove(db + suffix); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		if err := os.Rename(copyPath, db); err != nil {
			t.Fatal(err)
		}
		restored := startServer(t, db)
		if a, err := newBrowser(restored.base, nil).get("/healthz"); err != nil || a.status != http.StatusOK {
			t.Fatalf("/healthz after restore: %v %v", a, err)
		}
		// The owner's session is in the backup too: same cookie, signed in.
		o := owner.at(restored.base)
		page := o.mustGet(t, fmt.Sprintf("/groups/%d", roomID))
		if n := findTestID(parseHTML(t, page.body), "group-name"); n == nil || textOf(n) != "backup room" {
			t.Errorf("the restored group page does not show the group")
		}
		if a, err := o.get(fmt.Sprintf("/groups/%d", afterID)); err != nil || a.status != http.StatusNotFound {
			t.Errorf("the group made after the backup is still there after the restore: %v %v", a, err)
		}
		for i, b := range people {
			a, err := b.at(restored.base).get("/")
			if err != nil || a.status != http.StatusOK {
				t.Fatalf("home of backup-%d after restore: %v %v", i, a, err)
			}
			for j := range 3 {
				if name := fmt.Sprintf("before backup %d-%d", i, j); !strings.Contains(a.body, name) {
					t.Errorf("backup-%d's home after restore lacks %q", i, name)
				}
			}
		}
		// And the restored database takes writes.
		if _, _, err := o.createGroup("after the restore"); err != nil {
			t.Error(err)
		}
		restored.stop()
	})
}
