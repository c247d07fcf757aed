//go:build unix

package store

import (
	"encoding/binary"
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex is a read-only view of the header of the database's WAL index: the
// "-shm" file that SQLite maps into every connection, of every process, that
// has the database open in WAL mode. Every commit rewrites the header (the
// count of frames in the log and their checksum, new salts when the log starts
// over) before it returns, so a header unchanged since a check means nothing
// was committed since: the generation check reads it instead of asking SQLite
// (PRAGMA data_version takes a read transaction, its file locks and about as
// much time as the rest of a cached page). It is mapped only while the check's
// own connection is open: the file is never truncated while any connection
// has it open.
type walIndex struct {
	f   *os.File
	mem []byte
}

// walHeaderSize is the size of one copy of the header (WalIndexHdr in
// SQLite's wal.c); the file holds two, then the checkpoint's information.
const walHeaderSize = 48

type walHeader [walHeaderSize]byte

func openWALIndex(path string) (*walIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() < 2*walHeaderSize {
		f.Close()
		return nil, errors.New("wal index: too short")
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, walHeaderSize, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &walIndex{f: f, mem: mem}, nil
}

// header reads the first copy of the header, a word at a time as SQLite's
// own readers do (the writer updates the second copy, then the first).
func (w *walIndex) header() (h walHeader) {
	for i := 0; i < walHeaderSize; i += 4 {
		v := atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[i])))
		binary.NativeEndian.PutUint32(h[i:], v)
	}
	return h
}

func (w *walIndex) close() {
	syscall.Munmap(w.mem)
	w.f.Close()
}
