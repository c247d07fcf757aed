package testkit

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReaderParsesEvents(t *testing.T) {
	in := ": hello\n\n" +
		"data: <p>one</p>\n\n" +
		"event: navigate\r\ndata: /issues/7\r\n\r\n" +
		"id: 3\ndata: line 1\ndata:line 2\n\n" +
		"HTTP/1.1 200 OK\n" + // a raw connection's status line is skipped
		"data: last\n\n"
	r := NewReader(strings.NewReader(in))
	want := []Event{
		{Comment: true, Data: "hello"},
		{Data: "<p>one</p>"},
		{Name: "navigate", Data: "/issues/7"},
		{ID: "3", Data: "line 1\nline 2"},
		{Data: "last"},
	}
	for i, w := range want {
		got, err := r.Next()
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("event %d = %+v, %v; want %+v", i, got, err, w)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last event: %v, want EOF", err)
	}
}
