//go:build !unix

package store

import "errors"

// Without mmap the generation check asks SQLite each time (walindex.go).
type walIndex struct{}

const walHeaderSize = 48

type walHeader [walHeaderSize]byte

func openWALIndex(string) (*walIndex, error) {
	return nil, errors.New("wal index: not mapped on this system")
}

func (*walIndex) header() walHeader { return walHeader{} }

func (*walIndex) close() {}
