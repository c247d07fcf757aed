package handlers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"estimator/store"
)

// rawStream is a bare TCP connection holding an event stream open: the lightest
// client there is, so what the benchmarks measure is the server's cost.
type rawStream struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialStream(tb testing.TB, addr string, issueID int64, cookies []*http.Cookie) *rawStream {
	tb.Helper()
	return dialStreamAt(tb, addr, fmt.Sprintf("/issues/%d/events", issueID), cookies)
}

// dialStreamAt opens the stream at path (an issue's or a group's).
func dialStreamAt(tb testing.TB, addr, path string, cookies []*http.Cookie) *rawStream {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	var ck []string
	for _, c := range cookies {
		ck = append(ck, c.Name+"="+c.Value)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nHX-Request: true\r\nCookie: %s\r\n\r\n",
		path, addr, strings.Join(ck, "; "))
	return &rawStream{conn: conn, r: bufio.NewReaderSize(conn, 512)}
}

// until reads lines until one contains marker.
func (s *rawStream) until(marker string) error {
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.Contains(line, marker) {
			return nil
		}
	}
}

func cookieList(c *client) []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range c.cookies {
		out = append(out, ck)
	}
	return out
}

// BenchmarkFanOut1000 measures how long a vote takes to reach 1,000 subscribers
// of one issue: each iteration is one vote, timed from just before the change is
// published to the moment each subscriber has read its event. Reports p50 and p99
// over all deliveries, in milliseconds.
func BenchmarkFanOut1000(b *testing.B) {
	const n = 1000
	ta := newTestApp(b, func(c *Config) {
		c.StreamHeartbeat = time.Hour
		c.MaxStreamsPerSession = n
	})
	rd := newRound(b, ta, 1)
	addr := strings.TrimPrefix(rd.srv.URL, "http://")
	ctx := context.Background()
	member, _ := ta.st.UserByNickname(ctx, "member1")

	streams := make([]*rawStream, n)
	for i := range streams {
		streams[i] = dialStream(b, addr, rd.issueID, cookieList(rd.owner))
		if err := streams[i].until("voted-count"); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, s := range streams {
			s.conn.Close()
		}
	}()
	var latencies []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		value := []int{5, 8}[i%2]
		var wg sync.WaitGroup
		wg.Add(n)
		start := time.Now()
		if _, err := ta.st.Estimate(ctx, rd.issueID, member.ID, store.Vote{Value: value}); err != nil {
			b.Fatal(err)
		}
		for _, s := range streams {
			go func() {
				defer wg.Done()
				if err := s.until("voted-count"); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(start)
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(float64(len(latencies)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(n), "subscribers")
}

// BenchmarkIdleSubscriberMemory measures the server's memory per idle event
// stream: heap and goroutine stacks before and after opening 1,000 streams that
// have received their first event, divided by 1,000. The clients are bare TCP
// connections without goroutines, so nearly all of it is the server's.
func BenchmarkIdleSubscriberMemory(b *testing.B) {
	const n = 1000
	ta := newTestApp(b, func(c *Config) {
		c.StreamHeartbeat = time.Hour
		c.MaxStreamsPerSession = n
	})
	rd := newRound(b, ta, 1)
	addr := strings.TrimPrefix(rd.srv.URL, "http://")
	var perSub, heapPer, stackPer float64
	for i := 0; i < b.N; i++ {
		before := memInUse()
		hb, sb := heapStack()
		streams := make([]*rawStream, n)
		for j := range streams {
			streams[j] = dialStream(b, addr, rd.issueID, cookieList(rd.members[0]))
			if err := streams[j].until("voted-count"); err != nil {
				b.Fatal(err)
			}
		}
		after := memInUse()
		ha, sa := heapStack()
		perSub = float64(after-before) / n
		heapPer, stackPer = float64(ha-hb)/n, float64(sa-sb)/n
		for _, s := range streams {
			s.conn.Close()
		}
		for ta.app.hub.Subscribers() > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.ReportMetric(perSub/1024, "KiB/subscriber")
	b.ReportMetric(heapPer/1024, "heap-KiB/subscriber")
	b.ReportMetric(stackPer/1024, "stack-KiB/subscriber")
}

func heapStack() (uint64, uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
