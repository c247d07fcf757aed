// Package live is the broker of live updates: pages subscribe to a topic (an
// issue's room, or a group's own page) over server-sent events, and every change
// to it reaches them as the topic's freshly rendered state.
//
// Every topic belongs to a group. Topic ids are unique across groups; the
// topic GroupPage of a group is the group's own page.
//
// It knows nothing of HTTP routing, the app or its database: it is built from
// functions (render a topic, check a session, say where a closed page goes),
// limits and a heartbeat, and it hears of changes through a Bus, so that the
// notices can come from another instance as well as from this one.
package live

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// GroupPage is the topic of a group's own page: (GroupPage, group) names it,
// where any other topic is named by its id alone.
const GroupPage int64 = 0

// Why a stream is closed on its page; Config.Exit turns it into where the page
// goes next.
type Reason int

const (
	// SignedOut: the viewer's session ended (sign-out, expiry, deactivation).
	SignedOut Reason = iota + 1
	// Removed: the viewer may no longer watch the topic (left or was removed
	// from its group, or the group is gone).
	Removed
	// TopicGone: the topic was deleted.
	TopicGone
	// Moved: the group moved on to another of its topics (a facilitator took
	// it there). Config.Exit gets that topic, the one the page follows.
	Moved
)

// The broker's answers to Subscribe; handlers map them to HTTP answers.
var (
	// ErrFull: as many streams are open as the broker serves, or it is closed.
	ErrFull = errors.New("live: too many streams")
	// ErrSessionFull: this session has as many streams open as it may.
	ErrSessionFull = errors.New("live: too many streams for this session")
	// ErrGone is what Config.Render returns (wrapped or not) for a topic that no
	// longer exists: its pages are closed with TopicGone.
	ErrGone = errors.New("live: topic gone")
)

// tabID is what a page tab's id (Viewer.Tab, Notice.Tab) may be: up to 32
// letters, digits, "-" and "_".
var tabID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// IsTab says whether s may name a page tab; anything else names none.
func IsTab(s string) bool { return tabID.MatchString(s) }

// Viewer is who watches a stream: a user, through one session, in a
// language (its frames are rendered in it; "" is the renderer's default), from
// a page that may name itself (Tab: an id the page made up, so that a change
// it made and already shows can skip its own stream; "" for none).
type Viewer struct {
	User, Session int64
	Lang, Tab     string
}

// Frames is one state of a topic, loaded once, and the audience each allowed
// viewer belongs to (for instance their role). The broker renders it once per
// audience and language that somebody watches in, never per person: the
// viewers of one audience and one language get the same bytes.
type Frames struct {
	// Body renders the state for one audience in one language. The broker
	// calls it once for each (audience, language) of the topic's watchers,
	// one call after another, right after Render or Enter returned.
	Body func(ctx context.Context, audience, lang string) ([]byte, error)
	// Audience maps every user who may watch the topic to their audience. A
	// watcher missing from it has lost access: its stream is closed (Removed).
	Audience map[int64]string
	// Side (Config.Render only), if set, renders a second part of the state
	// for one audience in one language, sent as an event of its own after
	// the state, and only to a stream that has not had this very part:
	// SideKey names its content (a render with the same key gives the same
	// bytes per audience and language, which are then not rendered again).
	// A room's backlog is one: a vote changes the room, not the backlog.
	Side    func(ctx context.Context, audience, lang string) ([]byte, error)
	SideKey string
	// Tag (Config.Render only) is added to the events' ids of this state
	// ("TOPIC-VERSION-TAG"): what a page that reconnects says of the state it
	// had, beside its topic (for a room: "c", it was where its group was).
	Tag string
	// Own (Config.Enter only) are the users who have a part of their own on
	// the topic (a vote): a page of theirs that moves there gets Config.Own
	// after the entry.
	Own map[int64]bool
}

