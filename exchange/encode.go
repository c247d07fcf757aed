package exchange

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"estimator/store"
)

// exportColumns are the CSV's fixed columns; then four per round number, up to
// the highest round any issue has: round_N_votes, round_N_average,
// round_N_median, round_N_distribution. The columns stay as they are whatever
// the deck: on a deck of labels final_estimate, the median and the
// distribution show the labels, and the average is left empty, as the room
// shows them (a label has no average a person reads: "M–L" is a median, 4.0
// is not a size); the JSON keeps the numbers beside them.
var exportColumns = []string{"key", "description", "state", "final_estimate", "rounds"}

// EncodeCSV writes one row per issue: UTF-8 with a BOM (so spreadsheets
// read it as UTF-8), CRLF line ends, a header row, and text cells guarded
// against formula injection.
func EncodeCSV(issues []store.IssueRounds) ([]byte, error) {
	maxRound := 0
	for _, is := range issues {
		for _, r := range is.Rounds {
			maxRound = max(maxRound, r.Number)
		}
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	header := append([]string{}, exportColumns...)
	for n := 1; n <= maxRound; n++ {
		p := "round_" + strconv.Itoa(n) + "_"
		header = append(header, p+"votes", p+"average", p+"median", p+"distribution")
	}
	w.Write(header)
	for _, is := range issues {
		row := make([]string, len(header))
		row[0], row[1], row[2] = SpreadsheetSafe(is.Key), SpreadsheetSafe(is.Description), string(is.State)
		if is.Final > 0 {
			row[3] = finalLabel(is)
		}
		row[4] = strconv.Itoa(len(is.Rounds))
		for _, r := range is.Rounds {
			at := len(exportColumns) + 4*(r.Number-1)
			row[at] = strconv.Itoa(r.Result.Votes)
			// A round of ? and coffee only has no average or median.
			switch {
			case r.Result.HasNumbers() && r.Result.Labelled():
				row[at+2] = SpreadsheetSafe(r.Result.MedianLabel())
			case r.Result.HasNumbers():
				row[at+1] = r.Result.Average()
				row[at+2] = halves(r.Result.MedianHalves())
			}
			row[at+3] = distribution(r.Result)
		}
		w.Write(row)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// halves writes a median kept as twice its value with one decimal: 5 is "2.5".
func halves(h int) string { return fmt.Sprintf("%d.%d", h/2, 5*(h%2)) }

// finalLabel is the accepted final as its deck shows it (the deck of the round
// it was accepted on).
func finalLabel(is store.IssueRounds) string {
	if n := len(is.Rounds); n > 0 {
		return is.Rounds[n-1].Result.Label(is.Final)
	}
	return strconv.Itoa(is.Final)
}

// distribution is "value=count" for each value chosen, ascending, then the ?
// and coffee cards when any were played: "3=2 5=1 ?=1" is two votes for 3, one
// for 5 and one unsure; on a deck of labels "M=2 L=1 ?=1". Not "3:2", which
// spreadsheets read as a time.
func distribution(r store.Result) string {
	parts := make([]string, 0, len(r.Counts)+2)
	for _, vc := range r.Counts {
		parts = append(parts, r.Label(vc.Value)+"="+strconv.Itoa(vc.Count))
	}
	if r.Unsure > 0 {
		parts = append(parts, store.CardUnsure+"="+strconv.Itoa(r.Unsure))
	}
	if r.Coffee > 0 {
		parts = append(parts, store.CardCoffee+"="+strconv.Itoa(r.Coffee))
	}
	return strings.Join(parts, " ")
}

type exportDoc struct {
	Group  string        `json:"group"`
	Issues []exportIssue `json:"issues"`
}

// exportIssue keeps final_estimate a number, as it always was; on a deck of
// labels final_label is how people read it ("L").
type exportIssue struct {
	Key           string        `json:"key"`
	Description   string        `json:"description"`
	State         string        `json:"state"`
	FinalEstimate *int          `json:"final_estimate"`
	FinalLabel    string        `json:"final_label,omitempty"`
	Rounds        []exportRound `json:"rounds"`
}

// exportRound is one revealed round. Votes counts every card, ? and coffee
// included; average and median are over the numbers (null without any), and
// the distribution lists the numbers, with the ? and coffee cards beside it.
type exportRound struct {
	Round        int           `json:"round"`
	Votes        int           `json:"votes"`
	Average      *float64      `json:"average"`
	Median       *float64      `json:"median"`
	Distribution []exportCount `json:"distribution"`
	Unsure       int           `json:"unsure"`
	Coffee       int           `json:"coffee"`
}

// exportCount is how many chose a value; on a deck of labels, label names its
// card ("M").
type exportCount struct {
	Value int    `json:"value"`
	Label string `json:"label,omitempty"`
	Count int    `json:"count"`
}

// EncodeJSON writes the group and every issue with its rounds, indented; the
// numbers stay numbers, and a deck of labels adds the labels beside them.
func EncodeJSON(g store.Group, issues []store.IssueRounds) ([]byte, error) {
	doc := exportDoc{Group: g.Name, Issues: make([]exportIssue, len(issues))}
	for i, is := range issues {
		e := exportIssue{Key: is.Key, Description: is.Description, State: string(is.State), Rounds: []exportRound{}}
		if is.Final > 0 {
			final := is.Final
			e.FinalEstimate = &final
			if n := len(is.Rounds); n > 0 && is.Rounds[n-1].Result.Labelled() {
				e.FinalLabel = finalLabel(is)
			}
		}
		for _, r := range is.Rounds {
			er := exportRound{
				Round:        r.Number,
				Votes:        r.Result.Votes,
				Distribution: make([]exportCount, len(r.Result.Counts)),
				Unsure:       r.Result.Unsure,
				Coffee:       r.Result.Coffee,
			}
			if r.Result.HasNumbers() {
				average, median := float64(r.Result.AverageTenths())/10, float64(r.Result.MedianHalves())/2
				er.Average, er.Median = &average, &median
			}
			for j, vc := range r.Result.Counts {
				er.Distribution[j] = exportCount{Value: vc.Value, Count: vc.Count}
				if r.Result.Labelled() {
					er.Distribution[j].Label = r.Result.Label(vc.Value)
				}
			}
			e.Rounds = append(e.Rounds, er)
		}
		doc.Issues[i] = e
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	err := enc.Encode(doc)
	return buf.Bytes(), err
}
