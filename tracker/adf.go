package tracker

import (
	"encoding/json"
	"strings"
)

// adfNode is a node of the Atlassian Document Format (Jira Cloud's rich text).
type adfNode struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Content []adfNode       `json:"content"`
	Attrs   json.RawMessage `json:"attrs"`
}

// ADFText turns an Atlassian Document Format document into plain text:
// paragraphs and headings on lines of their own, list items after "- ",
// mentions, emoji and links as their text. Anything it does not know gives
// its children's text.
func ADFText(raw json.RawMessage) string {
	var doc adfNode
	if len(raw) == 0 || json.Unmarshal(raw, &doc) != nil {
		return ""
	}
	var b strings.Builder
	adfWrite(&b, doc, 0)
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	out := strings.Join(lines, "\n")
	for strings.Contains(out, "\n\n\n") {
		out = strings.ReplaceAll(out, "\n\n\n", "\n\n")
	}
	return strings.TrimSpace(out)
}

func adfWrite(b *strings.Builder, n adfNode, depth int) {
	if depth > 64 {
		return
	}
	var attrs struct {
		Text      string `json:"text"`
		ShortName string `json:"shortName"`
		URL       string `json:"url"`
	}
	if len(n.Attrs) > 0 {
		json.Unmarshal(n.Attrs, &attrs)
	}
	switch n.Type {
	case "text":
		b.WriteString(n.Text)
		return
	case "hardBreak":
		b.WriteString("\n")
		return
	case "mention", "status", "date":
		b.WriteString(attrs.Text)
		return
	case "emoji":
		if attrs.Text != "" {
			b.WriteString(attrs.Text)
		} else {
			b.WriteString(attrs.ShortName)
		}
		return
	case "inlineCard", "blockCard", "embedCard":
		b.WriteString(attrs.URL)
		return
	case "rule":
		b.WriteString("\n---\n")
		return
	case "listItem":
		b.WriteString(strings.Repeat("  ", max(0, depth/2-1)) + "- ")
	}
	for _, c := range n.Content {
		adfWrite(b, c, depth+1)
	}
	switch n.Type {
	case "paragraph", "heading", "codeBlock", "blockquote", "panel", "tableRow":
		b.WriteString("\n")
	case "tableCell", "tableHeader":
		b.WriteString(" ")
	case "bulletList", "orderedList":
		if depth <= 1 {
			b.WriteString("\n")
		}
	}
}
