package store

import "estimator/i18n"

// Problem is what is wrong with something a person typed, as a message ID of
// the rules' message files (i18n/locales/rules.<lang>.toml) and the details
// it names (a number, the character refused, a key). The zero Problem is no
// problem. In writes it in the reader's language; String is English, as the
// validation functions that return a string give it.
type Problem struct {
	ID   string
	Data map[string]any
}

func problem(id string, data map[string]any) Problem { return Problem{ID: id, Data: data} }

// OK reports that there is no problem.
func (p Problem) OK() bool { return p.ID == "" }

// In is the message in language l; a detail that is itself a Problem (the
// rule a row of an import broke) is written in l too.
func (p Problem) In(l i18n.Lang) string {
	if p.ID == "" {
		return ""
	}
	if len(p.Data) == 0 {
		return l.T(p.ID)
	}
	data := make(map[string]any, len(p.Data))
	for k, v := range p.Data {
		if q, ok := v.(Problem); ok {
			v = q.In(l)
		}
		data[k] = v
	}
	return l.F(p.ID, data)
}

// String is the message in English.
func (p Problem) String() string { return p.In(i18n.EN) }

// Problems are a form's problems by field name.
type Problems map[string]Problem

// In is every field's message in language l, as a form shows them.
func (ps Problems) In(l i18n.Lang) map[string]string {
	out := make(map[string]string, len(ps))
	for k, p := range ps {
		out[k] = p.In(l)
	}
	return out
}
