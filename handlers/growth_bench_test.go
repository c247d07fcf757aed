package handlers

// How the cost of a page, a vote and a live update grows with the data behind
// them: 10, 100 and 1,000 groups per user, members per group and issues per
// group. Each size is a database of its own, seeded so that only the measured
// dimension grows; every path goes through the real router (or, for the live
// update, through the very render the broker runs) over a real SQLite file.
// README (Performance, Growth) holds the table these figures make.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"estimator/assets"
	"estimator/live"
	"estimator/store"
)

// growthDim is a dimension the data grows along.
type growthDim string

const (
	groupsPerUser   growthDim = "groups-per-user"
	membersPerGroup growthDim = "members-per-group"
	issuesPerGroup  growthDim = "issues-per-group"
)

var growthDims = []growthDim{groupsPerUser, membersPerGroup, issuesPerGroup}

// The sizes that do not grow: a group of the groups-per-user world has
// growthSmall members and issues, a members world has growthSmall issues, an
// issues world growthSmall members.
const growthSmall = 10

// growthWorld is one seeded database and the app over it, seen by "grow", the
// user whose pages are measured: the owner of the group measured (a member of
// every group in the groups-per-user world).
type growthWorld struct {
	ta      *testApp
	cookies []*http.Cookie
	// groupID is the group measured; issueID its open issue voted on, on which
	// every other voter but one has voted (so no vote completes the round).
	groupID, issueID int64
	// present is everyone in the group: the room's live render as it is when
	// every member has the room open.
	present map[int64]bool
}