// Config is what a Broker is built from.
type Config struct {
	// Render loads the topic's current state (Frames.Body renders it); present
	// is who watches the topic right now. Topic GroupPage is the group's own
	// page. It returns ErrGone for a deleted topic.
	Render func(ctx context.Context, topic, group int64, present map[int64]bool) (Frames, error)
	// Alive reports whether a viewer's session still holds. It is asked once
	// per heartbeat for every open stream, to notice sessions that ended
	// without a notice (expiry, another process). Nil: never asked.
	Alive func(ctx context.Context, v Viewer) (bool, error)
	// Enter loads what a page that moves to the topic with its group needs
	// beside the topic's state (its heading, the cards), rendered once per
	// audience (Frames.Audience: user → audience) and language of the pages
	// that move (Frames.Body). With Enter, a move of the group
	// keeps the streams of its other topics open and moves them to the topic:
	// they get the entry as an event named "move", then the topic's state,
	// then, for those in Frames.Own, Config.Own. Without it, a move closes
	// them with Moved's exit.
	Enter func(ctx context.Context, topic, group int64) (Frames, error)
	// Own renders one user's own part of a topic (their cards and their
	// vote) in a language of theirs. It is sent to that user's streams of the
	// topic in that language only, never to anyone else's: after OwnChanged,
	// and after a move (moved: true) to a topic where Enter says they have
	// one. Nil: OwnChanged does nothing.
	Own func(ctx context.Context, topic, user int64, lang string, moved bool) ([]byte, error)
	// Exit is where a page goes when its stream is closed on it, given why, the
	// topic (for Moved, the topic moved to) and its group; "" just ends the
	// stream.
	Exit func(why Reason, topic, group int64) string
	// GroupNews, if set, is told of a notice that changes what every topic of
	// a group shows (GroupChanged, GroupMoved, MemberLeft, GroupDeleted),
	// before the topics are rendered again; group 0 is every group (the bus
	// resynchronised). It is where a cache of what the topics of a group
	// share, kept by Render between renders, is dropped: it hears the notices
	// of every instance, as the topics do.
	GroupNews func(group int64)
	// Bus carries change notices between brokers; nil is an in-process bus.
	Bus Bus
	// MaxStreams caps open streams in total (default 10,000),
	// MaxStreamsPerSession per session (default 16).
	MaxStreams, MaxStreamsPerSession int
	// Heartbeat is how often an idle stream gets a comment, and sessions are
	// checked (default 15s).
	Heartbeat time.Duration
	// WriteTimeout drops a client that stops reading (default 10s).
	WriteTimeout time.Duration
	// PresenceDelay is how long a change of who watches a topic waits for
	// others before the topic is rendered again (default 250ms): when a
	// facilitator moves a room, its people arrive within moments of each other,
	// and one render shows them all instead of one render (and one event to
	// everyone already there) per arrival. A change of the topic itself is
	// rendered at once, with whoever is there.
	PresenceDelay time.Duration
	// SeenFor is how long a page load (Seen) counts as presence on a topic
	// (default a minute): a page without JavaScript opens no stream, and its
	// person is there all the same.
	SeenFor time.Duration
	Logger  *slog.Logger
}

// Broker fans the changes of topics out to their subscribers. After a change
// is committed, a notice goes out on the bus; per topic, one renderer goroutine
// loads the state and renders it once per audience and language watched,
// already encoded as an event; then every
// subscriber is woken through a one-slot channel. Publishing never blocks, a
// slow client only ever gets the latest state (coalesced), and no subscriber can
// stall another.
type Broker struct {
	cfg        Config
	log        *slog.Logger
	ctx        context.Context
	cancel     context.CancelFunc
	stopListen func()
	mu         sync.Mutex
	topics     map[topicKey]*topic
	total      int
	perSession map[int64]int
	closed     bool
	// seen holds the page loads that count as presence: topic → user → when;
	// forget drops them after SeenFor, one timer per topic.
	seen       map[int64]map[int64]time.Time
	seenTimers map[int64]*time.Timer
	// ownSeq orders the own parts handed to subscriptions: an older one never
	// replaces a newer.
	ownSeq uint64
}

// topicKey names a topic: by its id, or for a group's page (id 0) by its group.
type topicKey struct{ id, group int64 }

func keyOf(id, group int64) topicKey {
	if id != GroupPage {
		return topicKey{id: id}
	}
	return topicKey{group: group}
}

type topic struct {
	// id is 0 for a group's page.
	id, group int64
	// guarded by Broker.mu
	subs      map[*Subscription]struct{}
	dirty     bool
	rendering bool
	// presence, when set, renders the topic again once arrivals and
	// departures settle; guarded by Broker.mu.
	presence *time.Timer
	// current is the latest rendered state; nil until the first render.
	current atomic.Pointer[frameSet]
	version uint64 // last version rendered; only the renderer touches it
	// moves counts the moves of pages into the topic, and enterDirty asks
	// the renderer for an entry that covers them; guarded by Broker.mu.
	moves      uint64
	enterDirty bool
	// entry is the latest entry rendered (Config.Enter); nil until a move.
	entry atomic.Pointer[entrySet]
	// facesDirty asks the renderer for the frames of the current state
	// that a stream which came after it needs (its audience and language
	// had none); guarded by Broker.mu.
	facesDirty bool
}

// face is what a rendered frame is for: an audience, in a language.
type face struct{ audience, lang string }

// entrySet is what a page that moved to a topic is sent first, per audience
// and language: it covers the moves up to seq.
type entrySet struct {
	seq      uint64
	wire     map[face][]byte
	audience map[int64]string
}

