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
// count past the first piece, and follows a navigate event to the issue it
// names.
func TestScreenReadsLongEvents(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pad := strings.Repeat(`<td class="x">filler</td>`, 400) // ~10 KB, past the 4 KiB buffer
	event := func(id int, state string, count int) string {
		return fmt.Sprintf("id: %d\ndata: <section id=\"status\" data-state=%q>%s<strong data-testid=\"voted-count\">%d of 3 voted</strong>%s</section>\n\n",
			id, state, pad, count, pad)
	}
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
		fmt.Fprint(c, "event: navigate\ndata: /issues/42\n\n")
	}()
	tr := newTracker(1)
	tr.reset(7, 3)
	s := &screen{rm: &room{group: 1}, idx: 0, p: &person{base: "http://" + ln.Addr().String(), cookie: "c=1"}, tr: tr}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, err := s.stream(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if next != 42 {
		t.Errorf("navigated to %d, want 42", next)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := tr.counts[0]
	if tr.ready[0].IsZero() || c[0].IsZero() || c[2].IsZero() || c[3].IsZero() {
		t.Errorf("counts seen %v, ready %v", c, tr.ready[0])
	}
	if !c[1].Equal(c[2]) {
		t.Errorf("a count of 2 should also mark 1 seen: %v", c)
	}
	if tr.revealed[0].IsZero() || tr.revealed[0].Before(c[2]) {
		t.Errorf("revealed at %v, counts %v", tr.revealed[0], c)
	}
}