// newGrowthWorld seeds a database where dim has n rows and signs "grow" in.
func newGrowthWorld(tb testing.TB, dim growthDim, n int) *growthWorld {
	tb.Helper()
	ctx := context.Background()
	changes := new(store.Relay)
	st, err := store.Open(ctx, filepath.Join(tb.TempDir(), "growth.db"), store.Options{Driver: countingDriverName, Changes: changes})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	spec := store.SeedSpec{Users: growthSmall, Groups: 1, Members: growthSmall, Issues: growthSmall, Rand: rand.New(rand.NewPCG(1, 1))}
	switch dim {
	case groupsPerUser:
		spec.Groups, spec.Issues = n, n*growthSmall
	case membersPerGroup:
		spec.Users, spec.Members = n, n
	case issuesPerGroup:
		spec.Issues = n
	}
	if _, err := store.Seed(ctx, st, spec); err != nil {
		tb.Fatal(err)
	}
	app, err := New(Deps{Store: st, Assets: assets.FS, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Config: Config{LoginRate: rate.Inf, LoginBurst: 1}, Changes: changes})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(app.Close)
	ta := &testApp{t: tb, app: app, st: st}
	c := ta.client()
	c.login("grow")
	grow, err := st.UserByNickname(ctx, "grow")
	if err != nil {
		tb.Fatal(err)
	}
	// Seeded groups are numbered from 1; the one measured is the last.
	w := &growthWorld{ta: ta, cookies: benchCookies(c), groupID: int64(spec.Groups), present: map[int64]bool{}}
	for gid := int64(1); gid <= int64(spec.Groups); gid++ {
		g, _, err := st.GroupFor(ctx, gid, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := st.Join(ctx, g.InviteToken, grow); err != nil {
			tb.Fatal(err)
		}
	}
	members, err := st.Members(ctx, w.groupID)
	if err != nil {
		tb.Fatal(err)
	}
	owner := members[0]
	if owner.Role != store.RoleOwner {
		tb.Fatalf("first member is %s, not the owner", owner.Role)
	}
	if err := st.TransferOwnership(ctx, w.groupID, store.User{ID: owner.UserID, Nickname: owner.Nickname}, grow.ID); err != nil {
		tb.Fatal(err)
	}
	is, err := st.CreateIssue(ctx, w.groupID, store.IssueInput{Key: "GROW-1", Description: "The issue every path of the growth benchmarks looks at."})
	if err != nil {
		tb.Fatal(err)
	}
	w.issueID = is.ID
	for i, m := range members {
		w.present[m.UserID] = true
		if m.UserID == grow.ID || i == len(members)-1 {
			continue
		}
		if _, err := st.Estimate(ctx, is.ID, m.UserID, store.Vote{Value: store.Scale[i%len(store.Scale)]}); err != nil {
			tb.Fatal(err)
		}
	}
	w.present[grow.ID] = true
	return w
}

// growthPath is one measured path: do runs it once with ctx (which counts the
// statements it runs) and returns the bytes it produced.
type growthPath struct {
	name string
	do   func(ctx context.Context, i int) (int, error)
}

// paths are what dim affects: for groups per user, My Groups; for members and
// issues per group, the group page and the room. The vote and both live
// renders a vote causes (the room's and the group page's, for owners and
// members) are measured in every world.
func (w *growthWorld) paths(dim growthDim) []growthPath {
	page := func(name, path string) growthPath {
		return growthPath{name, func(ctx context.Context, _ int) (int, error) {
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
			return w.serve(r, http.StatusOK)
		}}
	}
	var ps []growthPath
	switch dim {
	case groupsPerUser:
		ps = append(ps, page("my-groups", "/"))
	default:
		ps = append(ps, page("group-page", fmt.Sprintf("/groups/%d", w.groupID)), page("room-page", fmt.Sprintf("/issues/%d", w.issueID)))
	}
	votePath := fmt.Sprintf("/issues/%d/estimate", w.issueID)
	room, group := statusFrames(w.ta.st, newRoomCache()), groupFrames(w.ta.st)
	return append(ps,
		growthPath{"vote", func(ctx context.Context, i int) (int, error) {
			form := url.Values{"estimate": {strconv.Itoa(store.Scale[i%len(store.Scale)])}}
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, votePath, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.Header.Set("HX-Request", "true")
			r.Header.Set("HX-Current-URL", "http://example.com"+fmt.Sprintf("/issues/%d", w.issueID))
			return w.serve(r, http.StatusOK)
		}},
		growthPath{"room-update", func(ctx context.Context, _ int) (int, error) {
			f, err := room(ctx, w.issueID, w.present)
			if err != nil {
				return 0, err
			}
			return framesLen(ctx, f)
		}},
		growthPath{"group-update", func(ctx context.Context, _ int) (int, error) {
			f, err := group(ctx, w.groupID)
			if err != nil {
				return 0, err
			}
			return framesLen(ctx, f)
		}},
	)
}

// serve runs r through the router as grow's browser sends it.
func (w *growthWorld) serve(r *http.Request, want int) (int, error) {
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("Accept-Encoding", "gzip")
	for _, c := range w.cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	w.ta.app.ServeHTTP(rec, r)
	if rec.Code != want {
		return 0, fmt.Errorf("%s %s: status %d, want %d: %.200s", r.Method, r.URL.Path, rec.Code, want, rec.Body.String())
	}
	return rec.Body.Len(), nil
}

// framesLen renders a live page's state for every role, in English (as
// many frames as a room whose people all read one language gets), and
// counts their bytes.
func framesLen(ctx context.Context, f live.Frames) (int, error) {
	n := 0
	for _, role := range []store.Role{store.RoleOwner, store.RoleFacilitator, store.RoleMember} {
		b, err := f.Body(ctx, string(role), "en")
		if err != nil {
			return 0, err
		}
		n += len(b)
	}
	return n, nil
}

// BenchmarkGrowth runs, per dimension and size, each path in turn once per
// iteration, so the whole set stays short (ns/op is their sum). Per path it
// reports µs per run; cpu-µs, the CPU time this process spent per run, which
// neighbours on a shared machine disturb less than wall time (it includes
// what runs beside the path: GC, the timer loop); allocations per run
// (testing.AllocsPerRun); SQL statements per run, counted by the driver; and
// bytes of the answer (the page as sent, gzipped where the app compresses it,
// or the frames of the live update for both roles).
func BenchmarkGrowth(b *testing.B) {
	for _, dim := range growthDims {
		for _, n := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("%s=%d", dim, n), func(b *testing.B) {
				w := newGrowthWorld(b, dim, n)
				ps := w.paths(dim)
				spent, cpu := make([]time.Duration, len(ps)), make([]time.Duration, len(ps))
				stmts := make([]int64, len(ps))
				size := make([]int, len(ps))
				ctx := context.Background()
				// Once each first: statements are prepared on first use, and
				// the first request may touch the session.
				for _, p := range ps {
					if _, err := p.do(ctx, 0); err != nil {
						b.Fatal(err)
					}
				}
				i := 1
				b.ReportAllocs()
				for b.Loop() {
					for k, p := range ps {
						cctx, cnt := withStmtCounter(ctx)
						t0, c0 := time.Now(), cpuTime()
						n, err := p.do(cctx, i)
						spent[k] += time.Since(t0)
						cpu[k] += cpuTime() - c0
						if err != nil {
							b.Fatal(err)
						}
						stmts[k] += cnt.load()
						size[k] = n
					}
					i++
				}
				b.StopTimer()
				runs := float64(i - 1)
				for k, p := range ps {
					allocs := testing.AllocsPerRun(20, func() {
						if _, err := p.do(ctx, i); err != nil {
							b.Fatal(err)
						}
						i++
					})
					b.ReportMetric(float64(spent[k].Nanoseconds())/1000/runs, p.name+"-µs")
					b.ReportMetric(float64(cpu[k].Nanoseconds())/1000/runs, p.name+"-cpu-µs")
					b.ReportMetric(allocs, p.name+"-allocs")
					b.ReportMetric(float64(stmts[k])/runs, p.name+"-queries")
					b.ReportMetric(float64(size[k]), p.name+"-bytes")
				}
			})
		}
	}
}