// frameSet is one state of a topic as events, ready to write: one per
// audience and language watched when it was rendered, and who is in which
// audience (a subscriber in none gets nothing).
type frameSet struct {
	version  uint64
	wire     map[face][]byte
	audience map[int64]string
	// id is the events' id; body renders the state for another audience
	// and language (Frames.Body), for streams that come after the render.
	id   string
	body func(ctx context.Context, audience, lang string) ([]byte, error)
	// side is the state's second part per audience and language
	// (Frames.Side), named sideKey ("": none); sideBody renders it for
	// another.
	side     map[face][]byte
	sideKey  string
	sideBody func(ctx context.Context, audience, lang string) ([]byte, error)
}

// sideOf is the second part of a viewer's state in a language, if the state
// has one for them.
func (fs *frameSet) sideOf(user int64, lang string) ([]byte, bool) {
	a, ok := fs.audience[user]
	if !ok || fs.sideKey == "" {
		return nil, false
	}
	w, ok := fs.side[face{a, lang}]
	return w, ok
}

// frameOf is the event of a viewer in a language; ok false when they have
// no audience, or nobody watched in their audience and language when it was
// rendered.
func (fs *frameSet) frameOf(user int64, lang string) ([]byte, bool) {
	a, ok := fs.audience[user]
	if !ok {
		return nil, false
	}
	w, ok := fs.wire[face{a, lang}]
	return w, ok
}

// Subscription is one open stream of a viewer on a topic.
type Subscription struct {
	// t is the topic followed; a move of the group changes it (guarded by
	// Broker.mu).
	t         *topic
	userID    int64
	sessionID int64
	lang      string
	tab       string
	wake      chan struct{}
	done      chan struct{}
	once      sync.Once
	// drive serves a hijacked stream (nil: a pump goroutine does).
	drive atomic.Pointer[driver]
	// navigate is where the browser should go when the stream is closed on it
	// (sign-in after a sign-out, the start page after a removal); "" to just end.
	navigate string
	// Guarded by Broker.mu. entering: the page moved to t and waits for t's
	// entry of at least this move (0: not moving). own: the viewer's own part
	// of t to send (nil: none), ownSeq its order.
	entering uint64
	own      []byte
	ownSeq   uint64
	// stale: after a move, the topic's states up to this version were
	// rendered before it (they may say the group is elsewhere): not sent.
	stale uint64
}

