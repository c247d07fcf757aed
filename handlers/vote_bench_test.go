package handlers

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// BenchmarkVoteAnswer measures the htmx answer to a vote, which goes out padded
// and uncompressed so its length says nothing about the value: bytes on the wire
// per answer, against what gzip would have made of the same answer.
func BenchmarkVoteAnswer(b *testing.B) {
	ta := newTestApp(b)
	tm := ta.team("Bench", "Owner", "Voter")
	issue := tm.owner.addIssue(tm.gid, "BENCH-1", "An issue with a description of ordinary length, as teams write them.")
	path := fmt.Sprintf("/issues/%d/estimate", issue)
	hx := tm.members[0].htmxFrom(path).with("Accept-Encoding", "gzip")
	var wire, gz int
	i := 0
	for b.Loop() {
		r := hx.post(path, url.Values{"estimate": {strconv.Itoa(1 + i%100)}})
		if r.status != http.StatusOK {
			b.Fatalf("status %d", r.status)
		}
		i++
		wire = len(r.body)
		if gz == 0 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			zw.Write([]byte(r.body))
			zw.Close()
			gz = buf.Len()
		}
	}
	b.ReportMetric(float64(wire), "wire-bytes")
	b.ReportMetric(float64(gz), "gzip-bytes")
}
