package testkit

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Event is one server-sent event. A comment line (the heartbeat) is an Event
// with Comment set and its text in Data.
type Event struct {
	Name, ID, Data string
	Comment        bool
}

// Reader reads server-sent events one at a time.
type Reader struct{ br *bufio.Reader }

// NewReader reads the events of r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReader(r)} }

// Next returns the next event (a comment line is an Event with Comment set),
// or the reader's error (io.EOF when the stream ended).
func (r *Reader) Next() (Event, error) {
	var ev Event
	var data []string
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return Event{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if len(data) > 0 || ev.Name != "" {
				ev.Data = strings.Join(data, "\n")
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			return Event{Comment: true, Data: strings.TrimSpace(line[1:])}, nil
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(line[len("data:"):], " "))
		case strings.HasPrefix(line, "event:"):
			ev.Name = strings.TrimPrefix(line[len("event:"):], " ")
		case strings.HasPrefix(line, "id:"):
			ev.ID = strings.TrimPrefix(line[len("id:"):], " ")
		}
	}
}

// Stream reads the events of an open event-stream response in the
// background; the test takes them with Next, NextAny and Until.
type Stream struct {
	t      testing.TB
	Resp   *http.Response
	events chan Event
	ended  chan struct{}
	quit   chan struct{}
	once   sync.Once
	stop   func()
}

// NewStream reads resp's events (when its status is 200; otherwise the stream
// is empty) until the test ends or Close is called; stop, when not nil, is
// called on Close (to cancel the request).
func NewStream(t testing.TB, resp *http.Response, stop func()) *Stream {
	s := &Stream{t: t, Resp: resp, events: make(chan Event, 64), ended: make(chan struct{}), quit: make(chan struct{}), stop: stop}
	if resp.StatusCode != http.StatusOK {
		close(s.events)
		close(s.ended)
	} else {
		go func() {
			defer close(s.ended)
			defer close(s.events)
			r := NewReader(resp.Body)
			for {
				ev, err := r.Next()
				if err != nil {
					return
				}
				select {
				case s.events <- ev:
				case <-s.quit:
					return
				}
			}
		}()
	}
	t.Cleanup(s.Close)
	return s
}

// Close ends the stream.
func (s *Stream) Close() {
	s.once.Do(func() {
		close(s.quit)
		if s.stop != nil {
			s.stop()
		}
		s.Resp.Body.Close()
	})
}

// Ends reports whether the server ends the stream within timeout (the events
// still unread are dropped).
func (s *Stream) Ends(timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// NextAny returns the next event, comments included; ok is false when the
// stream ended or nothing came within timeout.
func (s *Stream) NextAny(timeout time.Duration) (ev Event, ok bool) {
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(timeout):
		return Event{}, false
	}
}

// Next returns the next event that is not a comment.
func (s *Stream) Next(timeout time.Duration) (Event, bool) {
	deadline := time.Now().Add(timeout)
	for {
		ev, ok := s.NextAny(time.Until(deadline))
		if !ok || !ev.Comment {
			return ev, ok
		}
	}
}

// MustNext is Next within 5 seconds, failing the test when nothing comes.
func (s *Stream) MustNext() Event {
	s.t.Helper()
	ev, ok := s.Next(5 * time.Second)
	if !ok {
		s.t.Fatal("no event within 5s")
	}
	return ev
}

// Until reads events until one satisfies ok and returns it, failing the test
// when none does within within; what says what was awaited.
func (s *Stream) Until(within time.Duration, what string, ok func(Event) bool) Event {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev, more := s.Next(time.Until(deadline))
		if !more {
			s.t.Fatalf("no event within %v: %s", within, what)
		}
		if ok(ev) {
			return ev
		}
	}
}
