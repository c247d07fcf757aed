package pgbus

import (
	"context"
	"strconv"
	"strings"

	"estimator/live"
)

// LiveBus is the live package's Bus over PostgreSQL: a notice travels as a
// line of ids ("kind topic group user session,session,…"; for OwnChanged the
// last field is the page tab that made the change), nothing else.
type LiveBus struct{ *Bus }

var _ live.Bus = LiveBus{}

// Publish sends n to every instance; a SessionsEnded notice too long for one
// NOTIFY goes as several.
func (l LiveBus) Publish(ctx context.Context, n live.Notice) error {
	for _, p := range encodeNotice(n) {
		if err := l.Bus.Publish(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Listen hands every notice to deliver, and a Resync after the bus got its
// connection back.
func (l LiveBus) Listen(deliver func(live.Notice)) (stop func()) {
	return l.Bus.Listen(func(p string) {
		if n, ok := decodeNotice(p); ok {
			deliver(n)
		}
	}, func() { deliver(live.Notice{Kind: live.Resync}) })
}

func encodeNotice(n live.Notice) []string {
	head := strconv.Itoa(int(n.Kind)) + " " + strconv.FormatInt(n.Topic, 10) + " " + strconv.FormatInt(n.Group, 10) + " " + strconv.FormatInt(n.User, 10) + " "
	if n.Kind == live.OwnChanged {
		if !live.IsTab(n.Tab) {
			return []string{head} // not a tab id: every stream of theirs
		}
		return []string{head + n.Tab}
	}
	if len(n.Sessions) == 0 {
		return []string{head}
	}
	var out []string
	var b strings.Builder
	for _, id := range n.Sessions {
		s := strconv.FormatInt(id, 10)
		if b.Len() > 0 && len(head)+b.Len()+1+len(s) > MaxPayload {
			out = append(out, head+b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	return append(out, head+b.String())
}

func decodeNotice(p string) (live.Notice, bool) {
	f := strings.SplitN(p, " ", 5)
	if len(f) != 5 {
		return live.Notice{}, false
	}
	var nums [4]int64
	for i := range nums {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return live.Notice{}, false
		}
		nums[i] = v
	}
	n := live.Notice{Kind: live.Kind(nums[0]), Topic: nums[1], Group: nums[2], User: nums[3]}
	if n.Kind == live.OwnChanged {
		if f[4] != "" && !live.IsTab(f[4]) {
			return live.Notice{}, false
		}
		n.Tab = f[4]
		return n, true
	}
	if f[4] != "" {
		for _, s := range strings.Split(f[4], ",") {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return live.Notice{}, false
			}
			n.Sessions = append(n.Sessions, id)
		}
	}
	return n, true
}
