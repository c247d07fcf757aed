package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// The scenario's stream reader finds the state and the count in events whose
// one data line is longer than its buffer (the room's live panel is), with the
// count past the first piece, and follows a move to the issue it names on the
// same stream: the states after it count for that issue.
func TestScreenReadsLongEvents(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pad := strings.Repeat(`<td class="x">filler</td>`, 400) // ~10 KB, past the 4 KiB buffer
	event := func(id int, state string, count int) string {
		return fmt.Sprintf("id: 7-%d\ndata: <section id=\"status\" data-state=%q>%s<strong data-testid=\"voted-count\">%d of 3 voted</strong>%s</section>\n\n",
			id, state, pad, count, pad)
	}
	moveNow := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for { // the request head
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
		fmt.Fprint(c, ": ping\n\n")
		fmt.Fprint(c, event(1, "open", 0))
		fmt.Fprint(c, event(2, "open", 2))
		fmt.Fprint(c, event(3, "revealed", 3))
		<-moveNow
		fmt.Fprintf(c, "event: move\ndata: <div id=\"room-head\" data-path=\"/issues/42\" data-title=\"X\">%s</div>\n\n", pad)
		fmt.Fprint(c, strings.Replace(event(1, "open", 1), "id: 7-", "id: 42-", 1))
	}()
	tr := newTracker(1)
	tr.reset(7, 3)
	s := &screen{rw: &roomWorld{}, rm: &room{group: 1}, idx: 0, p: &person{base: "http://" + ln.Addr().String(), cookie: "c=1"}, tr: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.stream(ctx, 7) }()
	// Issue 7's states, then (tracking 42 from now on, as the runner does
	// before the start) the move and 42's first state.
	tr.all(time.Now().Add(5*time.Second), func(int) time.Time { return tr.revealed[0] })
	tr.mu.Lock()
	c := tr.counts[0]
	ready7 := tr.ready[0]
	tr.mu.Unlock()
	tr.reset(42, 3)
	close(moveNow)
	if _, ok := tr.all(time.Now().Add(5*time.Second), func(int) time.Time { return tr.counts[0][1] }); !ok {
		t.Error("the state of issue 42 after the move was not counted")
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "ended") {
		t.Errorf("the stream's end: %v", err)
	}
	if n := s.rw.dials.Load(); n != 1 {
		t.Errorf("%d streams opened, want 1", n)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.ready[0] = ready7
	if tr.ready[0].IsZero() || c[0].IsZero() || c[2].IsZero() || c[3].IsZero() {
		t.Errorf("counts seen %v, ready %v", c, tr.ready[0])
	}
	if !c[1].Equal(c[2]) {
		t.Errorf("a count of 2 should also mark 1 seen: %v", c)
	}
	if c[3].Before(c[2]) {
		t.Errorf("revealed at %v, counts %v", c[3], c)
	}
}

// The count is found wherever the reader's buffer cuts its event, also when
// the cut falls inside the count's own mark (a frame a byte longer or
// shorter, a longer nickname, moves the cut).
func TestScreenFindsTheCountAcrossTheBuffersCut(t *testing.T) {
	for cut := -40; cut <= 2*len(countMark)+40; cut++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		head := `data: <section id="status" data-state="open">`
		// The mark starts cut bytes before the end of the first 4 KiB piece.
		pad := strings.Repeat("x", 4096-cut-len(head))
		line := fmt.Sprintf("%s%s<strong %s>7 of 10 voted</strong>%s</section>\n\n", head, pad, countMark, strings.Repeat("y", 5000))
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == "\r\n" {
					break
				}
			}
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
			fmt.Fprint(c, "id: 7-1\n"+line)
		}()
		tr := newTracker(1)
		tr.reset(7, 10)
		s := &screen{rw: &roomWorld{}, rm: &room{group: 1}, p: &person{base: "http://" + ln.Addr().String(), cookie: "c=1"}, tr: tr}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.stream(ctx, 7)
		cancel()
		ln.Close()
		if got := tr.most(); got[0] != 7 {
			t.Errorf("mark cut %d bytes before the buffer's end: counted %v, want 7", cut, got)
		}
	}
}
