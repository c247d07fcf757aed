package pgbus

import (
	"reflect"
	"strings"
	"testing"

	"estimator/live"
)

func TestNoticeRoundTrip(t *testing.T) {
	t.Parallel()
	many := make([]int64, 3000)
	for i := range many {
		many[i] = int64(1e12 + i)
	}
	for _, n := range []live.Notice{
		{Kind: live.TopicChanged, Topic: 42},
		{Kind: live.MemberLeft, Group: 7, User: 9},
		{Kind: live.OwnChanged, Topic: 42, User: 9},
		{Kind: live.OwnChanged, Topic: 42, User: 9, Tab: "Zq3-_9xY0aBcDeFgHiJkLmNoPqRsTuVw"},
		{Kind: live.SessionsEnded, Sessions: []int64{1, 2, 3}},
		{Kind: live.SessionsEnded, Sessions: many},
	} {
		var got live.Notice
		parts := encodeNotice(n)
		for _, p := range parts {
			if len(p) > MaxPayload {
				t.Fatalf("payload of %d bytes", len(p))
			}
			d, ok := decodeNotice(p)
			if !ok {
				t.Fatalf("decode %q failed", p)
			}
			got.Kind, got.Topic, got.Group, got.User, got.Tab = d.Kind, d.Topic, d.Group, d.User, d.Tab
			got.Sessions = append(got.Sessions, d.Sessions...)
		}
		if !reflect.DeepEqual(got, n) {
			t.Errorf("%v: round trip gives %v", n.Kind, got.Kind)
		}
		if len(n.Sessions) == len(many) && len(parts) < 2 {
			t.Errorf("3,000 sessions fit in %d NOTIFY", len(parts))
		}
	}
	// A tab that is no tab id travels as none (every stream of the person).
	if p := encodeNotice(live.Notice{Kind: live.OwnChanged, Topic: 1, User: 2, Tab: "a b"}); len(p) != 1 || p[0] != "10 1 0 2 " {
		t.Errorf("a bad tab encodes as %q", p)
	}
	for _, bad := range []string{"", "1 2 3", "x 1 2 3 ", "1 2 3 4 5,y", "10 1 0 2 a,b", "10 1 0 2 " + strings.Repeat("x", 33)} {
		if _, ok := decodeNotice(bad); ok {
			t.Errorf("decodeNotice(%q) accepted", bad)
		}
	}
}
