package signin

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter is a token bucket per client address.
type ipLimiter struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	m     map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(r rate.Limit, burst int) *ipLimiter {
	return &ipLimiter{r: r, burst: burst, m: map[string]*limiterEntry{}}
}

// allow reports whether the client at ip may go on, or how long it should
// wait. Every limit counts addressKey(ip): one IPv6 /64 is one address.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	key := addressKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[key]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(l.r, l.burst)}
		l.m[key] = e
	}
	e.seen = time.Now()
	res := e.lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, d
	}
	return true, 0
}

// addressKey is the client address a per-address limit counts: an IPv6 client
// usually holds a whole /64, so its addresses count as one; an IPv4 address
// written as IPv6 (::ffff:192.0.2.1) is that IPv4 address, and a zone is
// dropped.
func addressKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// sweep forgets addresses not seen for a while.
func (l *ipLimiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, e := range l.m {
		if time.Since(e.seen) > 10*time.Minute {
			delete(l.m, ip)
		}
	}
}