// New builds a broker and starts listening to its bus.
func New(cfg Config) *Broker {
	if cfg.Bus == nil {
		cfg.Bus = NewLocalBus()
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = 10000
	}
	if cfg.MaxStreamsPerSession == 0 {
		cfg.MaxStreamsPerSession = 16
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.PresenceDelay == 0 {
		cfg.PresenceDelay = 250 * time.Millisecond
	}
	if cfg.SeenFor == 0 {
		cfg.SeenFor = time.Minute
	}
	if cfg.Exit == nil {
		cfg.Exit = func(Reason, int64, int64) string { return "" }
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{cfg: cfg, log: log, ctx: ctx, cancel: cancel, topics: map[topicKey]*topic{}, perSession: map[int64]int{},
		seen: map[int64]map[int64]time.Time{}, seenTimers: map[int64]*time.Timer{}}
	b.stopListen = cfg.Bus.Listen(b.apply)
	if cfg.Alive != nil {
		go b.checkSessions()
	}
	return b
}

// Subscribe opens a stream of topic (of group; 0 for the group's page) for the
// viewer; Serve then writes it. The first event is the topic's current state.
func (b *Broker) Subscribe(topicID, group int64, v Viewer) (*Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed || b.total >= b.cfg.MaxStreams:
		return nil, ErrFull
	case b.perSession[v.Session] >= b.cfg.MaxStreamsPerSession:
		return nil, ErrSessionFull
	}
	k := keyOf(topicID, group)
	t := b.topics[k]
	if t == nil {
		t = &topic{id: topicID, group: group, subs: map[*Subscription]struct{}{}}
		b.topics[k] = t
	}
	s := &Subscription{t: t, userID: v.User, sessionID: v.Session, lang: v.Lang, tab: v.Tab,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.wake <- struct{}{} // send the current state at once, if there is one
	wasPresent := t.hasUserLocked(v.User)
	if topicID != 0 {
		// The stream says it from now on, and stops saying it when it ends.
		delete(b.seen[topicID], v.User)
	}
	t.subs[s] = struct{}{}
	b.total++
	b.perSession[v.Session]++
	switch {
	case t.current.Load() == nil:
		b.changedLocked(t) // nothing rendered yet: the page waits for it
	case !wasPresent:
		b.presenceLocked(t)
	}
	return s, nil
}

// SubscribeMoved is Subscribe for a page that shows another topic of the
// group and missed the group's move to this one (it reconnects after it): the
// stream starts as a moved one does, with the topic's entry (Config.Enter),
// then its state. Without Config.Enter it is Subscribe.
func (b *Broker) SubscribeMoved(topicID, group int64, v Viewer) (*Subscription, error) {
	s, err := b.Subscribe(topicID, group, v)
	if err != nil || b.cfg.Enter == nil || topicID == GroupPage {
		return s, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := s.t
	t.moves++
	t.enterDirty = true
	s.entering = t.moves
	if cur := t.current.Load(); cur != nil {
		s.stale = cur.version
	}
	b.changedLocked(t)
	return s, nil
}

func (b *Broker) unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := s.t
	if _, ok := t.subs[s]; !ok {
		return
	}
	delete(t.subs, s)
	b.total--
	if b.perSession[s.sessionID]--; b.perSession[s.sessionID] <= 0 {
		delete(b.perSession, s.sessionID)
	}
	if len(t.subs) == 0 {
		delete(b.topics, keyOf(t.id, t.group))
		return
	}
	if !t.hasUserLocked(s.userID) {
		b.presenceLocked(t)
	}
}

func (t *topic) hasUserLocked(userID int64) bool {
	for s := range t.subs {
		if s.userID == userID {
			return true
		}
	}
	return false
}

// changedLocked marks the topic changed and makes sure its renderer runs.
// Changes while a render is under way coalesce into one more render.
func (b *Broker) changedLocked(t *topic) {
	t.dirty = true
	if !t.rendering && !b.closed {
		t.rendering = true
		go b.render(t)
	}
}

// presenceLocked renders the topic again after PresenceDelay, with every
// arrival and departure until then.
func (b *Broker) presenceLocked(t *topic) {
	if t.presence != nil || b.closed {
		return
	}
	t.presence = time.AfterFunc(b.cfg.PresenceDelay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		t.presence = nil
		if b.topics[keyOf(t.id, t.group)] == t {
			b.changedLocked(t)
		}
	})
}

// render loads and renders the topic's state (and its entry, after a move)
// until no change is pending, and wakes every subscriber after each render.
func (b *Broker) render(t *topic) {
	for {
		b.mu.Lock()
		if (!t.dirty && !t.enterDirty && !t.facesDirty) || b.closed {
			t.rendering = false
			b.mu.Unlock()
			return
		}
		dirty, enter, faces, moves := t.dirty, t.enterDirty, t.facesDirty, t.moves
		t.dirty, t.enterDirty, t.facesDirty = false, false, false
		if dirty && t.presence != nil && t.presence.Stop() {
			t.presence = nil // this render shows who is there now
		}
		present := b.presentLocked(t)
		b.mu.Unlock()

		var err error
		if enter {
			err = b.renderEntry(t, moves)
		}
		var fs *frameSet
		switch {
		case err == nil && dirty:
			fs, err = b.renderFrames(t, present)
		case err == nil && faces:
			fs, err = b.moreFaces(t)
		}
		if errors.Is(err, ErrGone) {
			// Every instance learns this from its own render: nothing to publish.
			b.closeWhere(func(s *Subscription) bool { return s.t == t }, TopicGone)
			continue
		}
		if err != nil {
			if b.ctx.Err() == nil {
				b.log.Warn("live update render failed; retrying", "topic", t.id, "err", err)
			}
			select {
			case <-b.ctx.Done():
			case <-time.After(time.Second):
			}
			b.mu.Lock()
			t.dirty = t.dirty || dirty
			t.enterDirty = t.enterDirty || enter
			t.facesDirty = t.facesDirty || faces
			b.mu.Unlock()
			continue
		}
		if fs == nil && !enter {
			continue // no frame was missing after all: nobody to wake
		}
		if fs != nil {
			t.current.Store(fs)
		}
		b.mu.Lock()
		for s := range t.subs {
			if _, allowed := fs.audienceOf(s.userID); fs != nil && !allowed {
				s.close(b.cfg.Exit(Removed, t.id, t.group))
				continue
			}
			s.wakeUp()
		}
		b.mu.Unlock()
	}
}

func (fs *frameSet) audienceOf(user int64) (string, bool) {
	if fs == nil {
		return "", false
	}
	a, ok := fs.audience[user]
	return a, ok
}

func (s *Subscription) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default: // already woken: it will read the latest state
	}
	if d := s.drive.Load(); d != nil {
		d.kick()
	}
}

