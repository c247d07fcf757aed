package live

import (
	"bytes"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SetHeaders sets the headers of an event stream: no caching, and no buffering
// by a proxy in front.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
}

// Navigate answers a stream request with one event that sends the browser to
// target (a path of this site, checked by the caller), and ends.
func Navigate(w http.ResponseWriter, target string) {
	SetHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	w.Write(encodeEvent("navigate", "", []byte(target)))
}

// Serve writes the subscription's events to the client until it goes, the
// stream is closed on it, or it cannot keep up: the current state first (so a
// reconnect is always right), then one event per change, and a heartbeat
// comment while idle.
//
// Over HTTP/1.1 the connection is taken over (hijacked), so an idle stream
// costs a few KiB instead of a whole request's goroutine stack and buffers,
// and Serve returns at once: one small goroutine waits for the client to go,
// and what the stream has to send is written by a goroutine started when
// there is something (a driver), so an idle stream has no other. Otherwise
// (HTTP/2, a recorder) it serves in the caller's goroutine.
func (b *Broker) Serve(w http.ResponseWriter, r *http.Request, s *Subscription) {
	SetHeaders(w.Header())
	conn, hijacked, err := b.hijack(w, r)
	switch {
	case hijacked && err != nil:
		// The client went before the first byte (a reset, a closed tab). The
		// connection is ours now: nothing may be written through w, and
		// there is nobody to answer.
		b.unsubscribe(s)
		b.log.Debug("event stream gone before its first byte", "err", err)
		return
	case hijacked:
		gone := make(chan struct{})
		d := &driver{b: b, s: s, w: &connWriter{conn: conn, timeout: b.cfg.WriteTimeout}, gone: gone}
		d.mu.Lock() // a short heartbeat may fire before hb is set
		d.hb = time.AfterFunc(b.cfg.Heartbeat, d.beat)
		d.mu.Unlock()
		s.drive.Store(d)
		go watchClose(conn, func() {
			close(gone)
			d.kick()
		})
		d.kick() // the current state, woken at Subscribe
		return
	}
	w.WriteHeader(http.StatusOK)
	b.pump(s, &responseWriter{w: w, rc: http.NewResponseController(w), timeout: b.cfg.WriteTimeout}, r.Context().Done())
}

// pump writes a subscriber's events until the client goes, the stream is closed
// on it, or it cannot keep up. After a move of the group it writes the new
// topic's entry, then its state; the viewer's own part goes after the state.
func (b *Broker) pump(s *Subscription, w eventSink, gone <-chan struct{}) {
	defer w.close() // after unsubscribing: a client that saw the end sees it gone
	defer b.unsubscribe(s)
	heartbeat := time.NewTicker(b.cfg.Heartbeat)
	defer heartbeat.Stop()
	var p pumpState
	for {
		select {
		case <-gone:
			return
		case <-s.done:
			b.sayWhere(s, w)
			return
		case <-s.wake:
			if !b.sendPending(s, w, &p) {
				return
			}
		case <-heartbeat.C:
			if w.write(heartbeatComment) != nil {
				return
			}
		}
	}
}

// pumpState is what a stream has sent so far.
type pumpState struct {
	sent, stale uint64
	sentOf      *topic
	// sentSide names the second part of the state last sent (Frames.Side):
	// it is sent again only when it changed.
	sentSide string
	batch    [][]byte
}

// sayWhere writes where the page should go, when the stream was closed on it
// with a place.
func (b *Broker) sayWhere(s *Subscription, w eventSink) {
	if s.navigate != "" {
		w.write(encodeEvent("navigate", "", []byte(s.navigate)))
	}
}

// sendPending writes what a woken subscription has to send; false: the
// client is gone or too slow (it reconnects and gets the current state).
func (b *Broker) sendPending(s *Subscription, w eventSink, p *pumpState) bool {
	t, entry, own, moved, ready := b.pending(s)
	if !ready {
		return true // the entry is being rendered: it wakes us
	}
	if t != p.sentOf {
		p.sent, p.sentOf, p.sentSide = 0, t, ""
	}
	// What this wake has to send goes in one write (one system call): a
	// move's entry, the state, its side part, the own part.
	batch := p.batch[:0]
	defer func() { p.batch = batch[:0] }()
	if entry != nil {
		p.stale = moved
		batch = append(batch, entry)
	}
	if fs := t.current.Load(); fs != nil && fs.version != p.sent && fs.version > p.stale {
		if _, ok := fs.audience[s.userID]; !ok {
			return w.write(batch...) == nil // the renderer closes it
		}
		frame, ok := fs.frameOf(s.userID, s.lang)
		if !ok {
			// Rendered before this stream came, when nobody watched in its
			// audience and language: the renderer adds it, and wakes it
			// (its own part waits for it).
			if w.write(batch...) != nil {
				return false
			}
			b.awaitFrame(s, t, own)
			return true
		}
		p.sent = fs.version
		batch = append(batch, frame)
		if side, ok := fs.sideOf(s.userID, s.lang); ok && fs.sideKey != p.sentSide {
			p.sentSide = fs.sideKey
			batch = append(batch, side)
		}
	}
	if own != nil {
		if p.sent <= p.stale {
			// No state of this topic sent since the move (or the start): the
			// own part goes after it, and the render that brings it wakes us.
			b.keepOwn(s, t, own)
		} else {
			batch = append(batch, own)
		}
	}
	return w.write(batch...) == nil
}

// driver serves a hijacked stream without a goroutine of its own: kick starts
// one that does whatever is due (the client went, the stream was closed on
// it, a wake, a heartbeat) and ends, unless one runs already, which then
// looks again before it ends. At 5,000 open streams the pump goroutines'
// stacks were a fifth of the server's memory.
type driver struct {
	b       *Broker
	s       *Subscription
	w       eventSink
	gone    <-chan struct{}
	hb      *time.Timer
	beatDue atomic.Bool
	mu      sync.Mutex
	running bool
	again   bool
	ended   bool
	p       pumpState
}

