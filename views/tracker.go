package views

import (
	"context"

	"estimator/store"
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
	Allowed   []TrackerBase
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

// TrackerBase is an entry of the operator's list: a kind (jira, github,
// gitlab) and its base URL.
type TrackerBase struct{ Kind, URL string }

func kindTitle(k string) string {
	switch k {
	case "jira":
		return "Jira"
	case "github":
		return "GitHub"
	case "gitlab":
		return "GitLab"
	}
	return k
}

// trackerStateText is where writing an issue's estimate back stands, as the
// group's issue table says it ("estimate sent").
func trackerStateText(ctx context.Context, s store.TrackerState) string {
	switch s {
	case store.TrackerSent:
		return t(ctx, "tracker.state.sent")
	case store.TrackerWaiting:
		return t(ctx, "tracker.state.waiting")
	case store.TrackerFailed:
		return t(ctx, "tracker.state.failed")
	}
	return ""
}

// trackerPreviewTitle is the tracker import preview's question: how many
// issues it adds and, when there are, how many it updates.
func trackerPreviewTitle(ctx context.Context, p TrackerPreview) string {
	add, update := p.counts()
	data := map[string]any{"Tracker": kindTitle(p.Kind), "Group": p.Group.Name}
	if update == 0 {
		return tn(ctx, "tracker.preview_add", add, data)
	}
	data["Updates"] = tn(ctx, "tracker.preview_updates", update, nil)
	return tn(ctx, "tracker.preview_add_update", add, data)
}