// renderEntry renders what the pages that moved to the topic (up to move
// number moves) are sent first, then the own parts of those who have one
// there: one render per audience and language of those pages, and one per
// person (and language of theirs) with a part of their own.
func (b *Broker) renderEntry(t *topic, moves uint64) error {
	f, err := b.cfg.Enter(b.ctx, t.id, t.group)
	if err != nil {
		return err
	}
	b.mu.Lock()
	faces := map[face]bool{}
	owners := map[userLang]bool{}
	for s := range t.subs {
		if s.entering == 0 || s.entering > moves {
			continue
		}
		if a, ok := f.Audience[s.userID]; ok {
			faces[face{a, s.lang}] = true
		}
		if f.Own[s.userID] {
			owners[userLang{s.userID, s.lang}] = true
		}
	}
	b.mu.Unlock()
	es := &entrySet{seq: moves, wire: make(map[face][]byte, len(faces)), audience: f.Audience}
	for fc := range faces {
		body, err := f.Body(b.ctx, fc.audience, fc.lang)
		if err != nil {
			return err
		}
		es.wire[fc] = encodeEvent("move", "", body)
	}
	t.entry.Store(es)
	if b.cfg.Own == nil {
		return nil
	}
	for ul := range owners {
		b.mu.Lock()
		b.ownSeq++
		seq := b.ownSeq
		b.mu.Unlock()
		body, err := b.cfg.Own(b.ctx, t.id, ul.user, ul.lang, true)
		if err != nil {
			if errors.Is(err, ErrGone) {
				return err
			}
			b.log.Warn("own part not rendered", "topic", t.id, "err", err)
			continue
		}
		b.giveOwn(t.id, ul, body, seq, "")
	}
	return nil
}

// userLang is a person in one of their languages: what their own part is
// rendered for.
type userLang struct {
	user int64
	lang string
}

// giveOwn hands a user's own part of a topic in a language to their streams
// of it in that language, unless they already hold a newer one.
func (b *Broker) giveOwn(topicID int64, to userLang, body []byte, seq uint64, exceptTab string) {
	if body == nil {
		return
	}
	wire := encodeEvent("", "", body)
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[keyOf(topicID, 0)]
	if t == nil || topicID == GroupPage {
		return
	}
	for s := range t.subs {
		if s.userID == to.user && s.lang == to.lang && seq > s.ownSeq && (exceptTab == "" || s.tab != exceptTab) {
			s.own, s.ownSeq = wire, seq
			s.wakeUp()
		}
	}
}

// renderFrames loads the topic's state and renders it once for every
// audience and language its watchers are in.
func (b *Broker) renderFrames(t *topic, present map[int64]bool) (*frameSet, error) {
	f, err := b.cfg.Render(b.ctx, t.id, t.group, present)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	faces := map[face]bool{}
	for s := range t.subs {
		if a, ok := f.Audience[s.userID]; ok {
			faces[face{a, s.lang}] = true
		}
	}
	b.mu.Unlock()
	fs := &frameSet{wire: make(map[face][]byte, len(faces)), audience: f.Audience}
	bodies := make(map[face][]byte, len(faces))
	for fc := range faces {
		body, err := f.Body(b.ctx, fc.audience, fc.lang)
		if err != nil {
			return nil, err
		}
		bodies[fc] = body
	}
	if f.Side != nil && f.SideKey != "" {
		// The part that did not change is not rendered again.
		var prev map[face][]byte
		if cur := t.current.Load(); cur != nil && cur.sideKey == f.SideKey {
			prev = cur.side
		}
		fs.side, fs.sideKey, fs.sideBody = make(map[face][]byte, len(faces)), f.SideKey, f.Side
		for fc := range faces {
			if w, ok := prev[fc]; ok {
				fs.side[fc] = w
				continue
			}
			body, err := f.Side(b.ctx, fc.audience, fc.lang)
			if err != nil {
				return nil, err
			}
			fs.side[fc] = encodeEvent("", "", body)
		}
	}
	t.version++
	fs.version, fs.body = t.version, f.Body
	// The id names the topic: a page that moved with its group and
	// reconnects (to the address it was loaded from) says which one it shows.
	fs.id = strconv.FormatInt(t.id, 10) + "-" + strconv.FormatUint(fs.version, 10)
	if f.Tag != "" {
		fs.id += "-" + f.Tag
	}
	for fc, body := range bodies {
		fs.wire[fc] = encodeEvent("", fs.id, body)
	}
	return fs, nil
}

