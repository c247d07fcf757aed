package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A German and a Brazilian facilitator read what the app answers them, its
// refusals and its one-time notices, in their own language, while the
// operator's log keeps its English, message-free request lines.
func TestRefusalsAndNoticesReadInThePersonsLanguage(t *testing.T) {
	cases := []struct {
		accept, nick, group, key string
		added, timer, tooFew     string
		tooFewTitle, backLabel   string
		alreadyTitle, goToGroup  string
	}{
		{
			accept: "de-DE,de;q=0.9,en;q=0.5", nick: "Größenwahn-Schätzerin_2026.TeamA", group: "Zahlungsverkehr – Team Süd",
			key: "PAY-2041-hotfix", added: "Issue „PAY-2041-hotfix“ wurde hinzugefügt.",
			timer:       "Du hast einen Timer von 90 Sekunden für PAY-2041-hotfix gestartet.",
			tooFew:      "Eine Runde wird mit mindestens 2 Schätzungen aufgedeckt",
			tooFewTitle: "Zu wenige Schätzungen", backLabel: "Zurück zum Issue",
			alreadyTitle: "Schon Mitglied", goToGroup: "Zu Zahlungsverkehr – Team Süd",
		},
		{
			accept: "pt-BR,pt;q=0.9", nick: "Joana-da-Silva_Planejamento.2026", group: "Pagamentos & Conciliação",
			key: "CONC-77-ajuste-de-taxa", added: "A issue “CONC-77-ajuste-de-taxa” foi adicionada.",
			timer:       "Você iniciou um timer de 90 segundos em CONC-77-ajuste-de-taxa.",
			tooFew:      "Uma rodada é revelada com pelo menos 2 votos",
			tooFewTitle: "Votos insuficientes", backLabel: "Voltar para a issue",
			alreadyTitle: "Já é membro", goToGroup: "Ir para Pagamentos & Conciliação",
		},
	}
	for _, tc := range cases {
		t.Run(tc.accept, func(t *testing.T) {
			ta := newTestApp(t)
			owner := ta.signedIn(tc.nick).with("Accept-Language", tc.accept)
			gid := owner.createGroup(tc.group)
			groupPage := fmt.Sprintf("/groups/%d", gid)

			// A notice of a feature: adding an issue, then starting a timer.
			owner.plain().post(groupPage+"/issues", url.Values{"key": {tc.key}, "description": {"Taxa de câmbio arredondada errada no extrato — ver https://tracker.example.com/browse/" + tc.key}}).wantRedirect(groupPage)
			owner.get(groupPage).wantNotice(tc.added)
			room := fmt.Sprintf("/issues/%d", ta.issueID(gid, tc.key))
			owner.plain().post(room+"/timer", url.Values{"seconds": {"90"}}).wantRedirect(room)
			owner.get(room).wantNotice(tc.timer)

			// A refusal (409): the reveal with one vote, as a page and as an
			// htmx notice; nothing is revealed.
			owner.estimate(ta.issueID(gid, tc.key), "5").wantStatus(http.StatusSeeOther)
			before := len(ta.logs.String())
			r := owner.plain().post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusConflict)
			if got := r.errorStatus(); got != "409" {
				t.Fatalf("the refusal is not an error page: %q", got)
			}
			if !strings.Contains(r.body, "<h1>"+tc.tooFewTitle+"</h1>") {
				t.Errorf("the error page's title is not %q:\n%s", tc.tooFewTitle, truncate(r.body, 1500))
			}
			if !strings.Contains(r.text("error"), tc.tooFew) {
				t.Errorf("the error page says %q, want it to contain %q", r.text("error"), tc.tooFew)
			}
			if got := r.text("error-back"); got != tc.backLabel {
				t.Errorf("the error page's link says %q, want %q", got, tc.backLabel)
			}
			f := owner.htmxFrom(room).post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusConflict)
			if !strings.Contains(f.body, tc.tooFew) || strings.Contains(f.body, "A round is revealed") {
				t.Errorf("the htmx notice is not in %s:\n%s", tc.accept, truncate(f.body, 800))
			}
			if ta.countRows("issues", "id = ? AND state <> 'open'", ta.issueID(gid, tc.key)) != 0 {
				t.Error("a refused reveal revealed the issue")
			}
			// The operator's log: the English request lines, never the
			// person's language (nor a message at all).
			logs := ta.logs.String()[before:]
			if !strings.Contains(logs, "msg=request") || !strings.Contains(logs, "status=409") {
				t.Errorf("no request line for the refusal:\n%s", logs)
			}
			for _, s := range []string{tc.tooFew, tc.tooFewTitle} {
				if strings.Contains(logs, s) {
					t.Errorf("the log holds the person's language %q:\n%s", s, logs)
				}
			}

			// A 409 with a link named after the group: joining again.
			r = owner.plain().post("/join/"+ta.inviteToken(gid), nil).wantStatus(http.StatusConflict)
			if !strings.Contains(r.body, "<h1>"+tc.alreadyTitle+"</h1>") {
				t.Errorf("joining again: the title is not %q", tc.alreadyTitle)
			}
			if got := r.text("error-back"); got != tc.goToGroup {
				t.Errorf("joining again: the link says %q, want %q", got, tc.goToGroup)
			}
		})
	}
}

