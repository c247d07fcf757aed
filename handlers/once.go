package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"estimator/store"
	"estimator/views"
	"estimator/web"
)

// Forms act once. Every form that creates something (a group, an issue, an
// import) carries a hidden one-time field, once; the store records what the
// first request with it made, so the same form sent again by the same person
// (a double click, a retry after a timeout, two requests at the same moment)
// makes nothing more and is answered as the first was.
//
// A form's once is derived from what the page showed when it was rendered: the
// user and, for "create a group", their groups; for "add an issue", the
// group's issues. The same page gives the same token (pages are cached and
// rendered again byte for byte), and once something is made the page, and so
// the token, changes. The store also keeps a digest of what the form asked: a
// token sent again with other content (two tabs of one page, each creating a
// different group) acts anew.

// onceToken is the token of a form from the parts of the page it is on.
func onceToken(kind string, parts ...int64) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(p, 10))
	}
	h := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

func groupsOnce(userID int64, groups []store.GroupSummary) string {
	parts := []int64{userID}
	for _, g := range groups {
		parts = append(parts, g.ID)
	}
	return onceToken("group", parts...)
}

// homeForm is My Groups' forms, empty, with their one-time fields: create a
// group, and the quick vote's new room.
func homeForm(userID int64, groups []store.GroupSummary) views.GroupForm {
	parts := []int64{userID}
	for _, g := range groups {
		parts = append(parts, g.ID)
	}
	return views.GroupForm{Once: groupsOnce(userID, groups), QuickOnce: onceToken("quick-room", parts...)}
}

func issuesOnce(userID, groupID int64, issues []store.IssueSummary) string {
	parts := []int64{userID, groupID}
	for _, is := range issues {
		parts = append(parts, is.ID)
	}
	return onceToken("issue", parts...)
}

var errBadOnce = web.NewErrorID(http.StatusBadRequest, "error.bad_once", nil)

// readOnce reads the once field of a creating form, and the digest of what
// the form asks (parts). No field: the zero Once, which always acts.
func readOnce(form url.Values, parts ...string) (store.Once, error) {
	tok := form.Get("once")
	if tok == "" {
		return store.Once{}, nil
	}
	if len(tok) > store.OnceTokenMax || strings.TrimLeft(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return store.Once{}, errBadOnce
	}
	return store.NewOnce(tok, parts...), nil
}