// moreFaces renders the current state for the audiences and languages of
// streams that came after it was rendered, from what was loaded then: the
// same state and version, without loading it again or sending it anew to
// those who have it. nil: nothing is missing.
func (b *Broker) moreFaces(t *topic) (*frameSet, error) {
	cur := t.current.Load()
	if cur == nil {
		return nil, nil // the first render, under way, covers everyone
	}
	b.mu.Lock()
	var missing []face
	for s := range t.subs {
		a, ok := cur.audience[s.userID]
		fc := face{a, s.lang}
		if _, done := cur.wire[fc]; ok && !done && !slices.Contains(missing, fc) {
			missing = append(missing, fc)
		}
	}
	b.mu.Unlock()
	if len(missing) == 0 {
		return nil, nil
	}
	fs := &frameSet{version: cur.version, wire: make(map[face][]byte, len(cur.wire)+len(missing)),
		audience: cur.audience, id: cur.id, body: cur.body, sideKey: cur.sideKey, sideBody: cur.sideBody}
	for fc, w := range cur.wire {
		fs.wire[fc] = w
	}
	if cur.sideKey != "" {
		fs.side = make(map[face][]byte, len(cur.side)+len(missing))
		for fc, w := range cur.side {
			fs.side[fc] = w
		}
	}
	for _, fc := range missing {
		body, err := cur.body(b.ctx, fc.audience, fc.lang)
		if err != nil {
			return nil, err
		}
		fs.wire[fc] = encodeEvent("", fs.id, body)
		if cur.sideKey != "" {
			side, err := cur.sideBody(b.ctx, fc.audience, fc.lang)
			if err != nil {
				return nil, err
			}
			fs.side[fc] = encodeEvent("", "", side)
		}
	}
	return fs, nil
}

// TopicChanged is called after a change to a topic is committed.
func (b *Broker) TopicChanged(topicID int64) { b.publish(Notice{Kind: TopicChanged, Topic: topicID}) }

// TopicDeleted closes the topic's streams; their pages go to TopicGone's exit.
func (b *Broker) TopicDeleted(topicID int64) { b.publish(Notice{Kind: TopicDeleted, Topic: topicID}) }

// GroupPageChanged is called after a change that the group's own page (topic
// 0) shows.
func (b *Broker) GroupPageChanged(group int64) {
	b.publish(Notice{Kind: GroupPageChanged, Group: group})
}

// GroupMoved takes every page of the group (its topics' and its own page) to
// topic, the one it works on now. With Config.Enter, the streams of the
// group's other topics stay open and follow it there (see Config.Enter);
// otherwise, and always for the group's own page, they close with Moved's
// exit. The pages of topic itself stay, and get its state again.
func (b *Broker) GroupMoved(group, topic int64) {
	b.publish(Notice{Kind: GroupMoved, Group: group, Topic: topic})
}

// OwnChanged is called after user's own part of topic changed (their vote):
// their streams of the topic, and only theirs, get Config.Own; but the streams
// of the page tab (Viewer.Tab) that made the change, whose answer showed it
// already ("" for none: every stream of theirs).
func (b *Broker) OwnChanged(topicID, user int64, tab string) {
	if topicID != GroupPage {
		b.publish(Notice{Kind: OwnChanged, Topic: topicID, User: user, Tab: tab})
	}
}

// GroupChanged is called after memberships or roles in a group changed: every
// live topic of the group is rendered again, with everyone's audience re-read.
func (b *Broker) GroupChanged(group int64) { b.publish(Notice{Kind: GroupChanged, Group: group}) }

// GroupDeleted closes the streams of every topic of the group.
func (b *Broker) GroupDeleted(group int64) { b.publish(Notice{Kind: GroupDeleted, Group: group}) }

// MemberLeft closes the streams of a member who left or was removed, then
// updates the group's live topics for everyone else. Their pages go to
// Removed's exit, but those of session, the one that left (0: none, a
// removal): its own answer takes it on, with the one-time notice that says it
// left, which a page load sent by its stream could take first.
func (b *Broker) MemberLeft(group, user, session int64) {
	n := Notice{Kind: MemberLeft, Group: group, User: user}
	if session != 0 {
		n.Sessions = []int64{session}
	}
	b.publish(n)
}

// SessionsEnded closes the streams of sessions that were signed out; their
// pages go to SignedOut's exit (the sign-in page, and back after).
func (b *Broker) SessionsEnded(ids []int64) {
	if len(ids) > 0 {
		b.publish(Notice{Kind: SessionsEnded, Sessions: ids})
	}
}

func (b *Broker) publish(n Notice) {
	if err := b.cfg.Bus.Publish(b.ctx, n); err != nil && b.ctx.Err() == nil {
		// The change is committed; pages that miss it catch up on their next
		// reconnect, which always starts with the current state.
		b.log.Warn("live notice not sent", "kind", n.Kind, "err", err)
	}
}