// kick makes sure a goroutine looks at what is due.
func (d *driver) kick() {
	d.mu.Lock()
	switch {
	case d.ended:
	case d.running:
		d.again = true
	default:
		d.running = true
		go d.run()
	}
	d.mu.Unlock()
}

// beat is the heartbeat's timer: a comment is due, and the next beat.
func (d *driver) beat() {
	d.beatDue.Store(true)
	d.kick()
	d.mu.Lock()
	if !d.ended {
		d.hb.Reset(d.b.cfg.Heartbeat)
	}
	d.mu.Unlock()
}

func (d *driver) run() {
	for {
		ok := d.step()
		d.mu.Lock()
		switch {
		case !ok:
			d.ended, d.running = true, false
			d.hb.Stop()
			d.mu.Unlock()
			d.b.unsubscribe(d.s)
			d.w.close() // after unsubscribing: a client that saw the end sees it gone
			return
		case d.again:
			d.again = false
			d.mu.Unlock()
		default:
			d.running = false
			d.mu.Unlock()
			return
		}
	}
}

// step does what is due, as pump's loop would; false: the stream ends.
func (d *driver) step() bool {
	select {
	case <-d.gone:
		return false
	case <-d.s.done:
		d.b.sayWhere(d.s, d.w)
		return false
	default:
	}
	select {
	case <-d.s.wake:
		if !d.b.sendPending(d.s, d.w, &d.p) {
			return false
		}
	default:
	}
	if d.beatDue.Swap(false) && d.w.write(heartbeatComment) != nil {
		return false
	}
	return true
}

// pending is what a woken subscription has to send beside its topic's
// state: the entry of the topic it moved to (with the last version of its
// state rendered before the move, stale), and its own part. ready is false
// while a move waits for its entry.
func (b *Broker) pending(s *Subscription) (t *topic, entry, own []byte, stale uint64, ready bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t = s.t
	if s.entering != 0 {
		es := t.entry.Load()
		if es == nil || es.seq < s.entering {
			return t, nil, nil, 0, false
		}
		s.entering = 0
		stale = s.stale
		if audience, ok := es.audience[s.userID]; ok {
			entry = es.wire[face{audience, s.lang}]
		}
	}
	own, s.own = s.own, nil
	return t, entry, own, stale, true
}

// awaitFrame asks t's renderer for the frame of s, which woke to a state
// rendered without its audience and language (Broker.moreFaces), and keeps
// the own part it took for after that state, unless a newer one came
// meanwhile.
func (b *Broker) awaitFrame(s *Subscription, t *topic, own []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keepOwnLocked(s, t, own)
	if s.t != t || b.topics[keyOf(t.id, t.group)] != t || b.closed {
		return // it moved on: woken again there
	}
	t.facesDirty = true
	if !t.rendering {
		t.rendering = true
		go b.render(t)
	}
}

// keepOwn puts back an own part of t taken too early, for the next wake,
// unless a newer one came meanwhile or the page moved on from t.
func (b *Broker) keepOwn(s *Subscription, t *topic, own []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keepOwnLocked(s, t, own)
}

func (b *Broker) keepOwnLocked(s *Subscription, t *topic, own []byte) {
	if own != nil && s.own == nil && s.t == t {
		s.own = own
	}
}

var heartbeatComment = []byte(": ping\n\n")

// encodeEvent is the wire form of one server-sent event.
func encodeEvent(name, id string, data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data) + 64)
	if name != "" {
		b.WriteString("event: " + name + "\n")
	}
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

type eventSink interface {
	// write writes the events in ps, in one go where it can; none is no
	// write.
	write(ps ...[]byte) error
	close()
}

// hijack takes the connection over after writing the response head itself:
// HTTP/1.1, no length, the body ends when the connection closes. hijacked
// false: the connection cannot be taken over, serve through w. hijacked with an
// error: it was taken over but the head could not be written, and it is closed.
func (b *Broker) hijack(w http.ResponseWriter, r *http.Request) (conn net.Conn, hijacked bool, err error) {
	if r.ProtoMajor != 1 {
		return nil, false, nil
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, false, nil
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, false, nil
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h := w.Header().Clone()
	h.Del("Content-Length")
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Write(&head)
	head.WriteString("\r\n")
	rw.Writer.Reset(conn)             // drop anything the server buffered
	conn.SetReadDeadline(time.Time{}) // the server's request deadlines no longer apply
	conn.SetWriteDeadline(time.Now().Add(b.cfg.WriteTimeout))
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, true, err
	}
	return conn, true, nil
}

// watchClose reports when the client closes the connection (a read fails).
func watchClose(conn net.Conn, gone func()) {
	var buf [64]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			gone()
			return
		}
	}
}

type connWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (w *connWriter) write(ps ...[]byte) error {
	if len(ps) == 0 {
		return nil
	}
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if len(ps) == 1 {
		_, err := w.conn.Write(ps[0])
		return err
	}
	// One writev for them all (net.Buffers consumes the slice it writes).
	bufs := net.Buffers(ps)
	_, err := bufs.WriteTo(w.conn)
	return err
}

func (w *connWriter) close() { w.conn.Close() }

type responseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *responseWriter) write(ps ...[]byte) error {
	if len(ps) == 0 {
		return nil
	}
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	for _, p := range ps {
		if _, err := w.w.Write(p); err != nil {
			return err
		}
	}
	return w.rc.Flush()
}

func (w *responseWriter) close() {}