// English reads as it always did.
func TestRefusalsAndNoticesStayEnglishForAnEnglishBrowser(t *testing.T) {
	ta := newTestApp(t)
	owner := ta.signedIn("Ada-Lovelace_Analytical.Engine1").with("Accept-Language", "en-GB")
	gid := owner.createGroup("Payments – Team South")
	id := owner.addIssue(gid, "PAY-2041-hotfix", "")
	owner.get(fmt.Sprintf("/groups/%d", gid)).wantNotice("Issue “PAY-2041-hotfix” was added.")
	room := fmt.Sprintf("/issues/%d", id)
	owner.plain().post(room+"/timer", url.Values{"seconds": {"120"}}).wantRedirect(room)
	owner.get(room).wantNotice("You started a timer of 2 minutes on PAY-2041-hotfix.")
	r := owner.plain().post(room+"/reveal", url.Values{"confirmed": {"1"}}).wantStatus(http.StatusConflict)
	if !strings.Contains(r.body, "<h1>Not enough votes</h1>") || r.text("error-back") != "Back to the issue" {
		t.Errorf("the English refusal changed:\n%s", truncate(r.body, 1500))
	}
	r = owner.plain().post("/join/"+ta.inviteToken(gid), nil).wantStatus(http.StatusConflict)
	if got := r.text("error-back"); got != "Go to Payments – Team South" {
		t.Errorf("joining again: the link says %q", got)
	}
}

// The page that asks before sending a form kept over the sign-in says what it
// would do, and labels its fields, in the person's language: a Portuguese
// voter's kept vote on a T-shirt deck reads as her card, under a Portuguese
// label, and a kept removal names the member in German.
func TestKeptFormPageSpeaksThePersonsLanguage(t *testing.T) {
	ta := newTestApp(t)
	tm := ta.team("Camisetas – Time Norte", keptOwner, "Mia Member-With-A-Long-Name_32")
	tm.owner.plain().post(fmt.Sprintf("/groups/%d/settings", tm.gid), url.Values{"deck": {"tshirt"}, "timer": {"0"}}).wantStatus(http.StatusSeeOther)
	iid := tm.owner.addIssue(tm.gid, "SHIRT-1-tamanho", "")
	keptAfterSignIn := func(c *client, nick, path string, form url.Values) *response {
		t.Helper()
		c.plain().post("/confirm-logout", nil).wantStatus(http.StatusSeeOther)
		next, ref, ok := loginTarget(t, c.plain().post(path, form).wantStatus(http.StatusSeeOther).location())
		if !ok || ref == "" {
			t.Fatalf("POST %s signed out kept nothing", path)
		}
		return keptPage(t, c, c.plain().post("/login", url.Values{"nickname": {nick}, "next": {next}, "kept": {ref}}))
	}
	mia := tm.members[0].with("Accept-Language", "pt-BR")
	page := keptAfterSignIn(mia, "Mia Member-With-A-Long-Name_32", fmt.Sprintf("/issues/%d/estimate", iid), url.Values{"estimate": {"3"}})
	if got := page.text("kept-what"); got != "Votar em SHIRT-1-tamanho" {
		t.Errorf("a kept vote reads %q in pt-BR", got)
	}
	if got := page.text("kept-fields"); !strings.Contains(got, "Sua estimativa") || !strings.Contains(got, "M") || strings.Contains(got, "3") {
		t.Errorf("a kept vote's fields read %q in pt-BR, want the label and the card M", got)
	}
	owner := tm.owner.with("Accept-Language", "de")
	miaID := ta.user("Mia Member-With-A-Long-Name_32").ID
	page = keptAfterSignIn(owner, keptOwner, fmt.Sprintf("/groups/%d/members/%d/remove", tm.gid, miaID), url.Values{"confirmed": {"1"}})
	if got := page.text("kept-what"); got != "Mia Member-With-A-Long-Name_32 aus „Camisetas – Time Norte“ entfernen" {
		t.Errorf("a kept removal reads %q in German", got)
	}
}