// apply acts on a notice from the bus, whichever instance sent it.
func (b *Broker) apply(n Notice) {
	if b.cfg.GroupNews != nil {
		switch n.Kind {
		case GroupChanged, GroupMoved, MemberLeft, GroupDeleted:
			b.cfg.GroupNews(n.Group)
		case Resync:
			b.cfg.GroupNews(0)
		}
	}
	switch n.Kind {
	case TopicChanged:
		if n.Topic != GroupPage {
			b.changed(keyOf(n.Topic, 0))
		}
	case TopicDeleted:
		b.closeWhere(func(s *Subscription) bool { return n.Topic != GroupPage && s.t.id == n.Topic }, TopicGone)
	case GroupPageChanged:
		b.changed(keyOf(0, n.Group))
	case GroupMoved:
		b.moved(n.Group, n.Topic)
	case OwnChanged:
		b.ownChanged(n.Topic, n.User, n.Tab)
	case GroupChanged:
		b.groupChanged(n.Group)
	case GroupDeleted:
		b.closeWhere(func(s *Subscription) bool { return s.t.group == n.Group }, Removed)
	case MemberLeft:
		b.mu.Lock()
		for _, t := range b.topics {
			if t.group != n.Group {
				continue
			}
			for s := range t.subs {
				if s.userID != n.User {
					continue
				}
				if slices.Contains(n.Sessions, s.sessionID) {
					s.close("")
				} else {
					s.close(b.cfg.Exit(Removed, t.id, t.group))
				}
			}
		}
		b.mu.Unlock()
		b.groupChanged(n.Group)
	case SessionsEnded:
		set := make(map[int64]bool, len(n.Sessions))
		for _, id := range n.Sessions {
			set[id] = true
		}
		b.closeWhere(func(s *Subscription) bool { return set[s.sessionID] }, SignedOut)
	case Resync:
		b.mu.Lock()
		for _, t := range b.topics {
			b.changedLocked(t)
		}
		b.mu.Unlock()
	}
}

// moved takes the pages of a group's other topics to topic: in place (their
// streams now follow topic, and get its entry first) with Config.Enter,
// closed with Moved's exit otherwise. The group's own page is always sent
// there.
func (b *Broker) moved(group, topicID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if topicID == GroupPage {
		return
	}
	var to *topic
	for k, t := range b.topics {
		if t.group != group || t.id == topicID {
			continue
		}
		if b.cfg.Enter == nil || t.id == GroupPage || b.closed {
			for s := range t.subs {
				s.close(b.cfg.Exit(Moved, topicID, group))
			}
			continue
		}
		if to == nil {
			to = b.topics[keyOf(topicID, group)]
			if to == nil {
				to = &topic{id: topicID, group: group, subs: map[*Subscription]struct{}{}}
				b.topics[keyOf(topicID, group)] = to
			}
			to.moves++
			to.enterDirty = true
		}
		for s := range t.subs {
			delete(t.subs, s)
			s.t = to
			s.entering = to.moves
			s.stale = 0
			if cur := to.current.Load(); cur != nil {
				s.stale = cur.version
			}
			s.own = nil
			to.subs[s] = struct{}{}
			delete(b.seen[topicID], s.userID)
		}
		delete(b.topics, k)
		if t.presence != nil {
			t.presence.Stop()
			t.presence = nil
		}
	}
	if t := b.topics[keyOf(topicID, group)]; t != nil {
		b.changedLocked(t)
	}
}

// ownChanged renders a user's own part of a topic for their streams of it,
// if they have any here: once per language they watch it in.
func (b *Broker) ownChanged(topicID, user int64, tab string) {
	b.mu.Lock()
	t := b.topics[keyOf(topicID, 0)]
	if t == nil || topicID == GroupPage || b.cfg.Own == nil || b.closed {
		b.mu.Unlock()
		return
	}
	var langs []string
	for s := range t.subs {
		if s.userID == user && (tab == "" || s.tab != tab) && !slices.Contains(langs, s.lang) {
			langs = append(langs, s.lang)
		}
	}
	if len(langs) == 0 {
		b.mu.Unlock()
		return
	}
	b.ownSeq++
	seq := b.ownSeq
	b.mu.Unlock()
	// Rendered away from the bus: a notice's delivery does not block.
	go func() {
		for _, lang := range langs {
			body, err := b.cfg.Own(b.ctx, topicID, user, lang, false)
			if err != nil {
				if b.ctx.Err() == nil && !errors.Is(err, ErrGone) {
					b.log.Warn("own part not rendered", "topic", topicID, "err", err)
				}
				return
			}
			b.giveOwn(topicID, userLang{user, lang}, body, seq, tab)
		}
	}()
}

// changed renders the topic again, if anyone watches it here.
func (b *Broker) changed(k topicKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics[k]; t != nil {
		b.changedLocked(t)
	}
}

