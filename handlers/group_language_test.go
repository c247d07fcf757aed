package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A German owner's group page, its live frame's pieces and its confirm pages
// speak German: headings, buttons, the summary line, the member and issue
// tables. English words the page used to show must not be left over.
func TestTheGroupPageSpeaksGermanToAGermanBrowser(t *testing.T) {
	ta := newTestApp(t)
	owner := ta.signedIn("Größenwahn-Schätzerin_2026.TeamA").with("Accept-Language", "de-DE,de;q=0.9")
	gid := owner.createGroup("Zahlungs-Team Nord & Süd (Q3)")
	member := ta.signedIn("Jürgen-Müller-Lüdenscheid-0815")
	member.join(gid)
	owner.addIssue(gid, "SHOP-12-checkout", "Kasse zeigt die falsche Summe")

	page := owner.get(fmt.Sprintf("/groups/%d", gid)).wantStatus(http.StatusOK)
	if got := htmlLang(page); got != "de" {
		t.Fatalf("<html lang=%q>", got)
	}
	if s := page.text("group-summary"); s != "2 Mitglieder · du bist Inhaber/in · du schätzt mit" {
		t.Errorf("summary %q", s)
	}
	for id, want := range map[string]string{
		"seat-spectator":   "Als Zuschauer/in zusehen",
		"no-current-issue": "Noch wird kein Issue geschätzt.",
		"issue-state":      "offen",
		"start-issue":      "Starten",
		"room-link":        "Raum",
		"remove-member":    "Entfernen…",
		"make-owner":       "Übergeben…",
		"facilitator-on":   "Moderieren",
		"replace-invite":   "Einladungslink ersetzen",
		"settings-save":    "Speichern",
		"leave-group":      "",
	} {
		got := page.text(id)
		if want == "" {
			if page.has(id) {
				t.Errorf("the owner's page offers %s", id)
			}
			continue
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s says %q, want %q", id, got, want)
		}
	}
	if got := strings.Join(page.texts("member-role"), ","); got != "Inhaber/in,Mitglied" {
		t.Errorf("member roles %q", got)
	}
	if got := strings.Join(page.texts("member-seat"), ","); got != "Schätzer/in,Schätzer/in" {
		t.Errorf("member seats %q", got)
	}
	for _, de := range []string{"<h2>Mitglieder</h2>", "<h2>Issues</h2>", "Wie die Gruppe schätzt", "Gruppeneinstellungen", "Teammitglieder einladen", "Issue hinzufügen", "Issues importieren", "Alle Issues mit ihren Ergebnissen herunterladen:", "Diese Gruppe löschen…"} {
		if !strings.Contains(page.body, de) {
			t.Errorf("the German group page lacks %q", de)
		}
	}
	for _, en := range []string{">Members<", "Add an issue", "Invite teammates", "How the group estimates", "Group settings", "Watch as a spectator", "No issue is being estimated", "Download every issue", "Reveal by itself", ">Nickname<", ">Joined<", "so far", "Replace invite link"} {
		if strings.Contains(page.body, en) {
			t.Errorf("the German group page still says %q", en)
		}
	}

	// The member's confirm pages, without JavaScript.
	mid := ta.user("Jürgen-Müller-Lüdenscheid-0815").ID
	r := owner.get(fmt.Sprintf("/groups/%d/transfer?user=%d", gid, mid)).wantStatus(http.StatusOK)
	if got := r.text("confirm-title"); got != "Jürgen-Müller-Lüdenscheid-0815 zu Inhaber/in von Zahlungs-Team Nord & Süd (Q3) machen?" {
		t.Errorf("transfer page asks %q", got)
	}
	if got := r.text("confirm-cancel"); got != "Inhaber/in bleiben" {
		t.Errorf("transfer page's cancel %q", got)
	}
	r = owner.get(fmt.Sprintf("/groups/%d/members/%d/remove", gid, mid)).wantStatus(http.StatusOK)
	if got := r.text("remove-confirm"); got != "Jürgen-Müller-Lüdenscheid-0815 entfernen" {
		t.Errorf("remove page's button %q", got)
	}

	// The same page for an English browser is as it always was.
	en := member.get(fmt.Sprintf("/groups/%d", gid)).wantStatus(http.StatusOK)
	if s := en.text("group-summary"); s != "2 members · you are a member · you vote" {
		t.Errorf("English summary %q", s)
	}
	if got := en.text("leave-group"); got != "Leave this group…" {
		t.Errorf("English leave button %q", got)
	}
}
