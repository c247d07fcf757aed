//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// writable reports whether this process may write path (its mode and owner, as
// the kernel sees them; root may write anything).
func writable(path string) bool { return syscall.Access(path, 2 /* W_OK */) == nil }

// repairSidecars gives the -wal and -shm files the database file's mode when the
// database file is writable and they are not. SQLite creates them with the mode
// the database file has at that moment: started while the file was read-only
// (chmod 444), it leaves them read-only, and once the file is writable again no
// connection could write, and no restart either.
func repairSidecars(path string) error {
	fi, err := os.Stat(path)
	if err != nil || !writable(path) {
		return nil
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		p := path + suffix
		if _, err := os.Stat(p); err != nil || writable(p) {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("%s cannot be written (%w): stop the server, give it the owner and mode of %s (or remove it while no server runs), and start again", p, err, path)
		}
	}
	return nil
}