func (b *Broker) groupChanged(group int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.topics {
		if t.group == group {
			b.changedLocked(t)
		}
	}
}

// Close ends every stream (shutdown) and refuses new ones.
func (b *Broker) Close() {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if already {
		return
	}
	b.stopListen()
	b.cancel()
	b.mu.Lock()
	for _, timer := range b.seenTimers {
		timer.Stop()
	}
	b.mu.Unlock()
	b.closeWhere(func(*Subscription) bool { return true }, 0)
}

// closeWhere closes the matching streams; their pages go to why's exit (none
// for 0: the stream just ends).
func (b *Broker) closeWhere(match func(*Subscription) bool, why Reason) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.topics {
		for s := range t.subs {
			if match(s) {
				navigate := ""
				if why != 0 {
					navigate = b.cfg.Exit(why, t.id, t.group)
				}
				s.close(navigate)
			}
		}
	}
}

func (s *Subscription) close(navigate string) {
	s.once.Do(func() {
		s.navigate = navigate
		close(s.done)
	})
	if d := s.drive.Load(); d != nil {
		d.kick()
	}
}

// checkSessions notices, once per heartbeat, sessions that ended outside this
// process's sign-out (expiry, an operator's deactivation) and closes their
// streams: the page goes to sign-in.
func (b *Broker) checkSessions() {
	t := time.NewTicker(b.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		seen := map[Viewer]bool{}
		for _, tp := range b.topics {
			for s := range tp.subs {
				seen[Viewer{User: s.userID, Session: s.sessionID}] = true
			}
		}
		b.mu.Unlock()
		dead := map[int64]bool{}
		for v := range seen {
			alive, err := b.cfg.Alive(b.ctx, v)
			if err == nil && !alive {
				dead[v.Session] = true
			}
		}
		if len(dead) > 0 {
			b.closeWhere(func(s *Subscription) bool { return dead[s.sessionID] }, SignedOut)
		}
	}
}

// Present is the set of users watching the topic (not a group's page) right
// now.
func (b *Broker) Present(topicID int64) map[int64]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if topicID == GroupPage {
		return map[int64]bool{}
	}
	t := b.topics[keyOf(topicID, 0)]
	if t == nil {
		t = &topic{id: topicID}
	}
	return b.presentLocked(t)
}

// presentLocked is who is on a topic: whoever has a stream on it, and whoever
// loaded its page less than SeenFor ago.
func (b *Broker) presentLocked(t *topic) map[int64]bool {
	out := map[int64]bool{}
	for s := range t.subs {
		out[s.userID] = true
	}
	if t.id != GroupPage {
		for user, at := range b.seen[t.id] {
			if time.Since(at) < b.cfg.SeenFor {
				out[user] = true
			}
		}
	}
	return out
}

// Seen counts a page load of a topic (not a group's page) by a user as their
// presence there for SeenFor, unless a stream of theirs on it says so first: a
// page without JavaScript opens no stream, and reloading it renews the
// minute. Only ids are kept, in memory, per instance.
func (b *Broker) Seen(topicID, user int64) {
	if topicID == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	m := b.seen[topicID]
	if m == nil {
		m = map[int64]time.Time{}
		b.seen[topicID] = m
	}
	at, known := m[user]
	m[user] = time.Now()
	if t := b.topics[keyOf(topicID, 0)]; t != nil && (!known || time.Since(at) >= b.cfg.SeenFor) && !t.hasUserLocked(user) {
		b.presenceLocked(t)
	}
	if b.seenTimers[topicID] == nil {
		b.seenTimers[topicID] = time.AfterFunc(b.cfg.SeenFor, func() { b.forget(topicID) })
	}
}

// forget drops a topic's page loads older than SeenFor, renders the topic
// again for its streams when someone is no longer there, and waits for the
// next page load to expire.
func (b *Broker) forget(topicID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.seenTimers, topicID)
	if b.closed {
		return
	}
	t := b.topics[keyOf(topicID, 0)]
	m := b.seen[topicID]
	var next time.Duration
	left := false
	for user, at := range m {
		switch age := time.Since(at); {
		case age >= b.cfg.SeenFor:
			delete(m, user)
			if t != nil && !t.hasUserLocked(user) {
				left = true
			}
		case next == 0 || b.cfg.SeenFor-age < next:
			next = b.cfg.SeenFor - age
		}
	}
	if len(m) == 0 {
		delete(b.seen, topicID)
	} else {
		b.seenTimers[topicID] = time.AfterFunc(next, func() { b.forget(topicID) })
	}
	if left {
		b.changedLocked(t)
	}
}

// Subscribers counts open streams.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}
