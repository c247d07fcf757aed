package views

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// QuickOnce is the one-time field of a group's "Quick vote" form (see
// handlers/once.go): derived from the group and the issue it estimates now,
// so it is the same on every page showing that moment (the room's live part
// is rendered once per role, not per person) and changes once a quick vote
// moved the group on. The store keeps a once per person, so two people's
// equal tokens never meet.
func QuickOnce(groupID, current int64) string {
	h := sha256.Sum256([]byte("quick:" + strconv.FormatInt(groupID, 10) + ":" + strconv.FormatInt(current, 10)))
	return base64.RawURLEncoding.EncodeToString(h[:16])
}
