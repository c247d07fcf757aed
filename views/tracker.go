package views

import (
	"estimator/store"
	"estimator/tracker"
)

// Paths of the tracker routes.
func GroupTrackerPath(g int64) string           { return GroupPath(g) + "/tracker" }
func GroupTrackerDisconnectPath(g int64) string { return GroupTrackerPath(g) + "/disconnect" }
func GroupTrackerImportPath(g int64) string     { return GroupTrackerPath(g) + "/import" }
func IssueTrackerRetryPath(i int64) string      { return IssuePath(i) + "/tracker/retry" }

// TrackerView is the group page's tracker section: the operator's list, the
// group's connection (never its token but the last 4 characters) and the
// forms.
type TrackerView struct {
	// Allowed is the operator's list; empty: trackers are off and the
	// section is not shown.
	Allowed   []tracker.Base
	Conn      store.TrackerConn
	Connected bool
	Form      TrackerForm
	Query     string
	// Problem is why an import could not be previewed.
	Problem string
}

// TrackerForm is the connect form sent back with what is wrong. It never
// holds the token.
type TrackerForm struct {
	URL, Project, Field string
	Errors              FieldErrors
}

// TrackerPreview is what an import from the tracker will add or update.
type TrackerPreview struct {
	Group store.Group
	Kind  string
	Query string
	Rows  []store.TrackerPreviewRow
	Once  string
}

func (p TrackerPreview) counts() (add, update int) {
	for _, r := range p.Rows {
		if r.Update {
			update++
		} else {
			add++
		}
	}
	return
}

func kindTitle(k string) string { return tracker.Kind(k).Title() }

// fieldHelp says what the field is for the kind of the first tracker listed.
func trackerStateText(s store.TrackerState) string {
	switch s {
	case store.TrackerSent:
		return "sent"
	case store.TrackerWaiting:
		return "waiting"
	case store.TrackerFailed:
		return "failed"
	}
	return ""
}
